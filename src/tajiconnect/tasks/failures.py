"""Tasks that failed for good: recorded in ``public.failed_tasks`` for operators, and put back in the queue on
request (the apex's ``/platform/tasks`` page, ``tajiconnect tasks failed`` and ``tajiconnect tasks retry``).

* :func:`record_failure` is every worker's ``after_process`` hook: a job that ended ``failed`` or ``aborted`` (its
  attempts used up, or refused) is upserted by its key.
* ``record_failed_jobs`` (cron, every minute) records the same from SAQ's own records, for jobs that ended
  outside a worker's hands (swept after a lost heartbeat, aborted as an orphan). SAQ keeps a finished job for
  its ``ttl`` (10 minutes), so nothing is missed.
* :func:`retry_failed` enqueues the job again under **the same key**: the task's effects are recorded under that
  key (an email's ``sent_emails`` row, a certificate's completion), so a retry finishes the work without
  doubling what was already done.
"""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import structlog
from saq import Job
from saq.job import Status
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.tasks.base import REGISTRY, platform_task
from tajiconnect.tasks.models import FailedTask

log = structlog.get_logger(__name__)

FINAL = (Status.FAILED, Status.ABORTED)
ERROR_MAX = 20_000


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _values(job: Job) -> dict[str, Any]:
    kwargs = dict(job.kwargs or {})
    failed = datetime.datetime.fromtimestamp((job.completed or job.touched or time.time() * 1000) / 1000,
                                             datetime.UTC)
    return {
        "job_key": job.key[:300], "queue": (job.queue.name if job.queue is not None else "")[:100],
        "task": job.function[:64], "tenant_slug": kwargs.get("tenant") if isinstance(kwargs.get("tenant"), str)
        else None, "kwargs": kwargs, "status": job.status.value if isinstance(job.status, Status) else str(job.status),
        "error": (job.error or "")[-ERROR_MAX:] or None, "attempts": int(job.attempts or 0), "failed_at": failed,
    }


async def save_failure(engine: AsyncEngine, job: Job) -> None:
    """Record (or refresh) ``job``'s failure; a job failing again after a retry reopens its row."""
    values = _values(job)
    statement = insert(FailedTask).values(id=uuid.uuid4(), **values)
    async with session_scope(engine) as session:
        await session.execute(statement.on_conflict_do_update(
            index_elements=[FailedTask.job_key],
            set_={**{k: statement.excluded[k] for k in values if k != "job_key"}, "retried_at": None,
                  "retried_by": None, "updated_at": _now()},
            where=FailedTask.failed_at < statement.excluded.failed_at,
        ))


async def record_failure(ctx: dict[str, Any]) -> None:
    """``after_process`` hook: record the job if it ended for good. Never raises (the minutely scan is the net)."""
    job: Job | None = ctx.get("job")
    if job is None or job.status not in FINAL or job.function.startswith("cron:"):
        return
    try:
        await save_failure(ctx["engine"], job)
    except Exception as exc:
        log.warning("could not record a failed task", job_key=job.key, error=type(exc).__name__)


@platform_task
async def record_failed_jobs(ctx: dict[str, Any]) -> dict[str, Any]:
    """Record failed and aborted jobs SAQ still holds (see the module)."""
    engine, queue = ctx["engine"], ctx["queue"]
    seen = 0
    async with session_scope(engine) as session:
        known = dict((await session.execute(select(FailedTask.job_key, FailedTask.failed_at))).tuples().all())
    async for job in queue.iter_jobs(list(FINAL)):
        if job.function not in REGISTRY:
            continue
        recorded = known.get(job.key)
        values = _values(job)
        if recorded is None or recorded < values["failed_at"]:
            await save_failure(engine, job)
            seen += 1
    return {"recorded": seen}


class RetryError(LookupError):
    """No such failed task, or it was retried already."""


async def retry_failed(engine: AsyncEngine, queue: Any, failed_id: uuid.UUID, *, by: str) -> FailedTask:
    """Put the failed task back in its queue under its own key; mark it retried by ``by`` (an operator's email or
    ``cli``). Raises :class:`RetryError` when it is unknown or already retried."""
    async with session_scope(engine) as session:
        row = await session.get(FailedTask, failed_id, with_for_update=True)
        if row is None:
            raise RetryError("no such failed task")
        if row.retried_at is not None:
            raise RetryError("this task was retried already")
        spec = REGISTRY.get(row.task)
        if spec is None:
            raise RetryError(f"the task {row.task!r} no longer exists")
        policy = spec.policy
        job = Job(function=row.task, kwargs=dict(row.kwargs or {}), key=row.job_key, retries=policy.retries,
                  timeout=policy.timeout, heartbeat=policy.heartbeat, retry_delay=policy.retry_delay,
                  retry_backoff=policy.retry_backoff, scheduled=int(time.time()))
        # SAQ replaces a finished job of the same key only when the new one is scheduled later (``scheduled``).
        if await queue.enqueue(job) is None:
            raise RetryError("the queue still holds this task: it is being retried")
        await session.execute(update(FailedTask).where(FailedTask.id == row.id)
                              .values(retried_at=_now(), retried_by=by[:320]))
        await session.refresh(row)
        return row
