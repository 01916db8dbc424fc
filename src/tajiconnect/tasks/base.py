"""Tenant-aware tasks.

A task is declared with :func:`tenant_task` (runs inside one tenant) or :func:`platform_task` (runs with no
tenant). :func:`enqueue` stamps the tenant in scope onto the job (``tenant`` kwarg), refusing to enqueue a
tenant task with no tenant in scope; the wrapper loads that tenant, refuses a suspended or deleted one, and runs
the function inside ``tenant_context``. Jobs retry with backoff, time out, and send heartbeats while they run
so that a dead worker's jobs are swept and retried. Tasks may run twice: their effects must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from saq import Job

from tajiconnect import i18n
from tajiconnect.tenancy.context import NoTenantError, TenantRef, current_tenant, tenant_context
from tajiconnect.tenancy.service import TenantNotFoundError, load_tenant

if TYPE_CHECKING:
    from tajiconnect.tasks.queue import AnyQueue

log = structlog.get_logger(__name__)

TaskFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class TaskPolicy:
    retries: int = 4  # attempts in all (SAQ counts the first); SAQ's default of 1 never retries
    timeout: int = 300  # seconds before a running job is aborted
    heartbeat: int = 60  # seconds without a heartbeat before a job is considered lost and retried
    retry_delay: float = 2.0
    retry_backoff: bool = True
    queue: str = "default"  # one of tasks.queue.QUEUE_NAMES: which queue (and so which workers) runs the task


DEFAULT_POLICY = TaskPolicy()


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: TaskFn  # the wrapped function SAQ calls
    tenant_scoped: bool
    policy: TaskPolicy


REGISTRY: dict[str, TaskSpec] = {}


class TaskRefusedError(RuntimeError):
    """The job's tenant is gone or suspended: the job is dropped, not retried."""


async def _keep_alive(job: Job | None, interval: float) -> None:
    if job is None:
        return
    while True:
        await asyncio.sleep(interval)
        with contextlib.suppress(Exception):
            await job.update()


def _register(fn: TaskFn, *, tenant_scoped: bool, policy: TaskPolicy) -> TaskFn:
    name = fn.__name__

    @functools.wraps(fn)
    async def wrapper(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job: Job | None = ctx.get("job")
        slug = kwargs.pop("tenant", None)
        tenant: TenantRef | None = None
        if tenant_scoped:
            try:
                if not slug:
                    raise TaskRefusedError(f"task {name} has no tenant")
                try:
                    tenant = await load_tenant(ctx["engine"], slug)
                except TenantNotFoundError as exc:
                    raise TaskRefusedError(f"tenant {slug!r} no longer exists") from exc
                if not tenant.is_active:
                    raise TaskRefusedError(f"tenant {slug!r} is suspended")
            except TaskRefusedError:
                if job is not None:
                    job.retries = 0  # retrying cannot help
                raise
        structlog.contextvars.bind_contextvars(
            tenant=tenant.slug if tenant else "-", job_id=job.id if job else "-", task=name
        )
        beat = asyncio.create_task(_keep_alive(job, max(1.0, policy.heartbeat / 3)))
        try:
            with tenant_context(tenant), i18n.locale_context(tenant.locale if tenant else None):
                return await fn(ctx, **kwargs)
        finally:
            beat.cancel()
            structlog.contextvars.unbind_contextvars("tenant", "job_id", "task")

    if name in REGISTRY:
        raise ValueError(f"task {name!r} is declared twice")
    from tajiconnect.tasks.queue import QUEUE_NAMES

    if policy.queue not in QUEUE_NAMES:
        raise ValueError(f"task {name!r} names an unknown queue {policy.queue!r}")
    REGISTRY[name] = TaskSpec(name=name, fn=wrapper, tenant_scoped=tenant_scoped, policy=policy)
    return fn


def tenant_task(fn: TaskFn | None = None, *, policy: TaskPolicy = DEFAULT_POLICY) -> Any:
    """Declare a task that runs inside the tenant it was enqueued from."""
    if fn is None:
        return lambda f: _register(f, tenant_scoped=True, policy=policy)
    return _register(fn, tenant_scoped=True, policy=policy)


def platform_task(fn: TaskFn | None = None, *, policy: TaskPolicy = DEFAULT_POLICY) -> Any:
    """Declare a task that runs outside every tenant (platform-wide work)."""
    if fn is None:
        return lambda f: _register(f, tenant_scoped=False, policy=policy)
    return _register(fn, tenant_scoped=False, policy=policy)


def build_job(task: TaskFn | str, *, key: str | None = None, tenant: TenantRef | None = None, **kwargs: Any) -> Job:
    """A job for ``task`` carrying the tenant in scope (or ``tenant``). Raises without one for tenant tasks."""
    name = task if isinstance(task, str) else task.__name__
    spec = REGISTRY.get(name)
    if spec is None:
        raise KeyError(f"unknown task {name!r}")
    if spec.tenant_scoped:
        tenant = tenant or current_tenant()
        if tenant is None:
            raise NoTenantError(f"task {name} must be enqueued inside a tenant")
        kwargs["tenant"] = tenant.slug
        key = f"{tenant.slug}:{key}" if key else None
    policy = spec.policy
    options: dict[str, Any] = {"key": key} if key else {}
    return Job(
        function=name,
        kwargs=kwargs,
        retries=policy.retries,
        timeout=policy.timeout,
        heartbeat=policy.heartbeat,
        retry_delay=policy.retry_delay,
        retry_backoff=policy.retry_backoff,
        **options,
    )


async def enqueue(queue: AnyQueue, task: TaskFn | str, *, key: str | None = None, **kwargs: Any) -> Job | None:
    """Enqueue ``task`` for the tenant in scope. ``key`` de-duplicates within that tenant only."""
    return await queue.enqueue(build_job(task, key=key, **kwargs))
