"""Building reports in the background (queue ``reports``), purging expired ones, and running schedules.

``build_report`` (see :func:`run_report`):

1. A short transaction locks the report: a ``done`` or ``failed`` one is left alone (a repeated run does nothing);
   otherwise it becomes ``running`` from zero, and a file an earlier, unfinished run stored is deleted.
2. The rows are read in one transaction as the requester, who must still be allowed to see them (their roles and
   groups are checked again): the gradebook's own CSV (:func:`gradebook_service.csv_text`), or the kind's one
   streaming SELECT (:func:`.kinds.source`) read :data:`CHUNK` rows at a time into the format's writer
   (:mod:`.writers`). ``rows_total``, then ``rows_done`` after every chunk, are committed in short transactions of
   their own, so the report's page shows the progress.
3. The file is stored through the storage service (purpose ``report``) and linked to the report; then the report
   is marked ``done``, and in that same transaction the requester gets the ``report_ready`` notification (key
   ``report:<id>``) and, for a scheduled report whose owner may still ask for it, the email with its link. A run
   that stops between storing and marking done leaves a ``running`` report with its file: the retry deletes that
   file and starts over, so the report ends with one file.

A report the requester may no longer see fails at once; any other error is retried (the job's policy) and fails
the report on the last attempt.

``purge_reports`` (daily) deletes expired reports and their files; ``run_report_schedules`` (hourly) makes the
report of every due schedule once per period (see :mod:`.schedules`).
"""

from __future__ import annotations

import contextvars
import csv
import datetime
import io
import uuid
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.grading import gradebook_service
from tajiconnect.domains.grading.gradebook_service import GradebookNotFound, Query
from tajiconnect.domains.notifications.service import notify
from tajiconnect.domains.reports import kinds, writers
from tajiconnect.domains.reports.models import Report, ReportSchedule
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import Storage
from tajiconnect.domains.storage.tasks import storage_for
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _
from tajiconnect.mail.tasks import send_email
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.outbox import defer, dispatch_committed
from tajiconnect.tasks.schedule import scheduled
from tajiconnect.tenancy.urls import tenant_url

log = structlog.get_logger(__name__)

#: A report over hundreds of thousands of rows takes seconds; 15 minutes leave room for a busy database.
LONG = TaskPolicy(queue="reports", timeout=900)
ERROR_MAX = 1000
#: Rows read and written between two progress updates.
CHUNK = 5000


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


#: The queue the messages deferred when a report is done go to at once (the outbox sweep is the fallback).
_queue: contextvars.ContextVar[Any] = contextvars.ContextVar("report_queue", default=None)


class ReportFailed(Exception):
    """The report cannot be made (retrying cannot help); the message is shown to the requester."""


async def _announce(session: AsyncSession, key: uuid.UUID) -> None:
    """In the transaction that marks the report done: the requester's notification, and a schedule's email."""
    report = await session.get(Report, key)
    if report is None or report.requested_by_id is None:
        return
    user = await session.get(User, report.requested_by_id)
    if user is None:
        return
    await notify(session, user, "report_ready", key=f"report:{report.id}", title=N_("Your report is ready"),
                 body=N_("%(title)s is ready to download."), params={"title": report.title},
                 link=f"/reports/{report.id}")
    if report.schedule_id is None or not user.is_active or not kinds.may_request(user, report.kind):
        return
    schedule = await session.get(ReportSchedule, report.schedule_id)
    if schedule is None or schedule.owner_id != user.id:
        return
    await defer(session, send_email, to=user.email, template="report_ready", locale=user.locale,
                context={"user_name": user.name, "title": report.title,
                         "link": tenant_url(f"/reports/{report.id}"),
                         "expires_on": report.expires_at.date().isoformat() if report.expires_at else ""})


async def _set(engine: AsyncEngine, key: uuid.UUID, **values: Any) -> None:
    """Update a running report in a short transaction of its own (marking it done also announces it)."""
    async with session_scope(engine) as session:
        changed = await session.execute(
            update(Report).where(Report.id == key, Report.status == "running").values(**values)
            .returning(Report.id)
        )
        if values.get("status") == "done" and changed.first() is not None:
            await _announce(session, key)
    await dispatch_committed(session, _queue.get())


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


async def _requester(session: AsyncSession, report: Report) -> User:
    user = await session.get(User, report.requested_by_id) if report.requested_by_id else None
    if user is None or not user.is_active:
        raise ReportFailed(_("The person who asked for this report is no longer a member."))
    return user


async def _gradebook(engine: AsyncEngine, report: Report) -> tuple[bytes, int]:
    """The gradebook as the requester would download it (CSV: the same bytes), with the progress committed as
    it goes."""
    params = report.params or {}
    group = params.get("group_id")
    query = Query(group_id=uuid.UUID(group) if group else None)
    parts: list[str] = []
    writer: writers.Writer | None = None
    done = 0
    async with session_scope(engine) as session:
        user = await _requester(session, report)
        try:
            pieces = gradebook_service.csv_text(session, user, params.get("course_id"), query)
            async for text, count in pieces:
                if not parts and writer is None:  # the header, with the number of learners
                    await _set(engine, report.id, rows_total=count)
                    if report.format != "csv":
                        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
                        writer = writers.writer_for(report.format, report.title, header)
                        continue
                else:
                    done += count
                    await _set(engine, report.id, rows_done=done)
                if writer is not None:
                    writer.rows(list(csv.reader(io.StringIO(text))))
                else:
                    parts.append(text)
        except GradebookNotFound as exc:
            raise ReportFailed(_("This course's gradebook is no longer yours to export.")) from exc
    return (writer.finish() if writer is not None else "".join(parts).encode()), done


async def _rows(engine: AsyncEngine, report: Report) -> tuple[bytes, int]:
    """Any other kind: its one streaming query, :data:`CHUNK` rows at a time, into the format's writer."""
    done = 0
    async with session_scope(engine) as session:
        user = await _requester(session, report)
        try:
            source = await kinds.source(session, user, report.kind, report.params or {})
        except kinds.ReportError as exc:
            raise ReportFailed(_("You may no longer see this report.")) from exc
        writer = writers.writer_for(report.format, report.title, source.header)
        if source.fixed is not None:
            await _set(engine, report.id, rows_total=len(source.fixed))
            writer.rows(source.fixed)
            done = len(source.fixed)
        elif source.rows is not None:
            count = source.count()
            total = int(await session.scalar(count) or 0) if count is not None else 0
            await _set(engine, report.id, rows_total=total)
            convert = source.convert
            result = await session.stream(source.rows.execution_options(yield_per=CHUNK))
            async for part in result.partitions(CHUNK):
                writer.rows([convert(r) for r in part])
                done += len(part)
                await _set(engine, report.id, rows_done=done)
    return writer.finish(), done


async def run_report(engine: AsyncEngine, storage: Storage, report_id: str | uuid.UUID,
                     *, last_attempt: bool = True, queue: Any = None) -> dict[str, Any]:
    """Build the report (see the module); safe to run again. ``queue``: where the notification and email it
    defers are sent once it is done (else the outbox sweep sends them)."""
    token = _queue.set(queue)
    try:
        return await _run(engine, storage, report_id, last_attempt=last_attempt)
    finally:
        _queue.reset(token)


async def _run(engine: AsyncEngine, storage: Storage, report_id: str | uuid.UUID, *, last_attempt: bool
               ) -> dict[str, Any]:
    key = report_id if isinstance(report_id, uuid.UUID) else uuid.UUID(str(report_id))
    report = await _start(engine, storage, key)
    if report is None:
        return {"skipped": True}
    try:
        data, rows = await (_gradebook(engine, report) if report.kind == "gradebook" else _rows(engine, report))
        stem = f"gradebook-{report.params.get('course_id')}" if report.kind == "gradebook" else report.kind
        name = f"{stem}-{_now().date().isoformat()}.{report.format}"
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
                            last_attempt=job is None or not job.retryable, queue=ctx.get("queue"))


async def purge_expired(engine: AsyncEngine, storage: Storage, *, now: datetime.datetime | None = None) -> int:
    """Delete the reports past their ``expires_at`` and their files (through the storage service)."""
    now = now or _now()
    purged = 0
    async with session_scope(engine) as session:
        expired = (await session.scalars(
            select(Report).where(Report.expires_at < now).with_for_update(skip_locked=True).limit(1000)
        )).all()
        for report in expired:
            if report.file_id is not None:
                file = await session.get(StoredFile, report.file_id)
                if file is not None and file.status != "deleted":
                    await storage.delete(session, file)
            await session.delete(report)
            purged += 1
    return purged


@scheduled("daily")
@tenant_task(policy=TaskPolicy(queue="reports"))
async def purge_reports(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, Any]:
    """Daily: expired reports and their files go."""
    return {"purged": await purge_expired(ctx["engine"], storage_for(ctx))}


@scheduled("hourly")
@tenant_task(policy=TaskPolicy(queue="reports"))
async def run_report_schedules(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, Any]:
    """Hourly: the report of every due schedule, once per period."""
    from tajiconnect.domains.reports import schedules  # it queues reports through the service, which needs this

    now = datetime.datetime.fromisoformat(tick) if tick else None
    return {"made": await schedules.run_due(ctx["engine"], now=now, queue=ctx.get("queue"))}
