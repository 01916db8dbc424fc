"""Notification pages, for the signed-in member and about their own notifications only:

* ``/notifications``: the list (paginated), mark one read (``POST /notifications/{id}/read``, then on to its link),
  mark all read (``POST /notifications/read-all``). Another member's id, another organization's included, is a 404.
  Marking read works on a read-only organization too (``read_only_ok``): it is the member's own reading state, not
  the organization's data, and the billing notices that explain the read-only state open through it.
* ``/notifications/count``: the bell (HTMX polls it every 30 s when server-sent events are unavailable) and
  ``/notifications/stream``: server-sent events, an ``unread`` event with the count at once and whenever it
  changes (checked every :data:`STREAM_POLL_SECONDS`), for :data:`STREAM_SECONDS` at most; the browser reconnects.
* ``/notifications/preferences``: categories x channels, quiet hours, the daily digest, the phone number for SMS.
* ``/notifications/history``: what was sent on which channel, when, and why it failed.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.notifications import service
from tajiconnect.domains.notifications.categories import CATEGORIES
from tajiconnect.domains.notifications.models import CHANNELS
from tajiconnect.domains.notifications.service import PreferenceError, Preferences
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant, tenant_context
from tajiconnect.web.forms import Form, render_form, safe_next, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

STREAM_SECONDS = 300.0
STREAM_POLL_SECONDS = 5.0


def _time(value: str) -> datetime.time | None:
    return datetime.time.fromisoformat(value) if value else None


def preferences_from_form(form: Form) -> Preferences:
    """The submitted preferences; field errors go into ``form`` (checkbox names are ``<category>:<channel>``)."""
    chosen = set(form.getlist("channel"))
    channels = {name: [c for c in CHANNELS if f"{name}:{c}" in chosen] for name in CATEGORIES}
    prefs = Preferences(channels=channels, daily_digest=form.get("daily_digest") == "on",
                        phone=form.get("phone").strip() or None)
    for name in ("quiet_start", "quiet_end"):
        try:
            setattr(prefs, name, _time(form.get(name)))
        except ValueError:
            form.error(name, _("Give a time such as 22:00."))
    try:
        prefs.digest_hour = int(form.get("digest_hour") or 18)
    except ValueError:
        form.error("digest_hour", _("Choose an hour."))
    return prefs


def _preferences_context(prefs: Preferences) -> dict[str, Any]:
    return {"categories": CATEGORIES, "channels": CHANNELS, "prefs": prefs, "hours": range(24)}


class NotificationPages(Controller):
    path = "/notifications"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="notifications.list")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        user = request.scope["user"]
        items, total = await service.my_notifications(db_session, user.id, page=page)
        context = {"items": items, "paging": page_info(total, page, service.PER_PAGE),
                   "unread": await service.unread_count(db_session, user.id)}
        fragment = wants_fragment(request, "notifications-list")
        return Template("notifications/_list.html" if fragment else "notifications/index.html", context=context)

    @get("/count", name="notifications.count")
    async def count(self, request: Request, db_session: DbSession) -> Template:
        """The bell's count alone (HTMX swaps it in)."""
        return Template("notifications/_count.html",
                        context={"unread": await service.unread_count(db_session, request.scope["user"].id)})

    @get("/stream", name="notifications.stream")
    async def stream(self, request: Request) -> ServerSentEvent:
        """Server-sent events: ``unread`` with the count, now and when it changes; ends after a while."""
        engine, tenant, user_id = request.app.state.engine, require_tenant(), request.scope["user"].id

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            last: int | None = None
            deadline = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < deadline:
                with tenant_context(tenant):
                    async with session_scope(engine) as session:
                        count = await service.unread_count(session, user_id)
                if count != last:
                    last = count
                    yield ServerSentEventMessage(data=str(count), event="unread", retry=5000)
                await asyncio.sleep(STREAM_POLL_SECONDS)

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @post("/{notification_id:str}/read", name="notifications.read", opt={"read_only_ok": True})
    async def read(self, request: Request, db_session: DbSession, notification_id: FromPath[str]) -> Redirect:
        found = await service.mark_read(db_session, request.scope["user"].id, notification_id)
        if found is None:
            raise NotFoundException(detail="no such notification")
        form = await Form.read(request)
        if form.get("open") and found.link:
            return see_other(safe_next(found.link, "/notifications"))
        return see_other("/notifications")

    @post("/read-all", name="notifications.read_all", opt={"read_only_ok": True})
    async def read_all(self, request: Request, db_session: DbSession) -> Redirect:
        await service.mark_all_read(db_session, request.scope["user"].id)
        return see_other("/notifications")

    @get("/preferences", name="notifications.preferences")
    async def preferences(self, request: Request, db_session: DbSession) -> Template:
        prefs = await service.get_preferences(db_session, request.scope["user"])
        return Template("notifications/preferences.html",
                        context={**_preferences_context(prefs), "saved": request.query_params.get("saved")})

    @post("/preferences", name="notifications.preferences.save")
    async def save_preferences(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        prefs = preferences_from_form(form)
        if form.ok:
            try:
                await service.save_preferences(db_session, request.scope["user"], prefs)
            except PreferenceError as exc:
                form.error(exc.field, exc.message)
        if not form.ok:
            return render_form("notifications/preferences.html", form, **_preferences_context(prefs))
        return see_other("/notifications/preferences?saved=1")

    @get("/history", name="notifications.history")
    async def history(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        rows, total = await service.my_deliveries(db_session, request.scope["user"].id, page=page)
        context = {"rows": rows, "paging": page_info(total, page, service.PER_PAGE)}
        fragment = wants_fragment(request, "deliveries-list")
        return Template("notifications/_history.html" if fragment else "notifications/history.html",
                        context=context)
