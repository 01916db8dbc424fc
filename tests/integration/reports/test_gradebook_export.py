"""The gradebook's background export through HTTP and the worker: asking for it, its progress, the file (the same
bytes as the streamed CSV), who may see it (the requester only), and a task safe to run again."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from sqlalchemy import func, select, update

from tajiconnect.domains.grading import gradebook_service
from tajiconnect.domains.reports import tasks
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.storage.models import StoredFile
from tests.integration.conftest import drain, post_form
from tests.integration.gradebook.conftest import give, graded_course
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import enroll


async def course_with_learners(org, make_user, engine, count: int = 3, title: str = "Physics"):
    teacher = await make_user(org.tenant, ["teacher"], name="Grace Teacher")
    course = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz", "assignment"),
                                 max_points=(10, 50), title=title)
    learners = []
    for n in range(count):
        learner = await make_user(org.tenant, ["student"], name=f"Learner {n:02d} {uuid.uuid4().hex[:4]}")
        await enroll(engine, org.tenant, learner.id, course.id)
        await give(engine, org.tenant, course.id, course.items[0], learner.id, "released", n % 10, 10)
        learners.append(learner)
    await give(engine, org.tenant, course.id, course.items[1], learners[0].id, "draft", 20, 50)
    return teacher, learners, course


async def load(engine, tenant, report_id) -> Report:
    async with tenant_session(engine, tenant) as session:
        report = await session.get(Report, uuid.UUID(str(report_id)))
        assert report is not None
        return report


async def ask(browser, course_id, **extra) -> str:
    answer = await post_form(browser, "/reports", {"kind": "gradebook", "course_id": str(course_id), **extra})
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/reports/([0-9a-f-]{36})", answer.headers["location"])
    assert match
    return match.group(1)


async def report_files(engine, tenant, user_id) -> list[StoredFile]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(StoredFile).where(
            StoredFile.purpose == "report", StoredFile.uploaded_by_id == user_id))).all())


async def test_the_export_is_prepared_in_the_background_with_the_streamed_csvs_bytes(
    org, make_user, engine, signed_in, run_jobs, worker_storage
):
    teacher, _learners, course = await course_with_learners(org, make_user, engine)
    async with signed_in(teacher) as browser:
        page = (await browser.get(f"/teach/courses/{course.id}/gradebook")).text
        assert "Prepare the export in the background" in page and 'action="/reports"' in page
        assert f"/teach/courses/{course.id}/gradebook.csv" in page  # a small course keeps the direct download
        before = datetime.datetime.now(datetime.UTC)
        report_id = await ask(browser, course.id)
        queued = await load(engine, org.tenant, report_id)
        assert (queued.status, queued.kind, queued.title) == ("queued", "gradebook", "Gradebook: Physics")
        assert queued.params == {"course_id": str(course.id)} and queued.requested_by_id == teacher.id
        assert queued.expires_at is not None
        assert datetime.timedelta(days=7) <= queued.expires_at - before < datetime.timedelta(days=7, minutes=1)
        waiting = await browser.get(f"/reports/{report_id}")
        assert waiting.status_code == 200
        assert 'hx-trigger="every 2s"' in waiting.text and "<progress" in waiting.text
        assert 'aria-live="polite"' in waiting.text and 'for="report-progress-bar"' in waiting.text

        await drain(run_jobs)

        done = await load(engine, org.tenant, report_id)
        assert done.status == "done" and done.file_id is not None and done.error is None
        assert done.rows_done == done.rows_total == 3 and done.finished_at is not None
        ready = await browser.get(f"/reports/{report_id}")
        assert 'hx-trigger="every 2s"' not in ready.text and "<progress" not in ready.text  # polling stopped
        link = re.search(r'id="report-download" href="([^"]+)"', ready.text)
        assert link, ready.text
        fragment = await browser.get(f"/reports/{report_id}/progress", headers={"hx-request": "true"})
        assert fragment.status_code == 200 and "hx-trigger" not in fragment.text and "<html" not in fragment.text
        downloaded = await browser.get(link.group(1).replace("&amp;", "&"))
        assert downloaded.status_code == 200, downloaded.text
        streamed = await browser.get(f"/teach/courses/{course.id}/gradebook.csv")
        assert downloaded.content == streamed.content and streamed.content.count(b"\n") == 4
        mine = await browser.get("/reports")
        assert mine.status_code == 200 and f'href="/reports/{report_id}"' in mine.text and "Ready" in mine.text


async def test_progress_moves_as_the_rows_are_written(org, make_user, engine, signed_in, run_jobs, worker_storage,
                                                      monkeypatch):
    teacher, _learners, course = await course_with_learners(org, make_user, engine, count=5)
    monkeypatch.setattr(gradebook_service, "CSV_CHUNK", 2)
    seen: list[dict] = []
    original = tasks._set

    async def spy(engine_, key, **values):
        seen.append(values)
        await original(engine_, key, **values)

    monkeypatch.setattr(tasks, "_set", spy)
    async with signed_in(teacher) as browser:
        report_id = await ask(browser, course.id)
        await drain(run_jobs)
        assert "100%" in (await browser.get("/reports")).text
    assert seen[0] == {"rows_total": 5}
    assert [v["rows_done"] for v in seen[1:4]] == [2, 4, 5]
    assert seen[-1]["status"] == "done"
    report = await load(engine, org.tenant, report_id)
    assert (report.status, report.rows_done, report.rows_total) == ("done", 5, 5)


async def test_only_the_requester_sees_the_report_and_only_staff_ask(
    org, other_org, make_user, engine, signed_in, run_jobs, worker_storage
):
    teacher, (learner, *_rest), course = await course_with_learners(org, make_user, engine)
    colleague = await make_user(org.tenant, ["teacher"])
    async with signed_in(teacher) as browser:
        report_id = await ask(browser, course.id)
    await drain(run_jobs)
    for outsider in (colleague, other_org.admin):
        async with signed_in(outsider) as browser:
            assert (await browser.get(f"/reports/{report_id}")).status_code == 404
            assert (await browser.get(f"/reports/{report_id}/progress",
                                      headers={"hx-request": "true"})).status_code == 404
            assert report_id not in (await browser.get("/reports")).text
            refused = await post_form(browser, "/reports", {"kind": "gradebook", "course_id": str(course.id)})
            assert refused.status_code == 404
    async with signed_in(learner) as browser:
        refused = await post_form(browser, "/reports", {"kind": "gradebook", "course_id": str(course.id)})
        assert refused.status_code == 404
        assert (await browser.get(f"/reports/{report_id}")).status_code == 404
        assert (await browser.get("/reports/not-an-id")).status_code == 404
    async with tenant_session(engine, org.tenant) as session:
        asked = await session.scalar(select(func.count()).select_from(Report).where(
            Report.requested_by_id.in_([colleague.id, learner.id])))
    assert asked == 0
    async with signed_in(teacher) as browser:  # no form without its CSRF token
        assert (await browser.post("/reports", data={"kind": "gradebook", "course_id": str(course.id)})
                ).status_code == 403


async def test_a_repeated_or_interrupted_run_ends_with_one_file(org, make_user, engine, signed_in, run_jobs,
                                                                 worker_storage, monkeypatch):
    teacher, _learners, course = await course_with_learners(org, make_user, engine)
    async with signed_in(teacher) as browser:
        report_id = await ask(browser, course.id)
    original = tasks._set

    async def stop_before_done(engine_, key, **values):
        if values.get("status") == "done":
            raise ConnectionError("the worker died")
        await original(engine_, key, **values)

    monkeypatch.setattr(tasks, "_set", stop_before_done)
    with pytest.raises(ConnectionError):
        async with tenant_session(engine, org.tenant):
            await tasks.run_report(engine, worker_storage, report_id, last_attempt=False)
    halfway = await load(engine, org.tenant, report_id)
    assert halfway.status == "running" and halfway.file_id is not None
    monkeypatch.setattr(tasks, "_set", original)

    await drain(run_jobs)  # the queued job runs it again, from the start
    done = await load(engine, org.tenant, report_id)
    assert done.status == "done" and done.file_id not in (None, halfway.file_id)
    files = {f.id: f.status for f in await report_files(engine, org.tenant, teacher.id)}
    assert files == {halfway.file_id: "deleted", done.file_id: "ready"}

    async with tenant_session(engine, org.tenant):
        assert await tasks.run_report(engine, worker_storage, report_id) == {"skipped": True}
    again = await load(engine, org.tenant, report_id)
    assert again.file_id == done.file_id and again.finished_at == done.finished_at
    assert len(await report_files(engine, org.tenant, teacher.id)) == 2


async def test_large_courses_get_the_background_export_only_and_lost_access_fails_the_report(
    org, make_user, engine, signed_in, run_jobs, worker_storage, monkeypatch
):
    teacher, _learners, course = await course_with_learners(org, make_user, engine)
    monkeypatch.setattr(gradebook_service, "DIRECT_CSV_MAX", 2)
    async with signed_in(teacher) as browser:
        page = (await browser.get(f"/teach/courses/{course.id}/gradebook")).text
        assert "Prepare the export in the background" in page
        assert f"/teach/courses/{course.id}/gradebook.csv" not in page
        report_id = await ask(browser, course.id)
        someone = await make_user(org.tenant, ["teacher"])
        async with tenant_session(engine, org.tenant) as session:
            from tajiconnect.domains.courses.models import Course

            await session.execute(update(Course).where(Course.id == course.id).values(owner_id=someone.id))
        await drain(run_jobs)
        failed = await load(engine, org.tenant, report_id)
        assert failed.status == "failed" and failed.file_id is None and failed.error
        shown = (await browser.get(f"/reports/{report_id}")).text
        assert 'id="report-error"' in shown and 'hx-trigger="every 2s"' not in shown


async def test_a_groups_export_has_that_groups_learners(org, make_user, engine, signed_in, run_jobs, worker_storage):
    from tests.integration.progress.conftest import add_group

    teacher, (a, b, c), course = await course_with_learners(org, make_user, engine)
    group = await add_group(engine, org.tenant, members=[a.id, c.id], leaders=[teacher.id])
    async with signed_in(teacher) as browser:
        page = (await browser.get(f"/teach/courses/{course.id}/gradebook?group={group}")).text
        assert f'name="group" value="{group}"' in page
        report_id = await ask(browser, course.id, group=str(group))
        assert (await post_form(browser, "/reports", {"kind": "gradebook", "course_id": str(course.id),
                                                      "group": str(uuid.uuid4())})).status_code == 404
        await drain(run_jobs)
        report = await load(engine, org.tenant, report_id)
        assert report.params == {"course_id": str(course.id), "group_id": str(group)} and report.rows_total == 2
        link = re.search(r'id="report-download" href="([^"]+)"', (await browser.get(f"/reports/{report_id}")).text)
        assert link
        content = (await browser.get(link.group(1).replace("&amp;", "&"))).content.decode("utf-8-sig")
        streamed = (await browser.get(f"/teach/courses/{course.id}/gradebook.csv?group={group}")).content
    assert a.email in content and c.email in content and b.email not in content
    assert content.encode("utf-8-sig") == streamed
