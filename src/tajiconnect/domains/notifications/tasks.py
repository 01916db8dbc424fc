"""Delivering notifications beyond the app (queue ``notifications``; docs/notifications.md).

* ``deliver_notification`` plans one ``notification_deliveries`` row per channel the member wants (their
  preferences, else the category's defaults): ``pending``, ``held`` (quiet hours, daily digest) or ``skipped``
  (no phone number, SMS off here, the invitation email already sent). The unique (notification, channel) makes
  a repeated task plan nothing new. It then sends the pending ones.
* Sending one delivery locks its row (``FOR UPDATE SKIP LOCKED``), hands the message to the mail server or the SMS
  provider, and marks it ``sent`` in that same transaction. A worker killed in between rolls the row back to
  ``pending`` and the retried job sends it again: the one duplicate window is between the provider's acceptance
  and the commit, as for every email (docs/jobs.md); the email's ``Message-ID`` is derived from the delivery id so
  receivers can recognise such a twin. A send that fails is recorded (attempts, error) and retried by the task's
  policy; the last attempt marks the delivery ``failed``.
* ``release_held_notifications`` (every minute, per tenant) turns held deliveries whose time has come back into
  ``pending`` and defers their sending through the outbox in the same transaction: a digest's deliveries go out as
  ONE email per member (``send_notification_digest``).
* ``remind_due_work`` (every hour, per tenant): due-soon and overdue reminders (domains/notifications/reminders.py).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications.categories import CATEGORIES
from tajiconnect.domains.notifications.models import Notification, NotificationDelivery, NotificationPreference
from tajiconnect.domains.notifications.service import wanted_channels
from tajiconnect.domains.notifications.sms import SmsConfig, send_sms, sms_config
from tajiconnect.domains.notifications.timing import next_digest, quiet_until
from tajiconnect.mail.mailer import build_message, deliver
from tajiconnect.mail.tasks import message_id_for, render_email
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.outbox import defer, dispatch_committed
from tajiconnect.tasks.schedule import scheduled
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.tenancy.urls import tenant_url

log = structlog.get_logger(__name__)

NOTIFICATIONS = TaskPolicy(queue="notifications", timeout=120)
#: ``Notification.data["email"]`` when the event's own email already told the member (the invitation): the email
#: channel is recorded as skipped rather than sent twice.
EMAIL_SENT_SEPARATELY = "sent_separately"
RELEASE_BATCH = 500
#: Why a delivery whose member was deactivated after the event was not sent.
DEACTIVATED = "account deactivated"


def plan_deliveries(notification: Notification, user: User, pref: NotificationPreference | None,
                    sms_on: bool, now: datetime.datetime) -> list[dict[str, Any]]:
    """The delivery rows for ``notification`` (pure: no I/O)."""
    channels = wanted_channels(notification.category, pref)
    urgent = CATEGORIES[notification.category].urgent
    own_template = CATEGORIES[notification.category].email_template is not None  # a digest itself
    tz = user.time_zone
    start, end = (pref.quiet_start, pref.quiet_end) if pref is not None else (None, None)
    rows: list[dict[str, Any]] = []
    if "email" in channels:
        row: dict[str, Any] = {"channel": "email", "address": user.email, "status": "pending"}
        if (notification.data or {}).get("email") == EMAIL_SENT_SEPARATELY:
            row.update(status="skipped", error="sent as the event's own email")
        elif not urgent and pref is not None and pref.daily_digest and not own_template:
            row.update(status="held", digest=True, send_after=next_digest(now, tz, pref.digest_hour, start, end))
        elif not urgent and (held := quiet_until(now, tz, start, end)) is not None:
            row.update(status="held", send_after=held)
        rows.append(row)
    if "sms" in channels:
        row = {"channel": "sms", "address": user.phone, "status": "pending"}
        if not sms_on:
            row.update(status="skipped", error="SMS is off in this organization")
        elif not user.phone:
            row.update(status="skipped", error="no phone number")
        elif (held := quiet_until(now, tz, start, end)) is not None:
            row.update(status="held", send_after=held)
        rows.append(row)
    return rows


def _final_attempt(ctx: dict[str, Any]) -> bool:
    job = ctx.get("job")
    return job is None or job.attempts >= job.retries


Sender = Callable[[NotificationDelivery, Notification, User], Awaitable[str]]


async def _send_locked(ctx: dict[str, Any], delivery_id: uuid.UUID, send: Sender) -> str:
    """Send one pending delivery under its row lock (see the module): ``sent``, ``failed``, ``retry``, ``busy``, or
    ``skipped`` (its member was deactivated since)."""
    engine = ctx["engine"]
    error: str | None = None
    async with session_scope(engine) as session:
        statement = (select(NotificationDelivery).where(NotificationDelivery.id == delivery_id,
                                                        NotificationDelivery.status == "pending")
                     .with_for_update(skip_locked=True))
        delivery = (await session.execute(statement)).scalar_one_or_none()
        if delivery is None:
            return "busy"  # sent already, or another worker has it
        notification = await session.get(Notification, delivery.notification_id)
        user = await session.get(User, delivery.user_id)
        assert notification is not None and user is not None  # cascades delete deliveries with them
        if user.status == "deactivated":  # since the event: sent nothing more
            delivery.status, delivery.error = "skipped", DEACTIVATED
            return "skipped"
        try:
            provider_id = await send(delivery, notification, user)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("notification not sent", channel=delivery.channel, delivery=str(delivery.id), error=error)
        else:
            delivery.status, delivery.provider_id = "sent", provider_id[:255]
            delivery.sent_at = datetime.datetime.now(datetime.UTC)
            delivery.attempts += 1
            delivery.error = None
            return "sent"
    final = _final_attempt(ctx)
    async with session_scope(engine) as session:
        await session.execute(
            update(NotificationDelivery).where(NotificationDelivery.id == delivery_id)
            .values(attempts=NotificationDelivery.attempts + 1, error=error,
                    status="failed" if final else "pending")
        )
    return "failed" if final else "retry"


def _email_message(ctx: dict[str, Any], template: str, key: str, user: User, context: dict[str, Any]) -> Any:
    tenant, settings = require_tenant(), ctx["settings"]
    with i18n.locale_context(user.locale or tenant.locale):
        subject, text, html = render_email(template, {"user_name": user.name, **context})
    return build_message(sender_name=tenant.name, sender=settings.mail_from, to=user.email, subject=subject,
                         text=text, html=html, message_id=message_id_for(f"{tenant.slug}:{key}", settings.mail_from))


def _absolute(link: str | None) -> str | None:
    return tenant_url(link) if link and link.startswith("/") else None


def sms_text(notification: Notification) -> str:
    tenant = require_tenant()
    text = f"{tenant.name}: {notification.title}"
    if link := _absolute(notification.link):
        text += f" {link}"
    return text[:459]  # at most three concatenated SMS parts


async def deliver_one(ctx: dict[str, Any], delivery: NotificationDelivery) -> str:
    settings = ctx["settings"]

    async def email(d: NotificationDelivery, n: Notification, user: User) -> str:
        template = CATEGORIES[n.category].email_template or "notification"
        msg = _email_message(ctx, template, f"notification-delivery:{d.id}", user,
                             {"title": n.title, "body": n.body, "link": _absolute(n.link), "data": n.data or {}})
        await deliver(settings, msg)
        return str(msg["Message-ID"])

    async def sms(d: NotificationDelivery, n: Notification, user: User) -> str:
        config: SmsConfig | None = sms_config(require_tenant().slug)
        if config is None or not d.address:
            raise RuntimeError("SMS is off in this organization")
        return await send_sms(settings, config, d.address, sms_text(n))

    return await _send_locked(ctx, delivery.id, email if delivery.channel == "email" else sms)


@tenant_task(policy=NOTIFICATIONS)
async def deliver_notification(ctx: dict[str, Any], *, notification_id: str) -> dict[str, Any]:
    """Send the notification on each channel its member wants (one ``notification_deliveries`` row each)."""
    engine = ctx["engine"]
    now = datetime.datetime.now(datetime.UTC)
    async with session_scope(engine) as session:
        notification = await session.get(Notification, uuid.UUID(notification_id))
        if notification is None:
            return {"notification_id": notification_id, "skipped": "gone"}
        user = await session.get(User, notification.user_id)
        if user is None:
            return {"notification_id": notification_id, "skipped": "gone"}
        if user.status == "deactivated":  # since the event: sent nothing more, what waited is recorded as skipped
            await session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.notification_id == notification.id,
                       NotificationDelivery.status.in_(("pending", "held")))
                .values(status="skipped", error=DEACTIVATED))
            return {"notification_id": notification_id, "skipped": DEACTIVATED}
        pref = await session.get(NotificationPreference, user.id)
        rows = plan_deliveries(notification, user, pref, sms_config(require_tenant().slug) is not None, now)
        for row in rows:
            await session.execute(
                insert(NotificationDelivery)
                .values(id=uuid.uuid4(), notification_id=notification.id, user_id=user.id, **row)
                .on_conflict_do_nothing(constraint="uq_notification_deliveries_channel")
            )
        pending = list((await session.execute(
            select(NotificationDelivery).where(NotificationDelivery.notification_id == notification.id,
                                               NotificationDelivery.status == "pending",
                                               NotificationDelivery.digest.is_(False))
            .order_by(NotificationDelivery.channel)
        )).scalars())
    results = {d.channel: await deliver_one(ctx, d) for d in pending}
    if "retry" in results.values():
        raise RuntimeError(f"a delivery of notification {notification_id} failed; retrying")
    return {"notification_id": notification_id, "channels": results}


@tenant_task(policy=NOTIFICATIONS)
async def send_notification_digest(ctx: dict[str, Any], *, user_id: str) -> dict[str, Any]:
    """ONE email listing the member's released digest deliveries, all marked sent with it (see the module)."""
    engine, settings = ctx["engine"], ctx["settings"]
    error: str | None = None
    async with session_scope(engine) as session:
        rows = list((await session.execute(
            select(NotificationDelivery, Notification)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .where(NotificationDelivery.user_id == uuid.UUID(user_id), NotificationDelivery.channel == "email",
                   NotificationDelivery.status == "pending", NotificationDelivery.digest.is_(True))
            .order_by(Notification.created_at).with_for_update(of=NotificationDelivery, skip_locked=True)
        )).tuples())
        user = await session.get(User, uuid.UUID(user_id))
        if not rows or user is None:
            return {"user_id": user_id, "sent": 0}
        if user.status == "deactivated":
            for delivery, _ in rows:
                delivery.status, delivery.error = "skipped", DEACTIVATED
            return {"user_id": user_id, "skipped": len(rows)}
        items = [{"title": n.title, "body": n.body, "link": _absolute(n.link)} for _, n in rows]
        key = "notification-digest:" + min(str(d.id) for d, _ in rows)
        msg = _email_message(ctx, "notification_digest", key, user, {"items": items})
        try:
            await deliver(settings, msg)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        else:
            now = datetime.datetime.now(datetime.UTC)
            for delivery, _ in rows:
                delivery.status, delivery.sent_at = "sent", now
                delivery.provider_id, delivery.attempts = str(msg["Message-ID"]), delivery.attempts + 1
            return {"user_id": user_id, "sent": len(rows)}
    final = _final_attempt(ctx)
    async with session_scope(engine) as session:
        await session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_([d.id for d, _ in rows]), NotificationDelivery.status == "pending")
            .values(attempts=NotificationDelivery.attempts + 1, error=error, status="failed" if final else "pending")
        )
    if not final:
        raise RuntimeError(f"the digest of {user_id} was not sent; retrying")
    return {"user_id": user_id, "failed": len(rows)}


async def release_due(session: AsyncSession, now: datetime.datetime) -> dict[str, int]:
    """Held deliveries whose time has come become pending, their sending deferred in ``session``'s transaction."""
    held = list((await session.execute(
        select(NotificationDelivery)
        .where(NotificationDelivery.status == "held", NotificationDelivery.send_after <= now)
        .order_by(NotificationDelivery.send_after).limit(RELEASE_BATCH).with_for_update(skip_locked=True)
    )).scalars())
    notifications: set[str] = set()
    digests: set[str] = set()
    for delivery in held:
        delivery.status = "pending"
        (digests if delivery.digest else notifications).add(
            str(delivery.user_id if delivery.digest else delivery.notification_id))
    for notification_id in sorted(notifications):
        await defer(session, deliver_notification, notification_id=notification_id)
    for user_id in sorted(digests):
        await defer(session, send_notification_digest, user_id=user_id)
    return {"released": len(held), "notifications": len(notifications), "digests": len(digests)}


@scheduled("minutely")
@tenant_task(policy=NOTIFICATIONS)
async def release_held_notifications(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    async with session_scope(ctx["engine"]) as session:
        done = await release_due(session, datetime.datetime.now(datetime.UTC))
    await dispatch_committed(session, ctx.get("queue"))
    return done


@scheduled("hourly")
@tenant_task(policy=NOTIFICATIONS)
async def remind_due_work(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    from tajiconnect.domains.notifications.reminders import remind

    async with session_scope(ctx["engine"]) as session:
        done = await remind(session, datetime.datetime.now(datetime.UTC))
    await dispatch_committed(session, ctx.get("queue"))
    return done
