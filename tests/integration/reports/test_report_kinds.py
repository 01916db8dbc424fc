"""Reports beyond the gradebook: each kind's content within what the requester may see, the three formats read
back, progress, the report_ready notification, expiry, schedules (once per period, emailed), the request form,
the API, and another organization's ids."""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import openpyxl
import pypdfium2
import pytest
from sqlalchemy import func, select, update

from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.progress.models import LearningDay
from tajiconnect.domains.reports import schedules, service, tasks
from tajiconnect.domains.reports.models import Report, ReportSchedule
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tasks.outbox import dispatch_committed
from tests.integration.conftest import bearer_for, drain, post_form, problem_of
from tests.integration.groups.conftest import acting_as, tenant_session
from tests.integration.progress.conftest import add_group, build_course, build_path, enroll
from tests.integration.reports.conftest import fetch_file, load_report


@dataclass
class School:
    org: Any
    teacher: Any
    manager: Any
    learners: list[Any]  # Amélie, Baraka, Chao
    mine: Any  # the teacher's course
    other: Any  # someone else's course
    group: uuid.UUID
    mine_title: str
    other_title: str


async def school(org, make_user, engine) -> School:
    """Amélie (in the manager's class) takes both courses, Baraka the teacher's, Chao the other one."""
    teacher = await make_user(org.tenant, ["teacher"], name="Tess Teacher")
    manager = await make_user(org.tenant, ["manager"], name="Mona Manager")
    tag = uuid.uuid4().hex[:4]
    names = [f"Amélie Ñandú {tag}", f"Baraka Mwangi {tag}", f"Chao Li {tag}"]
    learners = [await make_user(org.tenant, ["student"], name=n) for n in names]
    for learner, name in zip(learners, names, strict=True):
        learner.name = name  # a Member is a plain dataclass: keep the name at hand for the assertions
    mine = await build_course(engine, org.tenant, owner_id=teacher.id, title=f"Solar {tag}")
    other = await build_course(engine, org.tenant, title=f"Water {tag}")
    a, b, c = learners
    done = datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC)
    await enroll(engine, org.tenant, a.id, mine.id, status="completed", progress_percent=100, completed_at=done)
    await enroll(engine, org.tenant, a.id, other.id, progress_percent=40)
    await enroll(engine, org.tenant, b.id, mine.id, progress_percent=10)
    await enroll(engine, org.tenant, c.id, other.id, progress_percent=70)
    group = await add_group(engine, org.tenant, members=[a.id], leaders=[manager.id])
    return School(org, teacher, manager, learners, mine, other, group, f"Solar {tag}", f"Water {tag}")


QUEUES: list[Any] = []


@pytest.fixture(autouse=True)
async def _queues(run_jobs):
    """The test queues, connected, for the jobs the tests' own transactions defer."""
    if not run_jobs.connected:
        await run_jobs.queues.connect()
        run_jobs.connected = True
    QUEUES[:] = [run_jobs.queues]


async def ask(engine, tenant, member, kind, fmt="csv", **params) -> uuid.UUID:
    """A report asked for through the service, its job sent to the test queues."""
    async with tenant_session(engine, tenant) as session:
        report = await service.request_report(session, await acting_as(session, member), kind, fmt, params)
    await dispatch_committed(session, QUEUES[0])
    return report.id


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


async def test_completion_holds_what_each_requester_may_see_in_every_format(
    fresh_org, make_user, engine, signed_in, run_jobs, worker_storage
):
    s = await school(fresh_org, make_user, engine)
    a, b, c = s.learners
    asked = {who: await ask(engine, fresh_org.tenant, member, "completion")
             for who, member in (("teacher", s.teacher), ("manager", s.manager), ("admin", fresh_org.admin))}
    xlsx = await ask(engine, fresh_org.tenant, fresh_org.admin, "completion", "xlsx")
    pdf = await ask(engine, fresh_org.tenant, fresh_org.admin, "completion", "pdf", course_id=str(s.mine.id))
    grouped = await ask(engine, fresh_org.tenant, fresh_org.admin, "completion", group_id=str(s.group))
    await drain(run_jobs)

    seen: dict[str, list[list[str]]] = {}
    for who, member in (("teacher", s.teacher), ("manager", s.manager), ("admin", fresh_org.admin)):
        async with signed_in(member) as browser:
            seen[who] = csv_rows(await fetch_file(browser, asked[who]))
    header = ["Learner", "Email", "Course", "Status", "Progress %", "Completed on"]
    assert all(rows[0] == header for rows in seen.values())
    pairs = {who: {(r[0], r[2]) for r in rows[1:]} for who, rows in seen.items()}
    assert pairs["teacher"] == {(a.name, s.mine_title), (b.name, s.mine_title)}
    assert pairs["manager"] == {(a.name, s.mine_title), (a.name, s.other_title)}
    assert pairs["admin"] == pairs["teacher"] | pairs["manager"] | {(c.name, s.other_title)}
    assert [a.name, a.email, s.mine_title, "Completed", "100", "2026-11-02"] in seen["admin"]
    assert [b.name, b.email, s.mine_title, "In progress", "10", ""] in seen["admin"]

    async with signed_in(fresh_org.admin) as browser:
        book = openpyxl.load_workbook(io.BytesIO(await fetch_file(browser, xlsx)), read_only=True)
        sheet_rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        assert sheet_rows[0] == header and len(sheet_rows) == 5
        assert [c.name, c.email, s.other_title, "In progress", 70, None] in sheet_rows
        text = pdf_text(await fetch_file(browser, pdf))
        assert "Course completion: " + s.mine_title in text
        assert a.name in text and b.name in text and c.name not in text  # "Amélie Ñandú" renders (embedded font)
        assert {(r[0], r[2]) for r in csv_rows(await fetch_file(browser, grouped))[1:]} == pairs["manager"]
    for key in (*asked.values(), xlsx, pdf, grouped):
        report = await load_report(engine, fresh_org.tenant, key)
        assert report.status == "done" and report.rows_done == report.rows_total


async def test_learners_are_refused_and_filters_outside_ones_reach_are_not_found(
    org, other_org, make_user, engine, signed_in, client_for
):
    s = await school(org, make_user, engine)
    learner = s.learners[0]
    async with signed_in(learner) as browser:
        assert (await browser.get("/reports/new")).status_code == 404
        assert (await post_form(browser, "/reports/new", {"kind": "completion", "format": "csv"})
                ).status_code == 404
    async with client_for(org.tenant) as client:
        refused = await client.post("/api/v1/reports", json={"kind": "completion"},
                                    headers=await bearer_for(client, learner))
        assert problem_of(refused, 409)["field"] == "kind"
        manager = await bearer_for(client, s.manager)
        assert problem_of(await client.post("/api/v1/reports", json={"kind": "seat_usage"}, headers=manager),
                          409)["field"] == "kind"
        teacher = await bearer_for(client, s.teacher)
        other_course = await client.post("/api/v1/reports", json={
            "kind": "completion", "params": {"course_id": str(s.other.id)}}, headers=teacher)
        assert other_course.status_code == 404
        foreign_group = await add_group(engine, other_org.tenant, members=[], leaders=[])
        assert (await client.post("/api/v1/reports", json={
            "kind": "completion", "params": {"group_id": str(foreign_group)}}, headers=manager)).status_code == 404
        assert (await client.post("/api/v1/reports", json={"kind": "completion", "format": "doc"},
                                  headers=manager)).status_code == 400
    async with tenant_session(engine, org.tenant) as session:
        assert await session.scalar(select(func.count()).select_from(Report).where(
            Report.requested_by_id == learner.id)) == 0


async def test_path_status_activity_and_seat_usage(fresh_org, make_user, engine, signed_in, run_jobs,
                                                    worker_storage, client_for):
    s = await school(fresh_org, make_user, engine)
    a, b, c = s.learners
    path = await build_path(engine, fresh_org.tenant, [s.mine.id], user_id=a.id)
    await build_path(engine, fresh_org.tenant, [s.other.id], user_id=c.id)
    async with tenant_session(engine, fresh_org.tenant) as session:
        session.add_all([
            LearningDay(user_id=a.id, day=datetime.date(2026, 10, 1), seconds_spent=600, lessons_completed=2),
            LearningDay(user_id=a.id, day=datetime.date(2026, 10, 3), seconds_spent=1200, lessons_completed=1),
            LearningDay(user_id=b.id, day=datetime.date(2026, 10, 2), seconds_spent=300, lessons_completed=0),
            LearningDay(user_id=c.id, day=datetime.date(2026, 9, 1), seconds_spent=300, lessons_completed=5),
        ])
    paths_mgr = await ask(engine, fresh_org.tenant, s.manager, "path_status")
    paths_admin = await ask(engine, fresh_org.tenant, fresh_org.admin, "path_status", path_id=str(path))
    activity = await ask(engine, fresh_org.tenant, s.teacher, "activity", "xlsx", date_from="2026-10-01",
                         date_to="2026-10-31")
    seats = await ask(engine, fresh_org.tenant, fresh_org.admin, "seat_usage", "pdf")
    await drain(run_jobs)
    async with signed_in(s.manager) as browser:
        rows = csv_rows(await fetch_file(browser, paths_mgr))
        assert rows[0][:3] == ["Learner", "Email", "Learning path"] and [r[0] for r in rows[1:]] == [a.name]
    async with signed_in(fresh_org.admin) as browser:
        assert [r[0] for r in csv_rows(await fetch_file(browser, paths_admin))[1:]] == [a.name]
        text = pdf_text(await fetch_file(browser, seats))
        assert "Seats purchased" in text and "Seats used" in text
    async with signed_in(s.teacher) as browser:
        sheet = openpyxl.load_workbook(io.BytesIO(await fetch_file(browser, activity)), read_only=True).worksheets[0]
        got = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert got[0] == ["Learner", "Email", "Minutes spent", "Lessons completed", "Days active"]
        assert got[1:] == [[a.name, a.email, 30, 3, 2], [b.name, b.email, 5, 0, 1]]  # Chao: not the teacher's
    async with client_for(fresh_org.tenant) as client:
        admin = await bearer_for(client, fresh_org.admin)
        long = await client.post("/api/v1/reports", json={"kind": "activity", "params": {
            "date_from": "2025-01-01", "date_to": "2026-01-02"}}, headers=admin)
        assert problem_of(long, 409)["field"] == "date_to"
        backwards = await client.post("/api/v1/reports", json={"kind": "activity", "params": {
            "date_from": "2026-01-02", "date_to": "2026-01-01"}}, headers=admin)
        assert problem_of(backwards, 409)["field"] == "date_to"
        missing = await client.post("/api/v1/reports", json={"kind": "activity"}, headers=admin)
        assert problem_of(missing, 409)["field"] == "date_from"


async def test_progress_is_committed_per_chunk_and_report_ready_is_notified_once(
    fresh_org, make_user, engine, run_jobs, worker_storage, monkeypatch
):
    await school(fresh_org, make_user, engine)
    monkeypatch.setattr(tasks, "CHUNK", 2)
    seen: list[dict] = []
    original = tasks._set

    async def spy(engine_, key, **values):
        seen.append(values)
        await original(engine_, key, **values)

    monkeypatch.setattr(tasks, "_set", spy)
    report_id = await ask(engine, fresh_org.tenant, fresh_org.admin, "completion")
    await drain(run_jobs)
    assert seen[0] == {"rows_total": 4}
    assert [v["rows_done"] for v in seen[1:3]] == [2, 4] and seen[-1]["status"] == "done"
    async with tenant_session(engine, fresh_org.tenant):
        assert await tasks.run_report(engine, worker_storage, report_id) == {"skipped": True}
    async with tenant_session(engine, fresh_org.tenant) as session:
        notes = (await session.scalars(select(Notification).where(Notification.key == f"report:{report_id}"))).all()
    assert len(notes) == 1
    note = notes[0]
    assert (note.user_id, note.category, note.link) == (fresh_org.admin.id, "report_ready", f"/reports/{report_id}")


async def test_expired_reports_are_purged_with_their_files(fresh_org, engine, run_jobs, worker_storage, signed_in):
    old = await ask(engine, fresh_org.tenant, fresh_org.admin, "seat_usage")
    kept = await ask(engine, fresh_org.tenant, fresh_org.admin, "seat_usage", "xlsx")
    await drain(run_jobs)
    gone_file = (await load_report(engine, fresh_org.tenant, old)).file_id
    async with tenant_session(engine, fresh_org.tenant) as session:
        await session.execute(update(Report).where(Report.id == old).values(
            expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)))
    async with tenant_session(engine, fresh_org.tenant):
        assert await tasks.purge_expired(engine, worker_storage) == 1
    async with tenant_session(engine, fresh_org.tenant) as session:
        assert await session.get(Report, old) is None and await session.get(Report, kept) is not None
        assert (await session.get(StoredFile, gone_file)).status == "deleted"
    async with signed_in(fresh_org.admin) as browser:
        assert (await browser.get(f"/reports/{old}")).status_code == 404


async def test_a_schedule_makes_one_report_per_period_and_emails_its_owner(
    fresh_org, make_user, engine, signed_in, run_jobs, worker_storage, mail_sink
):
    s = await school(fresh_org, make_user, engine)
    async with signed_in(s.teacher) as browser:
        made = await post_form(browser, "/reports/new", {"kind": "completion", "format": "xlsx", "repeat": "weekly",
                                                         "weekday": "2"})
        assert made.status_code == 303 and made.headers["location"] == "/reports/schedules"
        bad = await post_form(browser, "/reports/new", {"kind": "completion", "format": "csv", "repeat": "monthly",
                                                        "day_of_month": "31"})
        assert bad.status_code == 422 and 'id="e-day_of_month"' in bad.text and 'value="31"' in bad.text
        listed = await browser.get("/reports/schedules")
        assert listed.status_code == 200 and "Every Wednesday" in listed.text
    async with tenant_session(engine, fresh_org.tenant) as session:
        schedule = await session.scalar(select(ReportSchedule).where(ReportSchedule.owner_id == s.teacher.id))
        assert schedule.weekday == 2 and schedule.next_run_at.weekday() in (1, 2)  # 06:00 Nairobi = 03:00 UTC
        due = schedule.next_run_at
        first = due + datetime.timedelta(minutes=5)
    q = run_jobs.queues
    async with tenant_session(engine, fresh_org.tenant):
        assert await schedules.run_due(engine, queue=q, now=first) == 1
        assert await schedules.run_due(engine, queue=q, now=first) == 0  # the same tick again: nothing more
    async with tenant_session(engine, fresh_org.tenant) as session:
        moved = await session.get(ReportSchedule, schedule.id)
        assert moved.next_run_at == due + datetime.timedelta(days=7) and moved.last_run_at == first
        made_reports = (await session.scalars(select(Report).where(Report.schedule_id == schedule.id))).all()
    assert len(made_reports) == 1 and made_reports[0].params["period"] == f"schedule:{schedule.id}:{due.isoformat()}"
    await drain(run_jobs)
    report_id = made_reports[0].id
    message = mail_sink.last_to(s.teacher.email, "Your report is ready")
    body = message.get_body(("plain",)).get_content()
    assert f"/reports/{report_id}" in body
    assert (await load_report(engine, fresh_org.tenant, report_id)).status == "done"

    async with tenant_session(engine, fresh_org.tenant):
        assert await schedules.run_due(engine, queue=q, now=due + datetime.timedelta(days=7, minutes=1)) == 1
    async with signed_in(s.manager) as browser:  # not the owner: not found
        assert (await post_form(browser, f"/reports/schedules/{schedule.id}/pause", {})
                ).status_code == 404
    async with signed_in(s.teacher) as browser:
        assert (await post_form(browser, f"/reports/schedules/{schedule.id}/pause", {})
                ).status_code == 303
        async with tenant_session(engine, fresh_org.tenant):  # paused: nothing
            assert await schedules.run_due(engine, queue=q, now=due + datetime.timedelta(days=30)) == 0
        assert "Paused" in (await browser.get("/reports/schedules")).text
        assert (await post_form(browser, f"/reports/schedules/{schedule.id}/delete", {})
                ).status_code == 303
    async with tenant_session(engine, fresh_org.tenant) as session:
        assert await session.get(ReportSchedule, schedule.id) is None


async def test_the_request_form_re_renders_with_field_errors_and_queues_a_report(
    org, make_user, engine, signed_in
):
    s = await school(org, make_user, engine)
    async with signed_in(s.manager) as browser:
        page = await browser.get("/reports/new")
        assert page.status_code == 200 and 'name="kind"' in page.text and 'value="seat_usage"' not in page.text
        bad = await post_form(browser, "/reports/new", {
            "kind": "activity", "format": "pdf", "date_from": "2026-01-01", "date_to": "2027-06-01"})
        assert bad.status_code == 422 and 'id="e-date_to"' in bad.text and 'value="2026-01-01"' in bad.text
        made = await post_form(browser, "/reports/new", {"kind": "completion", "format": "pdf",
                                                         "group_id": str(s.group)})
        assert made.status_code == 303
        report_id = re.fullmatch(r"/reports/([0-9a-f-]{36})", made.headers["location"]).group(1)
        shown = await browser.get(f"/reports/{report_id}")
        assert shown.status_code == 200 and "<progress" in shown.text
        assert (await browser.get(f"/reports/{report_id}/download")).headers["location"] == f"/reports/{report_id}"
    report = await load_report(engine, org.tenant, report_id)
    assert (report.kind, report.format, report.params) == ("completion", "pdf", {"group_id": str(s.group)})


async def test_the_api_lists_reads_and_downloads_mine_and_hides_others(
    org, other_org, make_user, engine, client_for, run_jobs, worker_storage
):
    s = await school(org, make_user, engine)
    async with client_for(org.tenant) as client:
        teacher = await bearer_for(client, s.teacher)
        made = await client.post("/api/v1/reports", json={"kind": "completion", "format": "csv",
                                                          "params": {"course_id": str(s.mine.id)}}, headers=teacher)
        assert made.status_code == 201, made.text
        info = made.json()
        assert info["status"] == "queued" and info["download_url"] is None and info["percent"] == 0
        not_ready = await client.get(f"/api/v1/reports/{info['id']}/download", headers=teacher)
        assert problem_of(not_ready, 409)["field"] == "status"
        await drain(run_jobs)
        done = (await client.get(f"/api/v1/reports/{info['id']}", headers=teacher)).json()
        assert done["status"] == "done" and done["percent"] == 100 and done["rows_total"] == 2
        assert done["download_url"]
        mine = (await client.get("/api/v1/reports?per_page=5", headers=teacher)).json()
        assert mine["items"][0]["id"] == info["id"] and mine["per_page"] == 5
        to_file = await client.get(f"/api/v1/reports/{info['id']}/download", headers=teacher,
                                   follow_redirects=False)
        assert to_file.status_code == 302
        content = (await client.get(to_file.headers["location"])).content
        assert s.learners[1].email in content.decode("utf-8-sig")
        manager = await bearer_for(client, s.manager)
        for path in (f"/api/v1/reports/{info['id']}", f"/api/v1/reports/{info['id']}/download"):
            assert (await client.get(path, headers=manager)).status_code == 404
        assert info["id"] not in (await client.get("/api/v1/reports", headers=manager)).text
    async with client_for(other_org.tenant) as client:
        outsider = await bearer_for(client, other_org.admin)
        for path in (f"/api/v1/reports/{info['id']}", f"/api/v1/reports/{info['id']}/download"):
            assert (await client.get(path, headers=outsider)).status_code == 404


async def test_another_organizations_report_is_not_found_on_its_pages(
    org, other_org, engine, signed_in, run_jobs, worker_storage
):
    report_id = await ask(engine, org.tenant, org.admin, "seat_usage")
    await drain(run_jobs)
    async with signed_in(other_org.admin) as browser:
        for path in (f"/reports/{report_id}", f"/reports/{report_id}/download"):
            assert (await browser.get(path)).status_code == 404
        assert (await post_form(browser, f"/reports/schedules/{uuid.uuid4()}/delete", {})
                ).status_code == 404


@pytest.mark.parametrize(("frequency", "weekday", "day", "after", "expected"), [
    ("weekly", 0, None, "2026-11-30T02:00:00+00:00", "2026-11-30T03:00:00+00:00"),  # Monday, before 06:00 Nairobi
    ("weekly", 0, None, "2026-11-30T03:00:00+00:00", "2026-12-07T03:00:00+00:00"),
    ("monthly", None, 28, "2026-02-28T04:00:00+00:00", "2026-03-28T03:00:00+00:00"),
    ("monthly", None, 1, "2026-12-15T00:00:00+00:00", "2027-01-01T03:00:00+00:00"),
])
def test_next_run_is_at_six_in_the_owners_zone(frequency, weekday, day, after, expected):
    tz = schedules.zone_of("Africa/Nairobi")
    got = schedules.next_run(frequency, weekday=weekday, day_of_month=day,
                             after=datetime.datetime.fromisoformat(after), tz=tz)
    assert got == datetime.datetime.fromisoformat(expected)
    assert schedules.zone_of("Not/AZone") is datetime.UTC


async def test_the_hourly_fan_out_runs_due_schedules_through_the_worker(
    fresh_org, make_user, engine, run_jobs, worker_storage, mail_sink, settings
):
    from tajiconnect.tasks.schedule import fan_out

    if settings.redis_url:  # a fan-out job is scheduled at its tick: on Redis only a running worker's upkeep queues it
        pytest.skip("fan-out jobs wait for a running worker's schedule() on Redis; this runs on PostgreSQL")

    s = await school(fresh_org, make_user, engine)
    async with tenant_session(engine, fresh_org.tenant) as session:
        schedule = ReportSchedule(owner_id=s.manager.id, kind="completion", params={}, format="pdf",
                                  title="Course completion", frequency="monthly", day_of_month=1, active=True,
                                  next_run_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2))
        session.add(schedule)
    ctx = {"engine": engine, "queue": run_jobs.queues}
    for _ in range(2):  # the same tick twice: one job per tenant and tick, one report per period
        await fan_out(ctx, "hourly")
        await drain(run_jobs)
    async with tenant_session(engine, fresh_org.tenant) as session:
        made = (await session.scalars(select(Report).where(Report.schedule_id == schedule.id))).all()
        moved = await session.get(ReportSchedule, schedule.id)
    assert len(made) == 1 and made[0].status == "done" and made[0].format == "pdf"
    assert moved.next_run_at > datetime.datetime.now(datetime.UTC) and moved.next_run_at.astimezone(
        schedules.zone_of("Africa/Nairobi")).day == 1
    message = mail_sink.last_to(s.manager.email, "Your report is ready")
    assert f"/reports/{made[0].id}" in message.get_body(("plain",)).get_content()
