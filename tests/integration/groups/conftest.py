"""Helpers for the groups tests: a school with an admin, teachers and learners; the service run as someone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.groups.service import Acting
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.conftest import Member, Org


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant: TenantRef) -> AsyncIterator[AsyncSession]:
    """A session on ``tenant`` that commits at the end of the block (rolls back on error)."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            yield session


async def acting_as(session: AsyncSession, member: Member) -> Acting:
    user = await session.get(User, member.id)
    assert user is not None
    return Acting(user, Actor(id=user.id, email=user.email, ip="127.0.0.1"))


@dataclass
class School:
    org: Org
    teacher: Member
    other_teacher: Member
    learners: list[Member]
    parent: Member

    @property
    def tenant(self) -> TenantRef:
        return self.org.tenant

    @property
    def admin(self) -> Member:
        return self.org.admin


@pytest.fixture
def make_school(new_org, make_user):
    async def make(prefix: str = "grp", kind: str = "school", learners: int = 3) -> School:
        org = await new_org(prefix, kind=kind)
        teacher = await make_user(org.tenant, ["teacher"], name=f"Teacher {uuid.uuid4().hex[:4]}")
        other = await make_user(org.tenant, ["manager"], name=f"Manager {uuid.uuid4().hex[:4]}")
        pupils = [await make_user(org.tenant, ["student"], name=f"Learner {i}") for i in range(learners)]
        parent = await make_user(org.tenant, ["parent"], name="A Parent")
        return School(org, teacher, other, pupils, parent)

    return make


@pytest.fixture
async def school(make_school) -> School:
    return await make_school()


async def group_named(engine: AsyncEngine, tenant: TenantRef, name: str) -> Group | None:
    async with tenant_session(engine, tenant) as session:
        return await session.scalar(select(Group).where(Group.name == name))


async def memberships(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(group name, role, ended?) of every membership of ``user_id``, oldest first."""
    async with tenant_session(engine, tenant) as session:
        rows = await session.execute(
            select(
                Group.name, GroupMembership.role, GroupMembership.ended_at.is_not(None), GroupMembership.ended_by_email
            )
            .join(Group, Group.id == GroupMembership.group_id)
            .where(GroupMembership.user_id == user_id)
            .order_by(GroupMembership.created_at, GroupMembership.id)
        )
        return [tuple(r) for r in rows.all()]


async def audit_actions(engine: AsyncEngine, tenant: TenantRef, prefix: str = "group.") -> list[AuditEntry]:
    async with tenant_session(engine, tenant) as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.occurred_at)
        )
        return list(rows.all())
