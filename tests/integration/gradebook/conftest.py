"""Helpers for the gradebook tests: a course whose lessons are quizzes and assignments with their assessment rows,
grades, attempts and submissions written straight to the models (taking quizzes and grading are other domains')."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.grading.models import Grade, GradebookCategory
from tajiconnect.tenancy.context import TenantRef
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course

NOW = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@dataclass
class GradedCourse:
    id: uuid.UUID
    lessons: list[uuid.UUID]
    items: list[uuid.UUID] = field(default_factory=list)  # assessment ids, in lesson order


async def graded_course(
    engine: AsyncEngine, tenant: TenantRef, *, owner_id: uuid.UUID | None, kinds: tuple[str, ...] = ("quiz",) * 3,
    max_points: tuple[int, ...] | None = None, title: str | None = None, per_module: int = 2,
    extra: dict[int, dict[str, Any]] | None = None,
) -> GradedCourse:
    """A published course whose lessons are ``kinds`` (quiz/assignment/text), each quiz or assignment with its
    assessment row (``max_points`` per assessment, 10 by default; ``extra``: more columns by index)."""
    built = await build_course(engine, tenant, kinds=kinds, owner_id=owner_id, title=title, per_module=per_module)
    course = GradedCourse(built.id, built.lessons)
    async with tenant_session(engine, tenant) as session:
        n = 0
        for index, (kind, lesson_id) in enumerate(zip(kinds, built.lessons, strict=True)):
            if kind not in ("quiz", "assignment"):
                continue
            points = Decimal((max_points or ())[n] if max_points and n < len(max_points) else 10)
            row = Assessment(course_id=built.id, lesson_id=lesson_id, kind=kind, max_points=points,
                             **(extra or {}).get(index, {}))
            session.add(row)
            await session.flush()
            course.items.append(row.id)
            n += 1
    return course


async def add_category(engine: AsyncEngine, tenant: TenantRef, course_id: uuid.UUID, name: str, weight: Any,
                       drop_lowest: int = 0, items: tuple[uuid.UUID, ...] = ()) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        category = GradebookCategory(course_id=course_id, name=name, weight=Decimal(str(weight)),
                                     drop_lowest=drop_lowest)
        session.add(category)
        await session.flush()
        for item in items:
            assessment = await session.get(Assessment, item)
            assert assessment is not None
            assessment.gradebook_category_id = category.id
        return category.id


async def give(engine: AsyncEngine, tenant: TenantRef, course_id: uuid.UUID, assessment_id: uuid.UUID,
               user_id: uuid.UUID, status: str, points: Any = None, max_points: Any = 10,
               penalty: int = 0) -> uuid.UUID:
    """A grade row as the grading domain would leave it (``score``: points less the penalty)."""
    async with tenant_session(engine, tenant) as session:
        value = Decimal(str(points)) if points is not None else None
        score = value * (100 - penalty) / 100 if value is not None else None
        grade = Grade(assessment_id=assessment_id, user_id=user_id, course_id=course_id, status=status,
                      points=value, score=score, max_points=Decimal(str(max_points)), penalty_percent=penalty,
                      submitted_at=NOW, released_at=NOW if status == "released" else None)
        session.add(grade)
        await session.flush()
        return grade.id
