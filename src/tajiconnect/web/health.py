"""``GET /health`` on every host: database (and Redis when configured) status; 503 when the database is down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Request, get
from litestar.openapi import ResponseSpec
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from tajiconnect.db.session import session_scope

CHECK_TIMEOUT_SECONDS = 2.0


async def _check_database(request: Request) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with session_scope(request.app.state.engine, schema=None) as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


async def _check_redis(request: Request) -> dict[str, Any] | None:
    redis = getattr(request.app.state, "redis", None)
    if redis is None:
        return None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


@get(
    "/health",
    opt={"host": "any", "exclude_from_csrf": True},
    cache_control=None,
    summary="Service health (database, Redis)",
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            dict[str, Any],
            description='A check failed: the same body, with `"status": "unavailable"`.',
            generate_examples=False,
        )
    },
)
async def health(request: Request) -> Response[dict[str, Any]]:
    database, redis = await asyncio.gather(_check_database(request), _check_redis(request))
    checks: dict[str, Any] = {"database": database}
    checks["redis"] = redis if redis is not None else {"status": "not configured"}
    healthy = database["status"] == "ok" and (redis is None or redis["status"] == "ok")
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return Response(
        body,
        status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Cache-Control": "no-store"},
    )
