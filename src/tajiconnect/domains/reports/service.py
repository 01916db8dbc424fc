"""Asking for a report and reading one's own: the gradebook export is the first kind.

* :func:`request_gradebook`: the course's staff only (anyone else, another organization's course included, gets
  "not found"); adds a ``queued`` :class:`Report` and defers :func:`.tasks.build_report` in the same transaction,
  so the work starts only if the request commits.
* :func:`get_report`, :func:`my_reports`: a report is seen by the member who asked for it and nobody else.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.grading import gradebook_service
from tajiconnect.domains.grading.gradebook_service import GradebookNotFound
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.reports.tasks import build_report
from tajiconnect.i18n import gettext as _
from tajiconnect.tasks.outbox import defer

#: How long a report (and its file) is kept.
KEEP_FOR = datetime.timedelta(days=7)
PER_PAGE = 20
TITLE_MAX = 300
IN_PROGRESS = ("queued", "running")


class ReportError(ValueError):
    """A refused report operation; ``status`` 404: not found (or not the caller's)."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReportNotFound(ReportError):
    status = 404


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def request_gradebook(session: AsyncSession, acting: Acting, course_id: Any, *, group_id: Any = None) -> Report:
    """A queued export of the course's whole gradebook (or one group's learners) as CSV."""
    try:
        course = await gradebook_service.staff_course(session, acting.user, course_id)
        group = await gradebook_service.group_filter(session, group_id)
    except GradebookNotFound as exc:
        raise ReportNotFound(str(exc), exc.field) from exc
    params: dict[str, Any] = {"course_id": str(course.id)}
    if group is not None:
        params["group_id"] = str(group)
    report = Report(
        kind="gradebook", params=params, format="csv", status="queued", rows_done=0,
        title=(_("Gradebook: %(title)s") % {"title": course.title})[:TITLE_MAX],
        requested_by_id=acting.user.id, expires_at=_now() + KEEP_FOR,
    )
    session.add(report)
    await session.flush()
    await defer(session, build_report, report_id=str(report.id))
    await record(session, acting.actor, "reports.requested", target_type="report", target_id=report.id,
                 kind="gradebook", **params)
    return report


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
