"""What builds a skill: a course's declared skills and levels (the model also holds an assessment's and a
learning path's; their pages and API come with the career pathways).

Who declares: whoever edits the course (its staff and admins). Declaring replaces the whole set (at most
:data:`TARGETS_MAX`, each skill once, levels 1-5), audited as ``skill.targets.updated``; :func:`add` and
:func:`remove` change one skill. Each change locks the thing's row first, so two people saving at once apply one
after the other, each to the set the other left. A skill archived since it was declared may stay (it shows as
archived); a new one must be in use. A skill newly declared also counts the completions and passed grades that
happened before (a background job: ``evidence.record`` by target); a changed level applies to the evidence recorded
from then on (what was shown before stays as it was recorded).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.skills.models import LEVELS, Skill, SkillTarget
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.i18n import gettext as _

TARGETS_MAX = 30
_MODELS: dict[str, Any] = {"course": Course, "assessment": Assessment, "path": LearningPath}


@dataclass(frozen=True)
class Thing:
    """A course, an assessment or a path: what a declaration is about."""

    kind: str  # course | assessment | path
    id: uuid.UUID

    @property
    def column(self) -> Any:
        return {"course": SkillTarget.course_id, "assessment": SkillTarget.assessment_id,
                "path": SkillTarget.path_id}[self.kind]


@dataclass
class Declared:
    skill_id: uuid.UUID
    name: str
    category: str
    level: int
    archived: bool


async def targets_of(session: AsyncSession, thing: Thing) -> list[Declared]:
    rows = (await session.execute(
        select(Skill.id, Skill.name, Skill.category, SkillTarget.level, Skill.archived_at.is_not(None))
        .join(SkillTarget, SkillTarget.skill_id == Skill.id)
        .where(thing.column == thing.id)
        .order_by(SkillTarget.level.desc(), func.lower(Skill.name))
    )).all()
    return [Declared(*r) for r in rows]


def check_pairs(pairs: list[tuple[Any, Any]]) -> dict[uuid.UUID, int]:
    """The declaration as {skill id: level} (pure); :class:`SkillError` naming what is wrong."""
    if len(pairs) > TARGETS_MAX:
        raise SkillError(_("At most %(n)d skills.") % {"n": TARGETS_MAX}, field="skills")
    wanted: dict[uuid.UUID, int] = {}
    for skill_id, level in pairs:
        if not isinstance(skill_id, uuid.UUID):
            raise SkillError(_("Choose a skill from the list."), field="skill_id")
        if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
            raise SkillError(_("Choose a level from 1 to 5."), field="level")
        if skill_id in wanted:
            raise SkillError(_("Each skill once."), field="skill_id")
        wanted[skill_id] = level
    return wanted


async def _lock(session: AsyncSession, thing: Thing) -> dict[uuid.UUID, SkillTarget]:
    """Lock the thing's row (changes to its skills queue behind each other), then its current declaration."""
    model = _MODELS[thing.kind]
    await session.execute(select(model.id).where(model.id == thing.id).with_for_update())
    return {t.skill_id: t for t in (await session.scalars(
        select(SkillTarget).where(thing.column == thing.id))).all()}


async def _replace(session: AsyncSession, acting: Acting, thing: Thing, existing: dict[uuid.UUID, SkillTarget],
                   wanted: dict[uuid.UUID, int]) -> list[Declared]:
    from tajiconnect.domains.skills.tasks import backfill_skill_target
    from tajiconnect.tasks.outbox import defer

    new = [sid for sid in wanted if sid not in existing]
    if new:
        usable = set((await session.scalars(select(Skill.id).where(
            Skill.id.in_(new), Skill.archived_at.is_(None)))).all())
        if set(new) - usable:
            raise SkillError(_("Choose a skill from the list."), status=409, field="skill_id")
    gone = [sid for sid in existing if sid not in wanted]
    if gone:
        await session.execute(delete(SkillTarget).where(thing.column == thing.id, SkillTarget.skill_id.in_(gone)))
    added: list[SkillTarget] = []
    for skill_id, level in wanted.items():
        target = existing.get(skill_id)
        if target is None:
            target = SkillTarget(skill_id=skill_id, level=level, **{f"{thing.kind}_id": thing.id})
            session.add(target)
            added.append(target)
        else:
            target.level = level
    await session.flush()
    for target in added:  # what happened before counts too
        await defer(session, backfill_skill_target, target_id=str(target.id))
    before = {str(k): v.level for k, v in existing.items()}
    after = {str(k): v for k, v in wanted.items()}
    if before != after:
        await record(session, acting.actor, "skill.targets.updated", target_type=thing.kind, target_id=thing.id,
                     before=before, after=after)
    return await targets_of(session, thing)


async def set_targets(session: AsyncSession, acting: Acting, thing: Thing, pairs: list[tuple[Any, Any]]
                      ) -> list[Declared]:
    """Replace the thing's declared skills (see the module); the new set."""
    wanted = check_pairs(pairs)
    existing = await _lock(session, thing)
    return await _replace(session, acting, thing, existing, wanted)


async def add(session: AsyncSession, acting: Acting, thing: Thing, skill_id: Any, level: Any) -> list[Declared]:
    """Declare one more skill, or change its level."""
    existing = await _lock(session, thing)
    wanted = {sid: t.level for sid, t in existing.items() if sid != skill_id}  # its level is the new one
    return await _replace(session, acting, thing, existing,
                          check_pairs([*wanted.items(), (skill_id, level)]))


async def remove(session: AsyncSession, acting: Acting, thing: Thing, skill_id: Any) -> list[Declared]:
    """Stop declaring a skill (nothing happens when it was not declared)."""
    existing = await _lock(session, thing)
    return await _replace(session, acting, thing, existing,
                          {sid: t.level for sid, t in existing.items() if sid != skill_id})
