"""Asking for reports and reading one's own.

* :func:`request_report`: any kind, in CSV, XLSX or PDF, within what the requester may see (:mod:`.kinds`);
  :func:`request_gradebook`: the course's staff only (anyone else, another organization's course included, gets
  "not found"). Both add a ``queued`` :class:`Report` and defer :func:`.tasks.build_report` in the same
  transaction, so the work starts only if the request commits.
* :func:`get_report`, :func:`my_reports`: a report is seen by the member who asked for it and nobody else.
* Reports are kept :data:`KEEP_FOR` (7 days), then purged with their files (:func:`.tasks.purge_reports`).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.grading import gradebook_service
from tajiconnect.domains.grading.gradebook_service import GradebookNotFound
from tajiconnect.domains.reports import kinds
from tajiconnect.domains.reports.kinds import ReportError, ReportNotFound
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.reports.tasks import build_report
from tajiconnect.domains.reports.writers import FORMATS
from tajiconnect.i18n import gettext as _
from tajiconnect.tasks.outbox import defer

#: How long a report (and its file) is kept.
KEEP_FOR = datetime.timedelta(days=7)
PER_PAGE = 20
TITLE_MAX = 300
IN_PROGRESS = ("queued", "running")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def queue_report(session: AsyncSession, user: Any, *, kind: str, fmt: str, params: dict[str, Any],
                       title: str, schedule_id: uuid.UUID | None = None) -> Report:
    """Add a queued report for ``user`` and defer its building (once the caller's transaction commits)."""
    report = Report(
        kind=kind, params=params, format=fmt, status="queued", rows_done=0, title=title[:TITLE_MAX],
        requested_by_id=user.id, expires_at=_now() + KEEP_FOR, schedule_id=schedule_id,
    )
    session.add(report)
    await session.flush()
    await defer(session, build_report, report_id=str(report.id))
    return report


def check_format(fmt: Any) -> str:
    if fmt not in FORMATS:
        raise ReportError(_("Choose CSV, XLSX or PDF."), "format")
    return str(fmt)


async def prepare(session: AsyncSession, user: Any, kind: Any, fmt: Any, params: Mapping[str, Any]
                  ) -> tuple[str, str, dict[str, Any]]:
    """A request checked as ``user``: (format, title, clean params); :class:`ReportError` (refused, with the
    field) or :class:`ReportNotFound` (something not theirs)."""
    fmt = check_format(fmt)
    if kind == "gradebook":
        if not kinds.may_request(user, "gradebook"):
            raise ReportError(_("You may not ask for this kind of report."), "kind")
        try:
            course = await gradebook_service.staff_course(session, user, params.get("course_id"))
            group = await gradebook_service.group_filter(session, params.get("group_id"))
        except GradebookNotFound as exc:
            raise ReportNotFound(str(exc), exc.field) from exc
        clean: dict[str, Any] = {"course_id": str(course.id)}
        if group is not None:
            clean["group_id"] = str(group)
        return fmt, _("Gradebook: %(title)s") % {"title": course.title}, clean
    title, clean = await kinds.prepare(session, user, str(kind), params)
    return fmt, title, clean


async def request_report(session: AsyncSession, acting: Acting, kind: Any, fmt: Any, params: Mapping[str, Any]
                         ) -> Report:
    """A queued report of ``kind`` in ``fmt`` (see :func:`prepare`)."""
    fmt, title, clean = await prepare(session, acting.user, kind, fmt, params)
    report = await queue_report(session, acting.user, kind=str(kind), fmt=fmt, params=clean, title=title)
    await record(session, acting.actor, "reports.requested", target_type="report", target_id=report.id,
                 kind=str(kind), format=fmt, **clean)
    return report


async def request_gradebook(session: AsyncSession, acting: Acting, course_id: Any, *, group_id: Any = None) -> Report:
    """A queued export of the course's whole gradebook (or one group's learners) as CSV."""
    params = {"course_id": course_id, "group_id": group_id}
    if not kinds.may_request(acting.user, "gradebook"):  # hide the course: not found, as before
        raise ReportNotFound(_("No such course here."), "course_id")
    return await request_report(session, acting, "gradebook", "csv", params)


async def get_report(session: AsyncSession, user: Any, report_id: Any) -> Report:
    """The caller's own report, else :class:`ReportNotFound` (someone else's, another organization's, no such id)."""
    rid = parse_uuid(report_id)
    report = None
    if rid is not None and user is not None:
        report = await session.scalar(select(Report).where(Report.id == rid, Report.requested_by_id == user.id))
    if report is None:
        raise ReportNotFound(_("No such report here."))
    return report


async def my_reports(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE
                     ) -> tuple[list[Report], int]:
    """One page of the caller's reports, newest first, and how many there are."""
    mine = Report.requested_by_id == user.id
    total = int(await session.scalar(select(func.count()).select_from(Report).where(mine)) or 0)
    rows = (await session.scalars(
        select(Report).where(mine).order_by(Report.created_at.desc(), Report.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )).all()
    return list(rows), total


def percent(report: Report) -> int:
    """How far the work is, 0-100 (100 once done)."""
    if report.status == "done":
        return 100
    if not report.rows_total:
        return 0
    return min(100, report.rows_done * 100 // report.rows_total)


__all__ = ["KEEP_FOR", "ReportError", "ReportNotFound", "get_report", "my_reports", "percent", "request_gradebook",
           "request_report"]
