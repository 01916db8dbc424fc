"""The outbox: tasks a transaction asked for, stored in that transaction (tenant schema)."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import GUID
from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from uuid_utils.compat import uuid7

from tajiconnect.db.base import PublicModel, TenantBase


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


class FailedTask(PublicModel):
    """A task that failed for good (its attempts used up, or refused), for operators to see and retry.

    One row per SAQ job key (``<slug>:...`` for tenant tasks): a job that fails again after a retry updates its row.
    ``retried_at`` is set when an operator put it back in the queue (a new failure clears it).
    """

    __tablename__ = "failed_tasks"
    __table_args__ = (Index("ix_failed_tasks_open", "failed_at", postgresql_where=text("retried_at IS NULL")),)

    job_key: Mapped[str] = mapped_column(String(300), unique=True)
    queue: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(64))
    tenant_slug: Mapped[str | None] = mapped_column(String(31), default=None, index=True)
    kwargs: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(10))  # SAQ's final status: failed or aborted
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed_at: Mapped[datetime.datetime] = mapped_column()
    retried_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    retried_by: Mapped[str | None] = mapped_column(String(320), default=None)
