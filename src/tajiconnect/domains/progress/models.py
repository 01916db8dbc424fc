"""Learners' progress.

* ``lesson_progress``: one row per learner and lesson (started, completed, time spent, video position, last page).
* ``learner_stats``: one row per learner: streak, last heartbeat (time is credited from the gap since the previous
  heartbeat of any tab, capped, so two tabs never count a minute twice), total time.
* ``learning_days``: seconds learned per learner and local day (the learner's time zone): streaks and activity.
* ``learning_completions``: the outbox of completions. Exactly one row per learner and course, and per learner
  and path, whatever repeats (unique indexes); later features (certificates, notifications, points, skills)
  consume it, each keyed by the completion's id.
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel


class LessonProgress(TenantModel):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        CheckConstraint("seconds_spent >= 0", name="seconds"),
        CheckConstraint("completed_by IS NULL OR completed_by IN ('learner', 'video', 'document', 'grade')",
                        name="completed_by"),
        Index("uq_lesson_progress_user_lesson", "user_id", "lesson_id", unique=True),
        Index("ix_lesson_progress_course_user", "course_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    completed_by: Mapped[str | None] = mapped_column(String(10), default=None)
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)
    #: Video: where to resume, in seconds. Document: the last page seen.
    position_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    last_page: Mapped[int | None] = mapped_column(Integer, default=None)
    last_seen_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class LearnerStats(TenantBase):
    __tablename__ = "learner_stats"
    __table_args__ = (CheckConstraint("streak_days >= 0 AND best_streak >= 0", name="streaks"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    streak_days: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    #: The learner's local day of their latest activity (for the streak).
    last_active_on: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    last_beat_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    seconds_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime.datetime] = mapped_column(server_default=text("now()"))


class LearningDay(TenantBase):
    __tablename__ = "learning_days"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)


class LearningCompletion(TenantModel):
    __tablename__ = "learning_completions"
    __table_args__ = (
        CheckConstraint("num_nonnulls(course_id, path_id) = 1", name="one_subject"),
        Index("uq_learning_completions_course", "user_id", "course_id", unique=True,
              postgresql_where=text("course_id IS NOT NULL")),
        Index("uq_learning_completions_path", "user_id", "path_id", unique=True,
              postgresql_where=text("path_id IS NOT NULL")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), default=None)
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), default=None
    )
    completed_at: Mapped[datetime.datetime] = mapped_column()
