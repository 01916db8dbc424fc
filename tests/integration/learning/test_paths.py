"""Learning paths through HTTP: CRUD, stages, publish refusals, assignment (path + course enrollments), self
enrollment, stage locks on the path page, the builder pages, permissions."""

from __future__ import annotations

import re
import uuid

from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.learning.conftest import (
    complete,
    enrollments_of,
    make_course,
    path_enrollments_of,
)


async def _path(client, headers, title="Sales onboarding", **extra):
    response = await client.post("/api/v1/paths", headers=headers, json={"title": title, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_path_api_crud_stages_publish_and_assign(browser, engine, company):
    t = company.tenant
    intro = await make_course(engine, t, "Intro to sales")
    pitch = await make_course(engine, t, "Pitching")
    draft = await make_course(engine, t, "Negotiation", status="draft", owner=company.manager)
    async with browser(t) as client:
        manager = await bearer_for(client, company.manager)
        learner = await bearer_for(client, company.learners[0])
        problem_of(await client.post("/api/v1/paths", headers=learner, json={"title": "Mine"}), 403)
        path = await _path(client, manager)
        assert (path["status"], path["stages"], path["enrollment"]) == ("draft", [], "assigned")
        # A learner does not see a draft.
        problem_of(await client.get(f"/api/v1/paths/{path['id']}", headers=learner), 404)

        body = problem_of(await client.post(f"/api/v1/paths/{path['id']}/publish", headers=manager), 409)
        assert "at least one stage" in body["detail"]
        stages = {"stages": [
            {"title": "Basics", "course_ids": [str(intro)]},
            {"title": "Practice", "course_ids": [str(pitch), str(draft)], "requires_previous": True},
            {"title": "Empty"},
        ]}
        saved = await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager, json=stages)
        assert saved.status_code == 200, saved.text
        assert [s["title"] for s in saved.json()["stages"]] == ["Basics", "Practice", "Empty"]
        body = problem_of(await client.post(f"/api/v1/paths/{path['id']}/publish", headers=manager), 409)
        assert "Empty" in body["detail"]
        stages["stages"].pop()
        await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager, json=stages)
        body = problem_of(await client.post(f"/api/v1/paths/{path['id']}/publish", headers=manager), 409)
        assert "Negotiation" in body["detail"]
        twice = {"stages": [{"title": "A", "course_ids": [str(intro), str(intro)]}]}
        problem_of(await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager, json=twice), 409)
        problem_of(await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager,
                                    json={"stages": [{"title": ""}]}), 400)
        stages["stages"][1]["course_ids"] = [str(pitch)]
        await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager, json=stages)
        published = await client.post(f"/api/v1/paths/{path['id']}/publish", headers=manager)
        assert published.status_code == 200 and published.json()["status"] == "published"
        listed = (await client.get("/api/v1/paths", headers=learner)).json()
        assert [p["title"] for p in listed["items"]] == ["Sales onboarding"]

        assigned = await client.post(f"/api/v1/paths/{path['id']}/enrollments", headers=manager,
                                     json={"team_ids": [str(company.team_id)], "due_at": "2020-01-01T00:00:00Z"})
        assert assigned.status_code == 201, assigned.text
        assert assigned.json()["enrolled"] == 3
        # Already enrolled: the current enrollment again; someone else: assignment only.
        mine = await client.post(f"/api/v1/paths/{path['id']}/enrollments", headers=learner)
        assert mine.json()["enrollment"]["overdue"] is True and mine.json()["enrolled"] == 0
        body = problem_of(await client.delete(f"/api/v1/paths/enrollments/{mine.json()['enrollment']['id']}",
                                              headers=learner), 403)
        assert "assigned to you" in body["detail"]
        outsider = await bearer_for(client, company.outsider)
        body = problem_of(await client.post(f"/api/v1/paths/{path['id']}/enrollments", headers=outsider), 409)
        assert "assignment only" in body["detail"]
        problem_of(await client.delete(f"/api/v1/paths/{path['id']}", headers=manager), 409)
        # A course added to the published path reaches the learners already on it.
        extra = await make_course(engine, t, "Closing deals")
        stages["stages"][1]["course_ids"].append(str(extra))
        changed = await client.put(f"/api/v1/paths/{path['id']}/stages", headers=manager, json=stages)
        assert changed.status_code == 200
        assert [r[1] for r in await enrollments_of(engine, t, company.learners[2].id, extra)] == ["path"]
        archived = await client.patch(f"/api/v1/paths/{path['id']}", headers=manager, json={"status": "archived"})
        assert archived.json()["status"] == "archived"
    for person in company.learners:
        assert await path_enrollments_of(engine, t, person.id) == [(uuid.UUID(path["id"]), "group", "active")]
        rows = await enrollments_of(engine, t, person.id)
        assert sorted((r[0], r[1]) for r in rows) == sorted([(intro, "path"), (pitch, "path"), (extra, "path")])
    actions = {e.action for e in await audit_entries(engine, t)}
    assert {"path.created", "path.published", "path.archived", "learning.assigned"} <= actions


async def test_stage_locks_on_the_path_page_and_self_enrollment(browser, signed_in, engine, company):
    t = company.tenant
    first = await make_course(engine, t, "First steps")
    second = await make_course(engine, t, "Next steps")
    learner = company.learners[1]
    async with browser(t) as client:
        admin = await bearer_for(client, company.admin)
        path = await _path(client, admin, "Open path", enrollment="self")
        await client.put(f"/api/v1/paths/{path['id']}/stages", headers=admin, json={"stages": [
            {"title": "Stage one", "course_ids": [str(first)]},
            {"title": "Stage two", "course_ids": [str(second)], "requires_previous": True},
        ]})
        assert (await client.post(f"/api/v1/paths/{path['id']}/publish", headers=admin)).status_code == 200
    async with signed_in(learner) as client:
        listing = await client.get("/paths", headers={"HX-Request": "true", "HX-Target": "path-results"})
        assert "<html" not in listing.text and f'href="/paths/{path["id"]}"' in listing.text
        page = await client.get(f"/paths/{path['id']}")
        assert page.status_code == 200 and "Join this path" in page.text
        joined = await post_form(client, f"/paths/{path['id']}/enroll")
        assert joined.status_code == 303
        page = await client.get(f"/paths/{path['id']}")
        assert "Locked" in page.text and "Opens when you complete: First steps" in page.text
        assert f'href="/learn/courses/{first}"' in page.text and f'href="/learn/courses/{second}"' not in page.text
        await complete(engine, t, learner.id, first)
        page = await client.get(f"/paths/{path['id']}")
        assert "Locked" not in page.text and f'href="/learn/courses/{second}"' in page.text
    assert {r[1] for r in await enrollments_of(engine, t, learner.id)} == {"path"}
    # Withdrawing from the path keeps it as history; its course enrollments stay.
    async with browser(t) as client:
        own = await bearer_for(client, learner)
        joined = (await client.post(f"/api/v1/paths/{path['id']}/enrollments", headers=own)).json()
        row = joined["enrollment"]["id"]
        other = await bearer_for(client, company.learners[2])
        problem_of(await client.delete(f"/api/v1/paths/enrollments/{row}", headers=other), 404)
        assert (await client.delete(f"/api/v1/paths/enrollments/{row}", headers=own)).status_code == 204
        problem_of(await client.delete(f"/api/v1/paths/enrollments/{row}", headers=own), 409)
    assert await path_enrollments_of(engine, t, learner.id) == [(uuid.UUID(path["id"]), "self", "withdrawn")]
    assert len(await enrollments_of(engine, t, learner.id)) == 2
    # The same from the path page: join again, then leave with its button.
    async with signed_in(learner) as client:
        assert (await post_form(client, f"/paths/{path['id']}/enroll")).status_code == 303
        page = await client.get(f"/paths/{path['id']}")
        assert "Withdraw from this path" in page.text
        left = await post_form(client, f"/paths/{path['id']}/withdraw")
        assert left.status_code == 303
        again = await post_form(client, f"/paths/{path['id']}/withdraw")
        assert again.status_code == 409 and "not enrolled" in again.text
    assert [row[2] for row in await path_enrollments_of(engine, t, learner.id)] == ["withdrawn", "withdrawn"]


async def test_path_builder_pages(signed_in, engine, company):
    t = company.tenant
    one = await make_course(engine, t, "Course one")
    two = await make_course(engine, t, "Course two")
    async with signed_in(company.teacher) as client:
        assert (await client.get("/teach/paths")).status_code == 200
        bad = await post_form(client, "/teach/paths/new", {"title": "  "})
        assert bad.status_code == 422 and "required" in bad.text
        made = await post_form(client, "/teach/paths/new", {"title": "Teacher path", "language": "en"})
        assert made.status_code == 303
        url = made.headers["location"].split("?")[0]
        stages = f"{url}/stages"
        added = await post_form(client, stages, {"op": "add_stage", "title": "S1", "requires_previous": "1"})
        assert added.status_code == 303
        assert (await post_form(client, stages, {"op": "add_stage", "title": "S2"})).status_code == 303
        for course in (one, two):
            response = await post_form(client, stages, {"op": "add_course", "stage": "0", "course_id": str(course)})
            assert response.status_code == 303
        await post_form(client, stages, {"op": "course_down", "stage": "0", "course_id": str(one)})
        await post_form(client, stages, {"op": "stage_up", "stage": "1"})
        refused = await post_form(client, f"{url}/publish")
        assert refused.status_code == 409 and "S1" in refused.text  # S1 (now second) has no course
        await post_form(client, stages, {"op": "remove_stage", "stage": "0"})
        page = await client.get(url)
        assert page.text.index("Course two") < page.text.index("Course one")
        assert (await post_form(client, f"{url}/publish")).status_code == 303
        assert "Published" in (await client.get(url)).text
        assert (await post_form(client, stages, {"op": "edit_stage", "stage": "9", "title": "x"})).status_code == 422
    async with signed_in(company.manager) as client:  # not the owner
        assert (await client.get(url)).status_code == 403
        # ...but assigns the published path from its page, and ends the assignment there.
        path_page = url.replace("/teach/paths/", "/paths/")
        done = await post_form(client, f"{path_page}/assign", {"team_ids": str(company.team_id)})
        assert done.status_code == 303
        page = await client.get(path_page)
        assert 'id="subject-assignments"' in page.text and "Sales" in page.text
        end = re.search(r'action="(/paths/[^"]+/assignments/[^"]+/end)"', page.text).group(1)
        assert (await post_form(client, end)).status_code == 303
        assert 'id="subject-assignments"' not in (await client.get(path_page)).text
        assert (await post_form(client, end)).status_code == 409  # already ended
    async with signed_in(company.learners[0]) as client:
        assert (await client.get("/teach/paths")).status_code == 403
