"""Scheduled work per tenant, fanned out over every active tenant.

A tenant task declared with ``@scheduled("daily")`` (or ``"hourly"``, ``"minutely"``, ``"weekly"``: Mondays'
tick, run by the Friday cron) runs once per tick in every active tenant. The platform crons ``fan_out_<every>``
(``worker.SCHEDULE``) enqueue one job per tenant and task,
keyed ``<slug>:<task>:<tick>``, so:

* one tenant's failure is that tenant's job's failure (retried by its policy, then listed for operators), and
  stops nothing else;
* a tick enqueued twice (two workers, a retried fan-out) is one job per tenant while SAQ remembers the key (on
  PostgreSQL, also once that job finished: see :func:`fan_out`; on Redis, only until it finished);
* the task gets ``tick`` (ISO time of the tick, UTC) to key its own effects with.

The tasks themselves must be idempotent (docs/jobs.md): e.g. a reminder is keyed by what it reminds of.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any, Literal

import structlog

from tajiconnect.tasks.base import REGISTRY, TaskFn, build_job, platform_task

log = structlog.get_logger(__name__)

Every = Literal["minutely", "hourly", "daily", "weekly"]
#: The tenant tasks each fan-out enqueues, by name.
SCHEDULED: dict[str, list[str]] = {"minutely": [], "hourly": [], "daily": [], "weekly": []}


def scheduled(every: Every) -> Callable[[TaskFn], TaskFn]:
    """Run this tenant task every minute, hour or day in every active tenant (declare it with ``@tenant_task``
    first: ``@scheduled("daily")`` goes above ``@tenant_task``)."""

    def mark(fn: TaskFn) -> TaskFn:
        spec = REGISTRY.get(fn.__name__)
        if spec is None or not spec.tenant_scoped:
            raise ValueError(f"{fn.__name__}: @scheduled needs a @tenant_task below it")
        if fn.__name__ not in SCHEDULED[every]:
            SCHEDULED[every].append(fn.__name__)
        return fn

    return mark


def tick_of(every: Every, at: datetime.datetime | None = None) -> datetime.datetime:
    at = at or datetime.datetime.now(datetime.UTC)
    at = at.replace(second=0, microsecond=0)
    if every in ("hourly", "daily", "weekly"):
        at = at.replace(minute=0)
    if every in ("daily", "weekly"):
        at = at.replace(hour=0)
    if every == "weekly":  # the Monday of the ISO week
        at -= datetime.timedelta(days=at.weekday())
    return at


async def fan_out(ctx: dict[str, Any], every: Every, *, at: datetime.datetime | None = None) -> dict[str, Any]:
    """Enqueue each task scheduled ``every`` once for each active tenant whose license is not cancelled (see the
    module): a cancelled organization's data waits, unchanged, for its retention to end (no reminders, reports or
    digests; its export stays true until it is deleted)."""
    from tajiconnect.tenancy.service import list_tenants

    tasks = SCHEDULED[every]
    if not tasks:
        return {"enqueued": 0}
    moment = tick_of(every, at)
    tick = moment.isoformat()
    # The job is scheduled at the tick itself (or now, for a tick still to come): on PostgreSQL, SAQ replaces a
    # finished job of the same key only by one scheduled later, so a tick enqueued again after its jobs ran is
    # refused too (with ``scheduled`` left at 0, SAQ would use the current second and run the tick again).
    scheduled = min(int(moment.timestamp()), int(time.time()))
    enqueued, failed = 0, []
    cancelled = await _cancelled(ctx["engine"])
    for tenant in await list_tenants(ctx["engine"]):
        if not tenant.is_active or tenant.id in cancelled:
            continue
        for name in tasks:
            try:
                job = build_job(name, key=f"{name}:{tick}", tenant=tenant, tick=tick)
                job.scheduled = scheduled
                enqueued += await ctx["queue"].enqueue(job) is not None
            except Exception as exc:  # the broker hiccuped: this tenant's job waits for the next tick
                failed.append(f"{tenant.slug}:{name}")
                log.warning("fan-out could not enqueue", tenant=tenant.slug, task=name, error=type(exc).__name__)
    return {"enqueued": enqueued, "failed": failed}


async def _cancelled(engine: Any) -> set[Any]:
    from sqlalchemy import select

    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.licensing.models import License
    from tajiconnect.tenancy.context import tenant_context

    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return set((await session.scalars(select(License.tenant_id).where(License.status == "cancelled"))).all())


@platform_task
async def fan_out_minutely(ctx: dict[str, Any]) -> dict[str, Any]:
    return await fan_out(ctx, "minutely")


@platform_task
async def fan_out_hourly(ctx: dict[str, Any]) -> dict[str, Any]:
    return await fan_out(ctx, "hourly")


@platform_task
async def fan_out_daily(ctx: dict[str, Any]) -> dict[str, Any]:
    return await fan_out(ctx, "daily")


@platform_task
async def fan_out_weekly(ctx: dict[str, Any]) -> dict[str, Any]:
    return await fan_out(ctx, "weekly")
