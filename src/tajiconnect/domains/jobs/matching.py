"""How well a learner matches a job, explained (pure, but for :func:`levels_of`).

Skills cross organizations by a **key**: ``code:<starter code>`` for the shared starter skills (the same code in
every organization, whatever each calls it), else ``name:<the name in lower case>``. A learner's level of a skill
is what evidence shows (self-declared levels do not count, as in the career gap).

The **score** is the share of the job's required levels the learner has: each skill counts its required level
(a level-4 skill weighs twice a level-2 one), the learner's level up to it. 100 when the job requires nothing.
The explanation lists each skill met, and each missing with the levels missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.careers import gap
from tajiconnect.domains.skills.models import Skill, SkillEvidence


def key_of(code: str | None, name: str) -> str:
    return f"code:{code}" if code else f"name:{' '.join(name.split()).lower()}"


@dataclass
class SkillMatch:
    key: str
    name: str
    required: int
    have: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.have)


@dataclass
class Match:
    percent: int
    met: list[SkillMatch] = field(default_factory=list)
    missing: list[SkillMatch] = field(default_factory=list)


def score(required: Iterable[tuple[str, str, int]], have: Mapping[str, int]) -> Match:
    """``required``: (key, name, level) per skill of the job; ``have``: {key: level} of the learner."""
    items = list(required)
    names = {key: name for key, name, _level in items}
    found = gap.gaps({key: level for key, _name, level in items}, have)
    share = gap.met_share(found)
    lines = [SkillMatch(g.skill_id, names[g.skill_id], g.required, min(g.have, g.required)) for g in found]
    return Match(int(share * 100 + 0.5), met=[m for m in lines if not m.missing],
                 missing=[m for m in lines if m.missing])


def score_of(skills: Iterable[Any], have: Mapping[str, int]) -> Match:
    """:func:`score` of a job's ``JobSkill`` rows."""
    return score([(s.key, s.name, s.level) for s in skills], have)


@dataclass(frozen=True)
class Shown:
    """A skill evidence shows for a learner: its cross-organization key, its name here, the level."""

    key: str
    name: str
    level: int


async def skills_shown(session: AsyncSession, user_id: uuid.UUID) -> list[Shown]:
    """What evidence shows for ``user_id`` (in the tenant in scope), by name; one row per key."""
    rows = (await session.execute(
        select(Skill.code, Skill.name, func.max(SkillEvidence.level))
        .join(SkillEvidence, SkillEvidence.skill_id == Skill.id)
        .where(SkillEvidence.user_id == user_id, SkillEvidence.source != "self")
        .group_by(Skill.id).order_by(func.lower(Skill.name)))).all()
    found: dict[str, Shown] = {}
    for code, name, level in rows:
        key = key_of(code, name)
        if key not in found or level > found[key].level:
            found[key] = Shown(key, name, level)
    return list(found.values())


async def levels_of(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """{key: level} of :func:`skills_shown`."""
    return {s.key: s.level for s in await skills_shown(session, user_id)}
