"""Tasks carry their tenant: enqueued inside tenant A, a job runs in A, on a real SAQ queue and worker."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from typing import Any

import pytest
from saq import Job
from saq.job import Status
from sqlalchemy import text

from tajiconnect.db.session import session_scope
from tajiconnect.settings import Secret
from tajiconnect.tasks.base import (
    REGISTRY,
    TaskPolicy,
    TaskRefusedError,
    build_job,
    enqueue,
    platform_task,
    tenant_task,
)
from tajiconnect.tasks.queue import create_queue
from tajiconnect.tenancy.context import NoTenantError, current_tenant, require_tenant, tenant_context
from tajiconnect.tenancy.service import delete_tenant, suspend_tenant
from tajiconnect.worker import TajiWorker

RAN: list[str] = []  # slugs the test task actually ran for


@tenant_task
async def tasks_test_where_am_i(ctx: dict[str, Any]) -> dict[str, Any]:
    """Test-only task: the tenant and schema the job body runs in."""
    RAN.append(require_tenant().slug)
    async with session_scope(ctx["engine"]) as session:
        schema = await session.scalar(text("SELECT current_schema()"))
    return {"slug": require_tenant().slug, "schema": schema}


@platform_task
async def tasks_test_platform_probe(ctx: dict[str, Any]) -> dict[str, Any]:
    async with session_scope(ctx["engine"]) as session:
        schema = await session.scalar(text("SELECT current_schema()"))
    return {"tenant": current_tenant(), "schema": schema}


# SAQ 0.26 still calls redis-py's deprecated ``setex``; harmless, but pytest turns warnings into errors.
REDIS = pytest.param(
    "redis", marks=[pytest.mark.redis, pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")]
)


@pytest.fixture(params=["postgres", REDIS])
async def queue(request, settings):
    if request.param == "redis":
        settings = dataclasses.replace(settings, redis_url=Secret(os.environ["REDIS_URL"]))
    else:
        settings = dataclasses.replace(settings, redis_url=None)
    queue = create_queue(settings, name=f"test-{uuid.uuid4().hex[:10]}")
    await queue.connect()
    yield queue
    await queue.disconnect()


async def run_burst(queue, engine) -> None:
    """The app's SAQ worker with every registered task: process what is queued, then stop. (SAQ's plain worker
    sweeps at start, alongside its first dequeues, and can take the job it just dequeued for a stuck one.)"""

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["engine"] = engine

    worker = TajiWorker(
        queue,
        functions=[(spec.name, spec.fn) for spec in REGISTRY.values()],
        startup=startup,
        burst=True,
        dequeue_timeout=1,
        concurrency=2,
    )
    await asyncio.wait_for(worker.start(), timeout=60)


def unique_key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


async def test_job_enqueued_in_tenant_a_runs_in_a(queue, engine, alpha, beta):
    with tenant_context(alpha):
        job_a = await enqueue(queue, tasks_test_where_am_i)
    with tenant_context(beta):
        job_b = await enqueue(queue, tasks_test_where_am_i)
    assert job_a.kwargs == {"tenant": alpha.slug}
    await run_burst(queue, engine)
    for job, tenant in ((job_a, alpha), (job_b, beta)):
        await job.refresh()
        assert job.status == Status.COMPLETE, job.error
        assert job.result == {"slug": tenant.slug, "schema": tenant.schema}


async def test_enqueue_without_tenant_is_refused(queue):
    assert current_tenant() is None
    with pytest.raises(NoTenantError):
        await enqueue(queue, tasks_test_where_am_i)
    assert await queue.count("queued") == 0


async def test_job_for_suspended_tenant_is_refused_not_retried(queue, engine, make_tenant):
    tenant = await make_tenant("susp")
    with tenant_context(tenant):
        job = await enqueue(queue, tasks_test_where_am_i)
    assert job.retries > 1
    await suspend_tenant(engine, tenant.slug)
    await run_burst(queue, engine)
    await job.refresh()
    assert job.status == Status.FAILED
    assert "TaskRefusedError" in job.error and "suspended" in job.error
    assert job.attempts == 1 and job.retries == 0
    assert tenant.slug not in RAN


async def test_wrapper_refuses_missing_deleted_or_suspended_tenant(engine, make_tenant):
    wrapper = REGISTRY["tasks_test_where_am_i"].fn
    gone, paused = await make_tenant("gone"), await make_tenant("paused")
    await delete_tenant(engine, gone.slug)
    await suspend_tenant(engine, paused.slug)
    for kwargs, reason in (({}, "no tenant"), ({"tenant": gone.slug}, "no longer exists"),
                           ({"tenant": paused.slug}, "suspended")):
        job = Job(function="tasks_test_where_am_i", retries=4)
        with pytest.raises(TaskRefusedError, match=reason):
            await wrapper({"engine": engine, "job": job}, **kwargs)
        assert job.retries == 0
    assert not {gone.slug, paused.slug} & set(RAN)


async def test_platform_task_runs_outside_every_tenant(engine, alpha):
    with tenant_context(alpha):
        job = build_job(tasks_test_platform_probe)
        assert "tenant" not in job.kwargs
        result = await REGISTRY["tasks_test_platform_probe"].fn({"engine": engine}, **job.kwargs)
    assert result == {"tenant": None, "schema": "public"}


def test_jobs_have_deliberate_retry_timeout_and_heartbeat(alpha):
    policy = REGISTRY["tasks_test_where_am_i"].policy
    with tenant_context(alpha):
        job = build_job(tasks_test_where_am_i)
    assert job.retries == policy.retries > 1  # SAQ's default (1) would never retry
    assert job.timeout == policy.timeout > 0
    assert 0 < job.heartbeat == policy.heartbeat < job.timeout
    assert job.retry_backoff and job.retry_delay > 0


async def test_policy_survives_the_broker(queue, alpha):
    with tenant_context(alpha):
        job = await enqueue(queue, tasks_test_where_am_i, key=unique_key())
    stored = await queue.job(job.key)
    assert (stored.retries, stored.timeout, stored.heartbeat) == (job.retries, job.timeout, job.heartbeat)
    assert stored.kwargs == {"tenant": alpha.slug}


async def test_job_keys_are_scoped_to_the_tenant(queue, alpha, beta):
    key = unique_key()
    with tenant_context(alpha):
        first = await enqueue(queue, tasks_test_where_am_i, key=key)
        again = await enqueue(queue, tasks_test_where_am_i, key=key)
    with tenant_context(beta):
        other = await enqueue(queue, tasks_test_where_am_i, key=key)
    assert again is None  # de-duplicated within alpha
    assert first is not None and other is not None
    assert first.key == f"{alpha.slug}:{key}" and other.key == f"{beta.slug}:{key}"
    assert await queue.count("queued") == 2


@tenant_task(policy=TaskPolicy(heartbeat=3, timeout=30))
async def tasks_test_slow_heartbeat(ctx: dict[str, Any]) -> dict[str, Any]:
    """Test-only task: runs past its heartbeat interval; reports whether the job was touched meanwhile."""
    job = ctx["job"]
    before = job.touched
    await asyncio.sleep(2.5)
    return {"before": before, "after": job.touched}


async def test_a_running_job_sends_heartbeats_so_it_is_not_swept(queue, engine, alpha):
    with tenant_context(alpha):
        job = await enqueue(queue, tasks_test_slow_heartbeat)
    assert job.heartbeat == 3
    await run_burst(queue, engine)
    done = await queue.job(job.key)
    assert done.status == Status.COMPLETE, done.error
    # The wrapper touched the job while it ran (every heartbeat/3 s), so a sweep would not have declared it lost.
    assert done.result["after"] > done.result["before"]
