"""Telling a live session's audience, in the background (queue ``notifications``).

* ``announce_live_session(session_id, event, stamp)`` is deferred through the outbox by the transaction that
  schedules, moves or cancels a session: each recipient (the audience's learners, and their parents when the
  session includes them) is notified once, key ``live:<id>:<event>:<start>`` (``live:<id>:cancelled`` for a
  cancellation), whatever repeats.
* ``remind_live_sessions`` (every minute, every tenant) reminds 24 hours before the start (only for a session
  announced more than 24 hours ahead: otherwise the announcement was the reminder) and 15 minutes before. Each
  reminder is keyed ``live:<id>:24h:<start>`` / ``live:<id>:15m:<start>`` per recipient, and the session then
  records the start it was sent for (``reminded_*_for``), so the next tick skips it without touching its
  recipients again; a moved session is reminded of its new time.

Recipients are told in batches of :data:`RECIPIENTS_BATCH`, each committed (:func:`tell`).
Times are written in each recipient's own time zone and language.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import Interval, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect import localtime
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.live import service
from tajiconnect.domains.live.models import LiveSession
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.logs import get_logger
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.schedule import scheduled

log = get_logger(__name__)

LIVE = TaskPolicy(queue="notifications", timeout=600)
DAY = datetime.timedelta(hours=24)
SOON = datetime.timedelta(minutes=15)
BATCH = 100
RECIPIENTS_BATCH = 500

MESSAGES = {
    "scheduled": (N_("New live class: %(title)s"), N_("%(when)s (%(minutes)s minutes), %(audience)s.")),
    "moved": (N_("Live class moved: %(title)s"), N_("It now starts %(when)s (%(minutes)s minutes).")),
    "cancelled": (N_("Live class cancelled: %(title)s"), N_("The session of %(when)s will not take place.")),
    "24h": (N_("Live class tomorrow: %(title)s"), N_("It starts %(when)s (%(minutes)s minutes).")),
    "15m": (N_("Live class starting soon: %(title)s"), N_("It starts %(when)s. The join link is open.")),
}


def when_for(moment: datetime.datetime, user: Any) -> str:
    """``moment`` in words, in ``user``'s language and time zone (with the zone's name)."""
    return localtime.local_time(moment, user, with_zone=True, locale=getattr(user, "locale", None) or "en")


async def tell(engine: AsyncEngine, live_id: uuid.UUID, event: str) -> int:
    """Notify the session's recipients of ``event`` (see the module); how many were notified now. In batches of
    :data:`RECIPIENTS_BATCH`, each in a transaction of its own: a large course's audience never outlasts the
    task's time, and a rerun after a timeout skips who was told (the keys)."""
    async with session_scope(engine) as session:
        live = await session.get(LiveSession, live_id)
        if live is None:
            return 0
        name = await service.audience_name(session, live)
    title, body = MESSAGES[event]
    # A move is told once per change (keyed on the change's time: A->B->A->B is told three times); the other
    # events once per start time (a reminder again after a move), a cancellation once.
    moment = live.updated_at if event == "moved" else live.starts_at
    key = f"live:{live.id}:{event}" + ("" if event == "cancelled" else f":{int(moment.timestamp() * 1000)}")
    recipients = select(User).where(User.id.in_(service.recipients(live))).order_by(User.id)
    made, after = 0, None
    while True:
        async with session_scope(engine) as session:
            people = (await session.scalars((recipients.where(User.id > after) if after else recipients)
                                            .limit(RECIPIENTS_BATCH))).all()
            for person in people:
                params = {"title": live.title, "when": when_for(live.starts_at, person),
                          "minutes": live.duration_minutes, "audience": name}
                made += await notify(session, person, "live_class", key=key, title=title, body=body,
                                     params=params, link=f"/live/{live.id}",
                                     data={"live_session_id": str(live.id)}) is not None
        if len(people) < RECIPIENTS_BATCH:
            return made
        after = people[-1].id


async def run_announce(engine: AsyncEngine, session_id: str, event: str, stamp: str) -> dict[str, Any]:
    async with session_scope(engine) as session:
        live = await session.get(LiveSession, uuid.UUID(session_id))
        if live is None:
            return {"skipped": "gone"}
        if event != "cancelled" and (live.status != "scheduled" or live.starts_at.isoformat() != stamp):
            return {"skipped": "superseded"}  # moved again or cancelled since: that change tells its own news
    return {"notified": await tell(engine, live.id, event)}


@tenant_task(policy=LIVE)
async def announce_live_session(ctx: dict[str, Any], *, session_id: str, event: str, stamp: str) -> dict[str, Any]:
    """Tell a session's audience it was scheduled, moved or cancelled (once per recipient)."""
    return await run_announce(ctx["engine"], session_id, event, stamp)


async def due_reminders(session: AsyncSession, at: datetime.datetime) -> list[tuple[uuid.UUID, str]]:
    """(session id, "24h" | "15m") for the reminders due at ``at`` and not sent yet."""
    day_due = (
        (LiveSession.starts_at > at + SOON)
        & (LiveSession.announced_at < LiveSession.starts_at - literal(DAY, Interval()))
        & LiveSession.reminded_24h_for.is_distinct_from(LiveSession.starts_at)
    )
    soon_due = (LiveSession.starts_at <= at + SOON) & LiveSession.reminded_15m_for.is_distinct_from(
        LiveSession.starts_at)
    rows = (await session.execute(
        select(LiveSession.id, soon_due)
        .where(LiveSession.status == "scheduled", LiveSession.starts_at > at, LiveSession.starts_at <= at + DAY,
               or_(day_due, soon_due))
        .order_by(LiveSession.starts_at).limit(BATCH)
    )).tuples().all()
    return [(key, "15m" if soon else "24h") for key, soon in rows]


async def run_reminders(engine: AsyncEngine, at: datetime.datetime | None = None) -> dict[str, int]:
    at = at or service.now()
    async with session_scope(engine) as session:
        due = await due_reminders(session, at)
    counts = {"24h": 0, "15m": 0}
    for key, which in due:
        mark = "reminded_15m_for" if which == "15m" else "reminded_24h_for"
        async with session_scope(engine) as session:
            live = await session.get(LiveSession, key)
            if live is None or live.status != "scheduled" or getattr(live, mark) == live.starts_at:
                continue  # gone, cancelled, or another run did it
            start = live.starts_at
        counts[which] += await tell(engine, key, which)  # keyed per start: told once, whoever runs it
        async with session_scope(engine) as session:  # then marked, unless it moved meanwhile
            live = await session.get(LiveSession, key, with_for_update=True)
            if live is not None and live.starts_at == start:
                setattr(live, mark, start)
                if which == "15m":  # a 24 h reminder still due is not worth sending now
                    live.reminded_24h_for = start
    return counts


@scheduled("minutely")
@tenant_task(policy=TaskPolicy(queue="notifications", timeout=55, retries=1))
async def remind_live_sessions(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, Any]:
    """Remind the audiences of live sessions 24 hours and 15 minutes before they start (once per recipient)."""
    at = datetime.datetime.fromisoformat(tick) if tick else None
    return await run_reminders(ctx["engine"], at)
