"""When a delivery may go out: quiet hours and the daily digest, in the member's time zone (pure functions).

Quiet hours ``start``-``end`` are local wall-clock times; ``start > end`` wraps midnight (22:00-07:00), and
``start == end`` means no quiet hours. A delivery made during them is held until their end; a digest email is
held until the next ``digest_hour`` (local), pushed to the end of quiet hours if that hour falls inside them.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = datetime.UTC


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(local: datetime.time, start: datetime.time | None, end: datetime.time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight


def quiet_until(now: datetime.datetime, tz: str | None, start: datetime.time | None,
                end: datetime.time | None) -> datetime.datetime | None:
    """The end of the quiet hours ``now`` (aware) falls in, in UTC; None when ``now`` is not in quiet hours."""
    local = now.astimezone(zone(tz))
    if end is None or not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return None
    candidate = datetime.datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), end, tzinfo=local.tzinfo)
    return _normalise(candidate).astimezone(UTC)


def next_digest(now: datetime.datetime, tz: str | None, hour: int, start: datetime.time | None = None,
                end: datetime.time | None = None) -> datetime.datetime:
    """The next ``hour``:00 local strictly after ``now``, in UTC (then after quiet hours, if it falls in them)."""
    local = now.astimezone(zone(tz))
    candidate = datetime.datetime.combine(local.date(), datetime.time(hour), tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(hour),
                                              tzinfo=local.tzinfo)
    at = _normalise(candidate).astimezone(UTC)
    return quiet_until(at, tz, start, end) or at


def _normalise(value: datetime.datetime) -> datetime.datetime:
    """A local time that a DST change skipped or repeated, as a real instant (round trip through UTC)."""
    return value.astimezone(UTC).astimezone(value.tzinfo)
