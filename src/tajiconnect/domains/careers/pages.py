"""Career pathway pages.

* ``/career``: the learner's career home (``home.py``).
* ``/career/pathways``: the organization's roles, each with how much of it the member has.
* ``/career/pathways/{id}``: the member's gap against a role (``?user_id=``: a learner the viewer may assign learning
  to): each required skill met or missing and by how much, the courses and paths that close it ranked by levels
  closed per hour, with one click to enroll (open to the learner) or to ask a manager (by assignment only).
* ``/career/pathways/{id}/team``: the viewer's team against the role (those who may assign learning).
* ``/team/requests``: the open requests to take learning that the viewer may decide; approve or decline.
* ``/admin/pathways``: the organization's roles for admins: add, edit, archive, set the skills required.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, can, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.careers import analysis, pathways
from tajiconnect.domains.careers.models import CareerPathway
from tajiconnect.domains.catalog.pages import refuse
from tajiconnect.domains.enrollments import requests
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.enrollments.service import EnrollmentError, EnrollmentNotFound
from tajiconnect.domains.skills import taxonomy
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

Search = Annotated[str | None, Parameter(max_length=pathways.SEARCH_MAX)]
SkillSearch = Annotated[str | None, Parameter(max_length=taxonomy.SEARCH_MAX)]
Notice = Annotated[str | None, Parameter(max_length=40)]
FOUND_MAX = 10


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


async def _pathway(request: Request, session: AsyncSession, pathway_id: str) -> CareerPathway:
    """A role the viewer may open (``pathways.get``'s rule for archived ones), else "not found"."""
    try:
        return await pathways.get(session, pathway_id, request.scope["user"])
    except SkillError as exc:
        raise NotFoundException() from exc


def _level(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) == 1 else None


async def _insights(session: AsyncSession, pathway: CareerPathway, result: analysis.Analysis) -> dict[str, Any] | None:
    """What the job board says about the role, when the organization's board is open: how many offered jobs ask for
    each of its skills, and salary ranges of jobs named like it."""
    from sqlalchemy import select

    from tajiconnect.domains.jobs import board, matching
    from tajiconnect.domains.skills.models import Skill

    if not await board.allowed(session):
        return None
    keys = {sid: matching.key_of(code, name) for sid, code, name in (await session.execute(
        select(Skill.id, Skill.code, Skill.name).where(Skill.id.in_([r.skill_id for r in result.rows])))).all()}
    demand = await board.demand(session, list(keys.values()))
    return {"demand": {sid: demand.get(key, 0) for sid, key in keys.items()},
            "salaries": await board.salaries(session, pathway.name)}


class CareerHomePage(Controller):
    path = "/career"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="careers.home")
    async def home(self, request: Request, db_session: DbSession) -> Template:
        from tajiconnect.domains.careers import home

        return Template("careers/home.html", context={"home": await home.load(db_session, request.scope["user"])})


class PathwayPages(Controller):
    path = "/career/pathways"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="careers.pathways")
    async def index(self, request: HTMXRequest, db_session: DbSession, q: FromQuery[Search] = None,
                    page: PageParam = 1) -> Template:
        me = request.scope["user"]
        query = (q or "").strip()
        found, total = await pathways.search(db_session, q=query, page=page)
        shares = await analysis.matches(db_session, me.id, [f.pathway.id for f in found])
        context = {"pathways": found, "shares": shares, "q": query, "paging": page_info(total, page, pathways.PER_PAGE),
                   "base_query": urlencode({"q": query}), "may_assign": can(me, Permission.ASSIGN_LEARNING)}
        if wants_fragment(request, "pathway-list"):
            return Template("careers/_pathway_list.html", context=context)
        return Template("careers/pathways.html", context=context)

    async def _gap_page(self, request: Request, session: AsyncSession, pathway_id: str, user_id: str | None = None,
                        *, notice: str | None = None, errors: dict[str, str] | None = None,
                        status: int = 200) -> Template:
        me = request.scope["user"]
        found = await _pathway(request, session, pathway_id)
        learner = await analysis.learner_for(session, me, user_id) if user_id else me
        if learner is None:
            raise NotFoundException()
        result = await analysis.analyse(session, found, learner)
        return Template("careers/gap.html", status_code=status, context={
            "pathway": found, "gap": result, "learner": learner, "own": learner is me, "notice": notice,
            "errors": errors or {}, "may_assign": can(me, Permission.ASSIGN_LEARNING),
            "board": await _insights(session, found, result)})

    @get("/{pathway_id:str}", name="careers.gap")
    async def gap(self, request: Request, db_session: DbSession, pathway_id: FromPath[str],
                  user_id: FromQuery[Annotated[str | None, Parameter(max_length=36)]] = None,
                  notice: FromQuery[Notice] = None) -> Template:
        return await self._gap_page(request, db_session, pathway_id, user_id, notice=notice)

    @post("/{pathway_id:str}/enroll", name="careers.enroll")
    async def enroll(self, request: Request, db_session: DbSession, pathway_id: FromPath[str]) -> Template | Redirect:
        found = await _pathway(request, db_session, pathway_id)
        form = await Form.read(request)
        kind, thing = form.get("kind"), form.get("id")
        try:
            if kind == "course":
                await enrollments.enroll_self(db_session, _acting(request), thing)
            elif kind == "path":
                from tajiconnect.domains.paths import service as paths

                await paths.enroll_self(db_session, _acting(request), thing)
            else:
                raise EnrollmentNotFound(_("No such course or learning path."))
        except EnrollmentError as exc:  # refused before anything was written
            return await self._gap_page(request, db_session, str(found.id), errors={"offers": str(exc)},
                                        status=404 if exc.status == 404 else 409)
        return see_other(f"/career/pathways/{found.id}", notice="enrolled_here")

    @post("/{pathway_id:str}/ask", name="careers.ask")
    async def ask(self, request: Request, db_session: DbSession, pathway_id: FromPath[str]) -> Template | Redirect:
        found = await _pathway(request, db_session, pathway_id)
        form = await Form.read(request)
        try:
            await requests.ask(db_session, _acting(request), form.get("kind"), form.get("id"), pathway_id=found.id,
                               note=form.get("note"))
        except EnrollmentError as exc:  # refused before anything was written
            return await self._gap_page(request, db_session, str(found.id), errors={"offers": str(exc)},
                                        status=404 if exc.status == 404 else 409)
        return see_other(f"/career/pathways/{found.id}", notice="asked")

    @get("/{pathway_id:str}/team", name="careers.team", guards=[requires_permission(Permission.ASSIGN_LEARNING)])
    async def team(self, request: HTMXRequest, db_session: DbSession, pathway_id: FromPath[str],
                   page: PageParam = 1) -> Template:
        found = await _pathway(request, db_session, pathway_id)
        team = await analysis.team_gap(db_session, request.scope["user"], found.id, page=page)
        context = {"pathway": found, "team": team, "paging": page_info(team.total, page, analysis.TEAM_PER_PAGE),
                   "base_query": ""}
        if wants_fragment(request, "team-members"):
            return Template("careers/_team_members.html", context=context)
        return Template("careers/team.html", context=context)


class RequestPages(Controller):
    """``/team/requests``: requests to take learning, for those who decide them."""

    path = "/team/requests"
    guards = [requires_permission(Permission.ASSIGN_LEARNING)]
    include_in_schema = False

    async def _page(self, request: Request, session: AsyncSession, *, page: int = 1, notice: str | None = None,
                    errors: dict[str, str] | None = None, status: int = 200) -> Template:
        found, total = await requests.open_requests(session, request.scope["user"], page=page)
        return Template("careers/requests.html", status_code=status, context={
            "requests": found, "paging": page_info(total, page, requests.PER_PAGE), "base_query": "",
            "notice": notice, "errors": errors or {}})

    @get("/", name="requests.index")
    async def index(self, request: Request, db_session: DbSession, page: PageParam = 1,
                    notice: FromQuery[Notice] = None) -> Template:
        return await self._page(request, db_session, page=page, notice=notice)

    @post("/{request_id:str}", name="requests.decide")
    async def decide(self, request: Request, db_session: DbSession, request_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        decision = form.get("decision")
        if decision not in ("approve", "decline"):
            return await self._page(request, db_session, errors={"form": _("Choose approve or decline.")},
                                    status=422)
        try:
            await requests.decide(db_session, _acting(request), request_id, approve=decision == "approve",
                                  reason=form.get("reason"))
        except EnrollmentError as exc:
            refuse(exc)  # "not found" and "forbidden" are pages of their own, as in the catalog
            return await self._page(request, db_session, errors={"form": str(exc)}, status=409)
        return see_other("/team/requests", notice="request_" + ("approved" if decision == "approve" else "declined"))


class AdminPathwayPages(Controller):
    """``/admin/pathways``: add, edit and archive the organization's roles and the skills they require."""

    path = "/admin/pathways"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    async def _list(self, request: Request, session: AsyncSession, *, q: str = "", page: int = 1,
                    form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                    status: int = 200) -> Template:
        found, total = await pathways.search(session, q=q, include_archived=True, page=page)
        return Template("careers/admin.html", status_code=status, context={
            "pathways": found, "paging": page_info(total, page, pathways.PER_PAGE), "q": q,
            "base_query": urlencode({"q": q}), "form": form or {}, "errors": errors or {}})

    @get("/", name="careers.admin")
    async def index(self, request: HTMXRequest, db_session: DbSession, q: FromQuery[Search] = None,
                    page: PageParam = 1) -> Template:
        listing = await self._list(request, db_session, q=(q or "").strip(), page=page)
        if wants_fragment(request, "admin-pathways"):
            listing.template_name = "careers/_admin_list.html"
        return listing

    @post("/", name="careers.admin.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("name", "description")}
        try:
            found = await pathways.create(db_session, _acting(request), **values)
        except SkillError as exc:
            await db_session.rollback()
            return await self._list(request, db_session, form=values, errors={exc.field or "form": exc.message},
                                    status=409 if exc.status == 409 else 422)
        return see_other(f"/admin/pathways/{found.id}", notice="saved")

    async def _edit(self, request: Request, session: AsyncSession, pathway_id: str, *, q: str = "",
                    form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                    notice: str | None = None, status: int = 200) -> Template:
        found = await _pathway(request, session, pathway_id)
        matches: list[Any] = []
        if q:
            matches, _total = await taxonomy.search(session, q=q, per_page=FOUND_MAX)
        return Template("careers/admin_edit.html", status_code=status, context={
            "pathway": found, "required": await pathways.requirements(session, found.id), "form": form or {},
            "errors": errors or {}, "q": q, "found": matches, "notice": notice,
            "add_url": f"/admin/pathways/{found.id}/require", "limit": pathways.REQUIRED_MAX,
            "level_prompt": lambda name: _("Level of %(name)s") % {"name": name}})

    @get("/{pathway_id:str}", name="careers.admin.edit")
    async def edit(self, request: HTMXRequest, db_session: DbSession, pathway_id: FromPath[str],
                   q: FromQuery[SkillSearch] = None, notice: FromQuery[Notice] = None) -> Template:
        page = await self._edit(request, db_session, pathway_id, q=(q or "").strip(), notice=notice)
        if wants_fragment(request, "skills-found"):
            page.template_name = "skills/_found.html"
        return page

    @post("/{pathway_id:str}", name="careers.admin.update")
    async def update(self, request: Request, db_session: DbSession, pathway_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("name", "description")}
        try:
            found = await pathways.update(db_session, _acting(request), pathway_id,
                                          archived=form.get("archived") == "on", **values)
        except SkillError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            await db_session.rollback()
            return await self._edit(request, db_session, pathway_id, form=values,
                                    errors={exc.field or "form": exc.message},
                                    status=409 if exc.status == 409 else 422)
        return see_other(f"/admin/pathways/{found.id}", notice="saved")

    @post("/{pathway_id:str}/require", name="careers.admin.require")
    async def require(self, request: Request, db_session: DbSession, pathway_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        q = form.get("q")[:taxonomy.SEARCH_MAX]
        try:
            await pathways.require(db_session, _acting(request), pathway_id, parse_uuid(form.get("skill_id")),
                                   _level(form.get("level")))
        except SkillError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            await db_session.rollback()
            return await self._edit(request, db_session, pathway_id, q=q, errors={"skills": exc.message},
                                    status=422)
        return see_other(f"/admin/pathways/{parse_uuid(pathway_id)}?" + urlencode({"q": q}), notice="saved")

    @post("/{pathway_id:str}/unrequire", name="careers.admin.unrequire")
    async def unrequire(self, request: Request, db_session: DbSession,
                        pathway_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await pathways.unrequire(db_session, _acting(request), pathway_id, parse_uuid(form.get("skill_id")))
        except SkillError as exc:
            raise NotFoundException() from exc
        return see_other(f"/admin/pathways/{parse_uuid(pathway_id)}", notice="saved")


