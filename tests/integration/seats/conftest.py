"""Helpers for the seat tests: learners holding a seat (or not), and what the database says about seats."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.models import SeatEvent
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.conftest import PASSWORD, Member, create_member


async def add_learner(
    engine: AsyncEngine,
    tenant: TenantRef,
    *,
    seat: bool = True,
    name: str | None = None,
    status: str | None = None,
    password: str | None = PASSWORD,
) -> Member:
    """A learner (active with a password, else as ``status`` says), holding a seat when ``seat``."""
    member = await create_member(engine, tenant, ["student"], password, name=name, status=status)
    if seat:
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                user = await session.get(User, member.id)
                await seats.assign(session, [user], reason="assigned", actor_email=None)
    return member


async def seats_used(engine: AsyncEngine, tenant: TenantRef) -> int:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await seats.seats_used(session)


async def seat_of(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID) -> Any:
    """The member's ``seat_assigned_at`` (None: no seat)."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await session.scalar(select(User.seat_assigned_at).where(User.id == user_id))


async def seat_events(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID | None = None) -> list[SeatEvent]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            stmt = select(SeatEvent).order_by(SeatEvent.created_at, SeatEvent.id)
            if user_id is not None:
                stmt = stmt.where(SeatEvent.user_id == user_id)
            return list((await session.scalars(stmt)).all())


async def member_count(engine: AsyncEngine, tenant: TenantRef) -> int:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)
