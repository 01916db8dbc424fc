"""Log lines carry the tenant and the request (or job) they belong to.

A tiny app with the real ``TenancyMiddleware`` and a handler that logs; structlog's capture merges the context
variables exactly as the production processor chain does.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
import structlog
from litestar import Litestar, get
from litestar.datastructures import State
from structlog.testing import capture_logs

from tajiconnect.tasks.base import REGISTRY, tenant_task
from tajiconnect.tenancy.middleware import TenancyMiddleware
from tajiconnect.tenancy.resolver import TenantResolver
from tests.conftest import BASE_DOMAIN, host_of


@get("/_test/log", opt={"host": "any"})
async def log_something() -> None:
    structlog.get_logger("tests.logging").info("inside handler")


@tenant_task
async def logging_test_task(ctx: dict[str, Any]) -> None:
    structlog.get_logger("tests.logging").info("inside task")


@pytest.fixture(scope="module")
def log_app(engine) -> Litestar:
    resolver = TenantResolver(engine, BASE_DOMAIN, ttl_seconds=0)
    return Litestar([log_something], middleware=[TenancyMiddleware()], state=State({"tenant_resolver": resolver}))


async def logged(app: Litestar, tenant, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The one line the handler logs for a request to ``tenant``'s host."""
    transport = httpx.ASGITransport(app=app)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with httpx.AsyncClient(transport=transport) as client:
            # In its own task, as a server runs each request: the middleware's bindings stay in that context.
            response = await asyncio.create_task(
                client.get(f"https://{host_of(tenant)}/_test/log", headers=headers or {})
            )
    assert response.status_code < 300
    [line] = [entry for entry in logs if entry["event"] == "inside handler"]
    return line


async def test_request_log_lines_carry_tenant_and_given_request_id(log_app, alpha):
    line = await logged(log_app, alpha, {"X-Request-Id": "req-0042-abc"})
    assert line["tenant"] == alpha.slug
    assert line["request_id"] == "req-0042-abc"
    assert line["path"] == "/_test/log"


async def test_request_id_is_generated_when_missing_or_unsafe(log_app, alpha):
    generated = (await logged(log_app, alpha))["request_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    for unsafe in ("x" * 65, "id with spaces", "<script>"):
        line = await logged(log_app, alpha, {"X-Request-Id": unsafe})
        assert line["request_id"] != unsafe and re.fullmatch(r"[0-9a-f]{16}", line["request_id"])


async def test_consecutive_requests_do_not_inherit_each_others_context(log_app, alpha, beta):
    assert (await logged(log_app, alpha, {"X-Request-Id": "first"}))["tenant"] == alpha.slug
    second = await logged(log_app, beta)
    assert second["tenant"] == beta.slug and second["request_id"] != "first"
    assert (await logged(log_app, None))["tenant"] == "-"


async def test_task_log_lines_carry_tenant_and_task(engine, alpha):
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await REGISTRY["logging_test_task"].fn({"engine": engine}, tenant=alpha.slug)
    [line] = [entry for entry in logs if entry["event"] == "inside task"]
    assert (line["tenant"], line["task"]) == (alpha.slug, "logging_test_task")
    assert not {"tenant", "task", "job_id"} & set(structlog.contextvars.get_contextvars())
