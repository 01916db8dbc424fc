"""Exactly once: concurrent and repeated completions give one completion row per course and per path, and the
course and the path do complete (each request sees the others' lessons through the enrollment lock).

The concurrent requests go to the app served on the test's own event loop (``served``/``live_client``): Litestar's
test client runs one request at a time, which would hide a race."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, select

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.paths.models import PathEnrollment
from tajiconnect.domains.progress import service
from tests.integration.conftest import bearer_for
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course, build_path, completions, enroll, fetch
from tests.integration.seats.test_seat_limits import live_client, served


async def test_concurrent_completions_write_one_course_completion(org, make_user, engine, settings):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text",) * 4)
    await enroll(engine, org.tenant, learner.id, course.id)
    async with served(settings) as app, live_client(app, org.tenant) as client:
        auth = await bearer_for(client, learner)
        # every lesson at once, each twice (a double submit), all in flight together
        calls = [client.post(f"/api/v1/lessons/{lesson}/complete", headers=auth) for lesson in course.lessons * 2]
        answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert sum(a.json()["newly_completed"] for a in answers) == 4
    assert sum(1 for a in answers if a.json()["course_completed"]) >= 1
    [row] = await completions(engine, org.tenant, learner.id)
    assert row.course_id == course.id
    [enrollment] = await fetch(engine, org.tenant, Enrollment, user_id=learner.id)
    assert (enrollment.status, enrollment.progress_percent, enrollment.lessons_completed) == ("completed", 100, 4)


async def test_repeated_completion_after_the_course_is_complete_adds_nothing(org, make_user, engine, client_for):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text",))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        first = await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth)
        again = await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth)
    assert first.json()["newly_completed"] and not again.json()["newly_completed"]
    assert again.json()["course_completed"] is True
    assert len(await completions(engine, org.tenant, learner.id)) == 1


async def test_concurrent_course_completions_complete_the_path_once(org, make_user, engine, settings):
    learner = await make_user(org.tenant)
    courses = [await build_course(engine, org.tenant, kinds=("text",)) for _ in range(3)]
    other = await build_course(engine, org.tenant, kinds=("text",))  # not in the path
    for course in [*courses, other]:
        await enroll(engine, org.tenant, learner.id, course.id)
    path_id = await build_path(engine, org.tenant, [c.id for c in courses], user_id=learner.id)
    async with served(settings) as app, live_client(app, org.tenant) as client:
        auth = await bearer_for(client, learner)
        first = await client.post(f"/api/v1/lessons/{courses[0].lessons[0]}/complete", headers=auth)
        assert first.json()["paths_completed"] == []
        [pe] = await fetch(engine, org.tenant, PathEnrollment, user_id=learner.id)
        assert (pe.courses_completed, pe.progress_percent, pe.status) == (1, 33, "active")
        # the two remaining courses at the same moment, each twice, plus a course outside the path
        calls = [client.post(f"/api/v1/lessons/{c.lessons[0]}/complete", headers=auth)
                 for c in (courses[1], courses[2], courses[1], courses[2], other)]
        answers = await asyncio.gather(*calls)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    rows = await completions(engine, org.tenant, learner.id)
    assert sorted(str(r.course_id) for r in rows if r.course_id) == sorted(str(c.id) for c in [*courses, other])
    assert [r.path_id for r in rows if r.path_id] == [path_id]
    [pe] = await fetch(engine, org.tenant, PathEnrollment, user_id=learner.id)
    assert (pe.courses_completed, pe.progress_percent, pe.status) == (3, 100, "completed")
    assert pe.completed_at is not None


async def test_recompute_after_the_course_changes(org, make_user, engine):
    """The builder adds a lesson: every active enrollment's figures follow, in one statement; a completed course
    stays completed at 100 % and keeps its one completion row."""
    done_all, partial = await make_user(org.tenant), await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "text"))
    for learner in (done_all, partial):
        await enroll(engine, org.tenant, learner.id, course.id)
    async with tenant_session(engine, org.tenant) as session:
        users = {u.id: u for u in await _users(session, [done_all.id, partial.id])}
        for lesson in course.lessons:
            await service.complete_lesson(session, users[done_all.id], lesson)
        await service.complete_lesson(session, users[partial.id], course.lessons[0])
    async with tenant_session(engine, org.tenant) as session:
        session.add(Lesson(course_id=course.id, module_id=course.modules[0], title="New", kind="text", position=9))
        session.add(Lesson(course_id=course.id, module_id=course.modules[0], title="Quiz", kind="quiz", position=10))
        await session.flush()
        assert await service.recompute_course_progress(session, course.id) == 1  # the completed one is left alone
        assert await service.recompute_course_progress(session, course.id) == 0  # already in step
    rows = {e.user_id: e for e in await fetch(engine, org.tenant, Enrollment, course_id=course.id)}
    assert (rows[done_all.id].progress_percent, rows[done_all.id].lessons_completed, rows[done_all.id].status) == (
        100, 2, "completed")
    assert (rows[partial.id].progress_percent, rows[partial.id].lessons_completed) == (25, 1)  # the quiz counts
    async with tenant_session(engine, org.tenant) as session:
        await session.execute(delete(Lesson).where(Lesson.course_id == course.id, Lesson.title == "New"))
        await service.recompute_course_progress(session, course.id)
    rows = {e.user_id: e for e in await fetch(engine, org.tenant, Enrollment, course_id=course.id)}
    assert rows[done_all.id].progress_percent == 100 and rows[partial.id].progress_percent == 33
    assert len(await completions(engine, org.tenant, done_all.id)) == 1


async def _users(session: Any, ids: list[Any]) -> list[User]:
    return list((await session.scalars(select(User).where(User.id.in_(ids)))).all())


async def test_a_grade_completes_a_quiz_which_counts(org, make_user, engine):
    """The seam for the assessments work: ``by="grade"`` completes a quiz, which counts toward the course."""
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "quiz"))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with tenant_session(engine, org.tenant) as session:
        [user] = await _users(session, [learner.id])
        text_done = await service.complete_lesson(session, user, course.lessons[0])
        assert not text_done.course_completed and text_done.lessons_total == 2  # the quiz counts
        with pytest.raises(service.ProgressConflict):
            await service.complete_lesson(session, user, course.lessons[1])  # not by the learner
        graded = await service.complete_lesson(session, user, course.lessons[1], by="grade")
    assert (graded.completed_by, graded.lessons_completed, graded.lessons_total) == ("grade", 2, 2)
    assert len(await completions(engine, org.tenant, learner.id)) == 1
