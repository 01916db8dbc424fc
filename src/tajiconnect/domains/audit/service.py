"""Writing and reading the audit log, and the throttles derived from it.

A successful action's entry is written in the action's own transaction (``record(session, ...)``), so it exists
exactly when the action was committed; a refusal's entry is committed on its own (``record(engine, ...)``), so it
stays on record although the request rolls back. Sign-in throttling counts recent failure entries by account and
by address: the audit log *is* the counter, so it works the same with or without Redis and is scoped to the
tenant like everything else.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import AuditEntry, AuditModel
from tajiconnect.tenancy.context import require_tenant


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where (taken from the request, or ``system`` for tasks and commands)."""

    id: uuid.UUID | None = None
    email: str | None = None
    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Actor(email="system")


@dataclass(frozen=True)
class Acting:
    """Who acts in a service call: the signed-in member (whose roles decide) and the audit actor (email, address)."""

    user: Any  # a User (or anything with id, email, roles, is_active)
    actor: Actor


async def record(
    target: AsyncEngine | AsyncSession,
    actor: Actor,
    action: str,
    *,
    subject_email: str | None = None,
    target_type: str | None = None,
    target_id: Any = None,
    model: AuditModel = AuditEntry,
    **details: Any,
) -> None:
    """Append an entry to the tenant in scope's log (or the platform's).

    With a session, the entry joins that transaction: it exists exactly when the action it describes was
    committed (use this for actions that succeed). With an engine, it is committed on its own at once, so that
    refusals and failures stay on record even though the request rolls back.
    """
    if model is AuditEntry:
        require_tenant()
    entry = model(
        actor_id=actor.id,
        actor_email=actor.email,
        action=action,
        subject_email=subject_email,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=actor.ip,
        user_agent=(actor.user_agent or "")[:300] or None,
        details=details,
    )
    if isinstance(target, AsyncSession):
        target.add(entry)
        await target.flush()
        return
    async with session_scope(target) as session:
        session.add(entry)


async def count_recent(
    session: AsyncSession,
    actions: tuple[str, ...],
    *,
    within: datetime.timedelta,
    email: str | None,
    ip: str | None,
    model: AuditModel = AuditEntry,
) -> tuple[int, int]:
    """(entries for ``email``, entries from ``ip``) with one of ``actions`` in the last ``within``."""
    since = datetime.datetime.now(datetime.UTC) - within
    base = select(func.count()).select_from(model).where(model.action.in_(actions), model.occurred_at >= since)
    by_email = await session.scalar(base.where(model.subject_email == email)) if email else 0
    by_ip = await session.scalar(base.where(model.ip == ip)) if ip else 0
    return int(by_email or 0), int(by_ip or 0)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None  # email fragment of the actor or the subject
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None


def filtered(query: Select, f: AuditFilter) -> Select:
    # autoescape: "%", "_" and the escape character in a filter match themselves (an email may hold "_").
    if f.action:
        query = query.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.actor:
        query = query.where(
            or_(
                AuditEntry.actor_email.icontains(f.actor, autoescape=True),
                AuditEntry.subject_email.icontains(f.actor, autoescape=True),
            )
        )
    if f.since:
        query = query.where(AuditEntry.occurred_at >= f.since)
    if f.until:
        query = query.where(AuditEntry.occurred_at < f.until)
    return query


async def list_entries(
    session: AsyncSession, f: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    total = await session.scalar(filtered(select(func.count()).select_from(AuditEntry), f))
    rows = await session.scalars(
        filtered(select(AuditEntry), f)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())  # a total order: stable pages
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def distinct_actions(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))).all())
