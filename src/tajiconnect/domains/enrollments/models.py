"""Enrollments and the assignments that create them.

An enrollment is a learner in a course from ``created_at`` until ``withdrawn_at`` (history is kept: enrolling again
adds a row; at most one current row per learner and course). It carries the learner's course progress, kept in
step by the progress service, so lists of learners and courses never aggregate lesson rows.

An assignment gives a course or a learning path to a team/class or to one learner, with an optional due date.
While it is current (``ended_at`` null), every current member of the group is enrolled, including people who
join the group later.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

EnrollmentSource = Literal["self", "assigned", "group", "path"]
ENROLLMENT_SOURCES: tuple[str, ...] = get_args(EnrollmentSource)
EnrollmentStatus = Literal["active", "completed", "withdrawn"]
ENROLLMENT_STATUSES: tuple[str, ...] = get_args(EnrollmentStatus)


class LearningAssignment(TenantModel):
    __tablename__ = "learning_assignments"
    __table_args__ = (
        CheckConstraint("num_nonnulls(course_id, path_id) = 1", name="one_subject"),
        CheckConstraint("num_nonnulls(group_id, user_id) = 1", name="one_target"),
        Index(
            "uq_learning_assignments_current",
            func.coalesce(text("course_id"), text("path_id")),
            func.coalesce(text("group_id"), text("user_id")),
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_learning_assignments_group", "group_id", postgresql_where=text("ended_at IS NULL")),
        Index("ix_learning_assignments_user", "user_id", postgresql_where=text("ended_at IS NULL")),
    )

    course_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True, default=None
    )
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), index=True, default=None
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    due_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    assigned_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    ended_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    ended_by_email: Mapped[str | None] = mapped_column(String(320), default=None)


class Enrollment(TenantModel):
    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint("source IN ('self', 'assigned', 'group', 'path')", name="source"),
        CheckConstraint("status IN ('active', 'completed', 'withdrawn')", name="status"),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="percent"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn"),
        Index(
            "uq_enrollments_current",
            "course_id",
            "user_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
        Index(
            "ix_enrollments_user_current", "user_id", "last_activity_at", postgresql_where=text("withdrawn_at IS NULL")
        ),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8))
    #: The assignment (to the learner, their group, or a path) that enrolled them, if any.
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_assignments.id", ondelete="SET NULL"), index=True, default=None
    )
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="SET NULL"), default=None
    )
    enrolled_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    due_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(10), default="active")
    progress_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)
    last_lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), default=None
    )
    last_activity_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    withdrawn_by_email: Mapped[str | None] = mapped_column(String(320), default=None)


class LearningRequest(TenantModel):
    """A learner asks to be given a course or a path that is by assignment only (from a career pathway's gap, or
    the catalog). Their managers (the leaders of their groups who may assign learning; admins when there are none)
    are told; one of them approves (the learner is assigned and enrolled) or declines with a reason. At most one
    open request per learner and course or path."""

    __tablename__ = "learning_requests"
    __table_args__ = (
        CheckConstraint("num_nonnulls(course_id, path_id) = 1", name="one_subject"),
        CheckConstraint("status IN ('open', 'approved', 'declined', 'withdrawn')", name="status"),
        Index("uq_learning_requests_open", "user_id", func.coalesce(text("course_id"), text("path_id")),
              unique=True, postgresql_where=text("status = 'open'")),
        Index("ix_learning_requests_status", "status", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), default=None)
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), default=None)
    #: The career pathway the learner asked from, if any (shown to the manager as the reason).
    pathway_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("career_pathways.id", ondelete="SET NULL"), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(500), default="")
