"""The reports API under ``/api/v1/reports``: ask for a report, list mine, read one's status, download it.

* ``POST /reports``: ``kind``, ``format`` and ``params`` (filters). Refused (the caller's roles do not allow that
  kind, a date range too long or backwards): 409 naming the ``field``; a group, course or path the caller may not
  see (another organization's included): 404. The report is built in the background (queue ``reports``).
* ``GET /reports`` (mine, newest first, paginated), ``GET /reports/{id}`` (status, progress, the download URL once
  done), ``GET /reports/{id}/download`` (302 to the file's short-lived signed URL; 409 while it is not ready).
  Anyone else's report, another organization's included, is 404.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED, HTTP_302_FOUND
from msgspec import UNSET, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.reports import service
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.reports.pages import download_url
from tajiconnect.domains.reports.service import ReportError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

Kind = Literal["completion", "path_status", "gradebook", "seat_usage", "activity"]
Format = Literal["csv", "xlsx", "pdf"]
Status = Literal["queued", "running", "done", "failed"]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Reports per page.")]


class ReportParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Filters: ``group_id`` (completion, path status, activity, gradebook), ``course_id`` (completion; required
    for the gradebook), ``path_id`` (path status), ``date_from``/``date_to`` (activity: required, at most 366
    days)."""

    group_id: uuid.UUID | UnsetType = UNSET
    course_id: uuid.UUID | UnsetType = UNSET
    path_id: uuid.UUID | UnsetType = UNSET
    date_from: datetime.date | UnsetType = UNSET
    date_to: datetime.date | UnsetType = UNSET


class ReportRequest(msgspec.Struct, forbid_unknown_fields=True):
    kind: Kind
    format: Format = "csv"
    params: ReportParams = msgspec.field(default_factory=ReportParams)


class ReportInfo(msgspec.Struct):
    """A report: ``rows_done`` of ``rows_total`` (null until counted) and ``percent``; ``download_url`` (a
    short-lived signed URL) once ``done``; ``error`` when ``failed``."""

    id: uuid.UUID
    kind: Kind
    format: Format
    title: str
    status: Status
    rows_done: int
    rows_total: int | None
    percent: int
    params: dict[str, str]
    created_at: Timestamp
    finished_at: Timestamp | None
    expires_at: Timestamp | None
    error: str | None
    download_url: str | None


class ReportPage(msgspec.Struct):
    items: list[ReportInfo]
    total: int
    page: int
    per_page: int


def _ts(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def report_json(request: Request, session: AsyncSession, report: Report) -> ReportInfo:
    return ReportInfo(
        id=report.id, kind=report.kind, format=report.format, title=report.title,  # type: ignore[arg-type]
        status=report.status, rows_done=report.rows_done, rows_total=report.rows_total,  # type: ignore[arg-type]
        percent=service.percent(report), params={k: str(v) for k, v in (report.params or {}).items()},
        created_at=report.created_at.isoformat(), finished_at=_ts(report.finished_at),
        expires_at=_ts(report.expires_at), error=report.error,
        download_url=await download_url(request, session, report),
    )


class ReportsApi(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post("/", name="api.reports.create", summary="Ask for a report (built in the background)",
          status_code=HTTP_201_CREATED,
          **problems(*BODY, *GUARDED, 404, 409, notes={
              404: "A group, course or learning path the caller may not see (or no such one here).",
              409: "Refused: `field` names why (`kind`: the caller's roles do not allow it; `date_to`: the range "
                   "is backwards or longer than 366 days; `date_from`: missing).",
          }))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[ReportRequest]) -> ReportInfo:
        params = {k: str(v) for k, v in msgspec.structs.asdict(data.params).items() if v is not UNSET}
        try:
            report = await service.request_report(db_session, Acting(request.scope["user"], actor_of(request)),
                                                  data.kind, data.format, params)
        except ReportError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await report_json(request, db_session, report)

    @get("/", name="api.reports.list", summary="My reports, newest first, paginated", **problems(*GUARDED))
    async def list_reports(self, request: Request, db_session: DbSession, page: PageParam = 1,
                           per_page: PerPage = service.PER_PAGE) -> ReportPage:
        reports, total = await service.my_reports(db_session, request.scope["user"], page=page, per_page=per_page)
        return ReportPage(items=[await report_json(request, db_session, r) for r in reports], total=total,
                          page=page, per_page=per_page)

    @get("/{report_id:str}", name="api.reports.get", summary="One of my reports: status, progress, download URL",
         **problems(*GUARDED, 404, notes={404: "No such report of the caller's here."}))
    async def get_report(self, request: Request, db_session: DbSession, report_id: FromPath[str]) -> ReportInfo:
        try:
            report = await service.get_report(db_session, request.scope["user"], report_id)
        except ReportError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await report_json(request, db_session, report)

    @get("/{report_id:str}/download", name="api.reports.download", status_code=HTTP_302_FOUND,
         summary="Redirect to the report's file (a short-lived signed URL)",
         **problems(*GUARDED, 404, 409, notes={404: "No such report of the caller's here.",
                                               409: "The report is not ready (queued, running or failed)."}))
    async def download(self, request: Request, db_session: DbSession, report_id: FromPath[str]) -> Redirect:
        try:
            report = await service.get_report(db_session, request.scope["user"], report_id)
        except ReportError as exc:
            raise refusal(exc, refused_value=True) from exc
        url = await download_url(request, db_session, report)
        if url is None:
            raise HTTPException(status_code=409, detail=_("The report is not ready."), extra={"field": "status"})
        return Redirect(path=url, status_code=HTTP_302_FOUND)
