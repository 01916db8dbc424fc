"""The career pathways API (bearer token):

* ``GET /api/v1/pathways?q=&page=&per_page=``: the organization's roles (the starter set loaded on first read);
  ``POST`` adds one, ``PATCH /api/v1/pathways/{id}`` renames, describes or archives one, ``PUT
  /api/v1/pathways/{id}/skills`` replaces the skills it requires (admins; audited). ``GET /api/v1/pathways/{id}``:
  one role with the skills and levels it requires.
* ``GET /api/v1/pathways/{id}/gap?user_id=``: the gap of the caller (or of a learner the caller may assign learning
  to) against the role: each required skill met or missing and by how much, and the courses and paths that close
  it, ranked by levels closed per hour of study, each with what the learner can do.
* ``GET /api/v1/pathways/{id}/team?page=``: the caller's team against the role (those who may assign learning).

A request that does not validate is a 400; a valid value the service refuses a 409 naming its ``field``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, can, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.careers import analysis, pathways
from tajiconnect.domains.careers.models import CareerPathway
from tajiconnect.domains.careers.pathways import PathwayError
from tajiconnect.domains.skills.api import Level, TargetIn
from tajiconnect.domains.skills.targets import TARGETS_MAX
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Search = Annotated[str | None, Parameter(max_length=pathways.SEARCH_MAX,
                                         description="Part of a role's name or description.")]
Name = Annotated[str, Meta(min_length=1, max_length=pathways.NAME_MAX, pattern=NOT_BLANK)]
Description = Annotated[str, Meta(max_length=pathways.DESCRIPTION_MAX)]
NOT_FOUND = "No such career pathway here (another organization's ids never are)."
ADMINS = f"Only admins change the career pathways. {SUSPENDED}"


class PathwayOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    description: str
    starter: bool
    archived: bool
    skills: int


class PathwayPage(msgspec.Struct):
    items: list[PathwayOut]
    total: int
    page: int
    per_page: int


class RequiredOut(msgspec.Struct):
    skill_id: uuid.UUID
    name: str
    category: str
    level: int
    archived: bool


class PathwayDetail(msgspec.Struct):
    id: uuid.UUID
    name: str
    description: str
    starter: bool
    archived: bool
    skills: list[RequiredOut]


class PathwayCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description = ""
    skills: Annotated[list[TargetIn], Meta(max_length=TARGETS_MAX)] = []


class PathwayPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are; ``archived: true`` archives (offered to nobody)."""

    name: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class RequiredIn(msgspec.Struct, forbid_unknown_fields=True):
    skills: Annotated[list[TargetIn], Meta(max_length=TARGETS_MAX)]


class GapSkill(msgspec.Struct):
    """``have``: the level evidence shows (0: none); ``declared``: the learner's own claim (not counted)."""

    skill_id: uuid.UUID
    name: str
    category: str
    required: Level
    have: int
    declared: int | None
    missing: int
    met: bool
    archived: bool


class GapOffer(msgspec.Struct):
    """A course or path that closes part of the gap. ``hours``: its estimated length (null: not estimated; ranked
    as half an hour); ``action``: ``continue`` (enrolled), ``enroll`` (open to the learner), ``ask`` (by assignment
    only: ask a manager), ``asked`` (a request is open)."""

    kind: Literal["course", "path"]
    id: uuid.UUID
    title: str
    hours: float | None
    levels_closed: int
    levels_per_hour: float
    action: Literal["continue", "enroll", "ask", "asked"]
    closes: list[uuid.UUID]


class GapOut(msgspec.Struct):
    pathway_id: uuid.UUID
    user_id: uuid.UUID
    percent: Annotated[int, Meta(ge=0, le=100)]
    met: bool
    skills: list[GapSkill]
    offers: list[GapOffer]


class TeamMember(msgspec.Struct):
    user_id: uuid.UUID
    name: str
    email: str
    percent: Annotated[int, Meta(ge=0, le=100)]
    skills_missing: int


class TeamSkill(msgspec.Struct):
    skill_id: uuid.UUID
    name: str
    level: int
    members_meeting: int


class TeamGapOut(msgspec.Struct):
    members: list[TeamMember]
    total: int
    page: int
    per_page: int
    skills: list[TeamSkill]


def pathway_json(p: CareerPathway, skills: int) -> PathwayOut:
    return PathwayOut(id=p.id, name=p.name, description=p.description, starter=p.code is not None,
                      archived=p.archived_at is not None, skills=skills)


async def detail_json(db_session: DbSession, p: CareerPathway) -> PathwayDetail:
    required = await pathways.requirements(db_session, p.id)
    return PathwayDetail(id=p.id, name=p.name, description=p.description, starter=p.code is not None,
                         archived=p.archived_at is not None,
                         skills=[RequiredOut(skill_id=r.skill_id, name=r.name, category=r.category, level=r.level,
                                             archived=r.archived) for r in required])


def gap_json(found: analysis.Analysis) -> GapOut:
    return GapOut(
        pathway_id=found.pathway.id, user_id=found.learner_id, percent=found.percent, met=found.met,
        skills=[GapSkill(skill_id=r.skill_id, name=r.name, category=r.category, required=r.required, have=r.have,
                         declared=r.declared, missing=r.missing, met=r.met, archived=r.archived) for r in found.rows],
        offers=[GapOffer(kind=o.kind, id=o.id, title=o.title,  # type: ignore[arg-type]
                         hours=round(o.hours, 2) if o.hours else None, levels_closed=o.closed,
                         levels_per_hour=round(o.per_hour, 3), action=o.action,  # type: ignore[arg-type]
                         closes=o.closes) for o in found.offers])


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


async def _pathway(db_session: DbSession, pathway_id: str, viewer: Any) -> CareerPathway:
    """A role the viewer may open (``pathways.get``'s rule for archived ones)."""
    try:
        return await pathways.get(db_session, pathway_id, viewer)
    except SkillError as exc:
        raise refusal(exc) from exc


class PathwaysApi(Controller):
    path = "/api/v1/pathways"
    tags = ["careers"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.pathways.list", summary="The organization's career pathways",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def index(self, request: Request, db_session: DbSession, q: FromQuery[Search] = None,
                    page: PageParam = 1, per_page: PerPage = 30) -> PathwayPage:
        admin = can(request.scope["user"], Permission.MANAGE_USERS)
        found, total = await pathways.search(db_session, q=(q or "").strip(), include_archived=admin, page=page,
                                             per_page=per_page)
        return PathwayPage(items=[pathway_json(f.pathway, f.skills) for f in found], total=total, page=page,
                           per_page=per_page)

    @post("/", name="api.pathways.create", guards=[requires_permission(Permission.MANAGE_USERS)],
          summary="Add a career pathway (admins)",
          **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
              403: ADMINS, 409: "A role of that name exists already (`field`: `name`), or a skill that is not in "
                                "use or given twice (`field`)."}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[PathwayCreate]) -> PathwayDetail:
        try:
            found = await pathways.create(db_session, _acting(request), name=data.name, description=data.description)
            if data.skills:
                await pathways.set_requirements(db_session, _acting(request), found.id,
                                                [(s.skill_id, s.level) for s in data.skills])
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await detail_json(db_session, found)

    @get("/{pathway_id:str}", name="api.pathways.show", summary="A career pathway and the skills it requires",
         **problems(*GUARDED, 404, notes={403: SUSPENDED, 404: NOT_FOUND}))
    async def show(self, request: Request, db_session: DbSession, pathway_id: FromPath[str]) -> PathwayDetail:
        return await detail_json(db_session, await _pathway(db_session, pathway_id, request.scope["user"]))

    @patch("/{pathway_id:str}", name="api.pathways.update", guards=[requires_permission(Permission.MANAGE_USERS)],
           summary="Rename, describe or archive a career pathway (admins)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: ADMINS, 404: NOT_FOUND, 409: "A role of that name exists already (`field`: `name`)."}))
    async def update(self, request: Request, db_session: DbSession, pathway_id: FromPath[str],
                     data: JSONBody[PathwayPatch]) -> PathwayDetail:
        try:
            found = await pathways.update(
                db_session, _acting(request), pathway_id, name=None if data.name is UNSET else data.name,
                description=None if data.description is UNSET else data.description,
                archived=None if data.archived is UNSET else data.archived)
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await detail_json(db_session, found)

    @put("/{pathway_id:str}/skills", name="api.pathways.skills", guards=[requires_permission(Permission.MANAGE_USERS)],
         summary="Replace the skills a career pathway requires (admins)",
         **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
             403: ADMINS, 404: NOT_FOUND,
             409: "A skill that is not in the taxonomy or is archived, or one given twice (`field`)."}))
    async def skills(self, request: Request, db_session: DbSession, pathway_id: FromPath[str],
                     data: JSONBody[RequiredIn]) -> PathwayDetail:
        try:
            found = await pathways.set_requirements(db_session, _acting(request), pathway_id,
                                                    [(s.skill_id, s.level) for s in data.skills])
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await detail_json(db_session, found)

    @get("/{pathway_id:str}/gap", name="api.pathways.gap",
         summary="A learner's gap against a career pathway, and the learning that closes it",
         **problems(*GUARDED, 404, notes={
             403: SUSPENDED, 404: f"{NOT_FOUND} Or `user_id` is nobody the caller may assign learning to."}))
    async def gap(self, request: Request, db_session: DbSession, pathway_id: FromPath[str],
                  user_id: FromQuery[uuid.UUID | None] = None) -> GapOut:
        me = request.scope["user"]
        found = await _pathway(db_session, pathway_id, me)
        learner = await analysis.learner_for(db_session, me, user_id) if user_id is not None else me
        if learner is None:
            raise refusal(PathwayError(_("No such learner here."), status=404))
        return gap_json(await analysis.analyse(db_session, found, learner))

    @get("/{pathway_id:str}/team", name="api.pathways.team", guards=[requires_permission(Permission.ASSIGN_LEARNING)],
         summary="The caller's team against a career pathway (managers, teachers, admins)",
         **problems(*GUARDED, 404, notes={403: f"Only those who assign learning. {SUSPENDED}", 404: NOT_FOUND}))
    async def team(self, request: Request, db_session: DbSession, pathway_id: FromPath[str], page: PageParam = 1,
                   per_page: PerPage = 25) -> TeamGapOut:
        found = await _pathway(db_session, pathway_id, request.scope["user"])
        team = await analysis.team_gap(db_session, request.scope["user"], found.id, page=page, per_page=per_page)
        return TeamGapOut(
            members=[TeamMember(user_id=m.user_id, name=m.name, email=m.email, percent=m.percent,
                                skills_missing=m.missing) for m in team.members],
            total=team.total, page=page, per_page=per_page,
            skills=[TeamSkill(skill_id=s.skill_id, name=s.name, level=s.level, members_meeting=s.meeting)
                    for s in team.skills])
