"""The organization's skills taxonomy: the starter set, search, and what admins change.

* :func:`ensure_starter` loads the starter set (``starter/skills.csv`` and ``categories.csv``: a few hundred common
  skills across trades, office, digital and teaching work, in English, Kiswahili and French) in the organization's
  language, once: the first time anyone reads the taxonomy (provisioning stays fast). One statement; a second
  loader at the same moment adds nothing (the codes are unique).
* Admins add skills (``code`` none), rename them, move them to another category and archive them (audited). An
  archived skill stays on the profiles that show it and gathers no new evidence; it is offered to nobody. Restored,
  it counts what was completed and passed meanwhile (a backfill per declaration).
"""

from __future__ import annotations

import csv
import datetime
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.skills.models import Skill
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.validation import FieldError, clean_text

STARTER = Path(__file__).parent / "starter"
LANGUAGES = ("en", "sw", "fr")
NAME_MAX, CATEGORY_MAX, DESCRIPTION_MAX, SEARCH_MAX = 120, 80, 500, 100
PER_PAGE = 50


class SkillError(FieldError):
    """What the skills refuse (``validation.FieldError``)."""


@dataclass(frozen=True)
class StarterSkill:
    code: str
    category: str
    name: str
    description: str


@cache
def starter_set(language: str) -> tuple[StarterSkill, ...]:
    """The starter skills in ``language`` (English when it is not one of :data:`LANGUAGES`)."""
    lang = language if language in LANGUAGES else "en"
    with (STARTER / "categories.csv").open(encoding="utf-8", newline="") as f:
        categories = {row["code"]: row[f"name_{lang}"] for row in csv.DictReader(f)}
    with (STARTER / "skills.csv").open(encoding="utf-8", newline="") as f:
        return tuple(
            StarterSkill(row["code"], categories[row["category"]], row[f"name_{lang}"],
                         row["description_en"] if lang == "en" else "")
            for row in csv.DictReader(f)
        )


_LOAD = text("""
    INSERT INTO skills (id, code, category, name, description, created_at, updated_at)
    SELECT gen_random_uuid(), s.code, s.category, s.name, s.description, now(), now()
    FROM unnest(CAST(:codes AS text[]), CAST(:categories AS text[]), CAST(:names AS text[]),
                CAST(:descriptions AS text[])) AS s(code, category, name, description)
    ON CONFLICT DO NOTHING
""")


async def ensure_starter(session: AsyncSession) -> bool:
    """Load the starter set unless the organization has it; whether this call loaded it."""
    if await session.scalar(select(select(Skill.id).where(Skill.code.is_not(None)).exists())):
        return False
    skills = starter_set(require_tenant().locale)
    await session.execute(_LOAD, {
        "codes": [s.code for s in skills], "categories": [s.category for s in skills],
        "names": [s.name for s in skills], "descriptions": [s.description for s in skills],
    })
    return True


async def search(session: AsyncSession, *, q: str = "", category: str = "", include_archived: bool = False,
                 page: int = 1, per_page: int = PER_PAGE) -> tuple[list[Skill], int]:
    """Skills by category then name, matching ``q`` in the name or category; one page and the total."""
    await ensure_starter(session)
    stmt = select(Skill, func.count().over())
    if not include_archived:
        stmt = stmt.where(Skill.archived_at.is_(None))
    if q:
        stmt = stmt.where(or_(Skill.name.icontains(q, autoescape=True), Skill.category.icontains(q, autoescape=True)))
    if category:
        stmt = stmt.where(Skill.category == category)
    rows = (await session.execute(
        stmt.order_by(func.lower(Skill.category), func.lower(Skill.name), Skill.id)
        .offset((page - 1) * per_page).limit(per_page))).all()
    return [r[0] for r in rows], int(rows[0][1]) if rows else 0


async def categories(session: AsyncSession) -> list[str]:
    await ensure_starter(session)
    return list((await session.scalars(
        select(Skill.category).where(Skill.archived_at.is_(None)).distinct().order_by(Skill.category))).all())


async def get(session: AsyncSession, skill_id: Any) -> Skill:
    key = parse_uuid(skill_id)
    skill = await session.get(Skill, key) if key else None
    if skill is None:
        raise SkillError(_("No such skill."), status=404)
    return skill


def clean(value: Any, limit: int, field: str, *, required: bool = True, error: type[SkillError] = SkillError) -> str:
    """A name, category or description, one line (``validation.clean_text``), required unless told."""
    return clean_text(value, limit, field, required=required, error=error)


async def _name_taken(session: AsyncSession, name: str, but: uuid.UUID | None = None) -> bool:
    stmt = select(Skill.id).where(func.lower(Skill.name) == name.lower())
    if but is not None:
        stmt = stmt.where(Skill.id != but)
    return bool(await session.scalar(select(stmt.exists())))


async def create(session: AsyncSession, acting: Acting, *, name: str, category: str,
                 description: str = "") -> Skill:
    await ensure_starter(session)
    skill = Skill(name=clean(name, NAME_MAX, "name"), category=clean(category, CATEGORY_MAX, "category"),
                  description=clean(description, DESCRIPTION_MAX, "description", required=False))
    if await _name_taken(session, skill.name):
        raise SkillError(_("A skill with this name exists already."), status=409, field="name")
    session.add(skill)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same name, added at the same moment
        raise SkillError(_("A skill with this name exists already."), status=409, field="name") from exc
    await record(session, acting.actor, "skill.created", target_type="skill", target_id=skill.id,
                 name=skill.name, category=skill.category)
    return skill


async def update(session: AsyncSession, acting: Acting, skill_id: Any, *, name: str | None = None,
                 category: str | None = None, description: str | None = None,
                 archived: bool | None = None) -> Skill:
    skill = await get(session, skill_id)
    before = {"name": skill.name, "category": skill.category, "archived": skill.archived_at is not None}
    if name is not None:
        cleaned = clean(name, NAME_MAX, "name")
        if await _name_taken(session, cleaned, but=skill.id):  # checked before the change is pending
            raise SkillError(_("A skill with this name exists already."), status=409, field="name")
        skill.name = cleaned
    if category is not None:
        skill.category = clean(category, CATEGORY_MAX, "category")
    if description is not None:
        skill.description = clean(description, DESCRIPTION_MAX, "description", required=False)
    restored = archived is False and skill.archived_at is not None
    if archived is not None:
        skill.archived_at = (skill.archived_at or datetime.datetime.now(datetime.UTC)) if archived else None
    try:
        await session.flush()
    except IntegrityError as exc:
        raise SkillError(_("A skill with this name exists already."), status=409, field="name") from exc
    if restored:  # what was completed while it was archived counts now
        from tajiconnect.domains.skills.models import SkillTarget
        from tajiconnect.domains.skills.tasks import backfill_skill_target
        from tajiconnect.tasks.outbox import defer

        for target_id in (await session.scalars(select(SkillTarget.id).where(SkillTarget.skill_id == skill.id))):
            await defer(session, backfill_skill_target, target_id=str(target_id))
    after = {"name": skill.name, "category": skill.category, "archived": skill.archived_at is not None}
    if after != before:
        await record(session, acting.actor, "skill.updated", target_type="skill", target_id=skill.id,
                     before=before, after=after)
    return skill
