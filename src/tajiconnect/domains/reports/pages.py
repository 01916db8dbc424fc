"""Report pages: ``/reports`` (my reports, paginated; ``POST`` asks for one), ``/reports/{report_id}`` (its
progress, refreshed by HTMX every 2 s while it is queued or running, then the download link or the error) and
``/reports/{report_id}/progress`` (that part alone).

A report is seen by the member who asked for it only: anyone else's id, another organization's included, is a 404.
Asking for a gradebook export needs to be the course's staff (else 404).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.reports import service
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.reports.service import ReportError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info


async def _context(request: Request, db_session: AsyncSession, report_id: str) -> dict[str, Any]:
    try:
        report = await service.get_report(db_session, request.scope["user"], report_id)
    except ReportError as exc:
        raise NotFoundException(detail=str(exc)) from exc
    download = None
    if report.status == "done" and report.file_id is not None:
        file = await db_session.get(StoredFile, report.file_id)
        if file is not None and file.status == "ready":
            download = request.app.state.storage.url(file, download=True)
    return {"report": report, "percent": service.percent(report), "download": download,
            "in_progress": report.status in service.IN_PROGRESS}


class ReportPages(Controller):
    path = "/reports"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="reports.list")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        reports, total = await service.my_reports(db_session, request.scope["user"], page=page)
        context = {"reports": reports, "paging": page_info(total, page, service.PER_PAGE),
                   "percent": service.percent}
        fragment = wants_fragment(request, "reports-list")
        return Template("reports/_list.html" if fragment else "reports/index.html", context=context)

    @post("/", name="reports.request")
    async def request_report(self, request: Request, db_session: DbSession) -> Redirect:
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
