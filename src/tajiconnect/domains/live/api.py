"""The live sessions API under ``/api/v1`` (rules: :mod:`tajiconnect.domains.live.service`).

* ``GET /live-sessions``: the sessions the caller may see, upcoming (``when=past``: past), paginated.
* ``POST /live-sessions``: schedule one for a class (``group_id``) or a course (``course_id``).
* ``GET /live-sessions/{id}``: one; ``join_url`` is set from 15 minutes before the start until the end (always for
  its staff). ``PATCH`` changes it (not its audience); ``DELETE`` cancels it (the audience is told).
* ``GET /live-sessions/{id}/attendance?page=&per_page=``: every learner's mark for its staff (by name, a page at
  a time); a learner's own, a parent's children's. ``PUT`` marks learners (staff, from 15 minutes before the
  start) and answers with their marks.

A request that does not validate is a 400; a valid one whose value the service refuses (a start in the past, an
unknown time zone...) or a change the session's state does not allow is a 409 naming the ``field``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, patch, post, put
from litestar import get as get_route
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.live import service
from tajiconnect.domains.live.links import URL_MAX, label_of
from tajiconnect.domains.live.models import LiveSession
from tajiconnect.domains.live.service import AttendanceRow, LiveError, SessionInput
from tajiconnect.domains.parents.access import requires_role
from tajiconnect.domains.people import relations
from tajiconnect.i18n import _
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Sessions per page.")]
LearnersPerPage = Annotated[int, Parameter(ge=1, le=200, description="Learners per page.")]
Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Description = Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)]
Duration = Annotated[int, Meta(ge=service.DURATION_MIN, le=service.DURATION_MAX, description="Minutes.")]
Zone = Annotated[str, Meta(min_length=1, max_length=64, description="An IANA time zone, e.g. Africa/Nairobi.")]
Url = Annotated[str, Meta(min_length=1, max_length=URL_MAX, description="Any https link to the meeting.")]
Starts = Annotated[datetime.datetime, Meta(tz=True, description="The start, with its UTC offset.")]
ProviderName = Literal["jitsi", "bigbluebutton", "zoom", "meet", "teams", "other"]
Mark = Literal["present", "late", "absent", "excused"]
NOT_FOUND = "No such live session here, or not one the caller may see (another organization's ids never are)."
STAFF_ONLY = f"Only the class's teachers and admins change a session. {SUSPENDED}"
STAFF_ROLES = ("org_admin", "teacher", "manager")


class LiveSessionOut(msgspec.Struct):
    """A live session; ``join_url`` is null until 15 minutes before the start, and once it ended or was cancelled
    (its staff always see it)."""

    id: uuid.UUID
    title: str
    description: str
    starts_at: Timestamp
    ends_at: Timestamp
    duration_minutes: int
    time_zone: str
    provider: ProviderName
    provider_label: str
    group_id: uuid.UUID | None
    course_id: uuid.UUID | None
    include_parents: bool
    status: Literal["scheduled", "cancelled"]
    cancelled_at: Timestamp | None
    join_url: str | None
    viewer_role: Literal["admin", "staff", "learner", "parent"] | None = None


class LiveSessionPage(msgspec.Struct):
    items: list[LiveSessionOut]
    total: int
    page: int
    per_page: int


class LiveSessionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A session to schedule, for a class (``group_id``) or a course (``course_id``): exactly one of the two."""

    title: Title
    starts_at: Starts
    duration_minutes: Duration
    time_zone: Zone
    meeting_url: Url
    description: Description = ""
    include_parents: bool = False
    group_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None


class LiveSessionPatch(msgspec.Struct, forbid_unknown_fields=True):
    """The fields to change (the audience stays); a new start is announced to the audience."""

    title: Title | None = None
    starts_at: Starts | None = None
    duration_minutes: Duration | None = None
    time_zone: Zone | None = None
    meeting_url: Url | None = None
    description: Description | None = None
    include_parents: bool | None = None


class AttendanceOut(msgspec.Struct):
    user_id: uuid.UUID
    name: str
    status: Mark | None
    marked_at: Timestamp | None


class AttendancePage(msgspec.Struct):
    items: list[AttendanceOut]
    total: int
    page: int
    per_page: int


class AttendanceMark(msgspec.Struct, forbid_unknown_fields=True):
    user_id: uuid.UUID
    status: Mark


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    marks: Annotated[list[AttendanceMark], Meta(min_length=1, max_length=500)]


def session_json(live: LiveSession, role: str | None) -> LiveSessionOut:
    show = role in ("admin", "staff") or service.join_open(live)
    return LiveSessionOut(
        id=live.id, title=live.title, description=live.description, starts_at=live.starts_at.isoformat(),
        ends_at=live.ends_at.isoformat(), duration_minutes=live.duration_minutes, time_zone=live.time_zone,
        provider=live.provider, provider_label=_(label_of(live.provider)),  # type: ignore[arg-type]
        group_id=live.group_id, course_id=live.course_id, include_parents=live.include_parents,
        status=live.status,  # type: ignore[arg-type]
        cancelled_at=live.cancelled_at.isoformat() if live.cancelled_at else None,
        join_url=live.meeting_url if show else None, viewer_role=role,  # type: ignore[arg-type]
    )


def attendance_json(rows: list[AttendanceRow]) -> list[AttendanceOut]:
    return [AttendanceOut(user_id=r.user_id, name=r.name, status=r.status,  # type: ignore[arg-type]
                          marked_at=r.marked_at.isoformat() if r.marked_at else None) for r in rows]


def _refused(exc: LiveError) -> Exception:
    return refusal(exc, status=409 if exc.status == 422 else None)


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


class LiveSessionsApi(Controller):
    path = "/api/v1/live-sessions"
    tags = ["live sessions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get_route("/", name="api.live.list", summary="The live sessions the caller may see",
               **problems(*GUARDED))
    async def index(self, request: Request, db_session: DbSession, page: PageParam = 1, per_page: PerPage = 20,
                    when: FromQuery[Literal["upcoming", "past"]] = "upcoming") -> LiveSessionPage:
        rows, total = await service.list_for(db_session, request.scope["user"], when=when, page=page,
                                             per_page=per_page)
        user = request.scope["user"]
        admin = service.is_admin(user)
        return LiveSessionPage(items=[session_json(r.live, "admin" if admin else "staff" if r.staff else None)
                                      for r in rows],
                               total=total, page=page, per_page=per_page)

    @post("/", name="api.live.create", status_code=HTTP_201_CREATED, guards=[requires_role(*STAFF_ROLES)],
          summary="Schedule a live session for a class or a course (its teachers, admins)",
          **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
              409: "A value refused (`field`): a start in the past, an unknown time zone, a link that is not "
                   "https, a class or course the caller does not teach.",
              403: f"Only teachers, managers and admins schedule. {SUSPENDED}"}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[LiveSessionIn]
                     ) -> LiveSessionOut:
        try:
            live = await service.schedule(db_session, _acting(request), SessionInput(
                title=data.title, starts_at=data.starts_at, duration_minutes=data.duration_minutes,
                time_zone=data.time_zone, meeting_url=data.meeting_url, description=data.description,
                include_parents=data.include_parents, group_id=data.group_id, course_id=data.course_id))
        except LiveError as exc:
            raise _refused(exc) from exc
        return session_json(live, "staff")

    @get_route("/{session_id:str}", name="api.live.detail", summary="One live session",
               **problems(*GUARDED, 404, notes={404: NOT_FOUND}))
    async def detail(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> LiveSessionOut:
        try:
            live, role = await service.get_visible(db_session, request.scope["user"], session_id)
        except LiveError as exc:
            raise _refused(exc) from exc
        return session_json(live, role)

    @patch("/{session_id:str}", name="api.live.update", summary="Change a live session (not its audience)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: STAFF_ONLY, 404: NOT_FOUND,
               409: "A value refused, or the session was cancelled or is over (`field`)."}))
    async def update(self, request: Request, db_session: DbSession, session_id: FromPath[str],
                     data: JSONBody[LiveSessionPatch]) -> LiveSessionOut:
        try:
            live = await service.get_managed(db_session, request.scope["user"], session_id)
            live = await service.update(db_session, _acting(request), live, SessionInput(
                title=live.title if data.title is None else data.title,
                starts_at=live.starts_at if data.starts_at is None else data.starts_at,
                duration_minutes=live.duration_minutes if data.duration_minutes is None else data.duration_minutes,
                time_zone=live.time_zone if data.time_zone is None else data.time_zone,
                meeting_url=live.meeting_url if data.meeting_url is None else data.meeting_url,
                description=live.description if data.description is None else data.description,
                include_parents=live.include_parents if data.include_parents is None else data.include_parents,
                group_id=live.group_id, course_id=live.course_id))
        except LiveError as exc:
            raise _refused(exc) from exc
        return session_json(live, "staff")

    @delete("/{session_id:str}", name="api.live.cancel", status_code=HTTP_204_NO_CONTENT,
            summary="Cancel a live session (its audience is told)",
            **problems(*GUARDED, 404, 409, idempotent=True, notes={
                403: STAFF_ONLY, 404: NOT_FOUND, 409: "Already cancelled, or over (`field`)."}))
    async def cancel(self, request: Request, db_session: DbSession, session_id: FromPath[str]) -> None:
        try:
            live = await service.get_managed(db_session, request.scope["user"], session_id)
            await service.cancel(db_session, _acting(request), live)
        except LiveError as exc:
            raise _refused(exc) from exc

    @get_route("/{session_id:str}/attendance", name="api.live.attendance",
               summary="Attendance: every learner's for the staff, a learner's own, a parent's children's",
               **problems(*GUARDED, 404, notes={404: NOT_FOUND}))
    async def attendance(self, request: Request, db_session: DbSession, session_id: FromPath[str],
                         page: PageParam = 1, per_page: LearnersPerPage = 50) -> AttendancePage:
        user = request.scope["user"]
        try:
            live, role = await service.get_visible(db_session, user, session_id)
        except LiveError as exc:
            raise _refused(exc) from exc
        if role in ("admin", "staff"):
            rows, total = await service.attendance(db_session, live, page=page, per_page=per_page)
            return AttendancePage(items=attendance_json(rows), total=total, page=page, per_page=per_page)
        from sqlalchemy import Uuid, literal, select

        who = relations.children_of(user.id) if role == "parent" else select(literal(user.id, Uuid))
        mine = await service.attendance_of(db_session, live, who)  # one, or a parent's children
        return AttendancePage(items=attendance_json(mine), total=len(mine), page=1, per_page=max(len(mine), 1))

    @put("/{session_id:str}/attendance", name="api.live.mark", guards=[requires_role(*STAFF_ROLES)],
         summary="Mark learners present, late, absent or excused (the session's staff)",
         **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
             403: STAFF_ONLY, 404: NOT_FOUND,
             409: "A `user_id` that is not a learner of this session (`field`); attendance is marked from 15 "
                  "minutes before the start, and never for a cancelled session."}))
    async def mark(self, request: Request, db_session: DbSession, session_id: FromPath[str],
                   data: JSONBody[AttendanceIn]) -> AttendancePage:
        try:
            live = await service.get_managed(db_session, request.scope["user"], session_id)
            await service.set_marks(db_session, _acting(request), live,
                                    [(m.user_id, m.status) for m in data.marks])
        except LiveError as exc:
            raise _refused(exc) from exc
        from sqlalchemy import Uuid, literal, select, union_all

        marked = select(union_all(*(select(literal(m.user_id, Uuid).label("id")) for m in data.marks))
                        .subquery().c.id)
        rows = await service.attendance_of(db_session, live, marked)  # the learners just marked
        return AttendancePage(items=attendance_json(rows), total=len(rows), page=1, per_page=max(len(rows), 1))
