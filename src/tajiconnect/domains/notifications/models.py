"""Notifications (tenant schema).

* ``notifications``: what a member is told, in the app's list (the bell). One row per member and ``key``: the
  event's idempotency key (e.g. ``certificate:<id>``), so an event or task that repeats tells nobody twice.
* ``notification_deliveries``: each channel beyond the app (``email``, ``sms``) a notification went out on, or
  will: one row per notification and channel (unique), with its state (``pending`` until sent, ``held`` for quiet
  hours or the daily digest until ``send_after``, ``sent``, ``failed`` with the error, ``skipped`` when nothing
  can be sent, e.g. no phone number). The history a member sees of what was sent and whether it failed.
* ``notification_preferences``: one row per member who changed anything: per category the channels they want
  (absent category: the category's defaults), quiet hours in their time zone, and the daily digest option.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

Channel = Literal["app", "email", "sms"]
CHANNELS: tuple[str, ...] = get_args(Channel)
DeliveryChannel = Literal["email", "sms"]
DELIVERY_CHANNELS: tuple[str, ...] = get_args(DeliveryChannel)
DeliveryStatus = Literal["pending", "held", "sent", "failed", "skipped"]
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatus)


class Notification(TenantModel):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_unread", "user_id", postgresql_where=sql_text("read_at IS NULL")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The event's kind (``certificate_issued``, ``graded``...): what preferences are set per.
    category: Mapped[str] = mapped_column(String(32))
    #: The event's idempotency key: a repeat of the same event for the same member is the same notification.
    key: Mapped[str] = mapped_column(String(200))
    #: Rendered in the recipient's language when the event happened.
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000), default="")
    #: A path in the tenant's site (``/learn/...``); absolute links are made from configuration when sent.
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql_text("'{}'::jsonb"))
    read_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class NotificationDelivery(TenantModel):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_notification_deliveries_channel"),
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        CheckConstraint("status IN ('pending', 'held', 'sent', 'failed', 'skipped')", name="status"),
        Index("ix_notification_deliveries_held", "send_after", postgresql_where=sql_text("status = 'held'")),
        Index("ix_notification_deliveries_user_created", "user_id", "created_at"),
    )

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    #: Where it went (an email address, a phone number), as it was when sent.
    address: Mapped[str | None] = mapped_column(String(320), default=None)
    #: A held delivery waits until then (end of quiet hours, or the digest's hour).
    send_after: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: Whether it goes out in the daily digest rather than alone.
    digest: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    #: The provider's id for the message (SMTP Message-ID, the SMS provider's message id).
    provider_id: Mapped[str | None] = mapped_column(String(255), default=None)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class NotificationPreference(TenantBase):
    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: ``{category: [channel, ...]}``; a category not listed uses its defaults.
    channels: Mapped[dict[str, list[str]]] = mapped_column(
        JSONB, default=dict, server_default=sql_text("'{}'::jsonb")
    )
    #: Quiet hours, in the member's time zone (``users.time_zone``); both set or neither. May wrap midnight.
    quiet_start: Mapped[datetime.time | None] = mapped_column(Time, default=None)
    quiet_end: Mapped[datetime.time | None] = mapped_column(Time, default=None)
    #: Emails (not urgent ones) gathered in one message a day at ``digest_hour`` local time.
    daily_digest: Mapped[bool] = mapped_column(default=False)
    digest_hour: Mapped[int] = mapped_column(Integer, default=18)
    updated_at: Mapped[datetime.datetime] = mapped_column(server_default=sql_text("now()"))

    __table_args__ = (
        CheckConstraint("(quiet_start IS NULL) = (quiet_end IS NULL)", name="quiet_hours"),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour"),
    )
