"""Helpers for the enrollment, path, catalog and teaching tests: an organization with a manager leading a team of
learners (with seats), courses made directly in the database (the course builder is another branch's)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.paths.models import PathEnrollment
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.conftest import Member, Org


@dataclass
class Company:
    org: Org
    manager: Member  # leads `team`
    teacher: Member  # leads nothing
    learners: list[Member]  # members of `team` (with seats)
    outsider: Member  # a learner with a seat, in no team
    team_id: uuid.UUID
    other_team_id: uuid.UUID  # led by nobody

    @property
    def tenant(self) -> TenantRef:
        return self.org.tenant

    @property
    def admin(self) -> Member:
        return self.org.admin


async def db(engine: Any, tenant: TenantRef, fn: Any) -> Any:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await fn(session)


async def give_seats(engine: Any, tenant: TenantRef, *ids: uuid.UUID) -> None:
    now = datetime.datetime.now(datetime.UTC)

    async def go(s: Any) -> None:
        await s.execute(update(User).where(User.id.in_(ids)).values(seat_assigned_at=now))

    await db(engine, tenant, go)


async def make_group(
    engine: Any, tenant: TenantRef, name: str, *, leaders: tuple = (), members: tuple = ()
) -> uuid.UUID:
    async def go(s: Any) -> uuid.UUID:
        group = Group(name=name, kind="team", depth=0)
        s.add(group)
        await s.flush()
        for m in leaders:
            s.add(GroupMembership(group_id=group.id, user_id=m.id, role="leader"))
        for m in members:
            s.add(GroupMembership(group_id=group.id, user_id=m.id, role="member"))
        return group.id

    return await db(engine, tenant, go)


async def make_course(
    engine: Any, tenant: TenantRef, title: str, *, status: str = "published", owner: Member | None = None,
    lessons: int = 2, **values: Any,
) -> uuid.UUID:
    async def go(s: Any) -> uuid.UUID:
        course = Course(title=title, status=status, owner_id=owner.id if owner else None, **values)
        s.add(course)
        await s.flush()
        module = CourseModule(course_id=course.id, title=f"{title}: module one", position=0)
        s.add(module)
        await s.flush()
        for i in range(lessons):
            s.add(Lesson(course_id=course.id, module_id=module.id, title=f"{title} lesson {i + 1}", kind="text",
                         position=i))
        return course.id

    return await db(engine, tenant, go)


async def complete(engine: Any, tenant: TenantRef, user_id: uuid.UUID, course_id: uuid.UUID) -> None:
    """What the progress service does on a course's completion (its part, stood in for here)."""
    async def go(s: Any) -> None:
        now = datetime.datetime.now(datetime.UTC)
        s.add(LearningCompletion(user_id=user_id, course_id=course_id, completed_at=now))
        await s.execute(
            update(Enrollment)
            .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None))
            .values(status="completed", progress_percent=100, completed_at=datetime.datetime.now(datetime.UTC))
        )

    await db(engine, tenant, go)


async def enrollments_of(
    engine: Any, tenant: TenantRef, user_id: uuid.UUID, course_id: uuid.UUID | None = None
) -> list:
    """(course_id, source, status, withdrawn?) of every enrollment of the user, oldest first."""
    async def go(s: Any) -> list:
        stmt = select(Enrollment).where(Enrollment.user_id == user_id).order_by(Enrollment.created_at, Enrollment.id)
        if course_id is not None:
            stmt = stmt.where(Enrollment.course_id == course_id)
        return [(e.course_id, e.source, e.status, e.withdrawn_at is not None) for e in (await s.scalars(stmt)).all()]

    return await db(engine, tenant, go)


async def path_enrollments_of(engine: Any, tenant: TenantRef, user_id: uuid.UUID) -> list:
    async def go(s: Any) -> list:
        rows = await s.scalars(select(PathEnrollment).where(PathEnrollment.user_id == user_id))
        return [(p.path_id, p.source, p.status) for p in rows.all()]

    return await db(engine, tenant, go)


async def set_values(engine: Any, tenant: TenantRef, model: Any, where: Any, **values: Any) -> None:
    async def go(s: Any) -> None:
        await s.execute(update(model).where(where).values(**values))

    await db(engine, tenant, go)


@pytest.fixture
def make_company(new_org, make_user, engine):
    async def make(prefix: str = "lrn", learners: int = 3) -> Company:
        org = await new_org(prefix, kind="company")
        manager = await make_user(org.tenant, ["manager"], name="Mona Manager")
        teacher = await make_user(org.tenant, ["teacher"], name="Tim Teacher")
        people = [await make_user(org.tenant, ["student"], name=f"Learner {i}") for i in range(learners)]
        outsider = await make_user(org.tenant, ["student"], name="Olga Outsider")
        await give_seats(engine, org.tenant, *(p.id for p in people), outsider.id)
        team = await make_group(engine, org.tenant, "Sales", leaders=(manager,), members=tuple(people))
        other = await make_group(engine, org.tenant, "Support")
        return Company(org, manager, teacher, people, outsider, team, other)

    return make


@pytest.fixture
async def company(make_company) -> Company:
    return await make_company()
