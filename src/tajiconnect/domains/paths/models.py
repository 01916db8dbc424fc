"""Learning paths and learners' path enrollments.

A path holds ordered stages; a stage holds ordered courses (``course_ids``). A stage with ``requires_previous``
opens only when every earlier stage is complete. Path enrollments mirror course enrollments (history kept, one
current row per learner and path) and carry the path's progress.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

PathStatus = Literal["draft", "published", "archived"]
PATH_STATUSES: tuple[str, ...] = get_args(PathStatus)


class LearningPath(TenantModel):
    __tablename__ = "learning_paths"
    __table_args__ = (CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),)

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    cover_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    language: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    self_enroll: Mapped[bool] = mapped_column(default=False)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    published_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class PathStage(TenantModel):
    __tablename__ = "path_stages"
    __table_args__ = (Index("ix_path_stages_path_position", "path_id", "position"),)

    path_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learning_paths.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    course_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=text("'{}'"))
    requires_previous: Mapped[bool] = mapped_column(default=True)


class PathEnrollment(TenantModel):
    __tablename__ = "path_enrollments"
    __table_args__ = (
        CheckConstraint("source IN ('self', 'assigned', 'group')", name="source"),
        CheckConstraint("status IN ('active', 'completed', 'withdrawn')", name="status"),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="percent"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn"),
        Index(
            "uq_path_enrollments_current",
            "path_id",
            "user_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
        Index("ix_path_enrollments_user_current", "user_id", postgresql_where=text("withdrawn_at IS NULL")),
    )

    path_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learning_paths.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8))
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_assignments.id", ondelete="SET NULL"), index=True, default=None
    )
    enrolled_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    due_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(10), default="active")
    progress_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    courses_completed: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
