"""Grades, rubrics, the comment bank, and the gradebook's categories, settings and overrides.

* ``grades``: one row per assessment and learner: ``pending`` (submitted, awaiting a grader: the grading queue),
  ``draft`` (graded, not yet visible to the learner) or ``released``. ``points`` is what the grader (or the
  automatic grading) gave; ``score`` is it after the late penalty; learners see ``score`` once released.
* ``grade_events``: every change of a grade (graded, regraded, released, penalty), with the points before and
  after and who did it: the regrading audit trail.
* ``rubrics``: criteria x levels with points, per course; a grade's ``rubric_scores`` maps criterion to level.
* ``comment_bank``: a teacher's reusable comments.
* ``gradebook_categories`` (weighted, with lowest dropped), ``gradebook_settings`` (letter scale) and
  ``grade_overrides`` (a learner's final grade set by hand, with a reason) per course.
* ``similarity_matches``: pairs of submissions of one assignment that look copied, with the passages.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

GradeStatus = Literal["pending", "draft", "released"]
GRADE_STATUSES: tuple[str, ...] = get_args(GradeStatus)


class Grade(TenantModel):
    __tablename__ = "grades"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'draft', 'released')", name="status"),
        CheckConstraint("penalty_percent BETWEEN 0 AND 100", name="penalty"),
        CheckConstraint("max_points >= 0", name="max_points"),
        Index("uq_grades_assessment_user", "assessment_id", "user_id", unique=True),
        Index("ix_grades_status_submitted", "status", "submitted_at"),
        Index("ix_grades_user_id", "user_id"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: Denormalized from the assessment: the gradebook and the queue read grades by course without a join.
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"), default=None)
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(10), default="pending")
    points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    penalty_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    #: ``points`` less the late penalty: what counts and what the learner sees.
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    max_points: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    rubric_scores: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql_text("'{}'::jsonb"))
    #: The grader's comment to the learner (plain text).
    comment: Mapped[str] = mapped_column(Text, default="")
    #: When the work was (last) submitted: the queue shows the oldest first.
    submitted_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    graded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    graded_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    released_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: Bumped by every change (a grader saving over a newer grade is refused).
    revision: Mapped[int] = mapped_column(Integer, default=1)


class GradeEvent(TenantModel):
    __tablename__ = "grade_events"
    __table_args__ = (Index("ix_grade_events_grade_created", "grade_id", "created_at"),)

    grade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grades.id", ondelete="CASCADE"))
    #: ``submitted``, ``auto_graded``, ``graded``, ``regraded``, ``released``, ``unreleased``.
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    points_before: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    points_after: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    reason: Mapped[str] = mapped_column(String(1000), default="")


class Rubric(TenantModel):
    """``criteria``: ``[{"id": "c1", "title": ..., "description": ..., "levels": [{"id": "l1", "title": ...,
    "points": "4"}]}]``; a rubric's maximum is the sum of each criterion's best level."""

    __tablename__ = "rubrics"
    __table_args__ = (Index("ix_rubrics_course_id", "course_id"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=sql_text("'[]'::jsonb"))


class CommentBankEntry(TenantModel):
    __tablename__ = "comment_bank"
    __table_args__ = (Index("ix_comment_bank_user_used", "user_id", "last_used_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(2000))
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class GradebookCategory(TenantModel):
    __tablename__ = "gradebook_categories"
    __table_args__ = (
        CheckConstraint("weight >= 0 AND weight <= 1000", name="weight"),
        CheckConstraint("drop_lowest BETWEEN 0 AND 50", name="drop_lowest"),
        Index("ix_gradebook_categories_course_position", "course_id", "position"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: Weight of the category in the final grade (weights are normalized over the categories that have grades).
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    #: How many of a learner's lowest scores in this category are left out.
    drop_lowest: Mapped[int] = mapped_column(SmallInteger, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)


class GradebookSettings(TenantBase):
    """``letter_scale``: ``[{"letter": "A", "min_percent": "90"}, ...]`` from the highest; empty: the default."""

    __tablename__ = "gradebook_settings"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    letter_scale: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=sql_text("'[]'::jsonb")
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(server_default=sql_text("now()"))


class GradeOverride(TenantModel):
    __tablename__ = "grade_overrides"
    __table_args__ = (
        CheckConstraint("percent >= 0 AND percent <= 1000", name="percent"),
        Index("uq_grade_overrides_course_user", "course_id", "user_id", unique=True),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    percent: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    reason: Mapped[str] = mapped_column(String(1000))
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    by_email: Mapped[str | None] = mapped_column(String(320), default=None)


class SimilarityMatch(TenantModel):
    __tablename__ = "similarity_matches"
    __table_args__ = (
        CheckConstraint("submission_a_id < submission_b_id", name="ordered_pair"),
        Index("uq_similarity_matches_pair", "submission_a_id", "submission_b_id", unique=True),
        Index("ix_similarity_matches_assessment", "assessment_id", "score"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    submission_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    submission_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    #: 0-100: how much of the shorter text is found in the other.
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    #: ``[{"a": "...", "b": "...", "a_start": 0, "b_start": 0}]``: the matching passages side by side.
    passages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=sql_text("'[]'::jsonb"))
