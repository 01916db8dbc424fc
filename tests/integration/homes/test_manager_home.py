"""The manager's home (companies): the team's training, paths, overdue people and seats; the nudge (throttled,
notified once, audited); the CSV; who may nudge whom; another organization."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select, update

from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.homes.models import Nudge
from tajiconnect.domains.notifications.models import Notification
from tests.integration.conftest import audit_entries, drain, post_form, set_user, statements
from tests.integration.groups.conftest import tenant_session
from tests.integration.homes.conftest import DAY, assignment, course, enroll, group, now, path, path_enroll


async def nudges_of(engine, tenant, user_id) -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.category == "nudge"))).all())


async def team(engine, new_org, make_user, prefix="hmm"):
    """A company: a manager leading Sales (Ana, Ben) with Sales East below it (Cleo), and Support (Dan) led by
    someone else. Safety training (a course) is assigned to Sales with a past due date: Ana is overdue, Ben done;
    Onboarding (a path) is assigned to Cleo, overdue; Dan is overdue in Support's own assignment."""
    org = await new_org(prefix, kind="company")
    t = org.tenant
    boss, other_boss = await make_user(t, ["manager"]), await make_user(t, ["manager"])
    ana, ben, cleo, dan = [await make_user(t, ["student"], name=n) for n in ("Ana", "Ben", "Cleo", "Dan")]
    sales = await group(engine, t, members=[ana.id, ben.id], leaders=[boss.id], name="Sales", kind="department")
    east = await group(engine, t, members=[cleo.id], parent_id=sales, name="Sales East", kind="team")
    support = await group(engine, t, members=[dan.id], leaders=[other_boss.id], name="Support", kind="department")
    safety, _ = await course(engine, t, None, "Safety training")
    due = now() - 2 * DAY
    a_safety = await assignment(engine, t, course_id=safety, group_id=sales, due_at=due)
    ana_row = await enroll(engine, t, ana.id, safety, source="group", assignment_id=a_safety, due_at=due,
                           progress_percent=30)
    await enroll(engine, t, ben.id, safety, source="group", assignment_id=a_safety, due_at=due, status="completed",
                 progress_percent=100, completed_at=now())
    onboarding = await path(engine, t, [safety], "Onboarding")
    a_path = await assignment(engine, t, path_id=onboarding, user_id=cleo.id, due_at=due)
    cleo_row = await path_enroll(engine, t, cleo.id, onboarding, source="assigned", assignment_id=a_path,
                                 due_at=due, progress_percent=50)
    await enroll(engine, t, cleo.id, safety, source="path", assignment_id=a_path, due_at=due, path_id=onboarding)
    a_support = await assignment(engine, t, course_id=safety, group_id=support, due_at=due)
    dan_row = await enroll(engine, t, dan.id, safety, source="group", assignment_id=a_support, due_at=due)
    return {"org": org, "t": t, "boss": boss, "other_boss": other_boss, "ana": ana, "ben": ben, "cleo": cleo,
            "dan": dan, "ana_row": ana_row, "cleo_row": cleo_row, "dan_row": dan_row, "east": east,
            "a_safety": a_safety}


async def test_the_manager_sees_the_team_training_paths_overdue_and_seats(engine, new_org, make_user, signed_in):
    s = await team(engine, new_org, make_user)
    for learner in ("ana", "ben", "dan"):  # Cleo holds no seat; Dan is not in the team
        await set_user(engine, s["t"], s[learner].id, seat_assigned_at=now())
    async with signed_in(s["boss"]) as client:
        page = (await client.get("/")).text
    assert 'id="manager-home"' in page
    training = re.search(r'id="training-table">(.*?)</table>', page, re.S).group(1)
    assert "Safety training" in training and "Sales" in training and "Onboarding" in training
    assert "1 of 2 (50%)" in training  # Ana and Ben (Cleo's course enrollment is the path's)
    assert "Support" not in training
    overdue = re.search(r'id="overdue-table">(.*?)</table>', page, re.S).group(1)
    assert str(s["ana_row"]) in overdue and str(s["cleo_row"]) in overdue
    assert "Ben" not in overdue and str(s["dan_row"]) not in overdue and "Dan" not in page
    assert 'id="team-seat-holders">2<' in page and "the 3 learners of your team" in page
    assert "1 learner has no seat" in page
    paths = re.search(r'id="team-paths"(.*?)</section>', page, re.S).group(1)
    assert "Onboarding" in paths and "0 of 1 completed" in paths
    async with signed_in(s["boss"]) as client:  # the overdue list pages alone for HTMX
        fragment = await client.get("/home/team?page=1", headers={"HX-Request": "true", "HX-Target": "team-overdue"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert str(s["ana_row"]) in fragment.text and "HX-Target" in fragment.headers["vary"]
        assert (await client.get("/home/team?page=-1")).status_code == 400


async def test_a_nudge_notifies_once_and_is_throttled_for_a_day(engine, new_org, make_user, signed_in, run_jobs,
                                                                 mail_sink):
    s = await team(engine, new_org, make_user, "hmn")
    t = s["t"]
    async with signed_in(s["boss"]) as client:
        sent = await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"]),
                                                           "next": "/"})
        assert sent.status_code == 303 and sent.headers["location"] == "/?nudged=1"
        page = (await client.get("/?nudged=1")).text
        assert "The reminder was sent." in page and "next possible from" in page
        again = await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"])})
        assert again.status_code == 409 and "next reminder is possible from" in again.text
    [note] = await nudges_of(engine, t, s["ana"].id)
    assert note.title == "Reminder: Safety training is overdue" and note.link.startswith("/learn/courses/")
    [entry] = await audit_entries(engine, t, "learning.nudged")
    assert entry.subject_email == s["ana"].email and entry.details["assignment_id"] == str(s["a_safety"])
    await drain(run_jobs)
    await drain(run_jobs)  # a second run sends nothing new
    [email] = mail_sink.to(s["ana"].email)
    assert "Safety training" in str(email["Subject"])

    async with tenant_session(engine, t) as session:  # a day later the next one may go
        await session.execute(update(Nudge).values(last_sent_at=now() - DAY - DAY / 1440))
    async with signed_in(s["boss"]) as client:
        assert (await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"])})
                ).status_code == 303
        assert (await post_form(client, "/home/team/nudge", {"kind": "path", "enrollment": str(s["cleo_row"])})
                ).status_code == 303
    assert len(await nudges_of(engine, t, s["ana"].id)) == 2
    [path_note] = await nudges_of(engine, t, s["cleo"].id)
    assert path_note.link.startswith("/paths/")
    async with tenant_session(engine, t) as session:
        row = await session.scalar(select(Nudge).where(Nudge.learner_id == s["ana"].id))
        assert row.sent_count == 2


async def test_who_may_nudge_whom(engine, new_org, make_user, signed_in):
    s = await team(engine, new_org, make_user, "hmw")
    t = s["t"]
    teacher, learner = await make_user(t, ["teacher"]), s["ana"]
    async with signed_in(s["boss"]) as client:  # outside the team, nonsense, wrong kind: not found
        for data in ({"kind": "course", "enrollment": str(s["dan_row"])},
                     {"kind": "path", "enrollment": str(s["ana_row"])},
                     {"kind": "course", "enrollment": "not-an-id"},
                     {"kind": "course", "enrollment": "9" * 5000},
                     {"kind": "", "enrollment": ""}):
            answer = await post_form(client, "/home/team/nudge", data)
            assert answer.status_code == 404, data
            assert "No such overdue work in your team." in answer.text
        assert (await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": "a\x00b"})
                ).status_code == 400
    async with signed_in(s["other_boss"]) as client:  # Support's manager may nudge Dan, not Ana
        assert (await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"])})
                ).status_code == 404
        assert (await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["dan_row"])})
                ).status_code == 303
    for member in (teacher, learner):
        async with signed_in(member) as client:
            assert (await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"])})
                    ).status_code == 403
            assert (await client.get("/home/team/overdue.csv")).status_code == 403
    async with signed_in(s["boss"]) as client:  # without the CSRF token: refused
        assert (await client.post("/home/team/nudge", data={"kind": "course", "enrollment": str(s["ana_row"])})
                ).status_code == 403
    assert await nudges_of(engine, t, learner.id) == []


async def test_the_overdue_list_as_csv(engine, new_org, make_user, signed_in):
    s = await team(engine, new_org, make_user, "hmc")
    evil = await make_user(s["t"], ["student"], name="=HYPERLINK(1)")
    due = now() - DAY
    drill, _work = await course(engine, s["t"], None, "+Fire drill")
    given = await assignment(engine, s["t"], course_id=drill, user_id=evil.id, due_at=due)
    await enroll(engine, s["t"], evil.id, drill, source="assigned", assignment_id=given, due_at=due)
    async with tenant_session(engine, s["t"]) as session:  # the learner belongs to the team
        session.add(GroupMembership(group_id=s["east"], user_id=evil.id, role="member"))
    async with signed_in(s["boss"]) as client:
        answer = await client.get("/home/team/overdue.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["learner", "email", "kind", "subject", "due_at", "percent", "last_nudged_at"]
    names = {r[0] for r in rows[1:]}
    assert {"Ana", "Cleo", "'=HYPERLINK(1)"} <= names and "Dan" not in names and "Ben" not in names
    assert any(r[3] == "'+Fire drill" for r in rows[1:])


async def test_the_manager_home_costs_a_fixed_number_of_statements(engine, new_org, make_user, signed_in):
    s = await team(engine, new_org, make_user, "hmq")
    async with signed_in(s["boss"]) as client:
        small = await statements(client, "/")
    for _ in range(3):
        learner = await make_user(s["t"], ["student"])
        safety, _work = await course(engine, s["t"], None)
        a = await assignment(engine, s["t"], course_id=safety, user_id=learner.id, due_at=now() - DAY)
        await enroll(engine, s["t"], learner.id, safety, source="assigned", assignment_id=a, due_at=now() - DAY)
        async with tenant_session(engine, s["t"]) as session:
            session.add(GroupMembership(group_id=s["east"], user_id=learner.id, role="member"))
    async with signed_in(s["boss"]) as client:
        large = await statements(client, "/")
    assert large == small and small <= 11, (small, large)  # 10, and the open requests to take learning


async def test_another_organization_cannot_nudge_or_see(engine, new_org, make_user, signed_in):
    s = await team(engine, new_org, make_user, "hmx")
    other = await new_org("hmy", kind="company")
    stranger = await make_user(other.tenant, ["manager"])
    async with signed_in(stranger) as client:
        page = (await client.get("/")).text
        assert 'id="manager-home"' in page and "Ana" not in page and "Safety training" not in page
        answer = await post_form(client, "/home/team/nudge", {"kind": "course", "enrollment": str(s["ana_row"])})
        assert answer.status_code == 404
        csv_text = (await client.get("/home/team/overdue.csv")).content.decode("utf-8-sig")
        assert csv_text.strip().count("\n") == 0
    assert await nudges_of(engine, s["t"], s["ana"].id) == []
