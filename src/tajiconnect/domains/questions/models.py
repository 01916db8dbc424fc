"""Question banks and their questions.

A bank belongs to a course (its staff edit it). A question's ``kind`` says what ``data`` holds (the shapes are
in :mod:`.kinds`, documented in docs/assessments.md); ``text`` is the source in ``text_format`` and ``text_html``
its sanitized rendering, kept so that a quiz page renders no Markdown. ``category`` (a ``/``-separated path, as
GIFT's ``$CATEGORY``), ``tags`` and ``difficulty`` (1-5) let quizzes draw questions at random. A question that
an attempt has answered is archived, never deleted (``attempt_answers`` refer to it).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

QuestionKind = Literal[
    "single", "multiple", "true_false", "short", "numeric", "matching", "ordering", "essay", "code"
]
QUESTION_KINDS: tuple[str, ...] = get_args(QuestionKind)
#: Kinds a teacher grades by hand.
MANUAL_KINDS: frozenset[str] = frozenset({"essay", "code"})
TextFormat = Literal["markdown", "html", "plain"]
TEXT_FORMATS: tuple[str, ...] = get_args(TextFormat)


class QuestionBank(TenantModel):
    __tablename__ = "question_banks"
    __table_args__ = (Index("ix_question_banks_course_title", "course_id", "title"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")


class Question(TenantModel):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('single', 'multiple', 'true_false', 'short', 'numeric', 'matching', 'ordering', 'essay', "
            "'code')",
            name="kind",
        ),
        CheckConstraint("text_format IN ('markdown', 'html', 'plain')", name="text_format"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
        CheckConstraint("points >= 0 AND points <= 10000", name="points"),
        Index("ix_questions_bank_category", "bank_id", "category"),
        Index("ix_questions_bank_position", "bank_id", "position"),
        Index("ix_questions_tags", "tags", postgresql_using="gin"),
    )

    bank_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    #: A short name for lists (GIFT's ``::name::``); empty: lists show the start of the text.
    name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    text_format: Mapped[str] = mapped_column(String(8), default="markdown")
    text_html: Mapped[str] = mapped_column(Text, default="")
    #: The kind's answers, options, tolerances... (see :mod:`.kinds`); feedback in it is sanitized HTML.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql_text("'{}'::jsonb"))
    #: General feedback, sanitized HTML, shown after the answer whatever it was.
    feedback_html: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(1))
    category: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=sql_text("'{}'"))
    difficulty: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
