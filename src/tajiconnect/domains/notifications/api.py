"""The notifications API under ``/api/v1/notifications``: the signed-in member's own notifications.

* ``GET /`` (paginated, ``unread=true`` for the unread ones), ``POST /{id}/read``, ``POST /read-all``: another
  member's notification id, another organization's included, is a 404.
* ``GET /preferences`` and ``PUT /preferences``: channels per category, quiet hours, the daily digest, the phone
  number for SMS. Schema-invalid bodies are 400; a valid body that cannot be saved (half of the quiet hours) 409.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.notifications import service
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.notifications.service import PreferenceError, Preferences
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Notifications per page.")]
CategoryName = Literal["invitation", "enrollment", "due_soon", "overdue", "graded", "certificate_issued",
                       "import_finished", "report_ready", "seats_low", "child_linked", "billing",
                       "nudge", "announcement", "weekly_digest", "message", "discussion", "live_class"]
ChannelName = Literal["app", "email", "sms"]
ClockTime = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time, `HH:MM`.")]
Phone = Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{7,14}$", max_length=16, description="E.164, e.g. `+254712345678`.")]
Hour = Annotated[int, Meta(ge=0, le=23)]


class NotificationOut(msgspec.Struct):
    id: uuid.UUID
    category: CategoryName
    title: Annotated[str, Meta(max_length=300)]
    body: Annotated[str, Meta(max_length=2000)]
    link: Annotated[str, Meta(max_length=500)] | None
    created_at: Timestamp
    read_at: Timestamp | None


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    per_page: int


class ReadAll(msgspec.Struct):
    marked: int


class PreferencesOut(msgspec.Struct):
    """Every category with the channels it uses for this member (their choice, else its defaults)."""

    channels: dict[CategoryName, list[ChannelName]]
    quiet_start: ClockTime | None
    quiet_end: ClockTime | None
    daily_digest: bool
    digest_hour: Hour
    phone: Phone | None


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """The whole set of preferences: a category left out of ``channels`` goes back to its defaults; quiet hours
    are both given or both null; ``phone`` null removes the number."""

    channels: dict[CategoryName, Annotated[list[ChannelName], Meta(max_length=3)]]
    quiet_start: ClockTime | None = None
    quiet_end: ClockTime | None = None
    daily_digest: bool = False
    digest_hour: Hour = 18
    phone: Phone | None = None


def notification_json(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, category=n.category, title=n.title, body=n.body,  # type: ignore[arg-type]
                           link=n.link, created_at=n.created_at.isoformat(),
                           read_at=n.read_at.isoformat() if n.read_at else None)


def _clock(value: datetime.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def preferences_json(p: Preferences) -> PreferencesOut:
    return PreferencesOut(channels=p.channels, quiet_start=_clock(p.quiet_start),  # type: ignore[arg-type]
                          quiet_end=_clock(p.quiet_end), daily_digest=p.daily_digest, digest_hour=p.digest_hour,
                          phone=p.phone)


NOT_FOUND = "You have no such notification (another member's or organization's ids never are yours)."
FORBIDDEN = f"Signed-in members only. {SUSPENDED}"


class NotificationsApi(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.notifications.list", summary="My notifications, newest first",
         **problems(*GUARDED, notes={403: FORBIDDEN}))
    async def list_notifications(self, request: Request, db_session: DbSession, page: PageParam = 1,
                                 per_page: PerPage = 20,
                                 unread: Annotated[bool, Parameter(description="Only the unread ones.")] = False,
                                 ) -> NotificationPage:
        user_id = request.scope["user"].id
        items, total = await service.my_notifications(db_session, user_id, page=page, per_page=per_page,
                                                      unread=unread)
        return NotificationPage(items=[notification_json(n) for n in items], total=total, page=page,
                                per_page=per_page, unread=await service.unread_count(db_session, user_id))

    @post("/{notification_id:str}/read", name="api.notifications.read", summary="Mark one of my notifications read",
          status_code=HTTP_200_OK, opt={"read_only_ok": True},
          **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_FOUND}, idempotent=True))
    async def read(self, request: Request, db_session: DbSession, notification_id: FromPath[str]
                   ) -> NotificationOut:
        found = await service.mark_read(db_session, request.scope["user"].id, notification_id)
        if found is None:
            raise NotFoundException(detail="no such notification")
        return notification_json(found)

    @post("/read-all", name="api.notifications.read_all", summary="Mark all my notifications read",
          status_code=HTTP_200_OK, opt={"read_only_ok": True},
          **problems(*GUARDED, notes={403: FORBIDDEN}, idempotent=True))
    async def read_all(self, request: Request, db_session: DbSession) -> ReadAll:
        return ReadAll(marked=await service.mark_all_read(db_session, request.scope["user"].id))

    @get("/preferences", name="api.notifications.preferences", summary="My notification preferences",
         **problems(*GUARDED, notes={403: FORBIDDEN}))
    async def preferences(self, request: Request, db_session: DbSession) -> PreferencesOut:
        return preferences_json(await service.get_preferences(db_session, request.scope["user"]))

    @put("/preferences", name="api.notifications.preferences.save", summary="Replace my notification preferences",
         **problems(*BODY, *GUARDED, 409, notes={
             403: FORBIDDEN, 409: "Only one end of the quiet hours was given (`field` names the missing one)."},
             idempotent=True))
    async def save_preferences(self, request: Request, db_session: DbSession, data: JSONBody[PreferencesIn]
                               ) -> PreferencesOut:
        prefs = Preferences(
            channels={name: list(dict.fromkeys(c)) for name, c in data.channels.items()},
            quiet_start=datetime.time.fromisoformat(data.quiet_start) if data.quiet_start else None,
            quiet_end=datetime.time.fromisoformat(data.quiet_end) if data.quiet_end else None,
            daily_digest=data.daily_digest, digest_hour=data.digest_hour, phone=data.phone,
        )
        user = request.scope["user"]
        try:
            await service.save_preferences(db_session, user, prefs)
        except PreferenceError as exc:
            raise refusal(exc, status=409) from exc
        return preferences_json(await service.get_preferences(db_session, user))
