"""Announcements (tenant schema).

* ``announcements``: one message from an author to an audience: the whole organization (``scope = 'tenant'``),
  one group's current members (``'group'``, ``group_id``) or one course's enrolled learners (``'course'``,
  ``course_id``), optionally with the parents of those learners. Markdown ``body`` and its sanitized ``body_html``
  (rendered when saved). ``status``: ``scheduled`` (waits for ``publish_at``; editable, cancellable),
  ``published``, ``cancelled`` (never published), ``withdrawn`` (published, then taken back: audited).
* ``announcement_recipients``: the audience as it was when the announcement was published (one row per person,
  ``via`` = ``audience`` or ``parent``). Who may read a published announcement is decided by these rows, never
  by today's memberships; ``notified_at`` marks the recipients the fan-out task already notified, ``read_at``
  the ones who opened it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

Scope = Literal["tenant", "group", "course"]
SCOPES: tuple[str, ...] = get_args(Scope)
Status = Literal["scheduled", "published", "cancelled", "withdrawn"]
STATUSES: tuple[str, ...] = get_args(Status)
Via = Literal["audience", "parent"]


class Announcement(TenantModel):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("scope IN ('tenant', 'group', 'course')", name="scope"),
        CheckConstraint("status IN ('scheduled', 'published', 'cancelled', 'withdrawn')", name="status"),
        CheckConstraint(
            "(scope = 'tenant' AND group_id IS NULL AND course_id IS NULL)"
            " OR (scope = 'group' AND group_id IS NOT NULL AND course_id IS NULL)"
            " OR (scope = 'course' AND course_id IS NOT NULL AND group_id IS NULL)",
            name="scope_target",
        ),
        CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_at"),
        CheckConstraint("status <> 'scheduled' OR publish_at IS NOT NULL", name="publish_at"),
        Index("ix_announcements_due", "publish_at", postgresql_where=sql_text("status = 'scheduled'")),
        Index("ix_announcements_author_created", "author_id", "created_at"),
    )

    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The author's name as it was when written (shown to recipients even if the account goes).
    author_name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(8))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), default=None)
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), default=None
    )
    #: The group's or course's name when written (the audience's label).
    audience_label: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    include_parents: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    publish_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    published_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    #: Counted when published: everyone addressed, and how many of them as parents.
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    parent_count: Mapped[int] = mapped_column(Integer, default=0)


class AnnouncementRecipient(TenantBase):
    __tablename__ = "announcement_recipients"
    __table_args__ = (
        CheckConstraint("via IN ('audience', 'parent')", name="via"),
        Index("ix_announcement_recipients_user", "user_id", "announcement_id"),
        Index("ix_announcement_recipients_pending", "announcement_id", "user_id",
              postgresql_where=sql_text("notified_at IS NULL")),
    )

    announcement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    via: Mapped[str] = mapped_column(String(8), default="audience")
    notified_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
