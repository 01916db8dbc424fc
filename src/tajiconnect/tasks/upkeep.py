"""Scheduled upkeep: what expires is deleted, in bounded batches, and stored streaks are kept honest.

Per tenant (fanned out over every active tenant by ``tasks/schedule.py``; one tenant's failure is that tenant's
job's failure, listed for operators, and stops nothing else):

* :func:`purge_expired` (daily) deletes, each past its retention (:data:`RETENTION`):
  browser sessions past ``expires_at``; email links (invitations, verifications, resets, used or not) a week past
  their expiry; refresh tokens of a family once *every* token of that family expired a day ago (a spent token
  must stay while its family lives: presenting it again revokes the family); pairing codes a day past expiry;
  the validated rows of roster imports finished (applied or failed) 30 days ago (the import and its summary stay).
* :func:`reset_broken_streaks` (hourly) sets ``learner_stats.streak_days`` to 0 for learners whose last active day
  is before yesterday in their own time zone. Reads already compute the streak (``progress.rules.current``);
  this keeps the stored value true for anything reading the column. Idempotent.

On the platform: :func:`purge_operator_sessions` (daily cron, ``worker.SCHEDULE``) deletes expired operator
sessions.

Each DELETE takes at most :data:`BATCH` rows and commits, so no long transaction or lock holds up the tenant.
Reports and certificates are not purged here.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.progress import rules
from tajiconnect.domains.progress.models import LearnerStats
from tajiconnect.tasks.base import TaskPolicy, platform_task, tenant_task
from tajiconnect.tasks.schedule import scheduled
from tajiconnect.tenancy.context import tenant_context

#: Rows deleted (or updated) per statement and transaction.
BATCH = 1000

#: How long each purged thing is kept after it stops being usable.
RETENTION: dict[str, datetime.timedelta] = {
    "user_sessions": datetime.timedelta(0),
    "email_tokens": datetime.timedelta(days=7),
    "refresh_tokens": datetime.timedelta(days=1),
    "pairing_codes": datetime.timedelta(days=1),
    "roster_import_rows": datetime.timedelta(days=30),
    "operator_sessions": datetime.timedelta(0),
}

#: What "expired" means for each table (``:cutoff`` is now minus its retention). Rows are picked by ``ctid``.
_EXPIRED: dict[str, str] = {
    "user_sessions": "expires_at < :cutoff",
    "email_tokens": "expires_at < :cutoff",
    "refresh_tokens": (
        "expires_at < :cutoff AND NOT EXISTS (SELECT 1 FROM refresh_tokens AS live"
        " WHERE live.family_id = refresh_tokens.family_id AND live.expires_at >= :cutoff)"
    ),
    "pairing_codes": "expires_at < :cutoff",
    "roster_import_rows": (
        "import_id IN (SELECT id FROM roster_imports WHERE status IN ('applied', 'failed')"
        " AND coalesce(applied_at, updated_at) < :cutoff)"
    ),
    "operator_sessions": "expires_at < :cutoff",
}

#: Daily and hourly: one quick retry, then the failure is listed for operators (the next tick runs anyway).
UPKEEP_POLICY = TaskPolicy(retries=2, timeout=900)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def purge_table(engine: AsyncEngine, table: str, *, now: datetime.datetime | None = None,
                      batch: int = BATCH) -> int:
    """Delete ``table``'s expired rows (in the schema in scope) batch by batch; returns how many."""
    condition = _EXPIRED[table]
    cutoff = (now or _now()) - RETENTION[table]
    statement = text(
        f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {condition} LIMIT :batch)"
    )
    deleted = 0
    while True:
        async with session_scope(engine) as session:
            count = (await session.execute(statement, {"cutoff": cutoff, "batch": batch})).rowcount  # type: ignore[attr-defined]
        deleted += count
        if count < batch:
            return deleted


TENANT_TABLES = ("user_sessions", "email_tokens", "refresh_tokens", "pairing_codes", "roster_import_rows")


@scheduled("daily")
@tenant_task(policy=UPKEEP_POLICY)
async def purge_expired(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    """Delete what expired in the tenant in scope (see the module); returns the count per table."""
    now = datetime.datetime.fromisoformat(tick) if tick else None
    return {table: await purge_table(ctx["engine"], table, now=now) for table in TENANT_TABLES}


async def reset_streaks(engine: AsyncEngine, *, now: datetime.datetime | None = None, batch: int = BATCH) -> int:
    """Set the stored streak to 0 where the learner's last active day is before their local yesterday."""
    now = now or _now()
    # No time zone is more than a day ahead of UTC, so a streak alive somewhere has last_active_on >= UTC's
    # yesterday - 1: only older ones are candidates, then each is checked in its learner's zone.
    horizon = now.astimezone(datetime.UTC).date()
    reset, after = 0, None
    while True:
        async with session_scope(engine) as session:
            stmt = (
                select(LearnerStats.user_id, LearnerStats.last_active_on, User.time_zone)
                .join(User, User.id == LearnerStats.user_id)
                .where(LearnerStats.streak_days > 0, LearnerStats.last_active_on < horizon)
                .order_by(LearnerStats.user_id).limit(batch)
            )
            if after is not None:
                stmt = stmt.where(LearnerStats.user_id > after)
            rows = (await session.execute(stmt)).all()
            broken = [
                user_id for user_id, last_on, zone in rows
                if last_on is None or rules.current(rules.Streak(1, 1, last_on), rules.local_day(now, zone)) == 0
            ]
            if broken:
                result = await session.execute(
                    update(LearnerStats).where(LearnerStats.user_id.in_(broken), LearnerStats.streak_days > 0)
                    .values(streak_days=0)
                )
                reset += result.rowcount  # type: ignore[attr-defined]
        if len(rows) < batch:
            return reset
        after = rows[-1][0]


@scheduled("hourly")
@tenant_task(policy=UPKEEP_POLICY)
async def reset_broken_streaks(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    """Keep stored streaks true (see the module): hourly, as midnight comes in each time zone."""
    now = datetime.datetime.fromisoformat(tick) if tick else None
    return {"reset": await reset_streaks(ctx["engine"], now=now)}


@platform_task(policy=UPKEEP_POLICY)
async def purge_operator_sessions(ctx: dict[str, Any]) -> dict[str, int]:
    """Delete expired operator sessions (public schema)."""
    with tenant_context(None):
        return {"operator_sessions": await purge_table(ctx["engine"], "operator_sessions")}
