"""Helpers for the progress tests: courses, modules, lessons, enrollments and paths written straight to the models
(the builder and enrollment are other domains'), and a clock the app under test reads."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.progress import service
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tenancy.context import TenantRef
from tests.integration.groups.conftest import tenant_session


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
    async with tenant_session(engine, tenant) as session:
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
    async with tenant_session(engine, tenant) as session:
        file = StoredFile(purpose=purpose, status="ready", backend="local",
                          key=f"tenants/x/files/{uuid.uuid4()}/original", details=details,
                          content_type="application/pdf" if purpose == "document" else "video/mp4")
        session.add(file)
        await session.flush()
        return file.id


async def enroll(
    engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, course_id: uuid.UUID, **values: Any
) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        row = Enrollment(course_id=course_id, user_id=user_id, source=values.pop("source", "self"), **values)
        session.add(row)
        await session.flush()
        return row.id


async def build_path(
    engine: AsyncEngine, tenant: TenantRef, course_ids: list[uuid.UUID], user_id: uuid.UUID | None = None
) -> uuid.UUID:
    """A published path of one stage per course; ``user_id`` enrolled in it (and in each course)."""
    async with tenant_session(engine, tenant) as session:
        path = LearningPath(title=f"Path {uuid.uuid4().hex[:6]}", status="published")
        session.add(path)
        await session.flush()
        for index, course_id in enumerate(course_ids):
            session.add(PathStage(path_id=path.id, title=f"Stage {index + 1}", position=index,
                                  course_ids=[course_id]))
        if user_id is not None:
            session.add(PathEnrollment(path_id=path.id, user_id=user_id, source="self"))
        return path.id


async def set_path_due(engine: AsyncEngine, tenant: TenantRef, path_id: uuid.UUID, due_at: datetime.datetime) -> None:
    async with tenant_session(engine, tenant) as session:
        await session.execute(update(PathEnrollment).where(PathEnrollment.path_id == path_id).values(due_at=due_at))


async def add_group(
    engine: AsyncEngine, tenant: TenantRef, *, members: list[uuid.UUID], leaders: list[uuid.UUID],
    former_leaders: tuple[uuid.UUID, ...] = (),
) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
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
    return await fetch(engine, tenant, LearningCompletion, user_id=user_id)


async def fetch(engine: AsyncEngine, tenant: TenantRef, model: Any, **where: Any) -> list[Any]:
    async with tenant_session(engine, tenant) as session:
        stmt = select(model).filter_by(**where)
        return list((await session.scalars(stmt)).all())


async def count(engine: AsyncEngine, tenant: TenantRef, model: Any, **where: Any) -> int:
    async with tenant_session(engine, tenant) as session:
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


async def enrolled(make_user: Any, engine: AsyncEngine, tenant: TenantRef, **course: Any) -> tuple[Any, Built]:
    """A new learner enrolled in a new course (``course``: :func:`build_course`'s options)."""
    learner = await make_user(tenant)
    built = await build_course(engine, tenant, **course)
    await enroll(engine, tenant, learner.id, built.id)
    return learner, built


def csrf_headers(client: Any) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken") or ""}
