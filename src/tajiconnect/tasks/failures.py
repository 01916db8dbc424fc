"""Tasks that failed for good: recorded in ``public.failed_tasks`` for operators, and put back in the queue on
request (the apex's ``/platform/tasks`` page, ``tajiconnect tasks failed`` and ``tajiconnect tasks retry``).

* :func:`record_failure` is every worker's ``after_process`` hook: a job that ended ``failed`` or ``aborted`` (its
  attempts used up, or refused) is upserted by its key.
* ``record_failed_jobs`` (cron, every minute) records the same from SAQ's own records, for jobs that ended
  outside a worker's hands (swept after a lost heartbeat, aborted as an orphan). SAQ keeps a finished job for
  its ``ttl`` (10 minutes), so nothing is missed. SAQ's cron jobs (keys ``cron:<task>``) are left out of both:
  they run again at their next tick.
* :func:`list_failed` lists them for the console and ``tajiconnect tasks failed``; :func:`shown_kwargs` hides
  argument values that may hold a secret.
* :func:`retry_failed` enqueues the job again under **the same key**: the task's effects are recorded under that
  key (an email's ``sent_emails`` row, a certificate's completion), so a retry finishes the work without
  doubling what was already done. Each retry is an entry in the platform audit log (:func:`retry_history`).
"""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import structlog
from saq import Job
from saq.job import Status
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.tasks.base import REGISTRY, platform_task
from tajiconnect.tasks.models import FailedTask
from tajiconnect.tenancy.context import tenant_context

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
    async with session_scope(engine, schema=None) as session:
        await session.execute(statement.on_conflict_do_update(
            index_elements=[FailedTask.job_key],
            set_={**{k: statement.excluded[k] for k in values if k != "job_key"}, "retried_at": None,
                  "retried_by": None, "updated_at": _now()},
            where=FailedTask.failed_at < statement.excluded.failed_at,
        ))


def _is_cron(job: Job) -> bool:
    """A SAQ cron job (key ``cron:<function>``): it runs again at its next tick, so it is not recorded."""
    return job.key.startswith("cron:")


async def record_failure(ctx: dict[str, Any]) -> None:
    """``after_process`` hook: record the job if it ended for good. Never raises (the minutely scan is the net)."""
    job: Job | None = ctx.get("job")
    if job is None or job.status not in FINAL or _is_cron(job):
        return
    try:
        await save_failure(ctx["engine"], job)
    except Exception as exc:
        log.warning("could not record a failed task", job_key=job.key, error=type(exc).__name__)


@platform_task
async def record_failed_jobs(ctx: dict[str, Any]) -> dict[str, Any]:
    """Record failed and aborted jobs SAQ still holds (see the module)."""
    engine, queue = ctx["engine"], ctx["queue"]
    jobs = [job async for job in queue.iter_jobs(list(FINAL)) if job.function in REGISTRY and not _is_cron(job)]
    if not jobs:
        return {"recorded": 0}
    async with session_scope(engine, schema=None) as session:
        known = dict((await session.execute(
            select(FailedTask.job_key, FailedTask.failed_at).where(FailedTask.job_key.in_([j.key for j in jobs]))
        )).tuples().all())
    seen = 0
    for job in jobs:
        recorded = known.get(job.key)
        if recorded is None or recorded < _values(job)["failed_at"]:
            await save_failure(engine, job)
            seen += 1
    return {"recorded": seen}


class RetryError(LookupError):
    """The failed task cannot be retried; ``reason`` says why: ``unknown`` (no such id), ``retried`` (already),
    ``gone`` (its task no longer exists) or ``queued`` (SAQ still holds a job under its key)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _filtered(stmt: Any, *, include_retried: bool, tenant: str | None, task: str | None) -> Any:
    if not include_retried:
        stmt = stmt.where(FailedTask.retried_at.is_(None))
    if tenant:
        stmt = stmt.where(FailedTask.tenant_slug == tenant)
    if task:
        stmt = stmt.where(FailedTask.task == task)
    return stmt


async def list_failed(session: AsyncSession, *, include_retried: bool = False, tenant: str | None = None,
                      task: str | None = None, limit: int | None = 50, offset: int = 0
                      ) -> tuple[list[FailedTask], int]:
    """The failed tasks (open ones only unless ``include_retried``), latest failure first, and how many in all."""
    where: dict[str, Any] = {"include_retried": include_retried, "tenant": tenant, "task": task}
    total = await session.scalar(_filtered(select(func.count()).select_from(FailedTask), **where))
    stmt = _filtered(select(FailedTask), **where).order_by(FailedTask.failed_at.desc(), FailedTask.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.scalars(stmt.offset(offset))).all()
    return list(rows), int(total or 0)


#: Argument names whose values are never shown (an email's ``link`` holds a sign-in or reset token).
SECRET_NAMES = ("token", "password", "secret", "link", "url", "code", "otp", "key")
HIDDEN = "[hidden]"


def shown_kwargs(value: Any, name: str = "") -> Any:
    """``kwargs`` as operators may see them: values of secret-looking names (:data:`SECRET_NAMES`), at any depth,
    are replaced by ``[hidden]``."""
    if any(word in name.lower() for word in SECRET_NAMES):
        return HIDDEN
    if isinstance(value, dict):
        return {k: shown_kwargs(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [shown_kwargs(v, name) for v in value]
    return value


def last_lines(error: str | None, count: int = 3) -> str:
    """The end of a traceback: where it failed and why."""
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


async def retry_failed(engine: AsyncEngine, queue: Any, failed_id: uuid.UUID, *, actor: Actor,
                       **context: Any) -> FailedTask:
    """Put the failed task back in its queue under its own key; mark it retried by the actor (an operator's email,
    or ``cli``) and record ``platform.task.retried`` in the platform audit log, in the same transaction. Raises
    :class:`RetryError` when it is unknown or already retried."""
    by = actor.email or "cli"
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            row = await session.get(FailedTask, failed_id, with_for_update=True)
            if row is None:
                raise RetryError(f"no failed task {failed_id}", "unknown")
            if row.retried_at is not None:
                raise RetryError(f"failed task {failed_id} was retried already ({row.retried_by}, "
                                 f"{row.retried_at:%Y-%m-%d %H:%M} UTC)", "retried")
            spec = REGISTRY.get(row.task)
            if spec is None:
                raise RetryError(f"the task {row.task!r} no longer exists", "gone")
            policy = spec.policy
            # SAQ replaces a finished job of the same key only when the new one is scheduled later than it.
            held = await queue.job(row.job_key)
            scheduled = max(int(time.time()), int(held.scheduled) + 1 if held is not None else 0)
            job = Job(function=row.task, kwargs=dict(row.kwargs or {}), key=row.job_key, retries=policy.retries,
                      timeout=policy.timeout, heartbeat=policy.heartbeat, retry_delay=policy.retry_delay,
                      retry_backoff=policy.retry_backoff, scheduled=scheduled)
            if await queue.enqueue(job) is None:
                raise RetryError(f"the queue still holds {row.job_key}: it is waiting or running", "queued")
            await session.execute(update(FailedTask).where(FailedTask.id == row.id)
                                  .values(retried_at=_now(), retried_by=by[:320]))
            await record(session, actor, "platform.task.retried", target_type="failed_task", target_id=row.id,
                         model=PlatformAuditEntry, tenant=row.tenant_slug, task=row.task, job_key=row.job_key,
                         **context)
            await session.refresh(row)
            return row


async def retry_history(session: AsyncSession, failed_id: uuid.UUID) -> list[PlatformAuditEntry]:
    """Every retry of this failed task (the platform audit log), oldest first."""
    rows = await session.scalars(
        select(PlatformAuditEntry).where(PlatformAuditEntry.action == "platform.task.retried",
                                         PlatformAuditEntry.target_type == "failed_task",
                                         PlatformAuditEntry.target_id == str(failed_id))
        .order_by(PlatformAuditEntry.occurred_at)
    )
    return list(rows.all())
