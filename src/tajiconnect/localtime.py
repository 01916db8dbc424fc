"""Moments as a member reads them: in their time zone and language, on pages, in notifications and feeds.

Times are stored in UTC. ``local_time(moment, viewer)`` writes one in the viewer's zone (their ``time_zone``, UTC
when unset or unknown) and language (``locale``: the viewer's, else the page's); templates call the global
``local_time(moment)``, which reads the signed-in member from the request.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from jinja2 import pass_context

from tajiconnect import i18n


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called ``name``; UTC when it is empty or unknown (a stored zone is shown, never trusted)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime.datetime | None, viewer: Any, fmt: str = "medium", *, with_zone: bool = False,
               locale: str | None = None) -> str:
    """``moment`` in ``viewer``'s zone and language (Babel's ``fmt``: short, medium, long), with the zone's name
    in parentheses when ``with_zone``; "" for None."""
    if moment is None:
        return ""
    tz = zone_named(getattr(viewer, "time_zone", None))
    try:
        text = format_datetime(moment, format=fmt, tzinfo=tz,
                               locale=locale or getattr(viewer, "locale", None) or i18n.current_locale())
    except Exception:  # an unknown locale: the ISO form still says it
        text = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({tz.key})" if with_zone else text


@pass_context
def local_time_of_request(context: Any, moment: datetime.datetime | None, fmt: str = "medium",
                          with_zone: bool = False) -> str:
    """The templates' ``local_time``: for the member signed in on the request being answered (UTC otherwise)."""
    request = context.get("request")
    viewer = request.scope.get("user") if request is not None else None
    return local_time(moment, viewer, fmt, with_zone=with_zone, locale=i18n.current_locale())
