"""Résumés (tenant schema).

``resumes``: one per member, made the first time they open it: the sections they write (headline, summary,
contact lines, languages), the layout of its PDF, which of their certificates it leaves out and whether it shows
self-declared skills. Its private share link is a random token shown once and stored hashed (``share_token_hash``),
replaced or revoked by the member.

``resume_entries``: the experience, education and references, each ordered by ``position`` within its kind.

``resume_reviews``: the member asks a teacher or career adviser (any active staff member: teacher, manager, admin)
to review it; while the review is open the reviewer reads the résumé and comments (``resume_comments``); the
member closes it, and the reviewer's access ends with it. At most one open review per résumé and reviewer.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

ResumeLayout = Literal["classic", "modern", "compact"]
RESUME_LAYOUTS: tuple[str, ...] = get_args(ResumeLayout)
EntryKind = Literal["experience", "education", "reference"]
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)
Section = Literal["general", "summary", "experience", "education", "skills", "certificates", "languages", "references"]
SECTIONS: tuple[str, ...] = get_args(Section)


class Resume(TenantModel):
    __tablename__ = "resumes"
    __table_args__ = (CheckConstraint("layout IN ('classic', 'modern', 'compact')", name="layout"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    headline: Mapped[str] = mapped_column(String(160), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    layout: Mapped[str] = mapped_column(String(12), default="classic")
    #: [{"name": "Kiswahili", "level": "native"}, ...]
    languages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    hidden_certificate_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default=text("'{}'"))
    show_declared_skills: Mapped[bool] = mapped_column(default=True)
    share_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    shared_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class ResumeEntry(TenantModel):
    __tablename__ = "resume_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('experience', 'education', 'reference')", name="kind"),
        CheckConstraint("end_month IS NULL OR start_month IS NULL OR end_month >= start_month", name="months"),
        Index("ix_resume_entries_resume", "resume_id", "kind", "position"),
    )

    resume_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resumes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(160))
    organization: Mapped[str] = mapped_column(String(160), default="")
    place: Mapped[str] = mapped_column(String(120), default="")
    start_month: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    end_month: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    current: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class ResumeReview(TenantModel):
    __tablename__ = "resume_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        Index("uq_resume_reviews_open", "resume_id", "reviewer_id", unique=True,
              postgresql_where=text("status = 'open'")),
        Index("ix_resume_reviews_reviewer", "reviewer_id", "status"),
    )

    resume_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resumes.id", ondelete="CASCADE"))
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    closed_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class ResumeComment(TenantModel):
    __tablename__ = "resume_comments"
    __table_args__ = (Index("ix_resume_comments_review", "review_id", "created_at"),)

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resume_reviews.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    section: Mapped[str] = mapped_column(String(16), default="general")
    body: Mapped[str] = mapped_column(String(2000))
