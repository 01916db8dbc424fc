"""A learner's skills profile: every skill with its level and the evidence behind it, and self-declared skills.

The level of a skill is the highest level its evidence shows (a course, a path, a passed assessment); a skill the
learner only declared shows the declared level, marked as such. Two statements a page, whatever the evidence:
the skills with their levels (a window count for the total), then the evidence of those skills.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.skills.models import LEVELS, Skill, SkillEvidence
from tajiconnect.domains.skills.taxonomy import SkillError, get
from tajiconnect.i18n import gettext as _

PER_PAGE = 30


@dataclass
class Evidence:
    source: str
    level: int
    title: str  # the course's or path's title
    grade_percent: Decimal | None
    at: datetime.datetime
    course_id: uuid.UUID | None
    path_id: uuid.UUID | None


@dataclass
class SkillLevel:
    skill_id: uuid.UUID
    name: str
    category: str
    level: int | None  # evidenced
    declared: int | None  # self-declared
    last_at: datetime.datetime
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def shown_level(self) -> int:
        return self.level or self.declared or 0


def level_of(levels: list[int]) -> int | None:
    """The level evidence shows: the highest (pure; None without evidence)."""
    return max(levels) if levels else None


async def profile(session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = PER_PAGE,
                  skill_id: uuid.UUID | None = None, details: bool = True) -> tuple[list[SkillLevel], int]:
    """One page of the learner's skills (evidenced first, highest level first, then by name) and the total; only
    ``skill_id`` when given; the evidence behind each (a second statement) unless ``details`` is false."""
    evidenced = func.max(SkillEvidence.level).filter(SkillEvidence.source != "self")
    declared = func.max(SkillEvidence.level).filter(SkillEvidence.source == "self")
    rows = (await session.execute(
        select(Skill.id, Skill.name, Skill.category, evidenced, declared, func.max(SkillEvidence.evidenced_at),
               func.count().over())
        .join(SkillEvidence, SkillEvidence.skill_id == Skill.id)
        .where(SkillEvidence.user_id == user_id, *([Skill.id == skill_id] if skill_id else []))
        .group_by(Skill.id)
        .order_by(evidenced.desc().nulls_last(), declared.desc().nulls_last(), func.lower(Skill.name), Skill.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).all()
    levels = [SkillLevel(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
    by_id = {s.skill_id: s for s in levels}
    if by_id and details:
        rows_ = (await session.execute(
            select(SkillEvidence.skill_id, SkillEvidence.source, SkillEvidence.level,
                   func.coalesce(Course.title, LearningPath.title, ""), SkillEvidence.grade_percent,
                   SkillEvidence.evidenced_at, SkillEvidence.course_id,
                   LearningPath.id)
            .outerjoin(Course, Course.id == SkillEvidence.course_id)
            .outerjoin(LearningPath, (SkillEvidence.source == "path") & (LearningPath.id == SkillEvidence.source_id))
            .where(SkillEvidence.user_id == user_id, SkillEvidence.skill_id.in_(list(by_id)),
                   SkillEvidence.source != "self")
            .order_by(SkillEvidence.evidenced_at.desc(), SkillEvidence.id)
        )).all()
        for skill_id, source, level, title, grade, at, course_id, path_id in rows_:
            by_id[skill_id].evidence.append(Evidence(source, level, title, grade, at, course_id, path_id))
    return levels, int(rows[0][6]) if rows else 0


async def declare(session: AsyncSession, user: Any, skill_id: Any, level: Any) -> SkillEvidence:
    """The learner says they have ``skill_id`` at ``level`` (1-5): kept as self-declared, replacing an earlier
    declaration of the same skill."""
    skill = await get(session, skill_id)
    if skill.archived_at is not None:
        raise SkillError(_("This skill is no longer offered."), status=409, field="skill_id")
    if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
        raise SkillError(_("Choose a level from 1 to 5."), field="level")
    now = datetime.datetime.now(datetime.UTC)
    statement = insert(SkillEvidence).values(
        id=uuid.uuid4(), user_id=user.id, skill_id=skill.id, level=level, source="self", source_id=None,
        evidenced_at=now, created_at=now, updated_at=now,
    ).on_conflict_do_update(
        index_elements=["user_id", "skill_id", "source", "source_id"],
        set_={"level": level, "evidenced_at": now, "updated_at": now},
    ).returning(SkillEvidence)
    return (await session.execute(statement)).scalar_one()


async def withdraw(session: AsyncSession, user: Any, skill_id: Any) -> bool:
    """Take back a self-declared skill; whether there was one."""
    skill = await get(session, skill_id)
    result = await session.execute(delete(SkillEvidence).where(
        SkillEvidence.user_id == user.id, SkillEvidence.skill_id == skill.id, SkillEvidence.source == "self"))
    return bool(result.rowcount)  # type: ignore[attr-defined]
