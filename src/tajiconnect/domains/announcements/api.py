"""The announcements API under ``/api/v1`` (rules: ``service``).

* ``GET /announcements``: what the caller may see, newest first, paginated: those addressed to them (published;
  ``read_at`` says whether they opened it) and those they manage (their own; admins: all), any status;
  ``mine=true`` for the latter only, ``status`` to filter.
* ``POST /announcements``: ``{scope, group_id | course_id, title, body, publish_at?, include_parents?}``; 201,
  published now (``publish_at`` absent) or scheduled.
* ``GET /announcements/{id}``, ``PATCH`` (while scheduled: title, body, publish_at, include_parents, or
  ``publish_now``), ``DELETE`` (cancel a scheduled one, withdraw a published one; 204). In the API a cancelled or
  withdrawn announcement is gone: its item answers 404 (the list still shows it, with its status, to whoever
  manages it).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.announcements import service
from tajiconnect.domains.announcements.models import Announcement
from tajiconnect.domains.announcements.service import AnnouncementError, Draft
from tajiconnect.domains.audit.service import Acting
from tajiconnect.i18n import _
from tajiconnect.web.openapi import (
    BODY,
    GUARDED,
    NO_NUL,
    NOT_BLANK,
    REQUIRES_BEARER,
    SUSPENDED,
    Timestamp,
    problems,
    refusal,
)
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Announcements per page.")]
MineParam = Annotated[bool, Parameter(description="Only the announcements the caller manages (admins: all).")]
StatusName = Literal["scheduled", "published", "cancelled", "withdrawn"]
Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Body = Annotated[str, Meta(max_length=service.BODY_MAX, pattern=NO_NUL,
                           description="Markdown; rendered and sanitized (`body_html`).")]
When = Annotated[datetime.datetime, Meta(tz=True, description="A future time with its offset, within a year.")]
NOT_FOUND = ("No such announcement here, or not one the caller may see (another organization's ids never are); a "
             "cancelled or withdrawn announcement is gone.")
POST_404 = "`group_id` or `course_id` names no group or course the caller may announce to (`field` names it)."


class AnnouncementOut(msgspec.Struct):
    """An announcement as the caller sees it. ``recipient_count``/``parent_count`` are for those who manage it
    (null otherwise); ``read_at`` is the caller's own reading when it was addressed to them."""

    id: uuid.UUID
    scope: Literal["tenant", "group", "course"]
    group_id: uuid.UUID | None
    course_id: uuid.UUID | None
    audience: str
    title: str
    body: str
    body_html: str
    include_parents: bool
    status: StatusName
    author_id: uuid.UUID | None
    author_name: str
    publish_at: Timestamp | None
    published_at: Timestamp | None
    created_at: Timestamp
    addressed_to_me: bool
    read_at: Timestamp | None
    manages: bool
    recipient_count: int | None
    parent_count: int | None


class AnnouncementPage(msgspec.Struct):
    items: list[AnnouncementOut]
    total: int
    page: int
    per_page: int


class AnnouncementCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``scope`` ``group`` needs ``group_id``, ``course`` needs ``course_id``, ``tenant`` neither. Without
    ``publish_at`` it is published at once."""

    scope: Literal["tenant", "group", "course"]
    title: Title
    body: Body = ""
    group_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    publish_at: When | None = None
    include_parents: bool = False


class AnnouncementPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are; ``publish_now: true`` publishes the scheduled announcement at once."""

    title: Title | UnsetType = UNSET
    body: Body | UnsetType = UNSET
    publish_at: When | UnsetType = UNSET
    include_parents: bool | UnsetType = UNSET
    publish_now: bool = False


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def announcement_json(a: Announcement, *, manages: bool, addressed: bool,
                      read_at: datetime.datetime | None) -> AnnouncementOut:
    return AnnouncementOut(
        id=a.id, scope=a.scope, group_id=a.group_id, course_id=a.course_id,  # type: ignore[arg-type]
        audience=a.audience_label, title=a.title, body=a.body, body_html=a.body_html,
        include_parents=a.include_parents, status=a.status, author_id=a.author_id,  # type: ignore[arg-type]
        author_name=a.author_name, publish_at=_iso(a.publish_at) if a.status == "scheduled" else None,
        published_at=_iso(a.published_at), created_at=a.created_at.isoformat(), addressed_to_me=addressed,
        read_at=_iso(read_at), manages=manages,
        recipient_count=a.recipient_count if manages and a.published_at else None,
        parent_count=a.parent_count if manages and a.published_at else None)


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


class AnnouncementsApi(Controller):
    path = "/api/v1/announcements"
    tags = ["announcements"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.announcements.list", summary="Announcements addressed to the caller or managed by them",
         **problems(*GUARDED))
    async def list_announcements(self, request: Request, db_session: DbSession, page: PageParam = 1,
                                 per_page: PerPage = service.PER_PAGE, mine: MineParam = False,
                                 status: FromQuery[StatusName | None] = None) -> AnnouncementPage:
        user = request.scope["user"]
        rows, total = await service.listing(db_session, user, page=page, per_page=per_page, mine=mine,
                                            status=status)
        items = [announcement_json(a, manages=service.may_manage(user, a), addressed=addressed, read_at=read_at)
                 for a, read_at, addressed in rows]
        return AnnouncementPage(items=items, total=total, page=page, per_page=per_page)

    @post("/", name="api.announcements.create", status_code=201,
          summary="Post an announcement (admins: tenant-wide; group leaders; course staff), now or scheduled",
          **problems(*BODY, *GUARDED, 404, 409, 429, idempotent=True, notes={
              403: f"The caller may not announce, or not to the whole organization. {SUSPENDED}",
              404: POST_404,
              409: "A refused value (`field`: `publish_at` in the past or over a year ahead, `group_id` or "
                   "`course_id` missing for the scope).",
              429: f"More than {service.HOURLY_LIMIT} announcements by the caller in the last hour."}))
    async def create(self, request: Request, db_session: DbSession,
                     data: JSONBody[AnnouncementCreate]) -> AnnouncementOut:
        target = data.group_id if data.scope == "group" else data.course_id if data.scope == "course" else None
        try:
            if data.scope != "tenant" and target is None:
                message = _("Choose the group.") if data.scope == "group" else _("Choose the course.")
                raise AnnouncementError(message, field=f"{data.scope}_id")
            ann = await service.create(db_session, _acting(request), scope=data.scope, target_id=target, draft=Draft(
                title=data.title, body=data.body, publish_at=data.publish_at, include_parents=data.include_parents))
        except AnnouncementError as exc:
            raise refusal(exc, refused_value=True) from exc
        return announcement_json(ann, manages=True, addressed=False, read_at=None)

    @get("/{announcement_id:str}", name="api.announcements.detail", summary="One announcement",
         **problems(*GUARDED, 404, notes={404: NOT_FOUND}))
    async def detail(self, request: Request, db_session: DbSession,
                     announcement_id: FromPath[str]) -> AnnouncementOut:
        try:
            seen = await service.get_visible(db_session, request.scope["user"], announcement_id, live_only=True)
        except AnnouncementError as exc:
            raise refusal(exc) from exc
        return announcement_json(seen.announcement, manages=seen.manages, addressed=seen.recipient,
                                 read_at=seen.read_at)

    @patch("/{announcement_id:str}", name="api.announcements.update",
           summary="Change a scheduled announcement, or publish it now (its author or an admin)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: "Only the author or an admin changes an announcement; `publish_now` needs that the caller may "
                    f"(still) announce to its audience. {SUSPENDED}", 404: NOT_FOUND,
               409: "It is already published (`field`: `status`), or a refused value (`field`: `publish_at`)."}))
    async def update(self, request: Request, db_session: DbSession, announcement_id: FromPath[str],
                     data: JSONBody[AnnouncementPatch]) -> AnnouncementOut:
        try:
            ann = await service.update_scheduled(
                db_session, _acting(request), announcement_id,
                title=data.title if data.title is not UNSET else None,
                body=data.body if data.body is not UNSET else None,
                publish_at=data.publish_at if data.publish_at is not UNSET else None,
                include_parents=data.include_parents if data.include_parents is not UNSET else None,
                publish_now=data.publish_now, live_only=True)
        except AnnouncementError as exc:
            raise refusal(exc, refused_value=True) from exc
        return announcement_json(ann, manages=True, addressed=False, read_at=None)

    @delete("/{announcement_id:str}", name="api.announcements.delete", status_code=HTTP_204_NO_CONTENT,
            summary="Cancel a scheduled announcement, or withdraw a published one (its author or an admin)",
            **problems(*GUARDED, 404, idempotent=True, notes={
                403: f"Only the author or an admin takes an announcement back. {SUSPENDED}", 404: NOT_FOUND}))
    async def take_back(self, request: Request, db_session: DbSession, announcement_id: FromPath[str]) -> None:
        try:
            await service.take_back(db_session, _acting(request), announcement_id, live_only=True)
        except AnnouncementError as exc:
            raise refusal(exc) from exc
