"""Stripe's webhook events, stored in the public schema keyed by Stripe's event id before anything is done with
them (``domains/billing/webhooks.py``), then processed in the background (``domains/billing/tasks.py``)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import PublicBase

EVENT_STATUSES = ("received", "processed", "ignored", "failed")


class BillingEvent(PublicBase):
    """One Stripe event, exactly once: a second delivery of the same id is recognised and only acknowledged."""

    __tablename__ = "billing_events"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'processed', 'ignored', 'failed')", name="status"),
        Index("ix_billing_events_tenant_received", "tenant_id", "received_at"),
        Index("ix_billing_events_pending", "received_at", postgresql_where=text("status IN ('received', 'failed')")),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's ``evt_...``
    type: Mapped[str] = mapped_column(String(100))
    #: When Stripe created the event (its ``created``), not when it reached us.
    stripe_created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    livemode: Mapped[bool] = mapped_column(default=False)
    #: The Stripe object the event is about (``data.object.id``) and the customer it belongs to, when it names one.
    object_id: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: The tenant the event was found to concern (set while processing).
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("public.tenants.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
