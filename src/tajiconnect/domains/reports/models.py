"""Reports made in the background: one row per request, with its progress and, once done, its file in storage.

A report has a ``kind`` (``gradebook`` today; the background-work issue adds completion, path status, seat usage
and activity reports, XLSX and PDF, and schedules) and the ``params`` that kind reads (e.g. ``course_id``). The
worker moves it ``queued`` → ``running`` → ``done`` (``file_id`` set) or ``failed`` (``error``), updating
``rows_done``/``rows_total`` as it goes, which the page shows as a progress bar. Only the member who asked sees it;
it is deleted with its file after ``expires_at``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

ReportStatus = Literal["queued", "running", "done", "failed"]
REPORT_STATUSES: tuple[str, ...] = get_args(ReportStatus)
ReportKind = Literal["gradebook", "completion", "path_status", "seat_usage", "activity"]
REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)


class Report(TenantModel):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("format IN ('csv', 'xlsx', 'pdf')", name="format"),
        CheckConstraint("rows_done >= 0 AND (rows_total IS NULL OR rows_total >= 0)", name="rows"),
        Index("ix_reports_requested_by_created", "requested_by_id", "created_at"),
        Index("ix_reports_expires_at", "expires_at"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql_text("'{}'::jsonb"))
    format: Mapped[str] = mapped_column(String(4), default="csv")
    #: What the member sees in their list (e.g. "Gradebook: Solar energy basics").
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(8), default="queued")
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer, default=None)
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    error: Mapped[str | None] = mapped_column(String(1000), default=None)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    started_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: The schedule that made it (its file is emailed to the schedule's owner when done), if any.
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="SET NULL"), default=None
    )


ScheduleFrequency = Literal["weekly", "monthly"]
SCHEDULE_FREQUENCIES: tuple[str, ...] = get_args(ScheduleFrequency)


class ReportSchedule(TenantModel):
    """A report made again every week or month and emailed to its owner (who must still be allowed to see it).

    ``next_run_at`` is when the next one is due (UTC); the scheduler task makes the report for that period with
    the idempotency key ``schedule:<id>:<next_run_at>``, so a repeated tick makes it once, then moves it on.
    """

    __tablename__ = "report_schedules"
    __table_args__ = (
        CheckConstraint("frequency IN ('weekly', 'monthly')", name="frequency"),
        CheckConstraint("format IN ('csv', 'xlsx', 'pdf')", name="format"),
        CheckConstraint("weekday IS NULL OR weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("day_of_month IS NULL OR day_of_month BETWEEN 1 AND 28", name="day_of_month"),
        Index("ix_report_schedules_due", "next_run_at", postgresql_where=sql_text("active")),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql_text("'{}'::jsonb"))
    format: Mapped[str] = mapped_column(String(4), default="csv")
    title: Mapped[str] = mapped_column(String(300))
    frequency: Mapped[str] = mapped_column(String(8))
    #: Weekly: 0 = Monday; monthly: 1-28.
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)
    day_of_month: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime.datetime] = mapped_column()
    last_run_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
