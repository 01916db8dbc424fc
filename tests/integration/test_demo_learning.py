"""The demo school gets living learning content through the product's own services, once: three published
courses (text, video, document and link lessons with their media in storage), a three-stage path assigned to
7 East, progress with a real streak, a completion in the outbox and a review."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tajiconnect.demo import DEMO_SLUG, seed_demo
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course, CourseReview, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.progress import service as progress
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tenancy.service import load_tenant
from tests.integration.certificates.conftest import worker_storage  # noqa: F401  (a fixture)
from tests.integration.groups.conftest import tenant_session


async def test_the_demo_school_has_courses_a_path_and_progress(engine, settings):
    await seed_demo(engine)
    await seed_demo(engine)  # a second run changes nothing
    tenant = await load_tenant(engine, DEMO_SLUG)
    async with tenant_session(engine, tenant) as session:
        courses = {c.title: c for c in (await session.scalars(select(Course))).all()}
        kinds = set((await session.scalars(select(Lesson.kind))).all())
        files = (await session.scalars(select(StoredFile).where(
            StoredFile.status == "ready", StoredFile.purpose.in_(("video", "document"))))).all()
        stages = (await session.scalars(select(PathStage).order_by(PathStage.position))).all()
        paths = (await session.scalars(select(LearningPath))).all()
        brian = await session.scalar(select(User).where(User.email == "student@demo.tajiconnect.test"))
        samuel = await session.scalar(select(User).where(User.email == "student3@demo.tajiconnect.test"))
        mine = (await session.scalars(select(Enrollment).where(Enrollment.user_id == brian.id))).all()
        samuels = await session.scalar(select(func.count()).select_from(Enrollment)
                                       .where(Enrollment.user_id == samuel.id))
        path_enrolled = await session.scalar(select(func.count()).select_from(PathEnrollment))
        completions = (await session.scalars(select(LearningCompletion))).all()
        reviews = await session.scalar(select(func.count()).select_from(CourseReview))
        streak = await progress.streak_of(session, brian)
        lesson = await session.scalar(select(Lesson).where(Lesson.kind == "text", Lesson.body.contains("**light**")))
    assert len(courses) == 3 and {c.status for c in courses.values()} == {"published"}
    assert courses["Ujuzi wa pesa kwa vijana"].language == "sw"
    assert {"text", "video", "document", "link"} <= kinds
    assert sorted(f.content_type for f in files) == ["application/pdf", "video/mp4"]
    assert len(paths) == 1 and [s.title for s in stages] == ["Energy", "Health", "Money"]
    # 7 East (Brian, Faith) is assigned the path; Samuel is in 7 West.
    assert path_enrolled == 2 and samuels == 0
    by_course = {e.course_id: e for e in mine}
    solar, water = courses["Solar energy basics"], courses["Safe water at home"]
    assert len(mine) == 3 and by_course[solar.id].status == "completed"
    assert by_course[water.id].progress_percent == 33
    assert [c.course_id for c in completions if c.user_id == brian.id] == [solar.id]
    assert streak.days == 3
    assert reviews == 1 and courses["Solar energy basics"].rating_count == 1
    assert lesson is not None and "<strong>light</strong>" in lesson.body_html


@pytest.mark.usefixtures("worker_storage")
async def test_the_demo_learner_who_finished_a_course_holds_its_certificate_and_was_told(engine, run_jobs):
    """The issue's promise in the demo: Brian finished "Solar energy basics", so once the worker has run he holds
    one certificate for it, with its PDF, and a notification saying so (whatever else the demo's outbox held)."""
    from tajiconnect.domains.certificates.models import Certificate
    from tajiconnect.domains.notifications.models import Notification
    from tests.integration.certificates.conftest import dispatch

    await seed_demo(engine)
    tenant = await load_tenant(engine, DEMO_SLUG)
    await dispatch(engine, tenant, run_jobs)
    await dispatch(engine, tenant, run_jobs)  # a second pass changes nothing
    async with tenant_session(engine, tenant) as session:
        brian = await session.scalar(select(User).where(User.email == "student@demo.tajiconnect.test"))
        solar = await session.scalar(select(Course).where(Course.title == "Solar energy basics"))
        certificates = (await session.scalars(select(Certificate).where(Certificate.user_id == brian.id))).all()
        told = (await session.scalars(select(Notification).where(
            Notification.user_id == brian.id, Notification.category == "certificate_issued"))).all()
        file = await session.get(StoredFile, certificates[0].file_id) if certificates else None
    assert [(c.course_id, c.status) for c in certificates] == [(solar.id, "issued")]
    assert file is not None and file.status == "ready" and file.content_type == "application/pdf"
    assert len(told) == 1 and "Solar energy basics" in told[0].title
