"""Report schedules: a report made every week (on a weekday) or month (on a day 1-28) and emailed to its owner.

* Times: a schedule is due at :data:`RUN_HOUR` o'clock in its owner's time zone (``users.time_zone``; UTC when
  that zone is unknown) on its weekday or day of month; ``next_run_at`` is stored in UTC.
* :func:`run_due` (the hourly ``run_report_schedules`` task) locks each due, active schedule (``FOR UPDATE SKIP
  LOCKED``), makes its report, and moves ``next_run_at`` to the next period, all in one transaction per schedule;
  the period's key ``schedule:<id>:<next_run_at>`` is stored in the report's params (``period``), and a report
  with that key already there is never made again, so a repeated or concurrent tick makes one report per period.
* The owner must still be allowed to ask for the report (roles, the groups/courses/paths in its params): if not,
  the period is skipped (no report, no email) and the schedule moves on.
* An activity report on a schedule covers the 7 (weekly) or 30 (monthly) days before the day it runs.
* When the report is done, :func:`.tasks._announce` emails the owner a link to it (the existing mail pipeline).
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.reports import service
from tajiconnect.domains.reports.kinds import ReportError, ReportNotFound
from tajiconnect.domains.reports.models import Report, ReportSchedule
from tajiconnect.i18n import gettext as _
from tajiconnect.tasks.outbox import dispatch_committed

RUN_HOUR = 6
PER_PAGE = 20
MAX_PER_RUN = 500


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def zone_of(name: str | None) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name) if name else datetime.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def next_run(frequency: str, *, weekday: int | None, day_of_month: int | None, after: datetime.datetime,
             tz: datetime.tzinfo = datetime.UTC) -> datetime.datetime:
    """The first run strictly after ``after``: :data:`RUN_HOUR` local time on the weekday (0 = Monday) or the day
    of the month, in ``tz``; returned in UTC."""
    local = after.astimezone(tz)
    day = local.date()
    for _step in range(400):
        if (frequency == "weekly" and day.weekday() == weekday) or (
                frequency == "monthly" and day.day == day_of_month):
            at = datetime.datetime.combine(day, datetime.time(RUN_HOUR), tzinfo=tz).astimezone(datetime.UTC)
            if at > after:
                return at
        day += datetime.timedelta(days=1)
    raise ValueError("no next run")  # pragma: no cover - a weekday or a day 1-28 always comes within 400 days


def _report_params(schedule: ReportSchedule, run_at: datetime.datetime, tz: datetime.tzinfo) -> dict[str, Any]:
    params = dict(schedule.params or {})
    if schedule.kind == "activity":
        end = run_at.astimezone(tz).date() - datetime.timedelta(days=1)
        span = 7 if schedule.frequency == "weekly" else 30
        params["date_from"], params["date_to"] = (end - datetime.timedelta(days=span - 1)).isoformat(), end.isoformat()
    return params


def _clean_when(frequency: Any, weekday: Any, day_of_month: Any) -> tuple[str, int | None, int | None]:
    if frequency not in ("weekly", "monthly"):
        raise ReportError(_("Choose weekly or monthly."), "frequency")
    if frequency == "weekly":
        try:
            value = int(weekday)
        except (TypeError, ValueError):
            value = -1
        if not 0 <= value <= 6:
            raise ReportError(_("Choose a day of the week."), "weekday")
        return "weekly", value, None
    try:
        value = int(day_of_month)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 28:
        raise ReportError(_("Choose a day between 1 and 28."), "day_of_month")
    return "monthly", None, value


async def create_schedule(session: AsyncSession, acting: Acting, *, kind: Any, fmt: Any, params: Mapping[str, Any],
                          frequency: Any, weekday: Any = None, day_of_month: Any = None) -> ReportSchedule:
    """A new active schedule owned by the caller, checked like a request (the activity's dates aside)."""
    user = acting.user
    frequency, weekday, day_of_month = _clean_when(frequency, weekday, day_of_month)
    check = dict(params)
    if kind == "activity":  # dates come from each run
        today = _now().date().isoformat()
        check["date_from"] = check["date_to"] = today
    fmt, title, clean = await service.prepare(session, user, kind, fmt, check)
    if kind == "activity":
        clean.pop("date_from", None)
        clean.pop("date_to", None)
        title = title.rsplit(": ", 1)[0] if ", " not in title else title.rsplit(", ", 1)[0]
    schedule = ReportSchedule(
        owner_id=user.id, kind=str(kind), params=clean, format=fmt, title=title[:service.TITLE_MAX],
        frequency=frequency, weekday=weekday, day_of_month=day_of_month, active=True,
        next_run_at=next_run(frequency, weekday=weekday, day_of_month=day_of_month, after=_now(),
                             tz=zone_of(user.time_zone)),
    )
    session.add(schedule)
    await session.flush()
    await record(session, acting.actor, "reports.schedule_created", target_type="report_schedule",
                 target_id=schedule.id, kind=str(kind), frequency=frequency)
    return schedule


async def get_schedule(session: AsyncSession, user: Any, schedule_id: Any) -> ReportSchedule:
    sid = parse_uuid(schedule_id)
    found = None
    if sid is not None and user is not None:
        found = await session.scalar(select(ReportSchedule).where(ReportSchedule.id == sid,
                                                                  ReportSchedule.owner_id == user.id))
    if found is None:
        raise ReportNotFound(_("No such schedule here."))
    return found


async def my_schedules(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE
                       ) -> tuple[list[ReportSchedule], int]:
    mine = ReportSchedule.owner_id == user.id
    total = int(await session.scalar(select(func.count()).select_from(ReportSchedule).where(mine)) or 0)
    rows = (await session.scalars(select(ReportSchedule).where(mine).order_by(
        ReportSchedule.created_at.desc(), ReportSchedule.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )).all()
    return list(rows), total


async def set_active(session: AsyncSession, acting: Acting, schedule_id: Any, active: bool) -> ReportSchedule:
    """Pause or resume; a resumed schedule's next run is the next one from now."""
    schedule = await get_schedule(session, acting.user, schedule_id)
    if active and not schedule.active:
        schedule.next_run_at = next_run(schedule.frequency, weekday=schedule.weekday,
                                        day_of_month=schedule.day_of_month, after=_now(),
                                        tz=zone_of(acting.user.time_zone))
    schedule.active = active
    await record(session, acting.actor, "reports.schedule_resumed" if active else "reports.schedule_paused",
                 target_type="report_schedule", target_id=schedule.id)
    return schedule


async def delete_schedule(session: AsyncSession, acting: Acting, schedule_id: Any) -> uuid.UUID:
    schedule = await get_schedule(session, acting.user, schedule_id)
    await session.delete(schedule)
    await record(session, acting.actor, "reports.schedule_deleted", target_type="report_schedule",
                 target_id=schedule.id)
    return schedule.id


async def _run_one(session: AsyncSession, schedule: ReportSchedule, now: datetime.datetime) -> bool:
    owner = await session.get(User, schedule.owner_id)
    tz = zone_of(owner.time_zone if owner else None)
    run_at = schedule.next_run_at
    period = f"schedule:{schedule.id}:{run_at.isoformat()}"
    made = False
    already = await session.scalar(select(Report.id).where(Report.schedule_id == schedule.id,
                                                           Report.params["period"].astext == period))
    if already is None and owner is not None and owner.is_active:
        try:
            params = _report_params(schedule, run_at, tz)
            fmt, title, clean = await service.prepare(session, owner, schedule.kind, schedule.format, params)
        except ReportError:
            pass  # the owner may no longer see it: no report this period
        else:
            clean["period"] = period
            title = f"{schedule.title} ({run_at.astimezone(tz).date().isoformat()})"
            await service.queue_report(session, owner, kind=schedule.kind, fmt=fmt, params=clean, title=title,
                                       schedule_id=schedule.id)
            made = True
    schedule.last_run_at = now
    schedule.next_run_at = next_run(schedule.frequency, weekday=schedule.weekday,
                                    day_of_month=schedule.day_of_month, after=max(now, run_at), tz=tz)
    return made


async def run_due(engine: AsyncEngine, *, now: datetime.datetime | None = None, queue: Any = None) -> int:
    """Make the report of every due schedule once (see the module); how many were made. The reports' jobs go to
    ``queue`` at once when given (else the outbox sweep sends them)."""
    now = now or _now()
    made = 0
    async with session_scope(engine) as session:
        due = (await session.scalars(
            select(ReportSchedule.id).where(ReportSchedule.active, ReportSchedule.next_run_at <= now)
            .order_by(ReportSchedule.next_run_at).limit(MAX_PER_RUN)
        )).all()
    for sid in due:
        async with session_scope(engine) as session:
            schedule = await session.scalar(
                select(ReportSchedule).where(ReportSchedule.id == sid, ReportSchedule.active,
                                             ReportSchedule.next_run_at <= now)
                .with_for_update(skip_locked=True))
            if schedule is not None and await _run_one(session, schedule, now):
                made += 1
        await dispatch_committed(session, queue)
    return made
