"""Skills pages: ``/skills``, the member's skills profile; ``/teach/courses/{id}/skills``, what a course builds;
``/admin/skills``, the organization's taxonomy.

Each skill with its level (what evidence shows) and the evidence behind it (which course, path or assessment,
which grade, when); self-declared skills shown as such, with a form to declare one (search the taxonomy, choose a
level) and to take one back. Works without JavaScript; HTMX swaps the list in place.
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
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.skills import owners, profile, targets, taxonomy
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

FOUND_MAX = 10
Search = Annotated[str | None, Parameter(max_length=taxonomy.SEARCH_MAX)]
CategoryParam = Annotated[str | None, Parameter(max_length=taxonomy.CATEGORY_MAX)]


async def _context(request: Request, session: AsyncSession, *, page: int = 1, q: str = "",
                   errors: dict[str, str] | None = None) -> dict[str, Any]:
    me = request.scope["user"]
    levels, total = await profile.profile(session, me.id, page=page)
    found: list[Any] = []
    if q:
        found, _total = await taxonomy.search(session, q=q, per_page=FOUND_MAX)
    return {"levels": levels, "paging": page_info(total, page, profile.PER_PAGE), "q": q, "found": found,
            "errors": errors or {}, "add_url": "/skills/declare",
            "level_prompt": lambda name: _("Your level in %(name)s") % {"name": name}}


class SkillPages(Controller):
    path = "/skills"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="skills.mine")
    async def mine(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1,
                   q: FromQuery[Search] = None) -> Template:
        context = await _context(request, db_session, page=page, q=(q or "").strip())
        if wants_fragment(request, "skills-found"):
            return Template("skills/_found.html", context=context)
        if wants_fragment(request, "skills-profile"):
            return Template("skills/_profile.html", context=context)
        return Template("skills/mine.html", context=context)

    @post("/declare", name="skills.declare")
    async def declare(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        level = form.get("level")
        try:
            await profile.declare(db_session, request.scope["user"], form.get("skill_id"),
                                  int(level) if level.isascii() and level.isdigit() and len(level) == 1 else None)
        except SkillError as exc:
            context = await _context(request, db_session, q=form.get("q")[:taxonomy.SEARCH_MAX],
                                     errors={"form": exc.message})  # said above the search it came from
            return Template("skills/mine.html", context=context, status_code=404 if exc.status == 404 else 422)
        return see_other("/skills?" + urlencode({"q": form.get("q")[:taxonomy.SEARCH_MAX]}), notice="saved")

    @post("/withdraw", name="skills.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            withdrawn = await profile.withdraw(db_session, request.scope["user"], form.get("skill_id"))
        except SkillError as exc:
            context = await _context(request, db_session, errors={"form": exc.message})
            return Template("skills/mine.html", context=context, status_code=404)
        return see_other("/skills", notice="saved" if withdrawn else None)


def thing_skill_pages(kind: str) -> type[Controller]:
    """``/teach/{kind}s/{id}/skills``: the skills a course, a learning path or an assessment builds and their
    levels, for whoever edits it (``owners.find``). Adding a skill (or changing its level) and removing one each
    rewrite the whole declaration (``targets``)."""

    async def owner(request: Request, session: AsyncSession, thing_id: str) -> owners.Owner:
        found = await owners.find(session, request.scope["user"], kind, thing_id, edit=True)
        if found is None:
            raise NotFoundException()
        return found

    async def page(request: Request, session: AsyncSession, found: owners.Owner, *, q: str = "",
                   errors: dict[str, str] | None = None, status: int = 200) -> Template:
        declared = await targets.targets_of(session, found.thing)
        matches: list[Any] = []
        if q:
            matches, _total = await taxonomy.search(session, q=q, per_page=FOUND_MAX)
        return Template("skills/thing.html", status_code=status, context={
            "owner": found, "declared": declared, "found": matches, "q": q, "errors": errors or {},
            "limit": targets.TARGETS_MAX, "add_url": f"{found.base}/add",
            "level_prompt": lambda name: _("Level of %(name)s") % {"name": name}})

    class ThingSkillPages(Controller):
        path = f"/teach/{kind}s/{{thing_id:str}}/skills"
        guards = [requires_user]
        include_in_schema = False

        @get("/", name=f"skills.{kind}")
        async def show(self, request: HTMXRequest, db_session: DbSession, thing_id: FromPath[str],
                       q: FromQuery[Search] = None) -> Template:
            shown = await page(request, db_session, await owner(request, db_session, thing_id), q=(q or "").strip())
            if wants_fragment(request, "skills-found"):
                shown.template_name = "skills/_found.html"
            return shown

        @post("/add", name=f"skills.{kind}.add")
        async def add(self, request: Request, db_session: DbSession, thing_id: FromPath[str]) -> Template | Redirect:
            found = await owner(request, db_session, thing_id)
            form = await Form.read(request)
            q, level = form.get("q")[:taxonomy.SEARCH_MAX], form.get("level")
            try:
                await targets.add(db_session, Acting(request.scope["user"], actor_of(request)), found.thing,
                                  parse_uuid(form.get("skill_id")),
                                  int(level) if level.isascii() and level.isdigit() and len(level) == 1 else None)
            except SkillError as exc:
                await db_session.rollback()  # the row lock and nothing else
                return await page(request, db_session, found, q=q, errors={"form": exc.message}, status=422)
            return see_other(f"{found.base}?" + urlencode({"q": q}), notice="saved")

        @post("/remove", name=f"skills.{kind}.remove")
        async def remove(self, request: Request, db_session: DbSession,
                         thing_id: FromPath[str]) -> Template | Redirect:
            found = await owner(request, db_session, thing_id)
            form = await Form.read(request)
            await targets.remove(db_session, Acting(request.scope["user"], actor_of(request)), found.thing,
                                 parse_uuid(form.get("skill_id")))
            return see_other(found.base, notice="saved")

    ThingSkillPages.__name__ = ThingSkillPages.__qualname__ = f"{kind.title()}SkillPages"
    return ThingSkillPages


CourseSkillPages = thing_skill_pages("course")
PathSkillPages = thing_skill_pages("path")
AssessmentSkillPages = thing_skill_pages("assessment")


class AdminSkillPages(Controller):
    """``/admin/skills``: the organization's taxonomy for admins: search and filter by category, add a skill,
    rename, move, describe and archive one (audited, as through the API)."""

    path = "/admin/skills"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    async def _list(self, request: Request, session: AsyncSession, *, q: str = "", category: str = "",
                    page: int = 1, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                    status: int = 200) -> Template:
        found, total = await taxonomy.search(session, q=q, category=category, include_archived=True, page=page)
        return Template("skills/admin.html", status_code=status, context={
            "skills": found, "paging": page_info(total, page, taxonomy.PER_PAGE), "q": q, "category": category,
            "categories": await taxonomy.categories(session), "form": form or {}, "errors": errors or {},
            "base_query": urlencode({"q": q, "category": category})})

    @get("/", name="skills.admin")
    async def index(self, request: HTMXRequest, db_session: DbSession, q: FromQuery[Search] = None,
                    category: FromQuery[CategoryParam] = None, page: PageParam = 1) -> Template:
        listing = await self._list(request, db_session, q=(q or "").strip(), category=category or "", page=page)
        if wants_fragment(request, "admin-skills"):
            listing.template_name = "skills/_admin_list.html"
        return listing

    @post("/", name="skills.admin.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("name", "category", "description")}
        try:
            await taxonomy.create(db_session, Acting(request.scope["user"], actor_of(request)), **values)
        except SkillError as exc:
            await db_session.rollback()  # nothing of it stays
            return await self._list(request, db_session, form=values, errors={exc.field or "form": exc.message},
                                    status=409 if exc.status == 409 else 422)
        return see_other("/admin/skills?" + urlencode({"q": values["name"].strip()[:taxonomy.SEARCH_MAX]}),
                         notice="saved")

    @get("/{skill_id:str}", name="skills.admin.edit")
    async def edit(self, request: Request, db_session: DbSession, skill_id: FromPath[str]) -> Template:
        try:
            skill = await taxonomy.get(db_session, skill_id)
        except SkillError as exc:
            raise NotFoundException() from exc
        return Template("skills/admin_edit.html", context={"skill": skill, "form": {}, "errors": {},
                                                           "categories": await taxonomy.categories(db_session)})

    @post("/{skill_id:str}", name="skills.admin.update")
    async def update(self, request: Request, db_session: DbSession, skill_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("name", "category", "description")}
        try:
            skill = await taxonomy.update(db_session, Acting(request.scope["user"], actor_of(request)), skill_id,
                                          archived=form.get("archived") == "on", **values)
        except SkillError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            await db_session.rollback()
            current = await taxonomy.get(db_session, skill_id)
            return Template("skills/admin_edit.html", status_code=409 if exc.status == 409 else 422, context={
                "skill": current, "form": values, "errors": {exc.field or "form": exc.message},
                "categories": await taxonomy.categories(db_session)})
        return see_other(f"/admin/skills/{skill.id}", notice="saved")
