"""Course discussions and Q&A (tenant schema).

* ``discussion_threads``: one per topic in a course, ``kind`` ``discussion`` or ``question``; pinned, locked, the
  accepted answer of a question (``accepted_post_id``), hidden by a moderator (with who, when and why), and the
  figures its list needs (``reply_count``, ``last_activity_at``) kept up to date by the service.
* ``discussion_posts``: the thread's opening post (``is_opening``) and its replies; Markdown as typed and the
  sanitized HTML made when saved; who was mentioned (``mentioned_ids``, course members only); hidden by a
  moderator like a thread.
* ``discussion_subscriptions``: who follows a thread (authors and repliers by default); ``active`` false is an
  explicit unsubscribe, kept so that a later reply does not subscribe them again.
* ``discussion_reports``: a report of a post by a reader, once per post and reader, open until a moderator resolves
  it (dismissed, or resolved by hiding the post).
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

THREAD_KINDS: tuple[str, ...] = ("discussion", "question")
REPORT_STATUSES: tuple[str, ...] = ("open", "dismissed", "hidden")


class DiscussionThread(TenantModel):
    __tablename__ = "discussion_threads"
    __table_args__ = (
        CheckConstraint("kind IN ('discussion', 'question')", name="kind"),
        CheckConstraint("hidden_at IS NULL OR hidden_reason IS NOT NULL", name="hidden_reason"),
        Index("ix_discussion_threads_course_activity", "course_id", text("pinned DESC"),
              text("last_activity_at DESC")),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12), default="discussion")
    title: Mapped[str] = mapped_column(String(200))
    pinned: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)
    #: The accepted answer of a question (a reply of this thread); no foreign key, the service checks it.
    accepted_post_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime.datetime] = mapped_column()
    hidden_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    hidden_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    hidden_reason: Mapped[str | None] = mapped_column(String(500), default=None)


class DiscussionPost(TenantModel):
    __tablename__ = "discussion_posts"
    __table_args__ = (
        CheckConstraint("hidden_at IS NULL OR hidden_reason IS NOT NULL", name="hidden_reason"),
        Index("ix_discussion_posts_thread_created", "thread_id", "created_at"),
        Index("ix_discussion_posts_author_created", "author_id", "created_at"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("discussion_threads.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_opening: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    mentioned_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=text("'{}'"))
    hidden_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    hidden_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    hidden_reason: Mapped[str | None] = mapped_column(String(500), default=None)


class DiscussionSubscription(TenantModel):
    __tablename__ = "discussion_subscriptions"
    __table_args__ = (
        UniqueConstraint("thread_id", "user_id", name="uq_discussion_subscriptions_thread_user"),
        Index("ix_discussion_subscriptions_user", "user_id"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("discussion_threads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)


class DiscussionReport(TenantModel):
    __tablename__ = "discussion_reports"
    __table_args__ = (
        UniqueConstraint("post_id", "reporter_id", name="uq_discussion_reports_post_reporter"),
        CheckConstraint("status IN ('open', 'dismissed', 'hidden')", name="status"),
        Index("ix_discussion_reports_open", "course_id", "created_at", postgresql_where=text("status = 'open'")),
    )

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("discussion_posts.id", ondelete="CASCADE"))
    #: The post's course, copied so that the moderation queue filters by course without joining twice.
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
