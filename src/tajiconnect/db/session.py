"""Engines and sessions, and the rule that makes tenancy safe: the search path is set per transaction.

Every ORM transaction starts with ``set_config('search_path', <schema>, true)`` for the tenant in scope at that
moment, or ``public`` with none. ``is_local = true`` means PostgreSQL forgets it at COMMIT/ROLLBACK, so a pooled
connection never carries a tenant into its next use. Tenant tables exist only in tenant schemas, so with no
tenant in scope they are simply not found (fail closed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar.di import NamedDependency
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import Session, SessionTransaction

from tajiconnect.db.base import PUBLIC_SCHEMA
from tajiconnect.tenancy.context import current_tenant
from tajiconnect.tenancy.slugs import validate_schema

_SET_PATH = text("SELECT set_config('search_path', :path, true)")


def search_path_for(schema: str | None) -> str:
    """The search_path value for a tenant schema, or for no tenant."""
    if schema is None:
        return PUBLIC_SCHEMA
    return f'"{validate_schema(schema)}"'


def set_search_path(connection: Connection, schema: str | None) -> None:
    """Scope the *current transaction* of ``connection`` to ``schema`` (``None``: no tenant)."""
    connection.execute(_SET_PATH, {"path": search_path_for(schema)})


async def set_search_path_async(connection: AsyncConnection, schema: str | None) -> None:
    await connection.execute(_SET_PATH, {"path": search_path_for(schema)})


@event.listens_for(Session, "after_begin")
def _scope_transaction(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    # A session may be pinned to a schema explicitly (provisioning, migrations); otherwise the tenant in scope.
    schema = session.info.get("schema", _UNSET)
    if schema is _UNSET:
        tenant = current_tenant()
        schema = tenant.schema if tenant is not None else None
    set_search_path(connection, schema)


_UNSET = object()


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine on psycopg 3. Connections start on ``public``; transactions pick their schema."""
    return _create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=kwargs.pop("max_overflow", pool_size),
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
        pool_timeout=kwargs.pop("pool_timeout", 5),  # waiting for a free connection: a 503 after 5 s, not 30
        # An unreachable server fails the connection attempt within 3 s (a 503 page), rather than a TCP timeout.
        connect_args={"application_name": "tajiconnect", "connect_timeout": 3, **kwargs.pop("connect_args", {})},
        **kwargs,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(engine: AsyncEngine, *, schema: Any = _UNSET) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on error.

    ``schema`` pins the session to a schema (``None`` for public) regardless of the tenant in scope.
    """
    info = {} if schema is _UNSET else {"schema": schema}
    async with AsyncSession(engine, expire_on_commit=False, info=info) as session:
        async with session.begin():
            yield session


#: The request's session (advanced-alchemy plugin), as handlers declare it.
DbSession = NamedDependency[AsyncSession]
