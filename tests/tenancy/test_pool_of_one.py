"""One pooled connection, shared by requests and tasks alternating between tenants, never reads the wrong schema.

The app and the tasks use the *same* engine with a single connection, so every request and every task reuses one
PostgreSQL session: any search path leaking from one transaction into the next would show up here. The app is
served on the test's own event loop (as a real server would), so requests and tasks can also run concurrently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import httpx
import pytest
from litestar import get
from litestar.di import NamedDependency
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

import tajiconnect.app
import tajiconnect.tasks.maintenance  # registers count_users
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.tasks.base import REGISTRY, tenant_task
from tajiconnect.tenancy.context import require_tenant, tenant_context
from tests.conftest import host_of
from tests.helpers import add_user, user_emails

ROUNDS = 12


async def probe(session: AsyncSession) -> dict[str, Any]:
    return {
        "tenant": require_tenant().slug,
        "schema": await session.scalar(text("SELECT current_schema()")),
        "emails": sorted((await session.scalars(select(User.email))).all()),
        "pid": await session.scalar(text("SELECT pg_backend_pid()")),
    }


@tenant_task
async def pool_of_one_probe(ctx: dict[str, Any]) -> dict[str, Any]:
    """Test-only task: what a task sees of its tenant."""
    async with session_scope(ctx["engine"]) as session:
        return await probe(session)


@get("/_test/probe", name="pool_of_one_probe")
async def http_probe(db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
    """Test-only route: what a request sees, through the app's own (plugin-provided) session."""
    return await probe(db_session)


@pytest.fixture(scope="module")
async def pair(make_tenant, engine):
    """Two tenants with different users, so that reading the wrong schema shows in the rows."""
    a, b = await make_tenant("poola"), await make_tenant("poolb")
    await add_user(engine, a, "extra1@a.example")
    await add_user(engine, a, "extra2@a.example")
    await add_user(engine, b, "only@b.example")
    return a, b


@pytest.fixture
async def pool1_app(settings, pool1_engine, monkeypatch):
    monkeypatch.setattr(tajiconnect.app, "create_engine", lambda *args, **kwargs: pool1_engine)
    app = tajiconnect.app.create_app(dataclasses.replace(settings, db_pool_size=1))
    app.register(http_probe)
    return app


async def expected(engine, tenant) -> dict[str, Any]:
    return {"tenant": tenant.slug, "schema": tenant.schema, "emails": sorted(await user_emails(engine, tenant))}


async def test_requests_and_tasks_alternating_on_one_connection(pool1_engine, pool1_app, pair):
    a, b = pair
    want = {a.slug: await expected(pool1_engine, a), b.slug: await expected(pool1_engine, b)}
    assert want[a.slug]["emails"] != want[b.slug]["emails"]
    pids: set[int] = set()

    def seen(result: dict[str, Any]) -> dict[str, Any]:
        pids.add(result.pop("pid"))
        return result

    async def request(client, tenant) -> None:
        response = await client.get(f"https://{host_of(tenant)}/_test/probe")
        assert response.status_code == 200, response.text
        assert seen(response.json()) == want[tenant.slug]

    async def task(tenant) -> None:
        result = await REGISTRY["pool_of_one_probe"].fn({"engine": pool1_engine}, tenant=tenant.slug)
        assert seen(result) == want[tenant.slug]
        assert (await REGISTRY["count_users"].fn({"engine": pool1_engine}, tenant=tenant.slug))["active_users"] == (
            len(want[tenant.slug]["emails"])
        )

    async def no_tenant(client) -> None:
        with tenant_context(None):
            async with session_scope(pool1_engine) as session:
                pids.add(await session.scalar(text("SELECT pg_backend_pid()")))
                assert await session.scalar(text("SELECT current_schema()")) == "public"
            with pytest.raises(ProgrammingError, match="UndefinedTable"):
                async with session_scope(pool1_engine) as session:
                    await session.execute(select(User.email))
        response = await client.get(f"https://{host_of(None)}/_test/probe")
        assert response.status_code == 404  # the apex has no tenant: tenant routes do not exist there

    steps = [lambda c: request(c, a), lambda c: request(c, b), lambda c: task(a), lambda c: task(b), no_tenant]
    rng = random.Random(20261122)
    transport = httpx.ASGITransport(app=pool1_app)
    async with pool1_app.lifespan(), httpx.AsyncClient(transport=transport) as client:
        for _ in range(ROUNDS):
            rng.shuffle(steps)
            for step in steps:
                await step(client)
        # And all at once: they queue for the single connection, each still in its own tenant.
        await asyncio.gather(*(step(client) for step in steps * 3))
    assert len(pids) == 1, "the engine was expected to hold exactly one connection"
    assert pool1_engine.pool.size() == 1
