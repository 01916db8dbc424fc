"""Helpers for the parent-link tests: schools, groups with leaders and members, links made directly."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.notifications.conftest import sms_jobs, sms_org, sms_server  # noqa: F401 (fixtures: the digest)


@pytest.fixture(scope="module")
async def school(new_org):
    """A school shared by the tests of a module that cause no throttling."""
    return await new_org("par", kind="school")


@pytest.fixture(scope="module")
async def other_school(new_org):
    return await new_org("parx", kind="school")


async def add_group(
    engine: AsyncEngine,
    tenant: TenantRef,
    name: str,
    *,
    kind: str = "class",
    leaders: Iterable[uuid.UUID] = (),
    members: Iterable[uuid.UUID] = (),
    ended: Iterable[uuid.UUID] = (),
) -> uuid.UUID:
    """A group with current leaders and members (and ``ended``: members who left it)."""
    import datetime

    with tenant_context(tenant):
        async with session_scope(engine) as session:
            group = Group(name=name, kind=kind, depth=0)
            session.add(group)
            await session.flush()
            session.add_all(GroupMembership(group_id=group.id, user_id=u, role="leader") for u in leaders)
            session.add_all(GroupMembership(group_id=group.id, user_id=u, role="member") for u in members)
            session.add_all(
                GroupMembership(group_id=group.id, user_id=u, role="member",
                                ended_at=datetime.datetime.now(datetime.UTC))
                for u in ended
            )
            return group.id


async def add_link(
    engine: AsyncEngine, tenant: TenantRef, parent_id: uuid.UUID, learner_id: uuid.UUID, source: str = "admin"
) -> None:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            session.add(ParentLink(parent_id=parent_id, learner_id=learner_id, source=source))


async def links_of(engine: AsyncEngine, tenant: TenantRef, parent_id: uuid.UUID) -> set[uuid.UUID]:
    from sqlalchemy import select

    with tenant_context(tenant):
        async with session_scope(engine) as session:
            rows = await session.scalars(select(ParentLink.learner_id).where(ParentLink.parent_id == parent_id))
            return set(rows.all())


# --- a family with something to show: the parent's home, the API and the weekly digest ---------------------------


@dataclass
class Family:
    """``parent`` is linked to ``child``; ``other_child`` (in the same class) is not theirs. ``tag`` marks every
    title, so that a page's text can be searched without matching another test's rows."""

    tag: str
    parent: Any
    child: Any
    other_child: Any
    teacher: Any
    leader: Any
    course_title: str
    released_title: str
    draft_title: str
    due_title: str
    overdue_title: str
    certificate_title: str
    other_title: str


async def build_family(engine: AsyncEngine, tenant: TenantRef, make_user: Any, *, linked: bool = True,
                       now: datetime.datetime | None = None) -> Family:
    """A course with a released grade (with feedback), a draft grade, an assignment due in 3 days, a quiz overdue
    by 2 days; progress, a certificate, a streak, a class and its leader; another learner with a released grade."""
    from decimal import Decimal

    from tajiconnect.domains.assessments.models import Assessment
    from tajiconnect.domains.certificates.models import Certificate
    from tajiconnect.domains.courses.models import Lesson
    from tajiconnect.domains.grading.models import Grade
    from tajiconnect.domains.progress import rules
    from tajiconnect.domains.progress.models import LearnerStats, LearningCompletion, LearningDay, LessonProgress
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import build_course, enroll

    now = now or datetime.datetime.now(datetime.UTC)
    tag = uuid.uuid4().hex[:6]
    parent = await make_user(tenant, ["parent"], name=f"Parent {tag}")
    child = await make_user(tenant, ["student"], name=f"Child {tag}")
    other_child = await make_user(tenant, ["student"], name=f"Other {tag}")
    teacher = await make_user(tenant, ["teacher"], name=f"Teacher {tag}")
    leader = await make_user(tenant, ["teacher"], name=f"Leader {tag}")
    f = Family(tag, parent, child, other_child, teacher, leader, f"Algebra {tag}", f"Essay {tag}", f"Drafty {tag}",
               f"Homework {tag}", f"Late quiz {tag}", f"Certified {tag}", f"Theirs {tag}")
    course = await build_course(engine, tenant, kinds=("text", "assignment", "assignment", "quiz"), per_module=4,
                                owner_id=teacher.id, title=f.course_title)
    other_course = await build_course(engine, tenant, kinds=("assignment",), per_module=1, owner_id=teacher.id,
                                      title=f"Other course {tag}")
    titles = [f"Intro {tag}", f.released_title, f.due_title, f.overdue_title]
    async with tenant_session(engine, tenant) as session:
        for lesson_id, title in zip(course.lessons, titles, strict=True):
            (await session.get(Lesson, lesson_id)).title = title
        (await session.get(Lesson, other_course.lessons[0])).title = f.other_title
        released = Assessment(course_id=course.id, lesson_id=course.lessons[1], kind="assignment",
                              max_points=Decimal(10))
        due = Assessment(course_id=course.id, lesson_id=course.lessons[2], kind="assignment",
                         due_at=now + datetime.timedelta(days=3))
        late = Assessment(course_id=course.id, lesson_id=course.lessons[3], kind="quiz",
                          due_at=now - datetime.timedelta(days=2))
        theirs = Assessment(course_id=other_course.id, lesson_id=other_course.lessons[0], kind="assignment")
        session.add_all([released, due, late, theirs])
        await session.flush()
        session.add_all([
            Grade(assessment_id=released.id, user_id=child.id, course_id=course.id, status="released",
                  points=Decimal(8), score=Decimal(8), max_points=Decimal(10), comment=f"Well argued {tag}",
                  released_at=now - datetime.timedelta(days=1)),
            Grade(assessment_id=due.id, user_id=child.id, course_id=course.id, status="draft",
                  points=Decimal(3), score=Decimal(3), max_points=Decimal(100), comment=f"SECRET draft {tag}"),
            Grade(assessment_id=theirs.id, user_id=other_child.id, course_id=other_course.id, status="released",
                  points=Decimal(5), score=Decimal(5), max_points=Decimal(10), comment=f"Not yours {tag}",
                  released_at=now - datetime.timedelta(days=1)),
        ])
        completion = LearningCompletion(user_id=child.id, course_id=other_course.id,
                                        completed_at=now - datetime.timedelta(days=20))
        session.add(completion)
        await session.flush()
        session.add(Certificate(completion_id=completion.id, user_id=child.id, course_id=other_course.id,
                                learner_name=f"Child {tag}",
                                title=f.certificate_title, completed_at=completion.completed_at,
                                issued_at=now - datetime.timedelta(days=19), code=f"C{uuid.uuid4().hex[:20]}"))
        session.add(LessonProgress(user_id=child.id, lesson_id=course.lessons[0], course_id=course.id,
                                   completed_at=now - datetime.timedelta(days=1), completed_by="learner",
                                   seconds_spent=600))
        today = rules.local_day(now, "Africa/Nairobi")
        session.add(LearningDay(user_id=child.id, day=today - datetime.timedelta(days=1), seconds_spent=1800,
                                lessons_completed=1))
        session.add(LearnerStats(user_id=child.id, streak_days=3, best_streak=5,
                                 last_active_on=today - datetime.timedelta(days=1), seconds_spent=1800))
    await enroll(engine, tenant, child.id, course.id, progress_percent=40, lessons_completed=1,
                 last_activity_at=now - datetime.timedelta(days=1))
    await enroll(engine, tenant, child.id, other_course.id, status="completed", progress_percent=100,
                 completed_at=now - datetime.timedelta(days=20))
    await enroll(engine, tenant, other_child.id, other_course.id)
    await add_group(engine, tenant, f"Class {tag}", leaders=[leader.id], members=[child.id, other_child.id])
    if linked:
        await add_link(engine, tenant, parent.id, child.id)
    return f
