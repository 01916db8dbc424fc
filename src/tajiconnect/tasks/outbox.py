"""The transactional outbox: a task that must run if, and only if, a transaction commits.

``await defer(session, send_email, to=..., ...)`` writes an :class:`OutboxMessage` in the caller's transaction
(the tenant in scope). Nothing reaches the queue before that transaction commits, and nothing is lost if the
process dies right after the commit:

1. after a request's commit, :func:`dispatch_committed` enqueues the messages the transaction wrote (the fast
   path) and marks them dispatched;
2. the ``sweep_outbox`` task (every minute, in every worker) enqueues any message still undispatched after
   :data:`SWEEP_AFTER`: the process died between commit and enqueue, or the queue was unreachable.

Each message becomes a job whose SAQ key is ``<slug>:outbox:<id>``, so the fast path and the sweeper cannot
queue it twice while SAQ remembers the job; the task itself records its effect under that key (e.g.
:class:`tajiconnect.mail.models.SentEmail`), which covers the rest.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.mail.models import SentEmail
from tajiconnect.tasks.base import REGISTRY, TaskFn, build_job, platform_task
from tajiconnect.tasks.models import OutboxMessage
from tajiconnect.tenancy.context import TenantRef, require_tenant, tenant_context
from tajiconnect.web.idempotency import purge_expired as purge_expired_keys

if TYPE_CHECKING:
    from tajiconnect.tasks.queue import AnyQueue

log = structlog.get_logger(__name__)

SWEEP_AFTER = datetime.timedelta(seconds=20)
KEEP_DISPATCHED = datetime.timedelta(days=7)
#: Longer than any job can keep being retried (SAQ's job TTLs and our retry policy are minutes, not days).
KEEP_SENT_RECORDS = datetime.timedelta(days=30)
SWEEP_BATCH = 500


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def outbox_key(message_id: uuid.UUID | str) -> str:
    return f"outbox:{message_id}"


async def defer(session: AsyncSession, task: TaskFn | str, **kwargs: Any) -> OutboxMessage:
    """Queue ``task`` for the tenant in scope once ``session``'s transaction commits (and only then)."""
    name = task if isinstance(task, str) else task.__name__
    spec = REGISTRY.get(name)
    if spec is None or not spec.tenant_scoped:
        raise ValueError(f"{name!r} is not a tenant task")
    tenant = require_tenant()
    message = OutboxMessage(task=name, kwargs=kwargs)  # kwargs that JSON cannot hold fail at this flush
    session.add(message)
    await session.flush()
    session.info.setdefault("outbox", []).append((tenant, message))
    return message


async def _enqueue(queue: AnyQueue, tenant: TenantRef, message: OutboxMessage) -> None:
    await queue.enqueue(build_job(message.task, key=outbox_key(message.id), tenant=tenant, **message.kwargs))


async def dispatch_committed(session: AsyncSession, queue: AnyQueue | None) -> int:
    """Enqueue what ``session``'s just-committed transaction deferred. Never raises: the sweeper is the fallback."""
    pending: list[tuple[TenantRef, OutboxMessage]] = session.info.pop("outbox", [])
    if not pending or queue is None:
        return 0
    sent: dict[TenantRef, list[uuid.UUID]] = {}
    try:
        for tenant, message in pending:
            await _enqueue(queue, tenant, message)
            sent.setdefault(tenant, []).append(message.id)
    except Exception as exc:  # the queue is unreachable: the sweeper will enqueue what is left
        log.warning("outbox: enqueue failed, left for the sweeper", error=type(exc).__name__)
    try:
        engine = session.bind
        for tenant, ids in sent.items():
            with tenant_context(tenant):
                async with session_scope(engine) as marking:  # type: ignore[arg-type]
                    await marking.execute(
                        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(dispatched_at=_now())
                    )
    except Exception as exc:  # not marked: the sweeper re-enqueues under the same key (SAQ de-duplicates)
        log.warning("outbox: could not mark messages dispatched", error=type(exc).__name__)
    return sum(len(ids) for ids in sent.values())


async def sweep_tenant(engine: AsyncEngine, queue: AnyQueue, tenant: TenantRef, *, older_than: datetime.timedelta
                       = SWEEP_AFTER) -> int:
    """Enqueue the tenant's undispatched messages older than ``older_than``; drop old dispatched messages, old
    sent-email records and expired idempotency keys."""
    now = _now()
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            messages = list((await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= now - older_than)
                .order_by(OutboxMessage.created_at)
                .limit(SWEEP_BATCH)
                .with_for_update(skip_locked=True)
            )).all())
            for message in messages:
                await _enqueue(queue, tenant, message)
                message.dispatched_at = now
            # Upkeep of the other at-most-once records, while we are in the tenant anyway.
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.dispatched_at < now - KEEP_DISPATCHED)
            )
            await session.execute(delete(SentEmail).where(SentEmail.sent_at < now - KEEP_SENT_RECORDS))
            await purge_expired_keys(session)
    return len(messages)


@platform_task
async def sweep_outbox(ctx: dict[str, Any]) -> dict[str, Any]:
    """Every active tenant's stranded outbox messages, one tenant per transaction; one failure stops nothing."""
    from tajiconnect.tenancy.service import list_tenants

    engine, queue = ctx["engine"], ctx["queue"]
    dispatched, failed = 0, []
    for tenant in await list_tenants(engine):
        if not tenant.is_active:
            continue
        try:
            dispatched += await sweep_tenant(engine, queue, tenant)
        except Exception as exc:
            failed.append(tenant.slug)
            log.warning("outbox sweep failed for a tenant", tenant=tenant.slug, error=type(exc).__name__)
    return {"dispatched": dispatched, "failed": failed}

