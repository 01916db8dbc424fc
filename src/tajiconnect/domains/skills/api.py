"""The skills API (bearer token):

* ``GET /api/v1/skills?q=&category=&page=&per_page=``: the organization's taxonomy (the starter set loaded on first
  read); ``POST`` adds a skill, ``PATCH /api/v1/skills/{id}`` renames, moves or archives one (admins; audited).
* ``GET /api/v1/skills/me``: the caller's skills profile, each skill with its level and evidence (paginated);
  ``PUT /api/v1/skills/me/{skill_id}`` ``{"level": 1-5}`` declares a skill (self-declared, shown as such),
  ``DELETE`` takes the declaration back (204).
* ``GET /api/v1/courses/{id}/skills``, ``/api/v1/paths/{id}/skills``, ``/api/v1/assessments/{id}/skills``: the
  skills a course, a learning path or an assessment builds (anyone who may open it); ``PUT`` replaces them (whoever
  edits it: ``owners.find``): ``{"skills": [{"skill_id", "level"}]}``.

A request that does not validate is a 400; a valid value the service refuses a 409 naming its ``field``.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, can, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.skills import owners, profile, targets, taxonomy
from tajiconnect.domains.skills.models import Skill
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Search = Annotated[str | None, Parameter(max_length=taxonomy.SEARCH_MAX,
                                         description="Part of a skill's or category's name.")]
CategoryParam = Annotated[str | None, Parameter(max_length=taxonomy.CATEGORY_MAX, description="One category, exactly.")]
Name = Annotated[str, Meta(min_length=1, max_length=taxonomy.NAME_MAX, pattern=NOT_BLANK)]
Category = Annotated[str, Meta(min_length=1, max_length=taxonomy.CATEGORY_MAX, pattern=NOT_BLANK)]
Description = Annotated[str, Meta(max_length=taxonomy.DESCRIPTION_MAX)]
Level = Annotated[int, Meta(ge=1, le=5, description="1 basic awareness ... 3 works independently ... 5 expert.")]
NOT_FOUND = "No such skill here (another organization's ids never are)."
ADMINS = f"Only admins change the taxonomy. {SUSPENDED}"


class SkillOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    category: str
    description: str
    starter: bool
    archived: bool


class SkillPage(msgspec.Struct):
    items: list[SkillOut]
    total: int
    page: int
    per_page: int


class SkillCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    category: Category
    description: Description = ""


class SkillPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are; ``archived: true`` archives (no new evidence, offered to nobody)."""

    name: Name | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class EvidenceOut(msgspec.Struct):
    source: Literal["course", "assessment", "path"]
    level: int
    title: str
    grade_percent: Decimal | None
    at: Timestamp
    course_id: uuid.UUID | None
    path_id: uuid.UUID | None


class ProfileSkill(msgspec.Struct):
    """``level``: the highest level evidence shows (null: only declared); ``declared``: the caller's own claim."""

    skill_id: uuid.UUID
    name: str
    category: str
    level: int | None
    declared: int | None
    evidence: list[EvidenceOut]


class ProfilePage(msgspec.Struct):
    items: list[ProfileSkill]
    total: int
    page: int
    per_page: int


class Declaration(msgspec.Struct, forbid_unknown_fields=True):
    level: Level


class TargetIn(msgspec.Struct, forbid_unknown_fields=True):
    skill_id: uuid.UUID
    level: Level


class TargetsIn(msgspec.Struct, forbid_unknown_fields=True):
    skills: Annotated[list[TargetIn], Meta(max_length=targets.TARGETS_MAX)]


class TargetOut(msgspec.Struct):
    skill_id: uuid.UUID
    name: str
    category: str
    level: int


class TargetsOut(msgspec.Struct):
    items: list[TargetOut]


def skill_json(skill: Skill) -> SkillOut:
    return SkillOut(id=skill.id, name=skill.name, category=skill.category, description=skill.description,
                    starter=skill.code is not None, archived=skill.archived_at is not None)


def profile_json(s: profile.SkillLevel) -> ProfileSkill:
    return ProfileSkill(
        skill_id=s.skill_id, name=s.name, category=s.category, level=s.level, declared=s.declared,
        evidence=[EvidenceOut(source=e.source, level=e.level, title=e.title,  # type: ignore[arg-type]
                              grade_percent=e.grade_percent, at=_iso(e.at), course_id=e.course_id,
                              path_id=e.path_id) for e in s.evidence])


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


class SkillsApi(Controller):
    path = "/api/v1/skills"
    tags = ["skills"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.skills.list", summary="The organization's skills taxonomy",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def index(self, request: Request, db_session: DbSession, q: FromQuery[Search] = None,
                    category: FromQuery[CategoryParam] = None, page: PageParam = 1,
                    per_page: PerPage = 50) -> SkillPage:
        admin = can(request.scope["user"], Permission.MANAGE_USERS)
        found, total = await taxonomy.search(db_session, q=(q or "").strip(), category=category or "",
                                             include_archived=admin, page=page, per_page=per_page)
        return SkillPage(items=[skill_json(s) for s in found], total=total, page=page, per_page=per_page)

    @post("/", name="api.skills.create", guards=[requires_permission(Permission.MANAGE_USERS)],
          summary="Add a skill (admins)",
          **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
              403: ADMINS, 409: "A skill of that name exists already (`field`: `name`)."}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[SkillCreate]) -> SkillOut:
        try:
            skill = await taxonomy.create(db_session, _acting(request), name=data.name, category=data.category,
                                          description=data.description)
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        return skill_json(skill)

    @patch("/{skill_id:str}", name="api.skills.update", guards=[requires_permission(Permission.MANAGE_USERS)],
           summary="Rename, move or archive a skill (admins)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: ADMINS, 404: NOT_FOUND, 409: "A skill of that name exists already (`field`: `name`)."}))
    async def update(self, request: Request, db_session: DbSession, skill_id: FromPath[str],
                     data: JSONBody[SkillPatch]) -> SkillOut:
        try:
            skill = await taxonomy.update(
                db_session, _acting(request), skill_id,
                name=None if data.name is UNSET else data.name,
                category=None if data.category is UNSET else data.category,
                description=None if data.description is UNSET else data.description,
                archived=None if data.archived is UNSET else data.archived)
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        return skill_json(skill)

    @get("/me", name="api.skills.me", summary="My skills profile: levels and evidence, and what I declared",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def me(self, request: Request, db_session: DbSession, page: PageParam = 1,
                 per_page: PerPage = 30) -> ProfilePage:
        levels, total = await profile.profile(db_session, request.scope["user"].id, page=page, per_page=per_page)
        return ProfilePage(items=[profile_json(s) for s in levels], total=total, page=page, per_page=per_page)

    @put("/me/{skill_id:str}", name="api.skills.declare", summary="Declare a skill of mine (shown as self-declared)",
         **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
             403: SUSPENDED, 404: NOT_FOUND, 409: "The skill is archived (`field`: `skill_id`)."}))
    async def declare(self, request: Request, db_session: DbSession, skill_id: FromPath[str],
                      data: JSONBody[Declaration]) -> ProfileSkill:
        try:
            row = await profile.declare(db_session, request.scope["user"], skill_id, data.level)
        except SkillError as exc:
            raise refusal(exc, refused_value=True) from exc
        [level], _total = await profile.profile(db_session, request.scope["user"].id, skill_id=row.skill_id)
        return profile_json(level)

    @delete("/me/{skill_id:str}", name="api.skills.withdraw", status_code=HTTP_204_NO_CONTENT,
            summary="Take back a skill I declared",
            **problems(*GUARDED, 404, idempotent=True, notes={
                403: SUSPENDED, 404: f"{NOT_FOUND} Or not declared by the caller."}))
    async def withdraw(self, request: Request, db_session: DbSession, skill_id: FromPath[str]) -> None:
        try:
            found = await profile.withdraw(db_session, request.scope["user"], skill_id)
        except SkillError as exc:
            raise refusal(exc) from exc
        if not found:
            raise refusal(SkillError(_("You have not declared this skill."), status=404))


THINGS = {"course": ("courses", "a course"), "path": ("paths", "a learning path"),
          "assessment": ("assessments", "an assessment")}


def thing_skills_api(kind: str) -> type[Controller]:
    """``/api/v1/{courses|paths|assessments}/{id}/skills``: GET (whoever may open it), PUT (whoever edits it)."""
    plural, named = THINGS[kind]

    async def owner(request: Request, db_session: DbSession, thing_id: str, *, edit: bool) -> owners.Owner:
        found = await owners.find(db_session, request.scope["user"], kind, thing_id, edit=edit)
        if found is None:
            message = {"course": _("No such course here."), "path": _("No such learning path here."),
                       "assessment": _("No such assessment here.")}[kind]
            raise refusal(SkillError(message, status=404))
        return found

    def listing(found: list[targets.Declared]) -> TargetsOut:
        return TargetsOut(items=[TargetOut(skill_id=d.skill_id, name=d.name, category=d.category, level=d.level)
                                 for d in found])

    class ThingSkillsApi(Controller):
        path = f"/api/v1/{plural}/{{thing_id:str}}/skills"
        tags = ["skills"]
        guards = [requires_user]
        security = REQUIRES_BEARER

        @get("/", name=f"api.{kind}_skills.list", summary=f"The skills {named} builds, and to which level",
             **problems(*GUARDED, 404, notes={
                 403: SUSPENDED, 404: f"No such {kind} here, or not one the caller may open."}))
        async def index(self, request: Request, db_session: DbSession, thing_id: FromPath[str]) -> TargetsOut:
            found = await owner(request, db_session, thing_id, edit=False)
            return listing(await targets.targets_of(db_session, found.thing))

        @put("/", name=f"api.{kind}_skills.set", summary=f"Replace the skills {named} builds (whoever edits it)",
             **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
                 403: SUSPENDED, 404: f"No such {kind} here, or not one the caller edits.",
                 409: "A skill that is not in the taxonomy or is archived, or one given twice (`field`)."}))
        async def replace(self, request: Request, db_session: DbSession, thing_id: FromPath[str],
                          data: JSONBody[TargetsIn]) -> TargetsOut:
            found = await owner(request, db_session, thing_id, edit=True)
            try:
                declared = await targets.set_targets(db_session, _acting(request), found.thing,
                                                     [(t.skill_id, t.level) for t in data.skills])
            except SkillError as exc:
                raise refusal(exc, refused_value=True) from exc
            return listing(declared)

    ThingSkillsApi.__name__ = ThingSkillsApi.__qualname__ = f"{kind.title()}SkillsApi"
    return ThingSkillsApi


CourseSkillsApi = thing_skills_api("course")
PathSkillsApi = thing_skills_api("path")
AssessmentSkillsApi = thing_skills_api("assessment")
