"""Report pages: ``/reports`` (my reports, paginated; ``POST`` asks for a gradebook export from its page),
``/reports/new`` (the request form: kind, format, filters, once or on a schedule), ``/reports/{report_id}`` (its
progress, refreshed by HTMX every 2 s while it is queued or running, then the download link or the error),
``/reports/{report_id}/progress`` (that part alone), ``/reports/{report_id}/download`` (to the file's signed URL),
and ``/reports/schedules`` (my schedules, paginated: pause, resume, delete).

A report or schedule is seen by its owner only: anyone else's id, another organization's included, is a 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.courses.access import staff_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.reports import kinds, schedules, service
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.reports.service import ReportError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

CHOICES_MAX = 500
FILTERS = ("group_id", "course_id", "path_id", "date_from", "date_to")


async def download_url(request: Request, db_session: AsyncSession, report: Report) -> str | None:
    """The signed URL of a done report's file, or None."""
    if report.status != "done" or report.file_id is None:
        return None
    file = await db_session.get(StoredFile, report.file_id)
    if file is None or file.status != "ready":
        return None
    return str(request.app.state.storage.url(file, download=True))


async def _context(request: Request, db_session: AsyncSession, report_id: str) -> dict[str, Any]:
    try:
        report = await service.get_report(db_session, request.scope["user"], report_id)
    except ReportError as exc:
        raise NotFoundException(detail=str(exc)) from exc
    return {"report": report, "percent": service.percent(report),
            "download": await download_url(request, db_session, report),
            "in_progress": report.status in service.IN_PROGRESS}


async def _choices(session: AsyncSession, user: Any) -> dict[str, Any]:
    """What the request form offers: the kinds, groups, courses and paths the user may report on."""
    allowed = kinds.kinds_for(user)
    if not allowed:
        raise NotFoundException()
    courses = select(Course.id, Course.title).order_by(Course.title).limit(CHOICES_MAX)
    paths = select(LearningPath.id, LearningPath.title).order_by(LearningPath.title).limit(CHOICES_MAX)
    if not kinds.is_admin(user):
        courses = courses.where(staff_filter(user))
        paths = paths.where(LearningPath.owner_id == user.id)
    return {
        "kinds": [(k, _(kinds.KIND_LABELS[k])) for k in allowed],
        "groups": [(n.group.id, n.group.name, n.group.depth) for n in await groups.visible_groups(session, user)]
        if groups.may_use_groups(user) else [],
        "courses": (await session.execute(courses)).all(),
        "paths": (await session.execute(paths)).all(),
        "weekdays": [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"),
                     _("Sunday")],
        "max_days": kinds.MAX_DAYS,
    }


class ReportPages(Controller):
    path = "/reports"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="reports.list")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        user = request.scope["user"]
        reports, total = await service.my_reports(db_session, user, page=page)
        context = {"reports": reports, "paging": page_info(total, page, service.PER_PAGE),
                   "percent": service.percent, "may_request": bool(kinds.kinds_for(user))}
        fragment = wants_fragment(request, "reports-list")
        return Template("reports/_list.html" if fragment else "reports/index.html", context=context)

    @post("/", name="reports.request")
    async def request_report(self, request: Request, db_session: DbSession) -> Redirect:
        """The gradebook's "prepare the export in the background" button."""
        form = await Form.read(request)
        if form.get("kind") != "gradebook":
            raise NotFoundException()
        try:
            report: Report = await service.request_gradebook(
                db_session, Acting(request.scope["user"], actor_of(request)), form.get("course_id"),
                group_id=form.get("group") or None)
        except ReportError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return see_other(f"/reports/{report.id}")

    @get("/new", name="reports.new")
    async def new(self, request: Request, db_session: DbSession) -> Template:
        choices = await _choices(db_session, request.scope["user"])
        form = {"kind": request.query_params.get("kind") or choices["kinds"][0][0], "format": "csv",
                "repeat": "once"}
        return Template("reports/new.html", context={"form": form, "errors": {}, **choices})

    @post("/new", name="reports.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = request.scope["user"]
        choices = await _choices(db_session, user)
        form = await Form.read(request)
        acting = Acting(user, actor_of(request))
        params = {k: form.get(k) for k in FILTERS if form.get(k)}
        repeat = form.get("repeat") or "once"
        try:
            if repeat == "once":
                report = await service.request_report(db_session, acting, form.get("kind"), form.get("format"),
                                                      params)
                return see_other(f"/reports/{report.id}")
            await schedules.create_schedule(
                db_session, acting, kind=form.get("kind"), fmt=form.get("format"), params=params,
                frequency=repeat, weekday=form.get("weekday"), day_of_month=form.get("day_of_month"))
            return see_other("/reports/schedules")
        except ReportError as exc:
            form.error(exc.field or "kind", str(exc))
        return render_form("reports/new.html", form, **choices)

    @get("/schedules", name="reports.schedules")
    async def schedule_list(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        items, total = await schedules.my_schedules(db_session, request.scope["user"], page=page)
        context = {"schedules": items, "paging": page_info(total, page, schedules.PER_PAGE),
                   "weekdays": [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
                                _("Saturday"), _("Sunday")]}
        fragment = wants_fragment(request, "schedules-list")
        return Template("reports/_schedules.html" if fragment else "reports/schedules.html", context=context)

    @post("/schedules/{schedule_id:str}/{action:str}", name="reports.schedule_action")
    async def schedule_action(self, request: Request, db_session: DbSession, schedule_id: FromPath[str],
                              action: FromPath[str]) -> Redirect:
        acting = Acting(request.scope["user"], actor_of(request))
        try:
            if action in ("pause", "resume"):
                await schedules.set_active(db_session, acting, schedule_id, action == "resume")
            elif action == "delete":
                await schedules.delete_schedule(db_session, acting, schedule_id)
            else:
                raise NotFoundException()
        except ReportError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return see_other("/reports/schedules")

    @get("/{report_id:str}", name="reports.detail")
    async def detail(self, request: Request, db_session: DbSession, report_id: FromPath[str]) -> Template:
        return Template("reports/detail.html", context=await _context(request, db_session, report_id))

    @get("/{report_id:str}/progress", name="reports.progress")
    async def progress(self, request: Request, db_session: DbSession, report_id: FromPath[str]
                       ) -> Template | Redirect:
        """The status part of the report's page (HTMX swaps it in place; it stops polling once finished)."""
        context = await _context(request, db_session, report_id)
        if not request.headers.get("hx-request"):
            return see_other(f"/reports/{context['report'].id}")
        return Template("reports/_status.html", context=context)

    @get("/{report_id:str}/download", name="reports.download")
    async def download(self, request: Request, db_session: DbSession, report_id: FromPath[str]) -> Redirect:
        """To the file's short-lived signed URL (back to the report's page while it is not ready)."""
        context = await _context(request, db_session, report_id)
        return see_other(context["download"] or f"/reports/{context['report'].id}")
