"""Scheduling live sessions and who sees them: every role pair, another organization, pages and API."""

from __future__ import annotations

import datetime
import re

from tajiconnect.domains.live.models import LiveSession
from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of, statements
from tests.integration.groups.conftest import tenant_session
from tests.integration.live.conftest import (
    build_school,
    create_session,
    dispatch,
    live_notifications,
    session_body,
    set_session,
    soon,
)


async def test_a_teacher_schedules_for_their_class_and_the_audience_sees_it(
        engine, live_school, signed_in, run_jobs):
    s = live_school
    start = soon(days=3).astimezone(datetime.timezone(datetime.timedelta(hours=3)))  # Africa/Nairobi is UTC+3
    async with signed_in(s.teacher) as client:
        form = await client.get(f"/live/new?group={s.group_id}")
        assert form.status_code == 200
        assert f'value="group:{s.group_id}" selected' in form.text
        response = await post_form(client, "/live/new", {
            "target": f"group:{s.group_id}", "title": "Cell biology live",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "time_zone": "Africa/Nairobi", "duration_minutes": "45", "meeting_url": "https://meet.jit.si/CellBio",
            "description": "Bring your notes", "include_parents": "on"})
        assert response.status_code == 303, response.text
        path = response.headers["location"].split("?")[0]
        page = await client.get(path)
        assert "Cell biology live" in page.text and "Jitsi Meet" in page.text
        assert "https://meet.jit.si/CellBio" in page.text  # the teacher sees their link at any time
    session_id = path.rsplit("/", 1)[1]
    async with tenant_session(engine, s.tenant) as session:
        live = await session.get(LiveSession, __import__("uuid").UUID(session_id))
        assert live.starts_at == start.replace(second=0).astimezone(datetime.UTC)
        assert live.provider == "jitsi" and live.include_parents
    assert [e.action for e in await audit_entries(engine, s.tenant, "live.scheduled")]

    async with signed_in(s.admin) as client:
        assert "Cell biology live" in (await client.get("/live")).text
        assert (await client.get(path)).status_code == 200
    for member in (s.learner, s.classmate, s.parent):
        async with signed_in(member) as client:
            listing = await client.get("/live")
            assert "Cell biology live" in listing.text, member.email
            page = await client.get(path)
            assert page.status_code == 200
            assert "https://meet.jit.si/CellBio" not in page.text  # two days ahead: no join link yet
    for member in (s.outsider, s.other_teacher, s.manager, s.unlinked_parent, s.co_teacher):
        async with signed_in(member) as client:
            assert "Cell biology live" not in (await client.get("/live")).text, member.email
            assert (await client.get(path)).status_code == 404, member.email

    # The audience is told once, in the background (the learner, the classmate, the parent).
    await dispatch(engine, s.tenant, run_jobs)
    for member in (s.learner, s.classmate, s.parent):
        notes = [n for n in await live_notifications(engine, s.tenant, member.id) if "Cell biology" in n.title]
        assert [n.title for n in notes] == ["New live class: Cell biology live"], member.email
        assert "Africa/Nairobi" in notes[0].body
    for member in (s.outsider, s.unlinked_parent, s.teacher):
        assert not [n for n in await live_notifications(engine, s.tenant, member.id) if "Cell biology" in n.title]


async def test_who_may_schedule_for_what(live_school, signed_in, client_for):
    s = live_school
    async with client_for(s.tenant) as client:
        for member, target, status in [
            (s.teacher, {"group_id": str(s.group_id)}, 201),
            (s.co_teacher, {"course_id": str(s.course_id), "group_id": None}, 201),
            (s.teacher, {"course_id": str(s.course_id), "group_id": None}, 201),
            (s.admin, {"group_id": str(s.group_id)}, 201),
            (s.co_teacher, {"group_id": str(s.group_id)}, 409),  # not a leader of the class
            (s.other_teacher, {"group_id": str(s.group_id)}, 409),
            (s.manager, {"course_id": str(s.course_id), "group_id": None}, 409),
            (s.learner, {"group_id": str(s.group_id)}, 403),
            (s.parent, {"group_id": str(s.group_id)}, 403),
        ]:
            body = session_body(s, **target)
            response = await client.post("/api/v1/live-sessions", json=body, headers=await bearer_for(client, member))
            assert response.status_code == status, (member.email, response.text)
            if status == 409:
                assert problem_of(response, 409)["field"] == "target"
    async with signed_in(s.learner) as client:
        assert (await client.get("/live/new")).status_code == 403
    async with signed_in(s.parent) as client:
        assert (await client.get("/live/new")).status_code == 403
    async with signed_in(s.other_teacher) as client:  # offered only their own classes and courses
        form = await client.get("/live/new")
        assert str(s.group_id) not in form.text and str(s.course_id) not in form.text


async def test_parents_see_a_session_only_when_it_includes_them(engine, live_school, signed_in):
    s = live_school
    hidden = await create_session(engine, s.tenant, title="Teachers only", group_id=s.group_id,
                                  include_parents=False)
    shown = await create_session(engine, s.tenant, title="Parents welcome", course_id=s.course_id,
                                 include_parents=True)
    async with signed_in(s.parent) as client:
        assert (await client.get(f"/live/{hidden}")).status_code == 404
        assert (await client.get(f"/live/{shown}")).status_code == 200
        listing = (await client.get("/live")).text
        assert "Parents welcome" in listing and "Teachers only" not in listing
    async with signed_in(s.unlinked_parent) as client:
        assert (await client.get(f"/live/{shown}")).status_code == 404
    async with signed_in(s.classmate) as client:  # not in the course
        assert (await client.get(f"/live/{shown}")).status_code == 404
        assert (await client.get(f"/live/{hidden}")).status_code == 200


async def test_the_join_link_shows_from_15_minutes_before_until_the_end(engine, live_school, signed_in):
    s = live_school
    session_id = await create_session(engine, s.tenant, title="Join test", group_id=s.group_id,
                                      meeting_url="https://bbb.example.org/b/abc-123", provider="bigbluebutton",
                                      starts_at=soon(minutes=20))
    async with signed_in(s.learner) as client:
        page = await client.get(f"/live/{session_id}")
        assert "https://bbb.example.org/b/abc-123" not in page.text
        assert "from 15 minutes before the start" in page.text
        await set_session(engine, s.tenant, session_id, starts_at=soon(minutes=10))
        page = await client.get(f"/live/{session_id}")
        assert 'id="join-link" href="https://bbb.example.org/b/abc-123"' in page.text
        assert "BigBlueButton" in page.text
        api = await client.get(f"/api/v1/live-sessions/{session_id}", headers=await bearer_for(client, s.learner))
        assert api.json()["join_url"] == "https://bbb.example.org/b/abc-123"
        await set_session(engine, s.tenant, session_id, starts_at=soon(minutes=-61))
        page = await client.get(f"/live/{session_id}")
        assert "https://bbb.example.org/b/abc-123" not in page.text and "This session is over." in page.text
        past = (await client.get("/live?when=past")).text
        assert "Join test" in past and "Join test" not in (await client.get("/live")).text


async def test_form_errors_keep_what_was_typed(live_school, signed_in):
    s = live_school
    async with signed_in(s.teacher) as client:
        response = await post_form(client, "/live/new", {
            "target": f"group:{s.group_id}", "title": "Kept title", "starts_at": "2001-01-01T10:00",
            "time_zone": "Africa/Nairobi", "duration_minutes": "45", "meeting_url": "https://meet.jit.si/x"})
        assert response.status_code == 422
        assert "The start is in the past." in response.text and 'value="Kept title"' in response.text
        response = await post_form(client, "/live/new", {
            "target": f"group:{s.group_id}", "title": "Kept title",
            "starts_at": soon(days=1).strftime("%Y-%m-%dT%H:%M"),
            "time_zone": "Africa/Nairobi", "duration_minutes": "45", "meeting_url": "http://meet.jit.si/x"})
        assert response.status_code == 422 and "https://" in response.text
        for bad in ({"time_zone": "Mars/Olympus"}, {"starts_at": "tomorrow"}, {"duration_minutes": "99999999999"},
                    {"duration_minutes": "2"}, {"title": "x" * 300}, {"target": "group:not-a-uuid"}):
            data = {"target": f"group:{s.group_id}", "title": "T",
                    "starts_at": soon(days=1).strftime("%Y-%m-%dT%H:%M"),
                    "time_zone": "UTC", "duration_minutes": "45", "meeting_url": "https://meet.jit.si/x", **bad}
            response = await post_form(client, "/live/new", data)
            assert response.status_code == 422, bad
            assert 'class="field-error"' in response.text or 'id="form-error"' in response.text, bad


async def test_the_api_edits_and_cancels_and_refuses_bad_input(engine, live_school, client_for, run_jobs):
    s = live_school
    async with client_for(s.tenant) as client:
        teacher = await bearer_for(client, s.teacher)
        created = await client.post("/api/v1/live-sessions", json=session_body(s, title="API class"), headers=teacher)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["provider"] == "jitsi" and body["join_url"] and body["viewer_role"] == "staff"
        path = f"/api/v1/live-sessions/{body['id']}"

        learner = await bearer_for(client, s.learner)
        seen = await client.get(path, headers=learner)
        assert seen.status_code == 200 and seen.json()["join_url"] is None and seen.json()["viewer_role"] == "learner"
        listing = await client.get("/api/v1/live-sessions", headers=learner)
        [listed] = [item for item in listing.json()["items"] if item["id"] == body["id"]]
        assert listed["join_url"] is None and listed["viewer_role"] is None
        # Its teacher sees the link in the list too, at any time (as on the session itself).
        [own] = [item for item in (await client.get("/api/v1/live-sessions", headers=teacher)).json()["items"]
                 if item["id"] == body["id"]]
        assert own["join_url"] == body["join_url"] and own["viewer_role"] == "staff"
        assert problem_of(await client.patch(path, json={"title": "Mine"}, headers=learner), 403)
        outsider = await bearer_for(client, s.outsider)
        assert problem_of(await client.get(path, headers=outsider), 404)
        assert problem_of(await client.delete(path, headers=await bearer_for(client, s.other_teacher)), 404)

        moved_to = soon(days=4)
        moved = await client.patch(path, json={"starts_at": moved_to.isoformat(), "duration_minutes": 90},
                                   headers=teacher)
        assert moved.status_code == 200, moved.text
        assert moved.json()["duration_minutes"] == 90
        assert datetime.datetime.fromisoformat(moved.json()["starts_at"]) == moved_to
        for bad in ({"starts_at": "2030-01-01T10:00:00"}, {"duration_minutes": 10**20}, {"title": ""},
                    {"meeting_url": "javascript:alert(1)"}, {"time_zone": "Nowhere/Else"},
                    {"group_id": str(s.group_id)},
                    {"title": "x" * 201}, {"starts_at": "2001-01-01T10:00:00Z"},
                    {"starts_at": "0001-01-01T00:00:00+14:00"}, {"starts_at": "9999-12-31T23:59:59-12:00"}):
            response = await client.patch(path, json=bad, headers=teacher)
            # Not valid (400), or valid and refused by the service (409: a past start, a time zone, a link).
            assert response.status_code in (400, 409), (bad, response.text)
        assert (await client.post("/api/v1/live-sessions", content=b"{", headers={
            **teacher, "content-type": "application/json"})).status_code == 400

        assert (await client.delete(path, headers=teacher)).status_code == 204
        assert problem_of(await client.delete(path, headers=teacher), 409)["field"] == "status"
        assert problem_of(await client.patch(path, json={"title": "Again"}, headers=teacher), 409)
        assert (await client.get(path, headers=learner)).json()["status"] == "cancelled"
    await dispatch(engine, s.tenant, run_jobs)
    titles = [n.title for n in await live_notifications(engine, s.tenant, s.learner.id)]
    assert "New live class: API class" not in titles  # moved, then cancelled before the job ran: superseded
    assert titles.count("Live class cancelled: API class") == 1
    assert [e.action for e in await audit_entries(engine, s.tenant, "live.cancelled")]


async def test_another_organization_cannot_see_or_change_a_session(engine, live_school, new_org, make_user,
                                                                   client_for, signed_in):
    s = live_school
    session_id = await create_session(engine, s.tenant, title="Ours", group_id=s.group_id)
    other = await new_org("livo")
    stranger = await make_user(other.tenant, ["teacher"])
    async with client_for(other.tenant) as client:
        for member in (other.admin, stranger):
            headers = await bearer_for(client, member)
            path = f"/api/v1/live-sessions/{session_id}"
            assert problem_of(await client.get(path, headers=headers), 404)
            assert problem_of(await client.delete(path, headers=headers), 404)
            assert problem_of(await client.put(f"{path}/attendance", json={"marks": [
                {"user_id": str(s.learner.id), "status": "present"}]}, headers=headers), 404)
            listing = await client.get("/api/v1/live-sessions", headers=headers)
            assert listing.json()["total"] == 0
            # Scheduling for another organization's class: not one of theirs.
            body = session_body(s)
            refused = await client.post("/api/v1/live-sessions", json=body, headers=headers)
            assert refused.status_code == 409
    async with signed_in(other.admin) as client:
        assert (await client.get(f"/live/{session_id}")).status_code == 404
        assert (await client.get(f"/live/{session_id}/attendance")).status_code == 404


async def test_the_list_costs_the_same_whatever_its_length(engine, new_org, make_user, signed_in):
    school = await build_school(engine, new_org, make_user, "livn")
    await create_session(engine, school.tenant, group_id=school.group_id)
    async with signed_in(school.learner) as client:
        one = await statements(client, "/live")
        for _ in range(5):
            await create_session(engine, school.tenant, group_id=school.group_id)
            await create_session(engine, school.tenant, course_id=school.course_id)
        assert await statements(client, "/live") <= one
        listing = await client.get("/live")
        assert len(re.findall(r'id="live-session-', listing.text)) == 11
