"""``/api/v1/courses``, ``/api/v1/modules``, ``/api/v1/lessons``: authoring, statuses and problem bodies, who may
edit, other organizations' ids."""

from __future__ import annotations

import uuid

from tajiconnect.domains.courses.service import outline
from tests.integration.conftest import bearer_for, problem_of
from tests.integration.courses.conftest import actions, load_course, ready_file, tenant_session


async def make_course(client, headers, title="Algebra", **extra):
    response = await client.post("/api/v1/courses", headers=headers, json={"title": title, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_authoring_through_the_api(browser, engine, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course = await make_course(client, teacher, tags=[" Maths", "maths", "ALGEBRA  basics"], level="beginner",
                                   estimated_minutes=90, summary="Numbers")
        assert course["status"] == "draft" and course["owner_id"] == str(academy.teacher.id)
        assert course["tags"] == ["maths", "algebra basics"] and course["revision"] == 1
        assert course["rating_average"] is None

        patched = await client.patch(f"/api/v1/courses/{course['id']}", headers=teacher,
                                     json={"summary": "Numbers and letters", "revision": 1})
        assert patched.status_code == 200 and patched.json()["revision"] == 2
        stale = problem_of(await client.patch(f"/api/v1/courses/{course['id']}", headers=teacher,
                                              json={"summary": "Mine", "revision": 1}), 409)
        assert stale["field"] == "revision" and "Reload" in stale["detail"]
        assert (await load_course(engine, academy.tenant, course["id"])).summary == "Numbers and letters"

        one = await client.post(f"/api/v1/courses/{course['id']}/modules", headers=teacher, json={"title": "One"})
        two = await client.post(f"/api/v1/courses/{course['id']}/modules", headers=teacher, json={"title": "Two"})
        assert one.status_code == two.status_code == 201
        one, two = one.json(), two.json()
        assert (one["position"], two["position"]) == (1, 2)
        text = await client.post(f"/api/v1/modules/{one['id']}/lessons", headers=teacher,
                                 json={"title": "Intro", "kind": "text", "body": "Hi <script>x</script> **there**"})
        assert text.status_code == 201, text.text
        text = text.json()
        assert "<script" not in text["body_html"] and "<strong>there</strong>" in text["body_html"]
        embed = await client.post(f"/api/v1/modules/{one['id']}/lessons", headers=teacher,
                                  json={"title": "Watch", "kind": "embed", "url": "https://youtu.be/dQw4w9WgXcQ"})
        assert embed.json()["url"] == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
        embed = embed.json()
        refused = problem_of(await client.post(f"/api/v1/modules/{one['id']}/lessons", headers=teacher,
                                               json={"title": "Bad", "kind": "embed",
                                                     "url": "https://evil.example/x"}), 409)
        assert refused["field"] == "url" and "evil.example" in refused["detail"]

        # Reorder modules; move the embed into module two; reorder lessons.
        order = await client.post(f"/api/v1/courses/{course['id']}/modules/order", headers=teacher,
                                  json={"ids": [two["id"], one["id"]]})
        assert order.status_code == 204
        problem_of(await client.post(f"/api/v1/courses/{course['id']}/modules/order", headers=teacher,
                                     json={"ids": [two["id"]]}), 409)
        moved = await client.patch(f"/api/v1/lessons/{embed['id']}", headers=teacher, json={"module_id": two["id"]})
        assert moved.status_code == 200 and moved.json()["module_id"] == two["id"]
        assert moved.json()["position"] == 1
        back = await client.post(f"/api/v1/modules/{one['id']}/lessons/order", headers=teacher,
                                 json={"ids": [embed["id"], text["id"]]})
        assert back.status_code == 204

        # Publishing is refused with the list of what is missing: module two is now empty, a video has no file.
        video = (await client.post(f"/api/v1/modules/{two['id']}/lessons", headers=teacher,
                                   json={"title": "Film", "kind": "video"})).json()
        refused = problem_of(await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher), 409)
        assert any("Film" in p for p in refused["problems"]) and refused["field"] == "status"
        uploading = await ready_file(engine, academy.tenant, "video", status="uploading")
        problem_of(await client.patch(f"/api/v1/lessons/{video['id']}", headers=teacher,
                                      json={"file_id": str(uploading)}), 409)
        problem_of(await client.patch(f"/api/v1/lessons/{video['id']}", headers=teacher,
                                      json={"file_id": str(await ready_file(engine, academy.tenant, "document"))}),
                   409)
        film = await ready_file(engine, academy.tenant, "video")
        assert (await client.patch(f"/api/v1/lessons/{video['id']}", headers=teacher,
                                   json={"file_id": str(film)})).json()["file_id"] == str(film)
        published = await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher)
        assert published.status_code == 200 and published.json()["status"] == "published"
        problem_of(await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher), 409)

        copy = await client.post(f"/api/v1/courses/{course['id']}/duplicate", headers=teacher)
        assert copy.status_code == 201
        copy = copy.json()
        assert copy["title"] == "Algebra (copy)" and copy["status"] == "draft"
        assert copy["copied_from_id"] == course["id"] and copy["tags"] == ["maths", "algebra basics"]

        archived = await client.post(f"/api/v1/courses/{course['id']}/archive", headers=teacher)
        assert archived.json()["status"] == "archived"
        problem_of(await client.post(f"/api/v1/courses/{course['id']}/archive", headers=teacher), 409)
        problem_of(await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher), 409)
        restored = await client.post(f"/api/v1/courses/{course['id']}/restore", headers=teacher)
        assert restored.json()["status"] == "published"

        notes = await client.post(f"/api/v1/modules/{two['id']}/lessons", headers=teacher,
                                  json={"title": "Notes", "kind": "link", "url": "https://example.org/notes"})
        assert notes.json()["position"] == 2
        assert (await client.delete(f"/api/v1/lessons/{video['id']}", headers=teacher)).status_code == 204
        assert (await client.delete(f"/api/v1/modules/{one['id']}", headers=teacher)).status_code == 204
        problem_of(await client.delete(f"/api/v1/modules/{one['id']}", headers=teacher), 404)
        async with tenant_session(engine, academy.tenant) as session:
            left = await outline(session, uuid.UUID(course["id"]))
        assert [(m.module.title, m.module.position) for m in left] == [("Two", 1)]  # the gaps are closed
        assert [(x.title, x.position) for x in left[0].lessons] == [("Notes", 1)]

        mine = (await client.get("/api/v1/courses", headers=teacher, params={"mine": "true"})).json()
        assert {c["title"] for c in mine["items"]} == {"Algebra", "Algebra (copy)"} and mine["total"] == 2
        found = (await client.get("/api/v1/courses", headers=teacher, params={"q": "letters"})).json()
        assert {c["id"] for c in found["items"]} == {course["id"], copy["id"]}  # "letter", stemmed in English
        tagged = (await client.get("/api/v1/courses", headers=teacher, params={"tag": "MATHS", "status": "draft"}))
        assert [c["id"] for c in tagged.json()["items"]] == [copy["id"]]
        paged = (await client.get("/api/v1/courses", headers=teacher, params={"per_page": 1, "page": 2})).json()
        assert len(paged["items"]) == 1 and paged["total"] == 2
        for bad in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"status": "gone"}, {"level": "expert"}):
            problem_of(await client.get("/api/v1/courses", headers=teacher, params=bad), 400)
    recorded = await actions(engine, academy.tenant)
    assert {"course.published", "course.duplicated", "course.archived", "course.restored",
            "course.lesson_deleted", "course.module_deleted"} <= set(recorded)


async def test_bad_bodies_are_400_problems(browser, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course = await make_course(client, teacher)
        for bad in ({"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": "A", "colour": "red"},
                    {"title": "A", "level": "expert"}, {"title": "A", "estimated_minutes": 10**12},
                    {"title": "A", "tags": ["x"] * 21}, {"title": "A", "language": "english!"},
                    {"title": "A", "visible_group_ids": ["nope"]}):
            assert problem_of(await client.post("/api/v1/courses", headers=teacher, json=bad), 400), bad
        cid = course["id"]
        for bad, field in (({"prerequisite_ids": [cid]}, None), ({"visible_group_ids": [str(uuid.uuid4())]},
                           "visible_group_ids"), ({"teacher_ids": [str(uuid.uuid4())]}, "teacher_ids"),
                           ({"cover_file_id": str(uuid.uuid4())}, "cover_file_id"),
                           ({"visibility": "groups"}, "visible_group_ids"), ({"revision": 0}, None)):
            response = await client.patch(f"/api/v1/courses/{cid}", headers=teacher, json=bad)
            assert response.status_code in (400, 409), (bad, response.text)
            if field:
                assert response.json()["field"] == field, bad
        lesson_module = (await client.post(f"/api/v1/courses/{cid}/modules", headers=teacher,
                                           json={"title": "M"})).json()
        # What the schema states is a 400; what the lesson's kind refuses (an address here) is a 409.
        for bad, status in (({"title": "L"}, 400), ({"title": "L", "kind": "game"}, 400),
                            ({"title": "L", "kind": "text", "x": 1}, 400),
                            ({"title": "L", "kind": "link", "url": "javascript:alert(1)"}, 409),
                            ({"title": "L", "kind": "text", "url": "https://e.org"}, 409)):
            problem_of(await client.post(f"/api/v1/modules/{lesson_module['id']}/lessons", headers=teacher,
                                         json=bad), status)
        assert (await client.post("/api/v1/courses", headers=teacher, content=b'{"title": "A\\u0000"}',
                                  )).status_code == 400


async def test_prerequisites_cannot_loop(browser, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        a, b, c = [await make_course(client, teacher, title=t) for t in ("A", "B", "C")]
        assert (await client.patch(f"/api/v1/courses/{b['id']}", headers=teacher,
                                   json={"prerequisite_ids": [a["id"]]})).status_code == 200
        assert (await client.patch(f"/api/v1/courses/{c['id']}", headers=teacher,
                                   json={"prerequisite_ids": [b["id"]]})).status_code == 200
        loop = problem_of(await client.patch(f"/api/v1/courses/{a['id']}", headers=teacher,
                                             json={"prerequisite_ids": [c["id"]]}), 409)
        assert loop["field"] == "prerequisite_ids"


async def test_co_teachers_must_teach_and_then_may_edit(browser, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        other = await bearer_for(client, academy.other_teacher)
        course = await make_course(client, teacher)
        problem_of(await client.patch(f"/api/v1/courses/{course['id']}", headers=teacher,
                                      json={"teacher_ids": [str(academy.learners[0].id)]}), 409)
        problem_of(await client.patch(f"/api/v1/courses/{course['id']}", headers=other, json={"summary": "x"}), 404)
        added = await client.patch(f"/api/v1/courses/{course['id']}", headers=teacher,
                                   json={"teacher_ids": [str(academy.other_teacher.id)]})
        assert added.status_code == 200
        assert (await client.patch(f"/api/v1/courses/{course['id']}", headers=other,
                                   json={"summary": "x"})).status_code == 200


async def test_who_may_edit_and_see(browser, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        other = await bearer_for(client, academy.other_teacher)
        admin = await bearer_for(client, academy.admin)
        learner = await bearer_for(client, academy.learners[0])
        course = await make_course(client, teacher)
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", headers=teacher,
                                    json={"title": "M"})).json()
        lesson = (await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=teacher,
                                    json={"title": "L", "kind": "text", "body": "x"})).json()
        # Another teacher: every write and the draft itself are 404 (ids do not leak).
        for method, path, body in (
            ("GET", f"/api/v1/courses/{course['id']}", None),
            ("PATCH", f"/api/v1/courses/{course['id']}", {"title": "Mine"}),
            ("POST", f"/api/v1/courses/{course['id']}/publish", None),
            ("POST", f"/api/v1/courses/{course['id']}/duplicate", None),
            ("POST", f"/api/v1/courses/{course['id']}/modules", {"title": "X"}),
            ("PATCH", f"/api/v1/modules/{module['id']}", {"title": "X"}),
            ("DELETE", f"/api/v1/modules/{module['id']}", None),
            ("POST", f"/api/v1/modules/{module['id']}/lessons", {"title": "X", "kind": "text"}),
            ("PATCH", f"/api/v1/lessons/{lesson['id']}", {"title": "X"}),
            ("DELETE", f"/api/v1/lessons/{lesson['id']}", None),
        ):
            response = await client.request(method, path, headers=other, json=body)
            problem_of(response, 404)
        # A learner may not author at all (403) and does not see a draft (404).
        problem_of(await client.post("/api/v1/courses", headers=learner, json={"title": "X"}), 403)
        problem_of(await client.get(f"/api/v1/courses/{course['id']}", headers=learner), 404)
        assert (await client.get("/api/v1/courses", headers=learner)).json()["total"] == 0
        # An admin edits every course.
        assert (await client.patch(f"/api/v1/courses/{course['id']}", headers=admin,
                                   json={"title": "Renamed"})).status_code == 200
        problem_of(await client.get("/api/v1/courses/not-a-uuid", headers=admin), 404)


async def test_another_organizations_ids_are_404(browser, engine, academy, make_academy):
    elsewhere = await make_academy("crx", learners=1)
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course = await make_course(client, teacher)
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", headers=teacher,
                                    json={"title": "M"})).json()
        lesson = (await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=teacher,
                                    json={"title": "L", "kind": "text", "body": "x"})).json()
        assert (await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher)).status_code == 200
    async with browser(elsewhere.tenant) as client:
        admin = await bearer_for(client, elsewhere.admin)
        for method, path, body in (
            ("GET", f"/api/v1/courses/{course['id']}", None),
            ("PATCH", f"/api/v1/courses/{course['id']}", {"title": "X"}),
            ("POST", f"/api/v1/courses/{course['id']}/archive", None),
            ("POST", f"/api/v1/courses/{course['id']}/duplicate", None),
            ("GET", f"/api/v1/courses/{course['id']}/reviews", None),
            ("POST", f"/api/v1/courses/{course['id']}/reviews", {"rating": 5}),
            ("PATCH", f"/api/v1/modules/{module['id']}", {"title": "X"}),
            ("DELETE", f"/api/v1/lessons/{lesson['id']}", None),
        ):
            problem_of(await client.request(method, path, headers=admin, json=body), 404)
        assert (await client.get("/api/v1/courses", headers=admin)).json()["total"] == 0
        # A course of its own cannot name the other organization's course as a prerequisite.
        own = await make_course(client, admin, title="Own")
        # Nor a file of the other organization (the id names nothing here).
        theirs = await ready_file(engine, academy.tenant, "cover")
        problem_of(await client.patch(f"/api/v1/courses/{own['id']}", headers=admin,
                                      json={"cover_file_id": str(theirs)}), 409)
        mine = await ready_file(engine, elsewhere.tenant, "cover")
        assert (await client.patch(f"/api/v1/courses/{own['id']}", headers=admin,
                                   json={"cover_file_id": str(mine)})).json()["cover_file_id"] == str(mine)
        problem_of(await client.patch(f"/api/v1/courses/{own['id']}", headers=admin,
                                      json={"prerequisite_ids": [course["id"]]}), 409)

