"""Announcement pages (rules: ``service``).

* ``/announcements``: those addressed to me, newest first, unread marked (``?view=sent``: those I wrote; admins:
  every one), paginated, HTMX pager.
* ``/announcements/new``: the form, with only the scopes the author may use; ``?group=<id>`` or ``?course=<id>``
  preselects one (the teacher's home links there). ``publish_at`` is local time in the author's time zone.
* ``/announcements/{id}``: the announcement (marks it read); for its author and admins, "sent to N people (M
  parents)" and the buttons: edit and cancel while scheduled, withdraw once published.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import localtime
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.announcements import service
from tajiconnect.domains.announcements.models import Announcement
from tajiconnect.domains.announcements.service import AnnouncementError, Draft
from tajiconnect.domains.audit.service import Acting
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
NOTICES = ("published", "scheduled", "saved", "cancelled", "withdrawn")


def _zone(user: Any) -> ZoneInfo:
    return localtime.zone_named(getattr(user, "time_zone", None))


def _helpers(user: Any) -> dict[str, Any]:
    zone, locale = _zone(user), require_tenant().locale

    def when(moment: datetime.datetime | None) -> str:
        return localtime.local_time(moment, user, locale=locale)

    return {"when": when, "zone_name": str(zone)}


def _local_value(moment: datetime.datetime | None, user: Any) -> str:
    return moment.astimezone(_zone(user)).strftime(LOCAL_FORMAT) if moment else ""


def parse_local(text: str, user: Any) -> datetime.datetime | None:
    """``YYYY-MM-DDTHH:MM`` (a ``datetime-local`` field) in the member's time zone; None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        naive = datetime.datetime.strptime(text[:16], LOCAL_FORMAT)
    except ValueError as exc:
        raise AnnouncementError(_("Give a date and time, e.g. 2030-01-31 08:00."), field="publish_at") from exc
    return naive.replace(tzinfo=_zone(user))


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _missing(exc: AnnouncementError) -> NotFoundException:
    return NotFoundException(detail=exc.message)


class AnnouncementPages(Controller):
    path = "/announcements"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="announcements.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1,
                    view: FromQuery[str | None] = None) -> Template:
        user = request.scope["user"]
        may_write = service.may_announce(user)
        sent_view = view == "sent" and may_write
        context: dict[str, Any] = {"view": "sent" if sent_view else "inbox", "may_write": may_write,
                                   "is_admin": service.is_admin(user), **_helpers(user)}
        if sent_view:
            rows, total = await service.sent(db_session, user, page=page)
            context["sent"] = rows
        else:
            inbox, total = await service.inbox(db_session, user, page=page)
            context["inbox"] = inbox
        context["paging"] = page_info(total, page, service.PER_PAGE)
        fragment = wants_fragment(request, "announcements-list")
        return Template("announcements/_list.html" if fragment else "announcements/index.html", context=context)

    async def _form(self, session: AsyncSession, user: Any, *, values: dict[str, Any], errors: dict[str, str],
                    status: int = 200, announcement: Announcement | None = None) -> Template:
        choices = await service.choices(session, user)
        if not choices.any:
            raise PermissionDeniedException(detail=_("You have nobody to announce to."))
        return Template("announcements/form.html", status_code=status, context={
            "choices": choices, "form": values, "errors": errors, "announcement": announcement,
            "zone_name": str(_zone(user)), "limits": {"title": service.TITLE_MAX, "body": service.BODY_MAX}})

    @get("/new", name="announcements.new")
    async def new(self, request: Request, db_session: DbSession, group: FromQuery[str | None] = None,
                  course: FromQuery[str | None] = None) -> Template:
        user = request.scope["user"]
        values: dict[str, Any] = {}
        choices = await service.choices(db_session, user)
        if group and any(str(gid) == group for gid, _name in choices.groups):
            values = {"scope": "group", "group_id": group}
        elif course and any(str(cid) == course for cid, _name in choices.courses):
            values = {"scope": "course", "course_id": course}
        elif choices.groups:
            values = {"scope": "group"}
        elif choices.courses:
            values = {"scope": "course"}
        return await self._form(db_session, user, values=values, errors={})

    @post("/new", name="announcements.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = request.scope["user"]
        form = await Form.read(request)
        scope = form.get("scope")
        target = form.get("group_id") if scope == "group" else form.get("course_id") if scope == "course" else None
        try:
            draft = Draft(title=form.get("title"), body=form.get("body"),
                          publish_at=parse_local(form.get("publish_at"), user),
                          include_parents=form.get("include_parents") == "on")
            ann = await service.create(db_session, _acting(request), scope=scope, target_id=target, draft=draft)
        except AnnouncementError as exc:
            if exc.status == 403 and exc.field is None:
                raise PermissionDeniedException(detail=exc.message) from exc
            return await self._form(db_session, user, values=form.data, errors={exc.field or "form": exc.message},
                                    status=429 if exc.status == 429 else 422)
        return see_other(f"/announcements/{ann.id}", notice=ann.status)

    @get("/{announcement_id:str}", name="announcements.detail")
    async def detail(self, request: Request, db_session: DbSession, announcement_id: FromPath[str],
                     notice: FromQuery[str | None] = None) -> Template:
        user = request.scope["user"]
        try:
            seen = await service.get_visible(db_session, user, announcement_id, mark_read=True)
        except AnnouncementError as exc:
            raise _missing(exc) from exc
        return Template("announcements/detail.html", context={
            "a": seen.announcement, "manages": seen.manages, "notice": notice if notice in NOTICES else None,
            "errors": {}, **_helpers(user)})

    async def _managed_or_404(self, session: AsyncSession, user: Any, announcement_id: str) -> Announcement:
        try:
            seen = await service.get_visible(session, user, announcement_id)
        except AnnouncementError as exc:
            raise _missing(exc) from exc
        if not seen.manages:
            raise PermissionDeniedException(detail=_("Only the author or an admin changes an announcement."))
        return seen.announcement

    @get("/{announcement_id:str}/edit", name="announcements.edit")
    async def edit(self, request: Request, db_session: DbSession, announcement_id: FromPath[str]) -> Template:
        user = request.scope["user"]
        ann = await self._managed_or_404(db_session, user, announcement_id)
        if ann.status != "scheduled":
            raise NotFoundException(detail=_("Only a scheduled announcement can be changed."))
        values = {"title": ann.title, "body": ann.body, "include_parents": "on" if ann.include_parents else "",
                  "publish_at": _local_value(ann.publish_at, user)}
        return Template("announcements/edit.html", context={
            "a": ann, "form": values, "errors": {}, "zone_name": str(_zone(user)),
            "limits": {"title": service.TITLE_MAX, "body": service.BODY_MAX}})

    @post("/{announcement_id:str}/edit", name="announcements.update")
    async def update(self, request: Request, db_session: DbSession, announcement_id: FromPath[str]
                     ) -> Template | Redirect:
        user = request.scope["user"]
        form = await Form.read(request)
        try:
            publish_at = parse_local(form.get("publish_at"), user)
            if publish_at is None and form.get("publish_now") != "on":
                raise AnnouncementError(_("Choose a time in the future, or publish now."), field="publish_at")
            ann = await service.update_scheduled(
                db_session, _acting(request), announcement_id, title=form.get("title"), body=form.get("body"),
                include_parents=form.get("include_parents") == "on", publish_at=publish_at,
                publish_now=form.get("publish_now") == "on")
        except AnnouncementError as exc:
            if exc.status == 404:
                raise _missing(exc) from exc
            if exc.status == 403:
                raise PermissionDeniedException(detail=exc.message) from exc
            ann = await self._managed_or_404(db_session, user, announcement_id)
            return Template("announcements/edit.html", status_code=409 if exc.status == 409 else 422, context={
                "a": ann, "form": form.data, "errors": {exc.field or "form": exc.message},
                "zone_name": str(_zone(user)), "limits": {"title": service.TITLE_MAX, "body": service.BODY_MAX}})
        return see_other(f"/announcements/{ann.id}", notice="published" if ann.status == "published" else "saved")

    async def _take_back(self, request: Request, session: AsyncSession, announcement_id: str, expect: str,
                         notice: str) -> Template | Redirect:
        try:
            ann = await service.take_back(session, _acting(request), announcement_id, expect=expect)
        except AnnouncementError as exc:
            if exc.status == 404:
                raise _missing(exc) from exc
            if exc.status == 403:
                raise PermissionDeniedException(detail=exc.message) from exc
            seen = await service.get_visible(session, request.scope["user"], announcement_id)
            return Template("announcements/detail.html", status_code=409, context={
                "a": seen.announcement, "manages": seen.manages, "notice": None,
                "errors": {"form": exc.message}, **_helpers(request.scope["user"])})
        return see_other(f"/announcements/{ann.id}", notice=notice)

    @post("/{announcement_id:str}/cancel", name="announcements.cancel")
    async def cancel(self, request: Request, db_session: DbSession, announcement_id: FromPath[str]
                     ) -> Template | Redirect:
        return await self._take_back(request, db_session, announcement_id, "scheduled", "cancelled")

    @post("/{announcement_id:str}/withdraw", name="announcements.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession, announcement_id: FromPath[str]
                       ) -> Template | Redirect:
        return await self._take_back(request, db_session, announcement_id, "published", "withdrawn")
