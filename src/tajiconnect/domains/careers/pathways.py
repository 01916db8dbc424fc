"""The organization's career pathways: the starter roles, search, and what admins change.

* :func:`ensure_starter` loads the starter roles (``starter/pathways.csv`` and ``pathway_skills.csv``: common roles
  across trades, office, digital, health and teaching work, in English, Kiswahili and French) in the organization's
  language, once: the first time anyone reads the pathways, after the skills' starter set whose codes it names.
  Two statements; a second loader at the same moment adds nothing (codes and pairs are unique).
* Admins add roles, rename and describe them, archive them (offered to nobody; a learner's link to it still
  answers) and set the skills they require (at most :data:`REQUIRED_MAX`, levels 1-5; a new one must be in use),
  each change audited. Each change to a role's skills locks the role's row first, so two admins saving at once
  apply one after the other.
"""

from __future__ import annotations

import csv
import datetime
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.skills import taxonomy
from tajiconnect.domains.skills.models import Skill
from tajiconnect.domains.skills.targets import TARGETS_MAX, check_pairs
from tajiconnect.domains.skills.taxonomy import LANGUAGES, SkillError
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant

STARTER = Path(__file__).parent / "starter"
NAME_MAX, DESCRIPTION_MAX, SEARCH_MAX = 120, 1000, 100
REQUIRED_MAX = TARGETS_MAX  # the same bound as what a course builds
PER_PAGE = 30


class PathwayError(SkillError):
    """What the pathways refuse: a message, an HTTP status and the field it is about."""


@dataclass(frozen=True)
class StarterRole:
    code: str
    name: str
    description: str


@cache
def starter_roles(language: str) -> tuple[StarterRole, ...]:
    lang = language if language in LANGUAGES else "en"
    with (STARTER / "pathways.csv").open(encoding="utf-8", newline="") as f:
        return tuple(StarterRole(r["code"], r[f"name_{lang}"], r[f"description_{lang}"]) for r in csv.DictReader(f))


@cache
def starter_requirements() -> tuple[tuple[str, str, int], ...]:
    """(role code, skill code, level) for every starter role."""
    with (STARTER / "pathway_skills.csv").open(encoding="utf-8", newline="") as f:
        return tuple((r["pathway"], r["skill"], int(r["level"])) for r in csv.DictReader(f))


_LOAD_ROLES = text("""
    INSERT INTO career_pathways (id, code, name, description, created_at, updated_at)
    SELECT gen_random_uuid(), r.code, r.name, r.description, now(), now()
    FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:descriptions AS text[]))
         AS r(code, name, description)
    ON CONFLICT DO NOTHING
""")
_LOAD_REQUIREMENTS = text("""
    INSERT INTO pathway_skills (id, pathway_id, skill_id, level, created_at, updated_at)
    SELECT gen_random_uuid(), p.id, s.id, x.level, now(), now()
    FROM unnest(CAST(:roles AS text[]), CAST(:skills AS text[]), CAST(:levels AS int[])) AS x(role, skill, level)
    JOIN career_pathways p ON p.code = x.role
    JOIN skills s ON s.code = x.skill
    ON CONFLICT DO NOTHING
""")


async def ensure_starter(session: AsyncSession) -> bool:
    """Load the starter roles unless the organization has them; whether this call loaded them."""
    if await session.scalar(select(select(CareerPathway.id).where(CareerPathway.code.is_not(None)).exists())):
        return False
    await taxonomy.ensure_starter(session)
    roles = starter_roles(require_tenant().locale)
    await session.execute(_LOAD_ROLES, {"codes": [r.code for r in roles], "names": [r.name for r in roles],
                                        "descriptions": [r.description for r in roles]})
    pairs = starter_requirements()
    await session.execute(_LOAD_REQUIREMENTS, {"roles": [p[0] for p in pairs], "skills": [p[1] for p in pairs],
                                               "levels": [p[2] for p in pairs]})
    return True


@dataclass
class Listed:
    pathway: CareerPathway
    skills: int


async def search(session: AsyncSession, *, q: str = "", include_archived: bool = False, page: int = 1,
                 per_page: int = PER_PAGE) -> tuple[list[Listed], int]:
    """Roles by name matching ``q`` (in the name or the description), with how many skills each requires; one page
    and the total, in one statement."""
    await ensure_starter(session)
    required = (select(func.count()).where(PathwaySkill.pathway_id == CareerPathway.id)
                .correlate(CareerPathway).scalar_subquery())
    stmt = select(CareerPathway, required, func.count().over())
    if not include_archived:
        stmt = stmt.where(CareerPathway.archived_at.is_(None))
    if q:
        stmt = stmt.where(or_(CareerPathway.name.icontains(q, autoescape=True),
                              CareerPathway.description.icontains(q, autoescape=True)))
    rows = (await session.execute(stmt.order_by(func.lower(CareerPathway.name), CareerPathway.id)
                                  .offset((page - 1) * per_page).limit(per_page))).all()
    return [Listed(r[0], int(r[1])) for r in rows], int(rows[0][2]) if rows else 0


async def get(session: AsyncSession, pathway_id: Any, viewer: Any = None, *, lock: bool = False) -> CareerPathway:
    """A role by its id; with ``viewer``, an archived one only for admins (it is offered to nobody else); with
    ``lock``, its row locked (changes to its skills queue behind each other). An id can only be known once the
    starter roles are loaded (a list, an admin's create), so none is loaded here."""
    key = parse_uuid(pathway_id)
    stmt = select(CareerPathway).where(CareerPathway.id == key)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    pathway = await session.scalar(stmt) if key else None
    if pathway is None or (pathway.archived_at is not None and viewer is not None
                           and not can(viewer, Permission.MANAGE_USERS)):
        raise PathwayError(_("No such career pathway."), status=404)
    return pathway


@dataclass
class Required:
    skill_id: uuid.UUID
    name: str
    category: str
    level: int
    archived: bool


async def requirements(session: AsyncSession, pathway_id: uuid.UUID) -> list[Required]:
    """The skills a role requires, the highest level first, then by name."""
    rows = (await session.execute(
        select(Skill.id, Skill.name, Skill.category, PathwaySkill.level, Skill.archived_at.is_not(None))
        .join(PathwaySkill, PathwaySkill.skill_id == Skill.id)
        .where(PathwaySkill.pathway_id == pathway_id)
        .order_by(PathwaySkill.level.desc(), func.lower(Skill.name), Skill.id)
    )).all()
    return [Required(*r) for r in rows]


def _clean(value: Any, limit: int, field: str, *, required: bool = True) -> str:
    return taxonomy.clean(value, limit, field, required=required, error=PathwayError)


async def _name_taken(session: AsyncSession, name: str, but: uuid.UUID | None = None) -> bool:
    stmt = select(CareerPathway.id).where(func.lower(CareerPathway.name) == name.lower())
    if but is not None:
        stmt = stmt.where(CareerPathway.id != but)
    return bool(await session.scalar(select(stmt.exists())))


def _taken() -> PathwayError:
    return PathwayError(_("A career pathway with this name exists already."), status=409, field="name")


async def create(session: AsyncSession, acting: Acting, *, name: str, description: str = "") -> CareerPathway:
    await ensure_starter(session)
    pathway = CareerPathway(name=_clean(name, NAME_MAX, "name"),
                            description=_clean(description, DESCRIPTION_MAX, "description", required=False))
    if await _name_taken(session, pathway.name):
        raise _taken()
    session.add(pathway)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same name, added at the same moment
        raise _taken() from exc
    await record(session, acting.actor, "pathway.created", target_type="pathway", target_id=pathway.id,
                 name=pathway.name)
    return pathway


async def update(session: AsyncSession, acting: Acting, pathway_id: Any, *, name: str | None = None,
                 description: str | None = None, archived: bool | None = None) -> CareerPathway:
    pathway = await get(session, pathway_id)
    before = {"name": pathway.name, "description": pathway.description, "archived": pathway.archived_at is not None}
    if name is not None:
        cleaned = _clean(name, NAME_MAX, "name")
        if await _name_taken(session, cleaned, but=pathway.id):
            raise _taken()
        pathway.name = cleaned
    if description is not None:
        pathway.description = _clean(description, DESCRIPTION_MAX, "description", required=False)
    if archived is not None:
        pathway.archived_at = (pathway.archived_at or datetime.datetime.now(datetime.UTC)) if archived else None
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _taken() from exc
    after = {"name": pathway.name, "description": pathway.description, "archived": pathway.archived_at is not None}
    if after != before:
        await record(session, acting.actor, "pathway.updated", target_type="pathway", target_id=pathway.id,
                     before=before, after=after)
    return pathway


async def _current(session: AsyncSession, pathway_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await session.execute(select(PathwaySkill.skill_id, PathwaySkill.level)
                                 .where(PathwaySkill.pathway_id == pathway_id))
    return {r[0]: r[1] for r in rows.all()}


async def _write(session: AsyncSession, acting: Acting, pathway: CareerPathway, current: dict[uuid.UUID, int],
                 wanted: dict[uuid.UUID, int]) -> None:
    new = [s for s in wanted if s not in current]
    if new:
        usable = set((await session.scalars(select(Skill.id).where(
            Skill.id.in_(new), Skill.archived_at.is_(None)))).all())
        if len(usable) != len(new):
            raise PathwayError(_("Choose a skill from the list."), field="skill_id")
    if wanted == current:
        return
    await session.execute(delete(PathwaySkill).where(PathwaySkill.pathway_id == pathway.id))
    session.add_all(PathwaySkill(pathway_id=pathway.id, skill_id=s, level=level) for s, level in wanted.items())
    await session.flush()
    await record(session, acting.actor, "pathway.skills.updated", target_type="pathway", target_id=pathway.id,
                 name=pathway.name, before={str(k): v for k, v in current.items()},
                 after={str(k): v for k, v in wanted.items()})


async def set_requirements(session: AsyncSession, acting: Acting, pathway_id: Any,
                           pairs: list[tuple[Any, Any]]) -> CareerPathway:
    """Replace the skills a role requires with ``pairs`` (skill id, level)."""
    wanted = check_pairs(pairs)
    pathway = await get(session, pathway_id, lock=True)
    await _write(session, acting, pathway, await _current(session, pathway.id), wanted)
    return pathway


async def require(session: AsyncSession, acting: Acting, pathway_id: Any, skill_id: Any, level: Any) -> None:
    """Add one required skill (or change its level)."""
    pathway = await get(session, pathway_id, lock=True)
    current = await _current(session, pathway.id)
    wanted = check_pairs([*((s, v) for s, v in current.items() if s != skill_id), (skill_id, level)])
    await _write(session, acting, pathway, current, wanted)


async def unrequire(session: AsyncSession, acting: Acting, pathway_id: Any, skill_id: Any) -> None:
    pathway = await get(session, pathway_id, lock=True)
    current = await _current(session, pathway.id)
    await _write(session, acting, pathway, current, {s: v for s, v in current.items() if s != skill_id})
