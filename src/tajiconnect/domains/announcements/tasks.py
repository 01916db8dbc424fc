"""Announcements in the background (queue ``notifications``).

* ``deliver_announcement(announcement_id)``, deferred by :func:`service.publish` in the publishing transaction,
  notifies the recorded recipients in batches of :data:`BATCH`, one transaction each: it locks a batch of
  recipients not yet notified (``FOR UPDATE SKIP LOCKED``), calls ``notify()`` for each (category
  ``announcement``, key ``announcement:<id>``) and marks them ``notified_at``. A rerun, a retry after a crash or a
  second job at once finds only the rest: nobody is notified twice (the notification's key would refuse a twin
  anyway). After :data:`TIME_BUDGET` seconds it defers itself again and stops, so a large audience never runs
  into the job's timeout. A withdrawn announcement stops the fan-out.
* ``publish_due_announcements`` (minutely, every tenant) publishes the scheduled announcements whose time came.
"""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.announcements import service
from tajiconnect.domains.announcements.models import Announcement, AnnouncementRecipient
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.logs import get_logger
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.outbox import defer, dispatch_committed
from tajiconnect.tasks.schedule import scheduled

log = get_logger(__name__)

ANNOUNCEMENTS = TaskPolicy(queue="notifications", timeout=600)
BATCH = 200
TIME_BUDGET = 240.0


async def deliver_batch(engine: AsyncEngine, queue: Any, announcement_id: uuid.UUID, batch: int = BATCH
                        ) -> int | None:
    """Notify one batch of the announcement's recipients not yet notified; how many, or None when it is no longer
    published (withdrawn, gone)."""
    async with session_scope(engine) as session:
        ann = await session.get(Announcement, announcement_id)
        if ann is None or ann.status != "published":
            return None
        ids = list((await session.scalars(
            select(AnnouncementRecipient.user_id)
            .where(AnnouncementRecipient.announcement_id == ann.id, AnnouncementRecipient.notified_at.is_(None))
            .order_by(AnnouncementRecipient.user_id).limit(batch).with_for_update(skip_locked=True))).all())
        if not ids:
            return 0
        users = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
        for user in users:
            await notify(session, user, "announcement", key=f"announcement:{ann.id}",
                         title=N_("Announcement: %(title)s"), body=N_("From %(author)s"),
                         params={"title": ann.title, "author": ann.author_name},
                         link=f"/announcements/{ann.id}", data={"announcement_id": str(ann.id)})
        await session.execute(
            update(AnnouncementRecipient)
            .where(AnnouncementRecipient.announcement_id == ann.id, AnnouncementRecipient.user_id.in_(ids))
            .values(notified_at=datetime.datetime.now(datetime.UTC)))
    await dispatch_committed(session, queue)  # the notifications' deliveries (the sweeper otherwise)
    return len(ids)


async def run_delivery(engine: AsyncEngine, queue: Any, announcement_id: Any, *, batch: int = BATCH,
                       budget: float = TIME_BUDGET) -> dict[str, Any]:
    key = parse_uuid(announcement_id)
    if key is None:
        return {"skipped": "bad id"}
    started, notified = time.monotonic(), 0
    while True:
        done = await deliver_batch(engine, queue, key, batch)
        if done is None:
            return {"notified": notified, "stopped": "not published"}
        notified += done
        if done == 0:
            return {"notified": notified}
        if time.monotonic() - started > budget:
            async with session_scope(engine) as session:
                await defer(session, deliver_announcement, announcement_id=str(key))
            await dispatch_committed(session, queue)
            return {"notified": notified, "continued": True}


@tenant_task(policy=ANNOUNCEMENTS)
async def deliver_announcement(ctx: dict[str, Any], *, announcement_id: str) -> dict[str, Any]:
    """Notify an announcement's recipients (see the module); safe to run again."""
    result = await run_delivery(ctx["engine"], ctx.get("queue"), announcement_id)
    log.info("announcement delivered", announcement_id=announcement_id, **result)
    return result


@scheduled("minutely")
@tenant_task(policy=TaskPolicy(queue="notifications", timeout=120))
async def publish_due_announcements(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    """Publish the scheduled announcements whose ``publish_at`` has come."""
    async with session_scope(ctx["engine"]) as session:
        published = await service.publish_due(session, datetime.datetime.now(datetime.UTC))
    await dispatch_committed(session, ctx.get("queue"))
    return {"published": published}
