"""Attendance: marked by the session's staff during and after it; learners see their own, parents their
children's; the CSV export."""

from __future__ import annotations

import csv
import io

from tests.integration.conftest import bearer_for, post_form, problem_of, statements
from tests.integration.live.conftest import create_session, set_session, soon


async def test_marking_attendance_in_pages_with_htmx_and_csv(engine, live_school, signed_in):
    s = live_school
    session_id = await create_session(engine, s.tenant, title="Attendance class", group_id=s.group_id,
                                      starts_at=soon(hours=2), include_parents=True)
    async with signed_in(s.teacher) as client:
        page = await client.get(f"/live/{session_id}/attendance")
        assert page.status_code == 200 and "Lena Learner" in page.text and "Carl Classmate" in page.text
        assert "Oscar Outsider" not in page.text
        early = await post_form(client, f"/live/{session_id}/attendance/{s.learner.id}", {"status": "present"},
                                headers={"HX-Request": "true"})
        assert early.status_code == 422  # two hours ahead: not yet
        await set_session(engine, s.tenant, session_id, starts_at=soon(minutes=-5))
        row = await post_form(client, f"/live/{session_id}/attendance/{s.learner.id}", {"status": "late"},
                              headers={"HX-Request": "true", "HX-Target": f"live-attendance-{s.learner.id}"})
        assert row.status_code == 200
        assert row.text.lstrip().startswith(("<tr", "{%")) or "<tr" in row.text[:400]
        assert "<html" not in row.text and 'value="late" aria-pressed="true"' in row.text
        assert (await post_form(client, f"/live/{session_id}/attendance/{s.learner.id}",
                                {"status": "asleep"}, headers={"HX-Request": "true"})).status_code == 422
        assert (await post_form(client, f"/live/{session_id}/attendance/{s.outsider.id}",
                                {"status": "present"})).status_code == 404
        done = await post_form(client, f"/live/{session_id}/attendance/all-present")
        assert done.status_code == 303
        exported = await client.get(f"/live/{session_id}/attendance.csv")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        marks = {r[0]: r[2] for r in rows[1:]}
        assert marks == {"Lena Learner": "late", "Carl Classmate": "present"}  # all-present kept the late mark

    async with signed_in(s.learner) as client:
        page = await client.get(f"/live/{session_id}")
        assert "Late" in page.text and "Carl Classmate" not in page.text
        assert (await client.get(f"/live/{session_id}/attendance")).status_code == 403
        assert (await client.get(f"/live/{session_id}/attendance.csv")).status_code == 403
    async with signed_in(s.parent) as client:
        page = await client.get(f"/live/{session_id}")
        assert "Lena Learner: Late" in page.text and "Carl Classmate" not in page.text
    for member in (s.other_teacher, s.manager):
        async with signed_in(member) as client:
            assert (await client.get(f"/live/{session_id}/attendance")).status_code == 404
            assert (await post_form(client, f"/live/{session_id}/attendance/{s.learner.id}",
                                    {"status": "absent"})).status_code == 404


async def test_attendance_through_the_api(engine, live_school, client_for):
    s = live_school
    session_id = await create_session(engine, s.tenant, title="API attendance", course_id=s.course_id,
                                      starts_at=soon(minutes=-30))
    path = f"/api/v1/live-sessions/{session_id}/attendance"
    async with client_for(s.tenant) as client:
        teacher = await bearer_for(client, s.co_teacher)  # a co-teacher of the course is its staff
        marked = await client.put(path, json={"marks": [{"user_id": str(s.learner.id), "status": "excused"}]},
                                  headers=teacher)
        assert marked.status_code == 200, marked.text
        assert [(i["name"], i["status"]) for i in marked.json()["items"]] == [("Lena Learner", "excused")]
        listed = await client.get(path + "?per_page=1", headers=teacher)  # the staff's list, a page at a time
        assert listed.status_code == 200 and listed.json()["per_page"] == 1 and len(listed.json()["items"]) <= 1
        assert listed.json()["total"] >= 1
        for bad in ("per_page=0", "per_page=201", "page=0"):
            problem_of(await client.get(f"{path}?{bad}", headers=teacher), 400)
        refused = await client.put(path, json={"marks": [{"user_id": str(s.classmate.id), "status": "present"}]},
                                   headers=teacher)  # in the class, not in the course
        assert problem_of(refused, 409)["field"] == "user_id"
        for bad in ({"marks": []}, {"marks": [{"user_id": "x", "status": "present"}]},
                    {"marks": [{"user_id": str(s.learner.id), "status": "asleep"}]}, {"other": 1}):
            assert (await client.put(path, json=bad, headers=teacher)).status_code == 400, bad
        learner = await bearer_for(client, s.learner)
        assert problem_of(await client.put(path, json={"marks": [
            {"user_id": str(s.learner.id), "status": "present"}]}, headers=learner), 403)
        own = await client.get(path, headers=learner)
        assert [(i["user_id"], i["status"]) for i in own.json()["items"]] == [(str(s.learner.id), "excused")]
        assert problem_of(await client.get(path, headers=await bearer_for(client, s.parent)), 404)  # not included
        assert problem_of(await client.get(path, headers=await bearer_for(client, s.classmate)), 404)
    later = await create_session(engine, s.tenant, course_id=s.course_id, starts_at=soon(days=1))
    async with client_for(s.tenant) as client:
        early = await client.put(f"/api/v1/live-sessions/{later}/attendance", json={"marks": [
            {"user_id": str(s.learner.id), "status": "present"}]}, headers=await bearer_for(client, s.teacher))
        assert problem_of(early, 409)


async def test_the_attendance_page_costs_the_same_whatever_the_class_size(engine, new_org, make_user, signed_in):
    from tajiconnect.domains.groups.models import GroupMembership
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.live.conftest import build_school

    s = await build_school(engine, new_org, make_user, "liva")
    session_id = await create_session(engine, s.tenant, group_id=s.group_id, starts_at=soon(minutes=-5))
    async with signed_in(s.teacher) as client:
        few = await statements(client, f"/live/{session_id}/attendance")
        more = [await make_user(s.tenant, ["student"]) for _ in range(6)]
        async with tenant_session(engine, s.tenant) as session:
            session.add_all(GroupMembership(group_id=s.group_id, user_id=m.id, role="member") for m in more)
        assert (await post_form(client, f"/live/{session_id}/attendance/all-present")).status_code == 303
        assert await statements(client, f"/live/{session_id}/attendance") <= few
        page = await client.get(f"/live/{session_id}/attendance")
        assert page.text.count('aria-pressed="true"') == 8  # everyone present after "all present"
