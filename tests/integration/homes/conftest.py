"""Helpers for the homes' tests: classes, courses, assignments with due dates, graded work, written to the models."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment, LearningAssignment
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.tenancy.context import TenantRef
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course

DAY = datetime.timedelta(days=1)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def group(engine: AsyncEngine, tenant: TenantRef, *, members: list[uuid.UUID] = (),  # type: ignore[assignment]
                leaders: list[uuid.UUID] = (), parent_id: uuid.UUID | None = None,  # type: ignore[assignment]
                name: str | None = None, kind: str = "class") -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        g = Group(name=name or f"Group {uuid.uuid4().hex[:6]}", kind=kind, parent_id=parent_id,
                  depth=1 if parent_id else 0)
        session.add(g)
        await session.flush()
        session.add_all(GroupMembership(group_id=g.id, user_id=m, role="member") for m in members)
        session.add_all(GroupMembership(group_id=g.id, user_id=m, role="leader") for m in leaders)
        return g.id


async def course(engine: AsyncEngine, tenant: TenantRef, owner_id: uuid.UUID | None, title: str | None = None,
                 *, kind: str = "assignment", due_at: datetime.datetime | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """A published course with one assessment (``due_at``); (course id, assessment id)."""
    built = await build_course(engine, tenant, kinds=(kind,), per_module=1, owner_id=owner_id, title=title)
    async with tenant_session(engine, tenant) as session:
        a = Assessment(course_id=built.id, lesson_id=built.lessons[0], kind=kind, due_at=due_at)
        session.add(a)
        await session.flush()
        return built.id, a.id


async def enroll(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, course_id: uuid.UUID,
                 **values: Any) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        row = Enrollment(course_id=course_id, user_id=user_id, source=values.pop("source", "self"), **values)
        session.add(row)
        await session.flush()
        return row.id


async def grade(engine: AsyncEngine, tenant: TenantRef, assessment_id: uuid.UUID, course_id: uuid.UUID,
                user_id: uuid.UUID, *, status: str = "pending", percent: int | None = None,
                released_at: datetime.datetime | None = None, submitted_at: datetime.datetime | None = None
                ) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        g = Grade(assessment_id=assessment_id, course_id=course_id, user_id=user_id, status=status,
                  max_points=Decimal(100), submitted_at=submitted_at or now(),
                  points=Decimal(percent) if percent is not None else None,
                  score=Decimal(percent) if percent is not None else None, released_at=released_at)
        session.add(g)
        await session.flush()
        return g.id


async def grades_over_time(engine: AsyncEngine, tenant: TenantRef, owner_id: uuid.UUID, user_id: uuid.UUID,
                           percents_oldest_first: list[int]) -> None:
    """Released grades, one per new assessment, released a day apart in this order."""
    start = now() - 30 * DAY
    for index, percent in enumerate(percents_oldest_first):
        course_id, assessment_id = await course(engine, tenant, owner_id)
        await grade(engine, tenant, assessment_id, course_id, user_id, status="released", percent=percent,
                    released_at=start + index * DAY)


async def assignment(engine: AsyncEngine, tenant: TenantRef, *, course_id: uuid.UUID | None = None,
                     path_id: uuid.UUID | None = None, group_id: uuid.UUID | None = None,
                     user_id: uuid.UUID | None = None, due_at: datetime.datetime) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        a = LearningAssignment(course_id=course_id, path_id=path_id, group_id=group_id, user_id=user_id,
                               due_at=due_at)
        session.add(a)
        await session.flush()
        return a.id


async def path(engine: AsyncEngine, tenant: TenantRef, course_ids: list[uuid.UUID], title: str | None = None
               ) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        p = LearningPath(title=title or f"Path {uuid.uuid4().hex[:6]}", status="published")
        session.add(p)
        await session.flush()
        session.add(PathStage(path_id=p.id, title="Stage 1", position=0, course_ids=course_ids))
        return p.id


async def path_enroll(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, path_id: uuid.UUID,
                      **values: Any) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        row = PathEnrollment(path_id=path_id, user_id=user_id, source=values.pop("source", "group"), **values)
        session.add(row)
        await session.flush()
        return row.id


async def set_course(engine: AsyncEngine, tenant: TenantRef, course_id: uuid.UUID, **values: Any) -> None:
    async with tenant_session(engine, tenant) as session:
        await session.execute(update(Course).where(Course.id == course_id).values(**values))
