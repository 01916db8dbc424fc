"""The notification service: :func:`notify` is how every feature tells a member something.

``await notify(session, user, "certificate_issued", key=f"certificate:{cert.id}", title=N_("..."),
params={...}, link="/learn/certificates")`` inside the caller's transaction:

1. adds the in-app notification (``notifications``), unless this member already has one with that ``key``
   (``ON CONFLICT DO NOTHING``): an event or a task that repeats notifies once;
2. only when it was added, defers ``deliver_notification`` through the outbox, so the email and SMS go out if, and
   only if, the caller's transaction commits (docs/notifications.md).

A deactivated member is notified of nothing (``notify`` returns None); one deactivated between the event and the
delivery gets no email nor SMS (the deliveries are recorded as skipped).

``title`` and ``body`` are msgids (mark them with ``N_``) with ``%(name)s`` placeholders filled from ``params``;
they are translated here into the recipient's language, so the list reads in it whatever language the event
happened in.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import i18n
from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.notifications.categories import CATEGORIES
from tajiconnect.domains.notifications.models import (
    CHANNELS,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from tajiconnect.i18n import gettext as _

TITLE_MAX = 300
BODY_MAX = 2000
KEY_MAX = 200


def render(message: str, params: dict[str, Any] | None, locale: str | None) -> str:
    """``message`` (a msgid) translated into ``locale`` with ``params`` filled in, themselves in ``locale``: a
    date in words, an object with a ``localized()`` method (e.g. ``billing.money.Amount``) as it says."""
    with i18n.locale_context(locale) as chosen:
        text = i18n.gettext(message)
        if not params:
            return text
        return text % {name: _localized(value, chosen) for name, value in params.items()}


def _localized(value: Any, locale: str) -> Any:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return format_date(value, format="long", locale=locale)
    localized = getattr(value, "localized", None)
    return localized() if callable(localized) else value


async def notify(
    session: AsyncSession, user: Any, category: str, *, key: str, title: str, body: str = "",
    params: dict[str, Any] | None = None, link: str | None = None, data: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """Notify ``user`` (a :class:`User`) of an event; the new notification's id, or None if it was already
    notified under ``key`` (see the module)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown notification category {category!r}")
    if getattr(user, "status", None) == "deactivated":  # gone from the organization: told nothing more
        return None
    locale = getattr(user, "locale", None)
    pref = await session.get(NotificationPreference, user.id)
    values = {
        "id": uuid.uuid4(), "user_id": user.id, "category": category, "key": key[:KEY_MAX],
        "title": render(title, params, locale)[:TITLE_MAX],
        "body": render(body, params, locale)[:BODY_MAX] if body else "",
        "link": link, "data": data or {},
        # In-app turned off for this category: kept (it is the event's record) but never counted as unread.
        "read_at": None if "app" in wanted_channels(category, pref) else datetime.datetime.now(datetime.UTC),
    }
    statement = insert(Notification).values(**values).on_conflict_do_nothing(
        constraint="uq_notifications_user_key"
    ).returning(Notification.id)
    created = (await session.execute(statement)).scalar_one_or_none()
    if created is not None:
        from tajiconnect.domains.notifications.tasks import deliver_notification
        from tajiconnect.tasks.outbox import defer

        await defer(session, deliver_notification, notification_id=str(created))
    return created


# --- Reading and managing a member's own notifications (pages and API). Every query is by the member's id: another
# member's (or organization's) notification is simply not found.

PER_PAGE = 20
PHONE_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")


def wanted_channels(category: str, pref: NotificationPreference | None) -> tuple[str, ...]:
    """The channels ``category`` uses for the member: their choice, else the category's defaults."""
    chosen = (pref.channels or {}).get(category) if pref is not None else None
    return tuple(chosen) if isinstance(chosen, list) else CATEGORIES[category].defaults


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int((await session.execute(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )).scalar_one())


async def my_notifications(session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = PER_PAGE,
                           unread: bool = False) -> tuple[list[Notification], int]:
    where = [Notification.user_id == user_id]
    if unread:
        where.append(Notification.read_at.is_(None))
    total = int((await session.execute(select(func.count()).select_from(Notification).where(*where))).scalar_one())
    items = list((await session.execute(
        select(Notification).where(*where).order_by(Notification.created_at.desc(), Notification.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).scalars())
    return items, total


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: str | uuid.UUID
                    ) -> Notification | None:
    """Mark the member's notification read (idempotent); None when they have no such notification."""
    key = parse_uuid(notification_id)
    if key is None:
        return None
    found = (await session.execute(
        select(Notification).where(Notification.id == key, Notification.user_id == user_id)
    )).scalar_one_or_none()
    if found is not None and found.read_at is None:
        found.read_at = datetime.datetime.now(datetime.UTC)
        await session.flush()
    return found


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=datetime.datetime.now(datetime.UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def my_deliveries(session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = PER_PAGE
                        ) -> tuple[list[tuple[NotificationDelivery, Notification]], int]:
    """The member's history of deliveries (newest first) with their notifications."""
    where = NotificationDelivery.user_id == user_id
    total = int((await session.execute(
        select(func.count()).select_from(NotificationDelivery).where(where))).scalar_one())
    rows = (await session.execute(
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(where).order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).tuples().all()
    return [(d, n) for d, n in rows], total


@dataclass
class Preferences:
    """A member's choices, complete (defaults filled in): what the pages and the API show and take."""

    channels: dict[str, list[str]]
    quiet_start: datetime.time | None = None
    quiet_end: datetime.time | None = None
    daily_digest: bool = False
    digest_hour: int = 18
    phone: str | None = None


class PreferenceError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def get_preferences(session: AsyncSession, user: Any) -> Preferences:
    from tajiconnect.domains.accounts.models import User

    pref = await session.get(NotificationPreference, user.id)
    phone = (await session.execute(select(User.phone).where(User.id == user.id))).scalar_one_or_none()
    channels = {name: [c for c in CHANNELS if c in wanted_channels(name, pref)] for name in CATEGORIES}
    if pref is None:
        return Preferences(channels=channels, phone=phone)
    return Preferences(channels=channels, quiet_start=pref.quiet_start, quiet_end=pref.quiet_end,
                       daily_digest=pref.daily_digest, digest_hour=pref.digest_hour, phone=phone)


def validate_preferences(prefs: Preferences) -> None:
    """Raises :class:`PreferenceError` naming the field at fault."""
    for name, channels in prefs.channels.items():
        if name not in CATEGORIES:
            raise PreferenceError("channels", _("Choose among the channels shown."))
        if any(c not in CHANNELS for c in channels):
            raise PreferenceError("channels", _("Choose among the channels shown."))
    if (prefs.quiet_start is None) != (prefs.quiet_end is None):
        raise PreferenceError("quiet_end" if prefs.quiet_end is None else "quiet_start",
                              _("Give both the start and the end of quiet hours, or neither."))
    if not 0 <= prefs.digest_hour <= 23:
        raise PreferenceError("digest_hour", _("Choose an hour between 0 and 23."))
    if prefs.phone and not PHONE_RE.fullmatch(prefs.phone):
        raise PreferenceError("phone", _("Give the number in international form, e.g. +254712345678."))


async def save_preferences(session: AsyncSession, user: Any, prefs: Preferences) -> None:
    validate_preferences(prefs)
    values = {
        "channels": {name: sorted(set(c), key=CHANNELS.index) for name, c in prefs.channels.items()},
        "quiet_start": prefs.quiet_start, "quiet_end": prefs.quiet_end, "daily_digest": prefs.daily_digest,
        "digest_hour": prefs.digest_hour, "updated_at": datetime.datetime.now(datetime.UTC),
    }
    await session.execute(insert(NotificationPreference).values(user_id=user.id, **values)
                          .on_conflict_do_update(index_elements=["user_id"], set_=values))
    from tajiconnect.domains.accounts.models import User

    phone = prefs.phone or None
    await session.execute(update(User).where(User.id == user.id).values(phone=phone))
    user.phone = phone  # the signed-in member's copy (detached) shows it too
