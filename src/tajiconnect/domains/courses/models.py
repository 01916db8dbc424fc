"""Courses, their modules and lessons, and learners' reviews.

A course is ``draft``, ``published`` or ``archived``; who may find it is its ``visibility``: everyone in the
organization (``tenant``), members of chosen teams/classes (``groups``, ``visible_group_ids``), or nobody but its
staff (``hidden``: reachable only by enrollment). Its staff is the owner plus co-teachers (``teacher_ids``).
``search_vector`` is computed by PostgreSQL from the title, summary, category and tags with the text search
configuration of the course's language (``simple`` where PostgreSQL has none, e.g. Kiswahili).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

CourseStatus = Literal["draft", "published", "archived"]
COURSE_STATUSES: tuple[str, ...] = get_args(CourseStatus)
Visibility = Literal["tenant", "groups", "hidden"]
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
Level = Literal["beginner", "intermediate", "advanced"]
LEVELS: tuple[str, ...] = get_args(Level)
LessonKind = Literal["text", "video", "document", "link", "embed", "quiz", "assignment"]
LESSON_KINDS: tuple[str, ...] = get_args(LessonKind)

#: PostgreSQL text search configuration per course language; any other language uses ``simple``.
SEARCH_CONFIGS: dict[str, str] = {
    "en": "english",
    "fr": "french",
    "pt": "portuguese",
    "es": "spanish",
    "de": "german",
    "it": "italian",
    "nl": "dutch",
    "ar": "arabic",
}


def search_config_sql(column: str = "language") -> str:
    """``CASE`` expression giving the ``regconfig`` of a language column (immutable: usable in generated columns)."""
    cases = " ".join(f"WHEN '{code}' THEN '{config}'::regconfig" for code, config in SEARCH_CONFIGS.items())
    return f"CASE {column} {cases} ELSE 'simple'::regconfig END"


_SEARCH = (
    f"setweight(to_tsvector({search_config_sql()}, coalesce(title, '')), 'A') || "
    f"setweight(to_tsvector({search_config_sql()}, coalesce(summary, '')), 'B') || "
    f"setweight(to_tsvector({search_config_sql()}, coalesce(category, '')), 'C') || "
    "array_to_tsvector(tags)"
)


class Course(TenantModel):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("visibility IN ('tenant', 'groups', 'hidden')", name="visibility"),
        CheckConstraint("level IN ('beginner', 'intermediate', 'advanced')", name="level"),
        CheckConstraint("estimated_minutes IS NULL OR estimated_minutes BETWEEN 0 AND 100000", name="minutes"),
        CheckConstraint("rating_count >= 0 AND rating_sum >= 0", name="ratings"),
        Index("ix_courses_search", "search_vector", postgresql_using="gin"),
        Index("ix_courses_teacher_ids", "teacher_ids", postgresql_using="gin"),
        Index("ix_courses_status_title", "status", "title"),
    )

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    #: Markdown, shown on the course page (rendered and sanitized on the server).
    description: Mapped[str] = mapped_column(Text, default="")
    cover_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    category: Mapped[str | None] = mapped_column(String(80), index=True, default=None)
    #: Lower-case tags (the service normalizes them).
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    level: Mapped[str] = mapped_column(String(12), default="beginner")
    language: Mapped[str] = mapped_column(String(10), default="en")
    estimated_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    visibility: Mapped[str] = mapped_column(String(8), default="tenant")
    visible_group_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default=text("'{}'")
    )
    #: Courses a learner must have completed before enrolling.
    prerequisite_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=text("'{}'"))
    self_enroll: Mapped[bool] = mapped_column(default=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    #: Co-teachers (edit the course and see its learners, like the owner).
    teacher_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default=text("'{}'"))
    copied_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), default=None
    )
    published_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: Bumped by every save: an autosave carrying an older revision is refused (two editors, one course).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, Computed(_SEARCH, persisted=True), deferred=True)


class CourseModule(TenantModel):
    __tablename__ = "course_modules"
    __table_args__ = (Index("ix_course_modules_course_position", "course_id", "position"),)

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Lesson(TenantModel):
    """One step of a module. ``kind`` says which fields matter: ``body`` (Markdown) for text, ``file_id`` for video
    and document, ``url`` for link and embed; quiz and assignment keep their settings in ``settings`` until the
    assessments work gives them tables of their own."""

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('text', 'video', 'document', 'link', 'embed', 'quiz', 'assignment')", name="kind"
        ),
        CheckConstraint("estimated_minutes IS NULL OR estimated_minutes BETWEEN 0 AND 10000", name="minutes"),
        Index("ix_lessons_module_position", "module_id", "position"),
        Index("ix_lessons_course_id", "course_id"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    module_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("course_modules.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Markdown source (text lessons; an introduction for the others).
    body: Mapped[str] = mapped_column(Text, default="")
    #: ``body`` rendered and sanitized, kept so that a lesson page does not render Markdown on every view.
    body_html: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), index=True, default=None
    )
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    allow_download: Mapped[bool] = mapped_column(default=False)
    estimated_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))


class CourseReview(TenantModel):
    """A learner's rating (1-5) and optional review of a course they are enrolled in; one per learner and course.
    The course keeps ``rating_count`` and ``rating_sum`` in step for the catalog's average."""

    __tablename__ = "course_reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        Index("uq_course_reviews_course_user", "course_id", "user_id", unique=True),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(String(4000), default="")
    hidden_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    hidden_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
