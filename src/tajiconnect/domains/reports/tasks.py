"""Building a report in the background: ``build_report`` (the gradebook CSV today).

1. A short transaction locks the report: a ``done`` or ``failed`` one is left alone (a repeated run does nothing);
   otherwise it becomes ``running`` from zero, and a file an earlier, unfinished run stored is deleted.
2. The CSV is the gradebook's own (:func:`gradebook_service.csv_text`, the streamed download's rows), read in one
   transaction as the requester (who must still be the course's staff); ``rows_total``, then ``rows_done`` after
   every :data:`gradebook_service.CSV_CHUNK` learners, are committed in short transactions of their own, so the
   report's page shows the progress.
3. The file is stored through the storage service (purpose ``report``) and linked to the report; then the report
   is marked ``done``. A run that stops between the two leaves a ``running`` report with its file: the retry
   deletes that file and starts over, so the report ends with one file.

A course the requester may no longer see fails the report at once; any other error is retried (the job's policy)
and fails the report on the last attempt.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.grading import gradebook_service
from tajiconnect.domains.grading.gradebook_service import GradebookNotFound, Query
from tajiconnect.domains.reports.models import Report
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import Storage
from tajiconnect.domains.storage.tasks import storage_for
from tajiconnect.i18n import gettext as _
from tajiconnect.tasks.base import TaskPolicy, tenant_task

log = structlog.get_logger(__name__)

#: A very large gradebook takes seconds; the default 5 minutes leave room for a busy database.
LONG = TaskPolicy(timeout=900)
ERROR_MAX = 1000


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class ReportFailed(Exception):
    """The report cannot be made (retrying cannot help); the message is shown to the requester."""


async def _set(engine: AsyncEngine, key: uuid.UUID, **values: Any) -> None:
    """Update a running report in a short transaction of its own."""
    async with session_scope(engine) as session:
        await session.execute(
            update(Report).where(Report.id == key, Report.status == "running").values(**values)
        )


async def _fail(engine: AsyncEngine, key: uuid.UUID, message: str) -> None:
    await _set(engine, key, status="failed", error=message[:ERROR_MAX], finished_at=_now())


async def _start(engine: AsyncEngine, storage: Storage, key: uuid.UUID) -> Report | None:
    """Lock the report and mark it running from zero; None when there is nothing to do."""
    async with session_scope(engine) as session:
        report = await session.get(Report, key, with_for_update=True)
        if report is None or report.status in ("done", "failed"):
            return None
        if report.file_id is not None:  # an earlier run stored its file but stopped before marking the report done
            earlier = await session.get(StoredFile, report.file_id)
            if earlier is not None and earlier.status != "deleted":
                await storage.delete(session, earlier)
        report.status, report.started_at, report.finished_at = "running", _now(), None
        report.rows_done, report.rows_total, report.file_id, report.error = 0, None, None, None
        return report


async def _gradebook_csv(engine: AsyncEngine, report: Report) -> tuple[bytes, int]:
    """The gradebook's CSV as the requester would download it, with the progress committed as it goes."""
    params = report.params or {}
    group = params.get("group_id")
    query = Query(group_id=uuid.UUID(group) if group else None)
    parts: list[str] = []
    done = 0
    async with session_scope(engine) as session:
        user = await session.get(User, report.requested_by_id) if report.requested_by_id else None
        if user is None:
            raise ReportFailed(_("The person who asked for this report is no longer a member."))
        try:
            pieces = gradebook_service.csv_text(session, user, params.get("course_id"), query)
            async for text, count in pieces:
                if not parts:  # the header, with the number of learners
                    await _set(engine, report.id, rows_total=count)
                else:
                    done += count
                    await _set(engine, report.id, rows_done=done)
                parts.append(text)
        except GradebookNotFound as exc:
            raise ReportFailed(_("This course's gradebook is no longer yours to export.")) from exc
    return "".join(parts).encode(), done


async def run_report(engine: AsyncEngine, storage: Storage, report_id: str | uuid.UUID,
                     *, last_attempt: bool = True) -> dict[str, Any]:
    """Build the report (see the module); safe to run again."""
    key = report_id if isinstance(report_id, uuid.UUID) else uuid.UUID(str(report_id))
    report = await _start(engine, storage, key)
    if report is None:
        return {"skipped": True}
    try:
        data, rows = await _gradebook_csv(engine, report)
        name = f"gradebook-{report.params.get('course_id')}-{_now().date().isoformat()}.csv"
        async with session_scope(engine) as session:
            locked = await session.get(Report, key, with_for_update=True)
            if locked is None or locked.status != "running":
                return {"skipped": True}
            requester = await session.get(User, report.requested_by_id) if report.requested_by_id else None
            try:
                file = await storage.save(session, data, filename=name, purpose="report", user=requester)
            except StorageError as exc:  # too large for the report limit: retrying cannot help
                raise ReportFailed(str(exc)) from exc
            locked.file_id = file.id
        await _set(engine, key, status="done", rows_done=rows, rows_total=rows, finished_at=_now())
    except ReportFailed as exc:
        await _fail(engine, key, str(exc))
        return {"failed": str(exc)}
    except Exception:
        if last_attempt:
            log.warning("report gave up", report_id=str(key))
            await _fail(engine, key, _("The report could not be made. Try again later."))
        raise
    return {"done": True, "rows": rows}


@tenant_task(policy=LONG)
async def build_report(ctx: dict[str, Any], *, report_id: str) -> dict[str, Any]:
    """Build a queued report (``reports`` row ``report_id``) and store its file."""
    job = ctx.get("job")
    return await run_report(ctx["engine"], storage_for(ctx), report_id,
                            last_attempt=job is None or not job.retryable)
