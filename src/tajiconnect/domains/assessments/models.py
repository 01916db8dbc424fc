"""Assessments: a quiz or an assignment is a lesson of a course module (``lessons.kind``), with one
``assessments`` row holding its settings (created with the lesson); the lesson's body is its instructions.

* ``quiz_slots``: a quiz's questions in order: a fixed question, or ``draw_count`` questions drawn at random from a
  bank, optionally within a category and with tags.
* ``attempts``: a learner's try at a quiz. Its ``layout`` (the questions drawn, their points and option order) and
  its ``deadline_at`` are fixed when it starts; at most one attempt per learner and quiz is in progress.
* ``attempt_answers``: one answer per attempt and question, autosaved; graded automatically at submission where
  the kind allows (``fraction``), by hand otherwise (``needs_grading``).
* ``submissions``: an assignment's work: text and/or files (through the storage service), one current row per
  learner, or per group when the assignment takes group submissions; resubmitting bumps ``version``.

Grades live in the grading domain (``grades``), one per assessment and learner.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

AssessmentKind = Literal["quiz", "assignment"]
ASSESSMENT_KINDS: tuple[str, ...] = get_args(AssessmentKind)
#: A quiz answer saved after the attempt's deadline: refused, or kept and marked late.
LateAnswerPolicy = Literal["refuse", "mark_late"]
LATE_ANSWER_POLICIES: tuple[str, ...] = get_args(LateAnswerPolicy)
#: An assignment submitted after its due date: accepted, penalized per day late, or refused.
LatePolicy = Literal["accept", "penalize", "refuse"]
LATE_POLICIES: tuple[str, ...] = get_args(LatePolicy)
#: Which attempt's score is the quiz's grade.
AttemptGrade = Literal["highest", "latest", "first"]
ATTEMPT_GRADES: tuple[str, ...] = get_args(AttemptGrade)
#: When the learner sees the results of an attempt: at submission, once the quiz closes, once the grade is
#: released, or never.
ReviewWhen = Literal["submit", "close", "release", "never"]
REVIEW_WHENS: tuple[str, ...] = get_args(ReviewWhen)
#: How much they see then: the score only, plus the feedback, plus the right answers.
ReviewDetail = Literal["score", "feedback", "answers"]
REVIEW_DETAILS: tuple[str, ...] = get_args(ReviewDetail)
AttemptStatus = Literal["in_progress", "submitted", "graded"]
ATTEMPT_STATUSES: tuple[str, ...] = get_args(AttemptStatus)
SubmissionType = Literal["text", "file"]
SUBMISSION_TYPES: tuple[str, ...] = get_args(SubmissionType)
MAX_TIME_LIMIT_SECONDS = 7 * 24 * 3600


class Assessment(TenantModel):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("kind IN ('quiz', 'assignment')", name="kind"),
        CheckConstraint("late_answer_policy IN ('refuse', 'mark_late')", name="late_answer_policy"),
        CheckConstraint("late_policy IN ('accept', 'penalize', 'refuse')", name="late_policy"),
        CheckConstraint("attempt_grade IN ('highest', 'latest', 'first')", name="attempt_grade"),
        CheckConstraint("review_when IN ('submit', 'close', 'release', 'never')", name="review_when"),
        CheckConstraint("review_detail IN ('score', 'feedback', 'answers')", name="review_detail"),
        CheckConstraint("passing_percent IS NULL OR passing_percent BETWEEN 0 AND 100", name="passing"),
        CheckConstraint(
            f"time_limit_seconds IS NULL OR time_limit_seconds BETWEEN 1 AND {MAX_TIME_LIMIT_SECONDS}",
            name="time_limit",
        ),
        CheckConstraint("attempts_allowed IS NULL OR attempts_allowed BETWEEN 1 AND 100", name="attempts"),
        CheckConstraint("late_penalty_percent BETWEEN 0 AND 100", name="penalty"),
        CheckConstraint("max_files BETWEEN 0 AND 20", name="max_files"),
        CheckConstraint("max_points >= 0 AND max_points <= 100000", name="max_points"),
        CheckConstraint("weight >= 0 AND weight <= 1000", name="weight"),
        CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until > available_from",
            name="window",
        ),
        Index("ix_assessments_course_id", "course_id"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: Assignments: the points it is marked out of. Quizzes: the sum of the slots' points (kept by the service).
    max_points: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(100))
    passing_percent: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    available_from: Mapped[datetime.datetime | None] = mapped_column(default=None)
    available_until: Mapped[datetime.datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    # --- the gradebook
    gradebook_category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("gradebook_categories.id", ondelete="SET NULL"), index=True, default=None
    )
    #: Weight within its category (items of a category count in proportion to it).
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(1))
    counts_in_gradebook: Mapped[bool] = mapped_column(Boolean, default=True)
    # --- quizzes
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    late_answer_policy: Mapped[str] = mapped_column(String(10), default="refuse")
    attempts_allowed: Mapped[int | None] = mapped_column(SmallInteger, default=1)
    attempt_grade: Mapped[str] = mapped_column(String(8), default="highest")
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    review_when: Mapped[str] = mapped_column(String(8), default="submit")
    review_detail: Mapped[str] = mapped_column(String(8), default="feedback")
    # --- assignments
    submission_types: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=lambda: ["text", "file"], server_default=sql_text("'{text,file}'")
    )
    max_files: Mapped[int] = mapped_column(SmallInteger, default=5)
    late_policy: Mapped[str] = mapped_column(String(10), default="accept")
    #: ``penalize``: percent of the points taken off per day (or part of a day) late.
    late_penalty_percent: Mapped[int] = mapped_column(SmallInteger, default=10)
    group_submission: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Group submission: the teams/classes whose members submit together (a learner's group is the one of these
    #: they currently belong to).
    group_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=sql_text("'{}'"))
    rubric_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rubrics.id", ondelete="SET NULL"), default=None
    )
    #: Bumped by every save of the settings (a stale form is refused, as in the course builder).
    revision: Mapped[int] = mapped_column(Integer, default=1)


class QuizSlot(TenantModel):
    __tablename__ = "quiz_slots"
    __table_args__ = (
        CheckConstraint("num_nonnulls(question_id, bank_id) = 1", name="one_source"),
        CheckConstraint("draw_count BETWEEN 1 AND 200", name="draw_count"),
        CheckConstraint("points IS NULL OR (points >= 0 AND points <= 10000)", name="points"),
        Index("ix_quiz_slots_assessment_position", "assessment_id", "position"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: A fixed question...
    question_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True, default=None
    )
    #: ...or ``draw_count`` questions drawn from a bank (within ``category`` and its subcategories, all ``tags``).
    bank_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("question_banks.id", ondelete="CASCADE"), index=True, default=None
    )
    category: Mapped[str | None] = mapped_column(String(200), default=None)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=sql_text("'{}'"))
    draw_count: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: Points per question of this slot; null: each question's own points.
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), default=None)


class Attempt(TenantModel):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'submitted', 'graded')", name="status"),
        CheckConstraint("number >= 1", name="number"),
        Index("uq_attempts_assessment_user_number", "assessment_id", "user_id", "number", unique=True),
        # At most one attempt in progress per learner and quiz: starting twice resumes.
        Index("uq_attempts_in_progress", "assessment_id", "user_id", unique=True,
              postgresql_where=sql_text("status = 'in_progress'")),
        Index("ix_attempts_user_id", "user_id"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger, default=1)
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime.datetime] = mapped_column()
    #: Fixed at the start (start + time limit, never after the quiz closes); null: no time limit.
    deadline_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    last_saved_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: ``[{"question_id": ..., "points": "1.00", "options": [option ids in the order shown]}]``, fixed at the start.
    layout: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=sql_text("'[]'::jsonb"))
    auto_points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    max_points: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    #: Some answer was saved (or the attempt submitted) after the deadline, under ``mark_late``.
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds_spent: Mapped[int] = mapped_column(Integer, default=0)


class AttemptAnswer(TenantBase):
    __tablename__ = "attempt_answers"
    __table_args__ = (Index("ix_attempt_answers_question_id", "question_id"),)

    attempt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("questions.id", ondelete="RESTRICT"), primary_key=True)
    response: Mapped[Any] = mapped_column(JSONB, nullable=True, default=None)
    saved_at: Mapped[datetime.datetime] = mapped_column(server_default=sql_text("now()"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Automatic grading: the fraction of the question's points earned (negative marks allowed).
    fraction: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), default=None)
    #: Points earned: from ``fraction``, or given by the grader for essay and code answers.
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), default=None)
    needs_grading: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The grader's comment on this answer (plain text).
    comment: Mapped[str] = mapped_column(Text, default="")


class Submission(TenantModel):
    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted')", name="status"),
        CheckConstraint("late_days >= 0", name="late_days"),
        Index("uq_submissions_learner", "assessment_id", "user_id", unique=True,
              postgresql_where=sql_text("group_id IS NULL")),
        Index("uq_submissions_group", "assessment_id", "group_id", unique=True,
              postgresql_where=sql_text("group_id IS NOT NULL")),
        Index("ix_submissions_user_id", "user_id"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    #: The learner (for a group: who submitted last).
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    file_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=sql_text("'{}'"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    submitted_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: How many times it was submitted (1 at the first submission; resubmissions add one).
    version: Mapped[int] = mapped_column(Integer, default=0)
    #: Whole days (or parts of a day) after the due date, at the latest submission.
    late_days: Mapped[int] = mapped_column(Integer, default=0)
