"""Helpers for the courses tests: an organization with teachers and learners, ready files, enrollments."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.conftest import Member, Org


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant: TenantRef) -> AsyncIterator[AsyncSession]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            yield session


@dataclass
class Academy:
    org: Org
    teacher: Member
    other_teacher: Member
    learners: list[Member]

    @property
    def tenant(self) -> TenantRef:
        return self.org.tenant

    @property
    def admin(self) -> Member:
        return self.org.admin


@pytest.fixture
def make_academy(new_org, make_user):
    async def make(prefix: str = "crs", learners: int = 3) -> Academy:
        org = await new_org(prefix)
        teacher = await make_user(org.tenant, ["teacher"], name="Tess Teacher")
        other = await make_user(org.tenant, ["teacher"], name="Otto Teacher")
        pupils = [await make_user(org.tenant, ["student"], name=f"Learner {i}") for i in range(learners)]
        return Academy(org, teacher, other, pupils)

    return make


@pytest.fixture
async def academy(make_academy) -> Academy:
    return await make_academy()


async def ready_file(engine: AsyncEngine, tenant: TenantRef, purpose: str, *, status: str = "ready") -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        stored = StoredFile(purpose=purpose, status=status, backend="local", key=f"t/{uuid.uuid4()}",
                            original_name=f"{purpose}.bin", size=10,
                            ready_at=datetime.datetime.now(datetime.UTC) if status == "ready" else None)
        session.add(stored)
        await session.flush()
        return stored.id


async def enroll(engine: AsyncEngine, tenant: TenantRef, course_id: Any, user_id: uuid.UUID,
                 status: str = "active") -> None:
    async with tenant_session(engine, tenant) as session:
        now = datetime.datetime.now(datetime.UTC)
        session.add(Enrollment(
            course_id=uuid.UUID(str(course_id)), user_id=user_id, source="self", status=status,
            withdrawn_at=now if status == "withdrawn" else None,
            completed_at=now if status == "completed" else None,
        ))


async def load_course(engine: AsyncEngine, tenant: TenantRef, course_id: Any) -> Course | None:
    async with tenant_session(engine, tenant) as session:
        return await session.get(Course, uuid.UUID(str(course_id)))


async def actions(engine: AsyncEngine, tenant: TenantRef, prefix: str = "course.") -> list[str]:
    async with tenant_session(engine, tenant) as session:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.occurred_at)
        )
        return list(rows.all())
