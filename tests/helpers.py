"""Small helpers shared by several test modules (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import new_user
from tajiconnect.tenancy.context import TenantRef, tenant_context


async def add_user(engine: AsyncEngine, tenant: TenantRef, email: str, *, name: str = "Test User") -> uuid.UUID:
    """Create an active student in ``tenant`` through the ORM; return its id."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            user = new_user(email=email, name=name, password=None, roles=["student"], status="active")
            session.add(user)
            await session.flush()
            return user.id


async def user_emails(engine: AsyncEngine, tenant: TenantRef) -> set[str]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return set((await session.scalars(select(User.email))).all())


async def public_scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """One value from a query run with no tenant in scope (public schema)."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await session.scalar(text(sql), params)


async def schema_exists(engine: AsyncEngine, schema: str) -> bool:
    return bool(
        await public_scalar(engine, "SELECT count(*) FROM pg_namespace WHERE nspname = :s", s=schema)
    )


async def registry_has(engine: AsyncEngine, slug: str) -> bool:
    return bool(await public_scalar(engine, "SELECT count(*) FROM public.tenants WHERE slug = :s", s=slug))
