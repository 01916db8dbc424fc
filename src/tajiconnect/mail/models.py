"""The record of messages sent, keyed by the effect's idempotency key (tenant schema)."""

from __future__ import annotations

import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase


class SentEmail(TenantBase):
    """One row per email handed to the mail server: a retried task finds it and does not send again."""

    __tablename__ = "sent_emails"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[datetime.datetime] = mapped_column(index=True)
