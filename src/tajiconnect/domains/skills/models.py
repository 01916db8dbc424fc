"""Skills (tenant schema): the organization's taxonomy, what builds each skill, and each learner's evidence.

``skills``: the taxonomy. It starts from the starter set shipped in ``starter/`` (``code`` names the starter skill;
a skill an admin adds has none), in the organization's language, loaded the first time anyone reads it; admins add,
rename and archive skills. Names are unique per organization whatever their case.

``skill_targets``: what builds a skill, and to which level (1-5): a course, an assessment (a quiz or assignment
of a lesson) or a learning path, exactly one of the three; one row per skill and thing.

``skill_evidence``: what a learner has shown, one row per learner, skill and source: ``course`` and ``path`` (the
completion, from ``learning_completions``), ``assessment`` (a released grade at or above the assessment's passing
mark), or ``self`` (declared by the learner, shown as such, one per skill). Evidence is recorded exactly once:
the unique key is the learner, the skill, the source kind and the source's id (``NULLS NOT DISTINCT``: a
declaration has none).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

EvidenceSource = Literal["course", "assessment", "path", "self"]
EVIDENCE_SOURCES: tuple[str, ...] = get_args(EvidenceSource)
LEVELS = range(1, 6)


class Skill(TenantModel):
    __tablename__ = "skills"
    __table_args__ = (
        Index("uq_skills_lower_name", func.lower(text("name")), unique=True),
        Index("ix_skills_category", "category"),
    )

    code: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    category: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class SkillTarget(TenantModel):
    __tablename__ = "skill_targets"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        CheckConstraint("num_nonnulls(course_id, assessment_id, path_id) = 1", name="one_target"),
        Index("uq_skill_targets_course", "course_id", "skill_id", unique=True,
              postgresql_where=text("course_id IS NOT NULL")),
        Index("uq_skill_targets_assessment", "assessment_id", "skill_id", unique=True,
              postgresql_where=text("assessment_id IS NOT NULL")),
        Index("uq_skill_targets_path", "path_id", "skill_id", unique=True,
              postgresql_where=text("path_id IS NOT NULL")),
        Index("ix_skill_targets_skill", "skill_id"),
    )

    skill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), default=None)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), default=None)
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="CASCADE"), default=None)
    level: Mapped[int] = mapped_column(SmallInteger)


class SkillEvidence(TenantModel):
    __tablename__ = "skill_evidence"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        CheckConstraint("source IN ('course', 'assessment', 'path', 'self')", name="source"),
        CheckConstraint("(source = 'self') = (source_id IS NULL)", name="source_id"),
        Index("uq_skill_evidence_once", "user_id", "skill_id", "source", "source_id", unique=True,
              postgresql_nulls_not_distinct=True),
        Index("ix_skill_evidence_skill", "skill_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    skill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    #: The course the evidence comes from (a course's completion, an assessment's course), for the profile.
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"), default=None)
    grade_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), default=None)
    evidenced_at: Mapped[datetime.datetime] = mapped_column()
