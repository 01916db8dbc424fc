"""Live classes and calendar feeds (tenant schema).

``live_sessions``: a session scheduled for a class (``group_id``) or a course (``course_id``), exactly one of the
two. ``starts_at`` is stored in UTC; ``time_zone`` is the zone the teacher scheduled it in (pages show each viewer
their own). ``include_parents`` lets the parents of the audience's learners see it and be reminded.
``announced_at`` is when the audience was told of the session (or of its new time); ``reminded_24h_for`` and
``reminded_15m_for`` hold the start time a reminder was sent
for: the minutely reminder task skips what is done without touching each recipient again, and a rescheduled
session is reminded anew (the notification keys carry the start time too, so a notice is made once per
recipient whatever repeats).

``live_attendance``: one mark per session and learner (present, late, absent, excused).

``calendar_feeds``: at most one per member; only the SHA-256 of the feed's token is stored. Making a new link
replaces the hash (the old link stops working); turning the feed off deletes the row. ``window_started_at`` and
``window_count`` rate-limit fetches of one feed.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

Provider = Literal["jitsi", "bigbluebutton", "zoom", "meet", "teams", "other"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
SessionStatus = Literal["scheduled", "cancelled"]
AttendanceStatus = Literal["present", "late", "absent", "excused"]
ATTENDANCE_STATUSES: tuple[str, ...] = get_args(AttendanceStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LiveSession(TenantModel):
    __tablename__ = "live_sessions"
    __table_args__ = (
        CheckConstraint("(group_id IS NULL) <> (course_id IS NULL)", name="group_or_course"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 600", name="duration"),
        CheckConstraint("status <> 'cancelled' OR cancelled_at IS NOT NULL", name="cancelled_at"),
        Index("ix_live_sessions_status_starts", "status", "starts_at"),
        Index("ix_live_sessions_group_starts", "group_id", "starts_at"),
        Index("ix_live_sessions_course_starts", "course_id", "starts_at"),
    )

    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), default=None)
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), default=None)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    starts_at: Mapped[datetime.datetime] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column(SmallInteger, default=60)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    meeting_url: Mapped[str] = mapped_column(String(1000))
    provider: Mapped[str] = mapped_column(String(16), default="other")
    include_parents: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    cancelled_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    announced_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    reminded_24h_for: Mapped[datetime.datetime | None] = mapped_column(default=None)
    reminded_15m_for: Mapped[datetime.datetime | None] = mapped_column(default=None)

    @property
    def ends_at(self) -> datetime.datetime:
        return self.starts_at + datetime.timedelta(minutes=self.duration_minutes)


class LiveAttendance(TenantModel):
    __tablename__ = "live_attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_live_attendance_session_user"),
        CheckConstraint(_in("status", ATTENDANCE_STATUSES), name="status"),
        Index("ix_live_attendance_user", "user_id"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(8))
    marked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    marked_at: Mapped[datetime.datetime] = mapped_column()


class CalendarFeed(TenantModel):
    __tablename__ = "calendar_feeds"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    window_started_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    window_count: Mapped[int] = mapped_column(default=0)
    last_fetched_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
