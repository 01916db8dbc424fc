"""Helpers for the parent-link tests: schools, groups with leaders and members, links made directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tenancy.context import TenantRef, tenant_context


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
