"""The notification service: :func:`notify` is how every feature tells a member something.

``await notify(session, user, "certificate_issued", key=f"certificate:{cert.id}", title=N_("..."),
params={...}, link="/learn/certificates")`` inside the caller's transaction:

1. adds the in-app notification (``notifications``), unless this member already has one with that ``key``
   (``ON CONFLICT DO NOTHING``): an event or a task that repeats notifies once;
2. only when it was added, defers ``deliver_notification`` through the outbox, so the email and SMS go out if, and
   only if, the caller's transaction commits (docs/notifications.md).

``title`` and ``body`` are msgids (mark them with ``N_``) with ``%(name)s`` placeholders filled from ``params``;
they are translated here into the recipient's language, so the list reads in it whatever language the event
happened in.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import i18n
from tajiconnect.domains.notifications.categories import CATEGORIES
from tajiconnect.domains.notifications.models import Notification

TITLE_MAX = 300
BODY_MAX = 2000
KEY_MAX = 200


def render(message: str, params: dict[str, Any] | None, locale: str | None) -> str:
    """``message`` (a msgid) translated into ``locale`` with ``params`` filled in."""
    with i18n.locale_context(locale):
        text = i18n.gettext(message)
    return text % params if params else text


async def notify(
    session: AsyncSession, user: Any, category: str, *, key: str, title: str, body: str = "",
    params: dict[str, Any] | None = None, link: str | None = None, data: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """Notify ``user`` (a :class:`User`) of an event; the new notification's id, or None if it was already
    notified under ``key`` (see the module)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown notification category {category!r}")
    locale = getattr(user, "locale", None)
    values = {
        "id": uuid.uuid4(), "user_id": user.id, "category": category, "key": key[:KEY_MAX],
        "title": render(title, params, locale)[:TITLE_MAX],
        "body": render(body, params, locale)[:BODY_MAX] if body else "",
        "link": link, "data": data or {},
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
