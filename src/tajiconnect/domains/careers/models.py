"""Career pathways (tenant schema): roles and the skills and levels they require.

``career_pathways``: a role ("Junior data analyst", "Electrician", "Primary school teacher"). It starts from the
starter set shipped in ``starter/`` (``code`` names the starter role; a role an admin adds has none), in the
organization's language, loaded the first time anyone reads the pathways (after the skills' starter set, which it
names); admins add, edit and archive roles. Names are unique per organization whatever their case.

``pathway_skills``: each skill a role requires and the level (1-5), once per role and skill.
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel


class CareerPathway(TenantModel):
    __tablename__ = "career_pathways"
    __table_args__ = (Index("uq_career_pathways_lower_name", func.lower(text("name")), unique=True),)

    code: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class PathwaySkill(TenantModel):
    __tablename__ = "pathway_skills"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        UniqueConstraint("pathway_id", "skill_id"),
        Index("ix_pathway_skills_skill", "skill_id"),
    )

    pathway_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("career_pathways.id", ondelete="CASCADE"))
    skill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
