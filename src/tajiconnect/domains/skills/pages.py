"""Skills pages: ``/skills``, the member's skills profile.

Each skill with its level (what evidence shows) and the evidence behind it (which course, path or assessment,
which grade, when); self-declared skills shown as such, with a form to declare one (search the taxonomy, choose a
level) and to take one back. Works without JavaScript; HTMX swaps the list in place.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.skills import profile, taxonomy
from tajiconnect.domains.skills.taxonomy import SkillError
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

FOUND_MAX = 10
Search = Annotated[str | None, Parameter(max_length=taxonomy.SEARCH_MAX)]


async def _context(request: Request, session: AsyncSession, *, page: int = 1, q: str = "",
                   errors: dict[str, str] | None = None) -> dict[str, Any]:
    me = request.scope["user"]
    levels, total = await profile.profile(session, me.id, page=page)
    found: list[Any] = []
    if q:
        found, _total = await taxonomy.search(session, q=q, per_page=FOUND_MAX)
    return {"levels": levels, "paging": page_info(total, page, profile.PER_PAGE), "q": q, "found": found,
            "errors": errors or {}}


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
        return see_other("/skills", notice="saved")

    @post("/withdraw", name="skills.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await profile.withdraw(db_session, request.scope["user"], form.get("skill_id"))
        except SkillError as exc:
            context = await _context(request, db_session, errors={"form": exc.message})
            return Template("skills/mine.html", context=context, status_code=404)
        return see_other("/skills", notice="saved")
