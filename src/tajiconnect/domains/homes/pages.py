"""The homes' pages: ``/`` renders them for teachers and managers (``web/pages.py::home``); ``/home/teaching`` and
``/home/team`` reach them directly (a member with both roles lands on the teacher's home and opens the other from
it); the nudge, the overdue CSV, and the organization's at-risk setting (``/admin/at-risk``)."""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.discussions import service as discussions
from tajiconnect.domains.homes import manager, risk, teacher
from tajiconnect.domains.homes.risk import check_days
from tajiconnect.domains.live import service as live
from tajiconnect.domains.live.pages import local_time as live_local_time
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.forms import Form, safe_next, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

VARY = "HX-Request, HX-Target"


def _roles(user: Any) -> set[str]:
    return set(user.roles or ()) if user is not None and user.is_active else set()


def is_teacher(user: Any) -> bool:
    return "teacher" in _roles(user)


def is_manager(user: Any) -> bool:
    return "manager" in _roles(user)


def _fragment(request: Request, target: str) -> bool:
    return isinstance(request, HTMXRequest) and wants_fragment(request, target)


#: How many open questions and upcoming live classes the teacher's home lists (each links to the full list).
TEACHER_QUESTIONS = 5
TEACHER_LIVE = 5


async def teacher_page(request: Request, session: Any, page: int = 1) -> Template:
    """The teacher's home (or only its at-risk list, for HTMX paging)."""
    user = request.scope["user"]
    context = await teacher.load(session, user, page=page)
    context["paging"] = page_info(context["at_risk_total"], page, teacher.AT_RISK_PER_PAGE)
    context["also_manager"] = is_manager(user)
    if _fragment(request, "teacher-at-risk"):
        return Template("homes/_at_risk.html", context=context, headers={"vary": VARY})
    # The latest open questions in my courses, and my next live classes (discussions/, live/).
    context["questions"] = await discussions.recent_questions(session, user, limit=TEACHER_QUESTIONS)
    context["live"], context["live_total"] = await live.list_for(session, user, when="upcoming",
                                                                 per_page=TEACHER_LIVE)
    context["local_time"] = lambda moment: live_local_time(moment, user)
    return Template("homes/teacher.html", context=context, headers={"vary": VARY})


async def manager_page(request: Request, session: Any, page: int = 1, *, error: str | None = None,
                       status_code: int = 200, here: str | None = None) -> Template:
    """The manager's home (or only its overdue list, for HTMX paging)."""
    user = request.scope["user"]
    context = await manager.load(session, user, page=page)
    context.update(paging=page_info(context["overdue_total"], page, manager.OVERDUE_PER_PAGE), error=error,
                   nudged=request.query_params.get("nudged") == "1", here=here or request.scope["path"],
                   also_teacher=is_teacher(user))
    template = "homes/_overdue.html" if _fragment(request, "team-overdue") else "homes/manager.html"
    if template == "homes/manager.html":
        from tajiconnect.domains.enrollments.requests import count_open

        context["open_requests"] = await count_open(session, user)
    return Template(template, context=context, headers={"vary": VARY}, status_code=status_code)


def _require(request: Request, allowed: bool) -> None:
    if not allowed:
        raise PermissionDeniedException(detail=_("This page is not part of your role."))


class HomePages(Controller):
    path = "/home"
    guards = [requires_user]
    include_in_schema = False

    @get("/teaching", name="homes.teacher")
    async def teaching(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        _require(request, is_teacher(request.scope["user"]))
        return await teacher_page(request, db_session, page)

    @get("/team", name="homes.manager")
    async def team(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        _require(request, is_manager(request.scope["user"]))
        return await manager_page(request, db_session, page)

    @post("/team/nudge", name="homes.nudge")
    async def nudge(self, request: HTMXRequest, db_session: DbSession) -> Template | Redirect:
        user = request.scope["user"]
        _require(request, is_manager(user))
        form = await Form.read(request)
        back = safe_next(form.get("next"), "/home/team")
        back = back if back in ("/", "/home/team") else "/home/team"
        try:
            await manager.nudge(db_session, Acting(user, actor_of(request)), form.get("kind"), form.get("enrollment"))
        except manager.NudgeError as exc:
            return await manager_page(request, db_session, error=str(exc), status_code=exc.status, here=back)
        return Redirect(f"{back}?nudged=1", status_code=303)

    @get("/team/overdue.csv", name="homes.overdue_csv")
    async def overdue_csv(self, request: Request, db_session: DbSession) -> Stream:
        user = request.scope["user"]
        _require(request, is_manager(user))
        name = f"overdue-{datetime.date.today().isoformat()}.csv"
        return Stream(
            manager.csv_chunks(request.app.state.engine, require_tenant().schema, user),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
        )


class AtRiskSettingsPages(Controller):
    """The organization's "no activity for N days" (admins), audited as ``org.at_risk.updated``."""

    path = "/admin/at-risk"
    guards = [requires_permission(Permission.MANAGE_SECURITY)]
    include_in_schema = False

    @get("/", name="admin.at_risk")
    async def page(self, db_session: DbSession, notice: FromQuery[str | None] = None) -> Template:
        return Template("homes/settings.html", context={
            "days": await teacher.inactive_days(db_session), "notice": notice, "errors": {},
            "low": risk.MIN_INACTIVE_DAYS, "high": risk.MAX_INACTIVE_DAYS})

    @post("/", name="admin.at_risk.save")
    async def save(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            days = check_days(form.get("days"))
        except ValueError:
            return Template("homes/settings.html", status_code=422, context={
                "days": form.get("days")[:10], "low": risk.MIN_INACTIVE_DAYS, "high": risk.MAX_INACTIVE_DAYS,
                "errors": {"days": _("Enter a whole number of days from %(low)d to %(high)d.")
                           % {"low": risk.MIN_INACTIVE_DAYS, "high": risk.MAX_INACTIVE_DAYS}}})
        before = await teacher.set_inactive_days(db_session, days)
        await record(db_session, actor_of(request), "org.at_risk.updated", before=before, days=days)
        return see_other("/admin/at-risk", notice="saved")
