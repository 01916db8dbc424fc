"""Enrollment through HTTP: self-enrollment rules, assignment to teams (now and later joiners, via the groups
pages/API and a roster import), ending assignments, withdraw and re-enroll history, permission limits."""

from __future__ import annotations

import uuid

from tajiconnect.domains.enrollments.models import LearningAssignment
from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.learning.conftest import (
    complete,
    enrollments_of,
    make_course,
    make_group,
)


async def test_self_enrollment_rules(browser, engine, company, make_user):
    t = company.tenant
    learner = company.learners[0]
    draft = await make_course(engine, t, "Draft course", status="draft")
    hidden = await make_course(engine, t, "Hidden course", visibility="hidden")
    assigned_only = await make_course(engine, t, "Assigned only", self_enroll=False)
    basics = await make_course(engine, t, "Safety basics")
    advanced = await make_course(engine, t, "Advanced safety", prerequisite_ids=[basics])
    no_seat = await make_user(t, ["student"])
    async with browser(t) as client:
        auth = await bearer_for(client, learner)
        for course in (draft, hidden, uuid.uuid4(), "not-a-uuid"):
            problem_of(await client.post(f"/api/v1/courses/{course}/enrollments", headers=auth), 404)
        body = problem_of(await client.post(f"/api/v1/courses/{assigned_only}/enrollments", headers=auth), 409)
        assert "assignment only" in body["detail"]
        body = problem_of(await client.post(f"/api/v1/courses/{advanced}/enrollments", headers=auth), 409)
        assert body["missing"] == ["Safety basics"] and "Safety basics" in body["detail"]
        assert body["field"] == "prerequisites"

        first = await client.post(f"/api/v1/courses/{basics}/enrollments", headers=auth)
        assert first.status_code == 201, first.text
        enrollment = first.json()["enrollment"]
        assert (enrollment["source"], enrollment["status"], enrollment["progress_percent"]) == ("self", "active", 0)
        again = await client.post(f"/api/v1/courses/{basics}/enrollments", headers=auth, json={})
        assert again.status_code == 201 and again.json()["enrollment"]["id"] == enrollment["id"]
        await complete(engine, t, learner.id, basics)
        done = await client.post(f"/api/v1/courses/{advanced}/enrollments", headers=auth)
        assert done.status_code == 201, done.text

        seatless = await bearer_for(client, no_seat)
        body = problem_of(await client.post(f"/api/v1/courses/{basics}/enrollments", headers=seatless), 409)
        assert "seat" in body["detail"]
        bad = await client.post(f"/api/v1/courses/{basics}/enrollments", headers=auth, json={"colour": "red"})
        problem_of(bad, 400)


async def test_course_page_explains_and_enrolls(signed_in, engine, company):
    t = company.tenant
    basics = await make_course(engine, t, "Safety basics", summary="Stay safe", estimated_minutes=90,
                               description="Wear **boots**.\n\n<script>alert(1)</script>")
    advanced = await make_course(engine, t, "Advanced safety", prerequisite_ids=[basics])
    async with signed_in(company.learners[1]) as client:
        page = await client.get(f"/courses/{advanced}")
        assert page.status_code == 200
        assert 'id="enroll-refusal"' in page.text and "Complete these courses first: Safety basics" in page.text
        assert f'hx-get="/courses/{advanced}/reviews"' in page.text
        assert "Advanced safety lesson 1" in page.text  # the outline
        refused = await post_form(client, f"/courses/{advanced}/enroll")
        assert refused.status_code == 409 and "Safety basics" in refused.text
        page = await client.get(f"/courses/{basics}")
        assert "1 h 30 min" in page.text and "Stay safe" in page.text
        assert "<strong>boots</strong>" in page.text and "<script>alert" not in page.text
        enrolled = await post_form(client, f"/courses/{basics}/enroll")
        assert enrolled.status_code == 303 and enrolled.headers["location"] == f"/courses/{basics}?notice=enrolled"
        page = await client.get(f"/courses/{basics}?notice=enrolled")
        assert f'href="/learn/courses/{basics}"' in page.text and "You are enrolled." in page.text
        # Withdraw keeps the history; enrolling again adds a new row.
        assert (await post_form(client, f"/courses/{basics}/withdraw")).status_code == 303
        assert (await post_form(client, f"/courses/{basics}/enroll")).status_code == 303
    rows = await enrollments_of(engine, t, company.learners[1].id, basics)
    assert rows == [(basics, "self", "withdrawn", True), (basics, "self", "active", False)]


async def test_assignment_to_a_team_enrolls_members_and_later_joiners(browser, signed_in, engine, company, make_user):
    t = company.tenant
    course = await make_course(engine, t, "Onboarding", self_enroll=False)
    async with browser(t) as client:
        manager = await bearer_for(client, company.manager)
        response = await client.post(
            f"/api/v1/courses/{course}/enrollments", headers=manager,
            json={"team_ids": [str(company.team_id)], "due_at": "2030-01-31T17:00:00Z"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["enrolled"] == 3 and len(body["assignments"]) == 1
        assert body["assignments"][0]["team_id"] == str(company.team_id)
        # Repeating it enrolls nobody twice.
        repeat = await client.post(f"/api/v1/courses/{course}/enrollments", headers=manager,
                                   json={"team_ids": [str(company.team_id)]})
        assert repeat.json()["enrolled"] == 0
    for learner in company.learners:
        assert await enrollments_of(engine, t, learner.id, course) == [(course, "group", "active", False)]

    # A later joiner, through the groups page (manager) and the API (admin).
    newcomer = await make_user(t, ["student"], name="Nina Newcomer")
    second = await make_user(t, ["student"], name="Sam Second")
    async with signed_in(company.manager) as client:
        added = await post_form(client, f"/groups/{company.team_id}/members", {"user_id": str(newcomer.id)})
        assert added.status_code == 303, added.text
    async with browser(t) as client:
        admin = await bearer_for(client, company.admin)
        added = await client.post(f"/api/v1/teams/{company.team_id}/members", headers=admin,
                                  json={"user_id": str(second.id)})
        assert added.status_code == 201
        for person in (newcomer, second):
            assert await enrollments_of(engine, t, person.id, course) == [(course, "group", "active", False)]
        listing = await client.get(f"/api/v1/courses/{course}/enrollments", headers=admin)
        assert listing.json()["total"] == 5
        assert all(i["due_at"].startswith("2030-01-31") for i in listing.json()["items"] if i["user_id"] != "x")

        # Ending the assignment: enrollments stay, nobody new is enrolled.
        [assignment] = (await client.get("/api/v1/assignments", headers=admin,
                                         params={"course_id": str(course)})).json()["items"]
        assert (await client.delete(f"/api/v1/assignments/{assignment['id']}", headers=admin)).status_code == 204
        problem_of(await client.delete(f"/api/v1/assignments/{assignment['id']}", headers=admin), 409)
        late = await make_user(t, ["student"], name="Late Larry")
        await client.post(f"/api/v1/teams/{company.team_id}/members", headers=admin, json={"user_id": str(late.id)})
        assert await enrollments_of(engine, t, late.id, course) == []
        assert (await client.get(f"/api/v1/courses/{course}/enrollments", headers=admin)).json()["total"] == 5
    actions = [e.action for e in await audit_entries(engine, t) if e.action.startswith("learning.")]
    assert actions.count("learning.assigned") == 2 and "learning.assignment.ended" in actions


async def test_staff_withdraw_keeps_history_and_assignment_does_not_re_enroll(browser, engine, company):
    t = company.tenant
    course = await make_course(engine, t, "Compliance")
    learner = company.learners[0]
    async with browser(t) as client:
        manager = await bearer_for(client, company.manager)
        await client.post(f"/api/v1/courses/{course}/enrollments", headers=manager,
                          json={"team_ids": [str(company.team_id)]})
        items = (await client.get(f"/api/v1/courses/{course}/enrollments", headers=manager,
                                  params={"q": "Learner 0"})).json()["items"]
        [row] = items
        # The learner cannot drop what was assigned to them; their manager can.
        own = await bearer_for(client, learner)
        body = problem_of(await client.delete(f"/api/v1/enrollments/{row['id']}", headers=own), 403)
        assert "assigned to you" in body["detail"]
        assert (await client.delete(f"/api/v1/enrollments/{row['id']}", headers=manager)).status_code == 204
        problem_of(await client.delete(f"/api/v1/enrollments/{row['id']}", headers=manager), 409)
        # A membership change elsewhere re-runs the sync: the withdrawn learner stays withdrawn.
        admin = await bearer_for(client, company.admin)
        await client.post(f"/api/v1/teams/{company.other_team_id}/members", headers=admin,
                          json={"user_id": str(learner.id)})
        assert await enrollments_of(engine, t, learner.id, course) == [(course, "group", "withdrawn", True)]
        # The learner enrolls again themself: a new row.
        assert (await client.post(f"/api/v1/courses/{course}/enrollments", headers=own)).status_code == 201
        history = (await client.get(f"/api/v1/courses/{course}/enrollments", headers=own)).json()
        assert [i["status"] for i in history["items"]] == ["active", "withdrawn"]
        withdrawn = (await client.get(f"/api/v1/courses/{course}/enrollments", headers=manager,
                                      params={"status": "withdrawn"})).json()
        assert withdrawn["total"] == 1
    assert "enrollment.withdrawn" in [e.action for e in await audit_entries(engine, t)]


async def test_leaders_assign_only_to_their_groups_and_learners(browser, engine, company):
    t = company.tenant
    course = await make_course(engine, t, "Leadership")
    async with browser(t) as client:
        manager = await bearer_for(client, company.manager)
        teacher = await bearer_for(client, company.teacher)
        learner = await bearer_for(client, company.learners[0])
        url = f"/api/v1/courses/{course}/enrollments"
        body = problem_of(await client.post(url, headers=manager, json={"team_ids": [str(company.other_team_id)]}),
                          404)
        assert "not one you lead" in body["detail"]
        problem_of(await client.post(url, headers=teacher, json={"team_ids": [str(company.team_id)]}), 404)
        body = problem_of(await client.post(url, headers=manager, json={"user_ids": [str(company.outsider.id)]}), 404)
        assert "not a learner in a group you lead" in body["detail"]
        problem_of(await client.post(url, headers=learner, json={"user_ids": [str(company.learners[1].id)]}), 403)
        ok = await client.post(url, headers=manager, json={"user_ids": [str(company.learners[2].id)]})
        assert ok.status_code == 201 and ok.json()["enrolled"] == 1
        # A hidden course is never found, but an enrolled learner still opens it and their enrollment.
        hidden = await make_course(engine, t, "Hidden but assigned", visibility="hidden")
        admin = await bearer_for(client, company.admin)
        await client.post(f"/api/v1/courses/{hidden}/enrollments", headers=admin,
                          json={"user_ids": [str(company.learners[0].id)]})
        mine = await client.get(f"/api/v1/courses/{hidden}/enrollments", headers=learner)
        assert mine.status_code == 200 and mine.json()["total"] == 1
        other = await bearer_for(client, company.learners[1])
        problem_of(await client.get(f"/api/v1/courses/{hidden}/enrollments", headers=other), 404)
        admin = await bearer_for(client, company.admin)
        ok = await client.post(url, headers=admin, json={"user_ids": [str(company.outsider.id)],
                                                         "team_ids": [str(company.other_team_id)]})
        assert ok.status_code == 201 and len(ok.json()["assignments"]) == 2
    assert await enrollments_of(engine, t, company.learners[2].id, course) == [(course, "assigned", "active", False)]


async def test_assign_form_for_a_team(signed_in, engine, company):
    t = company.tenant
    course = await make_course(engine, t, "Customer care")
    async with signed_in(company.manager) as client:
        page = await client.get(f"/courses/{course}")
        assert f'href="/courses/{course}/assign"' in page.text
        form = await client.get(f"/courses/{course}/assign")
        assert form.status_code == 200 and "Sales" in form.text and "Support" not in form.text
        assert "Learner 2" in form.text and "Olga Outsider" not in form.text  # only learners of the team
        hx = {"HX-Request": "true", "HX-Target": "assign-learners"}
        found = await client.get(f"/courses/{course}/assign", params={"find": "learner 1"}, headers=hx)
        assert "<html" not in found.text and "Learner 1" in found.text and "Learner 2" not in found.text
        kept = await client.get(f"/courses/{course}/assign", headers=hx,
                                params={"find": "learner 1", "user_ids": str(company.learners[2].id)})
        assert 'checked> Learner 2' in kept.text and "Learner 1" in kept.text
        bad = await post_form(client, f"/courses/{course}/assign", {"team_ids": str(company.team_id), "due_at": "x"})
        assert bad.status_code == 422
        none = await post_form(client, f"/courses/{course}/assign", {})
        assert none.status_code == 422
        foreign = await post_form(client, f"/courses/{course}/assign", {"team_ids": str(company.other_team_id)})
        assert foreign.status_code == 422 and "not one you lead" in foreign.text
        done = await post_form(client, f"/courses/{course}/assign",
                               {"team_ids": str(company.team_id), "due_at": "2031-03-01"})
        assert done.status_code == 303
        page = await client.get(f"/courses/{course}")
        assert 'id="subject-assignments"' in page.text and "2031-03-01" in page.text
    async with signed_in(company.learners[0]) as client:
        page = await client.get(f"/courses/{course}")
        assert "Due 2031-03-01" in page.text and "Withdraw from this course" not in page.text
        assert (await client.get(f"/courses/{course}/assign")).status_code == 403


async def test_roster_import_enrolls_new_members_of_assigned_groups(browser, engine, company):
    t = company.tenant
    course = await make_course(engine, t, "Imported onboarding")
    async with browser(t) as client:
        admin = await bearer_for(client, company.admin)
        await client.post(f"/api/v1/courses/{course}/enrollments", headers=admin,
                          json={"team_ids": [str(company.team_id)]})
        csv_text = (
            "email,first_name,last_name,roles,groups,parent_email,external_id\n"
            "imp1@example.org,Imp,One,student,Sales,,\nimp2@example.org,Imp,Two,student,Sales,,\n"
        )
        created = await client.post(
            "/api/v1/imports", headers=admin, files={"file": ("people.csv", csv_text.encode(), "text/csv")}
        )
        assert created.status_code in (201, 202), created.text
        imp = created.json()
        applied = await client.post(f"/api/v1/imports/{imp['id']}/apply", headers=admin)
        assert applied.status_code in (200, 202), applied.text
        members = (await client.get(f"/api/v1/courses/{course}/enrollments", headers=admin,
                                    params={"q": "imp"})).json()
        assert sorted(i["email"] for i in members["items"]) == ["imp1@example.org", "imp2@example.org"]
        assert {i["source"] for i in members["items"]} == {"group"}


async def test_sync_is_idempotent_and_set_based(engine, company, make_user):
    from tajiconnect.domains.enrollments.service import sync_group_assignments
    from tests.integration.learning.conftest import db

    t = company.tenant
    course = await make_course(engine, t, "Sync")
    group = await make_group(engine, t, "Bulk", members=tuple(company.learners))

    async def assign(s):
        s.add(LearningAssignment(course_id=course, group_id=group))
        await s.flush()
        return await sync_group_assignments(s, group_ids=[group])

    assert await db(engine, t, assign) == 3
    assert await db(engine, t, lambda s: sync_group_assignments(s, group_ids=[group])) == 0
    assert await db(engine, t, lambda s: sync_group_assignments(s)) == 0
    assert await db(engine, t, lambda s: sync_group_assignments(s, group_ids=[])) == 0
