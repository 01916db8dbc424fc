"""Helpers for the progress tests: courses, modules, lessons, enrollments and paths written straight to the models
(the builder and enrollment are other domains'), and a clock the app under test reads."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.progress import service
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tenancy.context import TenantRef, tenant_context


@dataclass
class Built:
    id: uuid.UUID
    lessons: list[uuid.UUID] = field(default_factory=list)
    modules: list[uuid.UUID] = field(default_factory=list)

    def lesson_url(self, index: int) -> str:
        return f"/learn/courses/{self.id}/lessons/{self.lessons[index]}"


async def build_course(
    engine: AsyncEngine,
    tenant: TenantRef,
    *,
    kinds: tuple[str, ...] = ("text", "text", "text"),
    per_module: int = 2,
    status: str = "published",
    owner_id: uuid.UUID | None = None,
    title: str | None = None,
    lesson_values: dict[int, dict[str, Any]] | None = None,
) -> Built:
    """A course whose lessons are ``kinds`` in order, ``per_module`` lessons per module."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            course = Course(title=title or f"Course {uuid.uuid4().hex[:6]}", status=status, owner_id=owner_id)
            session.add(course)
            await session.flush()
            built = Built(course.id)
            module = None
            for index, kind in enumerate(kinds):
                if index % per_module == 0:
                    module = CourseModule(course_id=course.id, title=f"Module {index // per_module + 1}",
                                          position=index // per_module)
                    session.add(module)
                    await session.flush()
                    built.modules.append(module.id)
                assert module is not None
                values = {"body_html": f"<p>Body of lesson {index + 1}</p>", **(lesson_values or {}).get(index, {})}
                lesson = Lesson(course_id=course.id, module_id=module.id, title=f"Lesson {index + 1}", kind=kind,
                                position=index, **values)
                session.add(lesson)
                await session.flush()
                built.lessons.append(lesson.id)
            return built


async def add_file(engine: AsyncEngine, tenant: TenantRef, purpose: str, details: dict[str, Any]) -> uuid.UUID:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            file = StoredFile(purpose=purpose, status="ready", backend="local",
                              key=f"tenants/x/files/{uuid.uuid4()}/original", details=details,
                              content_type="application/pdf" if purpose == "document" else "video/mp4")
            session.add(file)
            await session.flush()
            return file.id


async def enroll(
    engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, course_id: uuid.UUID, **values: Any
) -> uuid.UUID:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            row = Enrollment(course_id=course_id, user_id=user_id, source=values.pop("source", "self"), **values)
            session.add(row)
            await session.flush()
            return row.id


async def build_path(
    engine: AsyncEngine, tenant: TenantRef, course_ids: list[uuid.UUID], user_id: uuid.UUID | None = None
) -> uuid.UUID:
    """A published path of one stage per course; ``user_id`` enrolled in it (and in each course)."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            path = LearningPath(title=f"Path {uuid.uuid4().hex[:6]}", status="published")
            session.add(path)
            await session.flush()
            for index, course_id in enumerate(course_ids):
                session.add(PathStage(path_id=path.id, title=f"Stage {index + 1}", position=index,
                                      course_ids=[course_id]))
            if user_id is not None:
                session.add(PathEnrollment(path_id=path.id, user_id=user_id, source="self"))
            return path.id


async def add_group(
    engine: AsyncEngine, tenant: TenantRef, *, members: list[uuid.UUID], leaders: list[uuid.UUID],
    former_leaders: list[uuid.UUID] = (),  # type: ignore[assignment]
) -> uuid.UUID:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            group = Group(name=f"Class {uuid.uuid4().hex[:6]}", kind="class")
            session.add(group)
            await session.flush()
            session.add_all(GroupMembership(group_id=group.id, user_id=m, role="member") for m in members)
            session.add_all(GroupMembership(group_id=group.id, user_id=m, role="leader") for m in leaders)
            ended = datetime.datetime.now(datetime.UTC)
            session.add_all(GroupMembership(group_id=group.id, user_id=m, role="leader", ended_at=ended)
                            for m in former_leaders)
            return group.id


async def completions(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID) -> list[LearningCompletion]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.scalars(
                select(LearningCompletion).where(LearningCompletion.user_id == user_id)
            )).all())


async def fetch(engine: AsyncEngine, tenant: TenantRef, model: Any, **where: Any) -> list[Any]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            stmt = select(model).filter_by(**where)
            return list((await session.scalars(stmt)).all())


async def count(engine: AsyncEngine, tenant: TenantRef, model: Any, **where: Any) -> int:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return int(await session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


class Clock:
    """``service.now_utc`` replaced: the app under test reads this time (set explicitly; no sleeping)."""

    def __init__(self, start: datetime.datetime) -> None:
        self.now = start

    def __call__(self) -> datetime.datetime:
        return self.now

    def set(self, value: datetime.datetime) -> None:
        self.now = value

    def advance(self, **delta: float) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC))
    monkeypatch.setattr(service, "now_utc", fixed)
    return fixed


def csrf_headers(client: Any) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken") or ""}
