"""The builder pages, ``/teach/courses``: create, autosave with revisions, the outline edited in place (HTMX
fragments), publish refusals and success, duplicate, archive; who gets in; another organization's ids."""

from __future__ import annotations

import re
import uuid

from tests.integration.conftest import post_form
from tests.integration.courses.conftest import actions, load_course, ready_file

HX = {"HX-Request": "true"}


def ids_in(html: str, kind: str) -> list[str]:
    return re.findall(rf'<li class="{kind}[^"]*" id="{kind}-([0-9a-f-]+)"', html)


def titles_in(html: str) -> list[str]:
    return re.findall(r'<span class="badge">[^<]+</span> ([^<]+)</span>', html)


async def create(client, title="Biology") -> str:
    response = await post_form(client, "/teach/courses/", {"title": title})
    assert response.status_code == 303, response.text
    match = re.match(r"/teach/courses/([0-9a-f-]+)\?notice=created", response.headers["location"])
    assert match
    return match.group(1)


async def test_builder_flow(signed_in, engine, academy):
    async with signed_in(academy.teacher) as client:
        page = await client.get("/teach/courses/")
        assert page.status_code == 200 and "New course" in page.text
        empty = await post_form(client, "/teach/courses/", {"title": "  "})
        assert empty.status_code == 422 and 'class="field-error"' in empty.text
        cid = await create(client)
        builder = await client.get(f"/teach/courses/{cid}")
        assert builder.status_code == 200 and 'id="outline"' in builder.text and "builder.js" in builder.text
        assert f'href="/learn/courses/{cid}"' in builder.text

        # Autosave: saved, then a stale revision is a visible conflict and changes nothing.
        saved = await post_form(client, f"/teach/courses/{cid}/details",
                                {"title": "Biology 1", "revision": "1", "tags": "Cells, cells, DNA",
                                 "details_form": "1", "self_enroll": "on"}, headers=HX)
        assert saved.status_code == 200 and "Saved" in saved.text and 'value="2"' in saved.text
        stale = await post_form(client, f"/teach/courses/{cid}/details", {"title": "Old tab", "revision": "1"},
                                headers=HX)
        assert stale.status_code == 409 and "Not saved" in stale.text and "Reload" in stale.text
        bad = await post_form(client, f"/teach/courses/{cid}/details",
                              {"estimated_minutes": "lots", "revision": "2"}, headers=HX)
        assert bad.status_code == 422 and 'data-field="estimated_minutes"' in bad.text
        stranger = await post_form(client, f"/teach/courses/{cid}/details",
                                   {"revision": "2", "details_form": "1", "visible_group_ids": str(uuid.uuid4())},
                                   headers=HX)
        assert stranger.status_code == 422 and 'data-field="visible_group_ids"' in stranger.text
        course = await load_course(engine, academy.tenant, cid)
        assert (course.title, course.tags, course.revision) == ("Biology 1", ["cells", "dna"], 2)
        co = await post_form(client, f"/teach/courses/{cid}/details",
                             {"revision": "2", "details_form": "1", "teacher_ids": str(academy.other_teacher.id)},
                             headers=HX)
        assert co.status_code == 200 and 'value="3"' in co.text
        course = await load_course(engine, academy.tenant, cid)
        assert course.teacher_ids == [academy.other_teacher.id] and course.self_enroll is False
        # Without JavaScript the same form posts and comes back to the builder (or shows it with the refusal).
        plain = await post_form(client, f"/teach/courses/{cid}/details", {"summary": "Life", "revision": "3"})
        assert plain.status_code == 303 and plain.headers["location"].endswith("notice=details_saved")
        plain = await post_form(client, f"/teach/courses/{cid}/details", {"summary": "Old", "revision": "3"})
        assert plain.status_code == 409 and 'id="publish-problems"' in plain.text and "Reload" in plain.text
        assert (await load_course(engine, academy.tenant, cid)).summary == "Life"

        # Modules and lessons in place: each answer is the outline fragment.
        for title in ("Cells", "Genes"):
            added = await post_form(client, f"/teach/courses/{cid}/modules", {"title": title}, headers=HX)
            assert added.status_code == 200 and added.text.lstrip().startswith('<div id="outline"')
        cells, genes = ids_in(added.text, "module")
        refused = await post_form(client, f"/teach/courses/{cid}/modules", {"title": ""}, headers=HX)
        assert refused.status_code == 422 and "cannot be empty" in refused.text
        for title in ("Membranes", "Organelles"):
            outline = await post_form(client, f"/teach/courses/{cid}/modules/{cells}/lessons",
                                      {"title": title, "kind": "text"}, headers=HX)
        assert titles_in(outline.text) == ["Membranes", "Organelles"]
        membranes, organelles = ids_in(outline.text, "lesson")

        down = await post_form(client, f"/teach/courses/{cid}/lessons/{membranes}/down", headers=HX)
        assert titles_in(down.text) == ["Organelles", "Membranes"]
        assert f'data-focus="lesson-down-{membranes}"' in down.text
        up = await post_form(client, f"/teach/courses/{cid}/modules/{genes}/up", headers=HX)
        assert ids_in(up.text, "module") == [genes, cells]
        # Up from the first place of its module: into the previous module, last there.
        moved = await post_form(client, f"/teach/courses/{cid}/lessons/{organelles}/up", headers=HX)
        assert titles_in(moved.text) == ["Organelles", "Membranes"]  # genes: Organelles; cells: Membranes
        refused = await post_form(client, f"/teach/courses/{cid}/modules/{genes}/order", {"ids": [membranes]},
                                  headers=HX)
        assert refused.status_code == 409  # the order must name every lesson already in the module
        dragged = await post_form(client, f"/teach/courses/{cid}/modules/{genes}/order",
                                  {"ids": [membranes, organelles]}, headers=HX)
        assert dragged.status_code == 200 and titles_in(dragged.text) == ["Membranes", "Organelles"]
        dragged = await post_form(client, f"/teach/courses/{cid}/modules/{cells}/order", {"ids": [organelles]},
                                  headers=HX)
        assert titles_in(dragged.text) == ["Membranes", "Organelles"]  # genes: Membranes; cells: Organelles
        reorder = await post_form(client, f"/teach/courses/{cid}/modules/order", {"ids": [cells, genes]}, headers=HX)
        assert ids_in(reorder.text, "module") == [cells, genes]
        # Lesson editor: text with a preview, refusals as field errors.
        editor = await client.get(f"/teach/courses/{cid}/lessons/{organelles}", headers=HX)
        assert editor.status_code == 200 and "Markdown" in editor.text
        saved = await post_form(client, f"/teach/courses/{cid}/lessons/{organelles}",
                                {"title": "Organelles", "body": "**Mito** <img src=x onerror=alert(1)>"}, headers=HX)
        assert saved.status_code == 200 and "<strong>Mito</strong>" in saved.text and "onerror=alert" not in \
            saved.text.replace("&lt;img src=x onerror=alert(1)&gt;", "")
        preview = await post_form(client, f"/teach/courses/{cid}/preview", {"body": "# Hi <script>x</script>"},
                                  headers=HX)
        assert "<h1>Hi &lt;script&gt;" in preview.text

        # Publish: refused with what is missing, then success.
        refused = await post_form(client, f"/teach/courses/{cid}/publish")
        assert refused.status_code == 409 and "Membranes" in refused.text and 'id="publish-problems"' in refused.text
        await post_form(client, f"/teach/courses/{cid}/lessons/{membranes}", {"title": "Membranes", "body": "Lipids"},
                        headers=HX)
        published = await post_form(client, f"/teach/courses/{cid}/publish")
        assert published.status_code == 303 and "notice=published" in published.headers["location"]
        assert (await load_course(engine, academy.tenant, cid)).status == "published"

        copy = await post_form(client, f"/teach/courses/{cid}/duplicate")
        copy_id = re.match(r"/teach/courses/([0-9a-f-]+)", copy.headers["location"]).group(1)
        copied = await client.get(f"/teach/courses/{copy_id}")
        assert "Biology 1 (copy)" in copied.text and titles_in(copied.text) == ["Organelles", "Membranes"]
        archived = await post_form(client, f"/teach/courses/{cid}/archive")
        assert archived.status_code == 303 and (await load_course(engine, academy.tenant, cid)).status == "archived"

        deleted = await post_form(client, f"/teach/courses/{copy_id}/modules/{ids_in(copied.text, 'module')[0]}/delete",
                                  headers=HX)
        assert deleted.status_code == 200 and len(ids_in(deleted.text, "module")) == 1
        listing = await client.get("/teach/courses/", params={"q": "copy"})
        assert "Biology 1 (copy)" in listing.text and ">Biology 1<" not in listing.text
    assert {"course.created", "course.published", "course.duplicated", "course.archived",
            "course.module_deleted"} <= set(await actions(engine, academy.tenant))


async def test_video_lesson_needs_a_ready_file(signed_in, engine, academy):
    async with signed_in(academy.teacher) as client:
        cid = await create(client, "Films")
        outline = await post_form(client, f"/teach/courses/{cid}/modules", {"title": "M"}, headers=HX)
        [module] = ids_in(outline.text, "module")
        outline = await post_form(client, f"/teach/courses/{cid}/modules/{module}/lessons",
                                  {"title": "Reel", "kind": "video"}, headers=HX)
        [lesson] = ids_in(outline.text, "lesson")
        refused = await post_form(client, f"/teach/courses/{cid}/publish")
        assert refused.status_code == 409 and "Reel" in refused.text
        bad = await post_form(client, f"/teach/courses/{cid}/lessons/{lesson}",
                              {"title": "Reel", "file_id": str(uuid.uuid4())}, headers=HX)
        assert bad.status_code == 422 and "field-error" in bad.text
        film = await ready_file(engine, academy.tenant, "video")
        ok = await post_form(client, f"/teach/courses/{cid}/lessons/{lesson}", {"title": "Reel", "file_id": str(film)},
                             headers=HX)
        assert ok.status_code == 200
        assert (await post_form(client, f"/teach/courses/{cid}/publish")).status_code == 303


async def test_who_reaches_the_builder(signed_in, browser, academy, make_academy):
    async with signed_in(academy.teacher) as client:
        cid = await create(client, "Private")
    async with signed_in(academy.other_teacher) as client:
        assert (await client.get(f"/teach/courses/{cid}")).status_code == 404
        assert (await post_form(client, f"/teach/courses/{cid}/details", {"title": "X"})).status_code == 404
        assert (await post_form(client, f"/teach/courses/{cid}/publish")).status_code == 404
        assert (await post_form(client, f"/teach/courses/{cid}/modules", {"title": "X"})).status_code == 404
        assert "Private" not in (await client.get("/teach/courses/")).text
    async with signed_in(academy.admin) as client:
        assert (await client.get(f"/teach/courses/{cid}")).status_code == 200
        assert "Private" in (await client.get("/teach/courses/")).text
    async with signed_in(academy.learners[0]) as client:
        assert (await client.get("/teach/courses/")).status_code == 403
    async with browser(academy.tenant) as client:
        assert (await client.get("/teach/courses/")).status_code in (302, 303, 401)
    elsewhere = await make_academy("crz", learners=1)
    async with signed_in(elsewhere.admin) as client:
        assert (await client.get(f"/teach/courses/{cid}")).status_code == 404
        assert (await post_form(client, f"/teach/courses/{cid}/archive")).status_code == 404
        assert (await client.get(f"/courses/{cid}/reviews")).status_code == 404
        assert (await client.get("/teach/courses/not-an-id")).status_code == 404


async def test_my_courses_is_paginated_and_searchable(signed_in, engine, academy):
    from tajiconnect.domains.courses.models import Course
    from tests.integration.courses.conftest import tenant_session

    async with tenant_session(engine, academy.tenant) as session:
        session.add_all(Course(title=f"Course {i:02d}", owner_id=academy.other_teacher.id) for i in range(21))
    async with signed_in(academy.other_teacher) as client:
        first = await client.get("/teach/courses/")
        rows = re.findall(r'<a href="/teach/courses/[0-9a-f-]+">(Course \d+)</a>', first.text)
        assert rows == [f"Course {i:02d}" for i in range(20)] and "Page 1 of 2" in first.text
        last = await client.get("/teach/courses/", params={"page": 99})
        assert re.findall(r'<a href="/teach/courses/[0-9a-f-]+">(Course \d+)</a>', last.text) == ["Course 20"]
        found = await client.get("/teach/courses/", params={"q": "Course 07"}, headers={"HX-Request": "true",
                                                                                        "HX-Target": "course-list"})
        assert found.text.lstrip().startswith('<div id="course-list">')
        assert re.findall(r'<a href="/teach/courses/[0-9a-f-]+">(Course \d+)</a>', found.text) == ["Course 07"]
        assert (await client.get("/teach/courses/", params={"page": 10**9})).status_code == 400


async def test_a_lesson_draft_autosaves_and_only_its_status_comes_back(signed_in, engine, academy):
    async with signed_in(academy.teacher) as client:
        cid = await create(client, "Autosaved")
        outline = await post_form(client, f"/teach/courses/{cid}/modules", {"title": "M"}, headers=HX)
        [module] = ids_in(outline.text, "module")
        outline = await post_form(client, f"/teach/courses/{cid}/modules/{module}/lessons",
                                  {"title": "Draft", "kind": "text"}, headers=HX)
        [lesson] = ids_in(outline.text, "lesson")
        editor = await client.get(f"/teach/courses/{cid}/lessons/{lesson}", headers=HX)
        assert f'data-autosave="/teach/courses/{cid}/lessons/{lesson}/autosave"' in editor.text
        url = f"/teach/courses/{cid}/lessons/{lesson}/autosave"
        saved = await post_form(client, url, {"title": "Draft", "body": "Half a **thought**"}, headers=HX)
        assert saved.status_code == 200
        assert saved.text.strip().startswith(f'<p id="lesson-save-{lesson}"') and "<form" not in saved.text
        refused = await post_form(client, url, {"title": "   ", "body": "Lost?"}, headers=HX)
        assert refused.status_code == 422 and "field-error" in refused.text
    async with signed_in(academy.other_teacher) as other:
        assert (await post_form(other, url, {"title": "Mine now", "body": "x"}, headers=HX)).status_code == 404
    course = await load_course(engine, academy.tenant, cid)
    async with signed_in(academy.teacher) as client:
        editor = await client.get(f"/teach/courses/{cid}/lessons/{lesson}", headers=HX)
    assert course.title == "Autosaved"
    assert "Half a **thought**" in editor.text and "Mine now" not in editor.text and "Lost?" not in editor.text
