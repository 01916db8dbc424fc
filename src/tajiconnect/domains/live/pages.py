"""Pages of live classes and of the calendar feed.

* ``/live``: the sessions I may see, upcoming (``?when=past``: past), paginated; ``/live/new`` the schedule form
  (teachers, managers, admins; ``?group=<id>`` or ``?course=<id>`` preselects); ``/live/{id}`` a session, its join
  link from 15 minutes before, my (or my children's) attendance; ``/live/{id}/edit``, ``/live/{id}/cancel``.
* ``/live/{id}/attendance``: one row per learner, marked with HTMX (``POST .../attendance/{learner}``), "all
  present", and ``/live/{id}/attendance.csv``.
* ``/calendar``: the member's private feed link (made, replaced, turned off); ``/calendar/<token>.ics`` the feed
  itself, without a session (``docs/live.md``).
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Response, Template
from sqlalchemy import Select, Uuid, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import localtime
from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.pages_account import time_zones
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.live import feed, service
from tajiconnect.domains.live.links import label_of
from tajiconnect.domains.live.models import ATTENDANCE_STATUSES, LiveSession
from tajiconnect.domains.live.service import LiveError, SessionInput
from tajiconnect.domains.parents.access import requires_role
from tajiconnect.domains.people import relations
from tajiconnect.domains.reports.writers import safe
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.tenancy.urls import canonical_host, tenant_url
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

STAFF_ROLES = ("org_admin", "teacher", "manager")
NO_STORE = {"Cache-Control": "no-store"}


def local_time(moment: datetime.datetime | None, viewer: Any, fmt: str = "medium") -> str:
    """``moment`` in the viewer's zone and language, with the zone's name."""
    return localtime.local_time(moment, viewer, fmt, with_zone=True)


def _helpers(viewer: Any) -> dict[str, Any]:
    return {"local_time": lambda m, fmt="medium": local_time(m, viewer, fmt),
            "provider_label": lambda p: _(label_of(p)), "attendance_statuses": ATTENDANCE_STATUSES}


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


async def _visible(db_session: AsyncSession, request: Request, session_id: str) -> tuple[LiveSession, str]:
    try:
        return await service.get_visible(db_session, request.scope["user"], session_id)
    except LiveError as exc:
        raise NotFoundException() from exc


async def _managed(db_session: AsyncSession, request: Request, session_id: str) -> LiveSession:
    try:
        return await service.get_managed(db_session, request.scope["user"], session_id)
    except LiveError as exc:
        if exc.status == 403:
            raise PermissionDeniedException() from exc
        raise NotFoundException() from exc


def _form_input(form: Form, *, errors: dict[str, str]) -> SessionInput | None:
    """The session the form describes, or None with ``errors`` filled (fields the service does not check)."""
    zone_name = form.get("time_zone").strip()[:64]
    starts = service.parse_local(form.get("starts_at"), zone_name) if zone_name in service.time_zones() else None
    if zone_name not in service.time_zones():
        errors["time_zone"] = _("Choose a time zone such as Africa/Nairobi.")
    elif starts is None:
        errors["starts_at"] = _("Give the date and time it starts.")
    text = form.get("duration_minutes").strip()
    duration = int(text) if text.isascii() and text.isdigit() and len(text) < 5 else -1
    if duration < 0:
        errors["duration_minutes"] = _("Give the duration in minutes.")
    group_id, course_id = service.parse_target(form.get("target"))
    if errors or starts is None:
        return None
    return SessionInput(
        title=form.get("title")[:1000], starts_at=starts, duration_minutes=duration, time_zone=zone_name,
        meeting_url=form.get("meeting_url")[:2000], description=form.get("description")[:5000],
        include_parents=form.get("include_parents") == "on", group_id=group_id, course_id=course_id,
    )


def _form_values(live: LiveSession) -> dict[str, Any]:
    tz = service.zone(live.time_zone)
    target = f"group:{live.group_id}" if live.group_id else f"course:{live.course_id}"
    return {"title": live.title, "description": live.description, "time_zone": live.time_zone,
            "starts_at": live.starts_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": str(live.duration_minutes), "meeting_url": live.meeting_url,
            "include_parents": "on" if live.include_parents else "", "target": target}


class LivePages(Controller):
    path = "/live"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="live.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1,
                    when: FromQuery[str | None] = None) -> Template:
        viewer = request.scope["user"]
        when = "past" if when == "past" else "upcoming"
        rows, total = await service.list_for(db_session, viewer, when=when, page=page)
        context = {"rows": rows, "when": when, "paging": page_info(total, page, service.PER_PAGE),
                   "may_schedule": any(viewer.has_role(r) for r in STAFF_ROLES), **_helpers(viewer)}
        if wants_fragment(request, "live-list"):
            return Template("live/_list.html", context=context)
        return Template("live/index.html", context=context)

    # --- scheduling -------------------------------------------------------------------------------------------

    async def _form(self, request: Request, db_session: AsyncSession, *, form: dict[str, Any],
                    errors: dict[str, str] | None = None, live: LiveSession | None = None,
                    status: int = 200) -> Template:
        viewer = request.scope["user"]
        targets = await service.targets_for(db_session, viewer) if live is None else []
        return Template("live/form.html", status_code=status, context={
            "form": form, "errors": errors or {}, "live": live, "targets": targets, "time_zones": time_zones(),
            **_helpers(viewer)})

    @get("/new", name="live.new", guards=[requires_role(*STAFF_ROLES)])
    async def new(self, request: Request, db_session: DbSession, group: FromQuery[str | None] = None,
                  course: FromQuery[str | None] = None) -> Template:
        viewer = request.scope["user"]
        target = ""
        if parse_uuid(group):
            target = f"group:{parse_uuid(group)}"
        elif parse_uuid(course):
            target = f"course:{parse_uuid(course)}"
        zone_name = viewer.time_zone if viewer.time_zone in service.time_zones() else "UTC"
        start = (service.now() + datetime.timedelta(days=1)).astimezone(service.zone(zone_name))
        return await self._form(request, db_session, form={
            "target": target, "time_zone": zone_name, "duration_minutes": "60",
            "starts_at": start.replace(minute=0).strftime("%Y-%m-%dT%H:%M")})

    @post("/new", name="live.create", guards=[requires_role(*STAFF_ROLES)])
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        errors: dict[str, str] = {}
        data = _form_input(form, errors=errors)
        values = {k: form.get(k) for k in ("title", "starts_at", "duration_minutes", "time_zone", "meeting_url",
                                            "description", "include_parents", "target")}
        if data is None:
            return await self._form(request, db_session, form=values, errors=errors, status=422)
        try:
            live = await service.schedule(db_session, _acting(request), data)
        except LiveError as exc:
            return await self._form(request, db_session, form=values, errors={exc.field or "form": exc.message},
                                    status=422 if exc.status in (400, 409, 422) else exc.status)
        return see_other(f"/live/{live.id}", notice="live_scheduled")

    @get("/{session_id:str}", name="live.detail")
    async def detail(self, request: Request, db_session: DbSession, session_id: FromPath[str],
                     notice: FromQuery[str | None] = None) -> Template:
        viewer = request.scope["user"]
        live, role = await _visible(db_session, request, session_id)
        mine: list[Any] = []
        if role == "learner":
            mine = await service.attendance_of(db_session, live, _just(viewer.id))
        elif role == "parent":
            mine = await service.attendance_of(db_session, live, relations.children_of(viewer.id))
        return Template("live/detail.html", context={
            "live": live, "role": role, "audience_name": await service.audience_name(db_session, live),
            "join_open": service.join_open(live), "marking_open": service.marking_open(live),
            "is_over": live.ends_at <= service.now(), "mine": mine, "live_notice": _notice(notice),
            **_helpers(viewer)})

    @get("/{session_id:str}/edit", name="live.edit", guards=[requires_role(*STAFF_ROLES)])
    async def edit(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> Template:
        live = await _managed(db_session, request, session_id)
        return await self._form(request, db_session, form=_form_values(live), live=live)

    @post("/{session_id:str}/edit", name="live.update", guards=[requires_role(*STAFF_ROLES)])
    async def update(self, request: Request, db_session: DbSession, session_id: FromPath[str]
                     ) -> Template | Redirect:
        live = await _managed(db_session, request, session_id)
        form = await Form.read(request)
        form.data["target"] = _form_values(live)["target"]  # the audience stays
        errors: dict[str, str] = {}
        data = _form_input(form, errors=errors)
        values = {k: form.get(k) for k in ("title", "starts_at", "duration_minutes", "time_zone", "meeting_url",
                                            "description", "include_parents", "target")}
        if data is None:
            return await self._form(request, db_session, form=values, errors=errors, live=live, status=422)
        try:
            await service.update(db_session, _acting(request), live, data)
        except LiveError as exc:
            return await self._form(request, db_session, form=values, errors={exc.field or "form": exc.message},
                                    live=live, status=422 if exc.status in (400, 409, 422) else exc.status)
        return see_other(f"/live/{live.id}", notice="live_updated")

    @post("/{session_id:str}/cancel", name="live.cancel", guards=[requires_role(*STAFF_ROLES)])
    async def cancel(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> Redirect:
        live = await _managed(db_session, request, session_id)
        try:
            await service.cancel(db_session, _acting(request), live)
        except LiveError:
            return see_other(f"/live/{live.id}", notice="live_not_cancelled")
        return see_other(f"/live/{live.id}", notice="live_cancelled")

    # --- attendance -------------------------------------------------------------------------------------------

    @get("/{session_id:str}/attendance", name="live.attendance", guards=[requires_role(*STAFF_ROLES)])
    async def attendance(self, request: HTMXRequest, db_session: DbSession, session_id: FromPath[str],
                         page: PageParam = 1, notice: FromQuery[str | None] = None) -> Template:
        live = await _managed(db_session, request, session_id)
        rows, total = await service.attendance(db_session, live, page=page)
        context = {"live": live, "rows": rows, "paging": page_info(total, page, service.ATTENDANCE_PER_PAGE),
                   "marking_open": service.marking_open(live), "live_notice": _notice(notice),
                   "audience_name": await service.audience_name(db_session, live),
                   **_helpers(request.scope["user"])}
        if wants_fragment(request, "live-attendance"):
            return Template("live/_attendance.html", context=context)
        return Template("live/attendance.html", context=context)

    @post("/{session_id:str}/attendance/all-present", name="live.attendance.all",
          guards=[requires_role(*STAFF_ROLES)])
    async def all_present(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> Redirect:
        live = await _managed(db_session, request, session_id)
        try:
            await service.mark_all_present(db_session, _acting(request), live)
        except LiveError:
            return see_other(f"/live/{live.id}/attendance", notice="attendance_closed")
        return see_other(f"/live/{live.id}/attendance", notice="attendance_saved")

    @post("/{session_id:str}/attendance/{learner_id:str}", name="live.attendance.mark",
          guards=[requires_role(*STAFF_ROLES)])
    async def mark(self, request: HTMXRequest, db_session: DbSession, session_id: FromPath[str],
                   learner_id: FromPath[str]) -> Template | Redirect:
        live = await _managed(db_session, request, session_id)
        form = await Form.read(request)
        try:
            await service.set_marks(db_session, _acting(request), live, [(learner_id, form.get("status"))])
        except LiveError as exc:
            if exc.field == "user_id":
                raise NotFoundException() from exc
            if not request.htmx:
                return see_other(f"/live/{live.id}/attendance", notice="attendance_closed")
            return Template("live/_attendance_row.html", status_code=422, context={
                "live": live, "row": await self._row(db_session, live, learner_id), "error": exc.message,
                "marking_open": service.marking_open(live), **_helpers(request.scope["user"])})
        if not request.htmx:
            return see_other(f"/live/{live.id}/attendance", notice="attendance_saved")
        return Template("live/_attendance_row.html", context={
            "live": live, "row": await self._row(db_session, live, learner_id), "saved": True,
            "marking_open": True, **_helpers(request.scope["user"])})

    async def _row(self, db_session: AsyncSession, live: LiveSession, learner_id: str) -> Any:
        rows = await service.attendance_of(db_session, live, _just(parse_uuid(learner_id)))
        if not rows:
            raise NotFoundException()
        return rows[0]

    @get("/{session_id:str}/attendance.csv", name="live.attendance.csv", guards=[requires_role(*STAFF_ROLES)])
    async def export(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> Response[bytes]:
        live = await _managed(db_session, request, session_id)
        rows, _total = await service.attendance(db_session, live, page=None)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_("Learner"), _("Email"), _("Attendance"), _("Marked at (UTC)"), _("Session"),
                         _("Starts at (UTC)")])
        for row in rows:
            writer.writerow([safe(row.name), safe(row.email), row.status or "",
                             row.marked_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M") if row.marked_at else "",
                             safe(live.title), live.starts_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")])
        name = f"attendance-{live.starts_at.date().isoformat()}-{live.id}.csv"
        return Response(buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"', **NO_STORE})


def _just(user_id: Any) -> Select[tuple[uuid.UUID]]:
    return select(literal(user_id, Uuid))


def _notice(code: str | None) -> str | None:
    if code == "live_scheduled":
        return _("The session is scheduled; its audience is told.")
    if code == "live_updated":
        return _("The session is saved.")
    if code == "live_cancelled":
        return _("The session is cancelled; its audience is told.")
    if code == "live_not_cancelled":
        return _("This session can no longer be cancelled.")
    if code == "attendance_saved":
        return _("Attendance saved.")
    if code == "attendance_closed":
        return _("Attendance is marked from 15 minutes before the start of a session that takes place.")
    return None


# --- the calendar feed ----------------------------------------------------------------------------------------


class CalendarPages(Controller):
    path = "/calendar"
    include_in_schema = False

    async def _page(self, request: Request, db_session: AsyncSession, *, token: str | None = None,
                    notice: str | None = None) -> Template:
        viewer = request.scope["user"]
        current = await feed.status(db_session, viewer.id)
        return Template("live/calendar.html", headers=NO_STORE, context={
            "feed": current, "feed_url": feed.feed_url(tenant_url(""), token) if token else None,
            "live_notice": notice, **_helpers(viewer)})

    @get("/", name="calendar.settings", guards=[requires_user])
    async def settings(self, request: Request, db_session: DbSession) -> Template:
        return await self._page(request, db_session)

    @post("/new", name="calendar.new", guards=[requires_user])
    async def new_link(self, request: Request, db_session: DbSession) -> Template:
        viewer = request.scope["user"]
        replaced = await feed.status(db_session, viewer.id) is not None
        token = await feed.new_link(db_session, viewer.id)
        await record(db_session, actor_of(request), "calendar.feed.replaced" if replaced else "calendar.feed.created",
                     target_type="user", target_id=viewer.id)
        return await self._page(request, db_session, token=token, notice=_(
            "Your new link is below. Copy it now: it is shown only once. The old link no longer works.") if replaced
            else _("Your link is below. Copy it now: it is shown only once."))

    @post("/revoke", name="calendar.revoke", guards=[requires_user])
    async def revoke(self, request: Request, db_session: DbSession) -> Redirect:
        viewer = request.scope["user"]
        if await feed.revoke(db_session, viewer.id):
            await record(db_session, actor_of(request), "calendar.feed.revoked", target_type="user",
                         target_id=viewer.id)
        return see_other("/calendar")

    @get("/{name:str}", name="calendar.feed", opt={"anonymous": True, "exclude_from_csrf": True})
    async def feed(self, db_session: DbSession, name: FromPath[str]) -> Response[bytes]:
        token = name.removesuffix(".ics") if name.endswith(".ics") else ""
        found = await feed.by_token(db_session, token)
        if found is None:
            raise NotFoundException()
        calendar_feed, user = found
        wait = await feed.claim_fetch(db_session, calendar_feed)
        if wait is not None:
            return Response(_("Too many requests for this calendar; try again later.").encode(), status_code=429,
                            media_type="text/plain; charset=utf-8", headers={"Retry-After": str(wait)})
        body = await feed.build(db_session, user, host=canonical_host(require_tenant().slug),
                                base_url=tenant_url(""))
        return Response(body, media_type="text/calendar; charset=utf-8", headers={
            "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex",
            "Content-Disposition": 'inline; filename="calendar.ics"'})
