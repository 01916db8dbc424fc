"""The outbox: tasks a transaction asked for, stored in that transaction (tenant schema)."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import GUID
from sqlalchemy import Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from uuid_utils.compat import uuid7

from tajiconnect.db.base import TenantBase


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class OutboxMessage(TenantBase):
    """A task to enqueue once its transaction has committed; ``dispatched_at`` is set when the queue has it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "created_at", postgresql_where=text("dispatched_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid7)
    task: Mapped[str] = mapped_column(String(64))
    kwargs: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(default=_now)
    dispatched_at: Mapped[datetime.datetime | None] = mapped_column(default=None, index=True)
