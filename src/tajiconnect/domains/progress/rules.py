"""The arithmetic of progress, with no database: time credit, percentages, local days and streaks.

Every number here is documented in docs/progress.md; the service applies them in SQL-sized steps.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: lesson.js sends a heartbeat every ``BEAT_INTERVAL`` seconds while the lesson page is visible.
BEAT_INTERVAL = 30
#: A heartbeat credits the time since the previous heartbeat of ANY tab of the learner, at most ``BEAT_CAP``
#: seconds: one interval plus 5 s for timers and the network. Several tabs share one clock (``last_beat_at``), so
#: they never count a minute twice; a gap longer than the cap (tab hidden, laptop asleep, first beat of a visit)
#: credits the cap only. So the time credited never exceeds the wall time plus 5 s per visit.
BEAT_CAP = 35
#: A local day counts for the streak with a lesson completed or at least this much time learned.
ACTIVE_DAY_SECONDS = 5 * 60
#: Kinds a learner completes by saying so (the others complete by their grade).
SELF_COMPLETED_KINDS: frozenset[str] = frozenset({"text", "video", "document", "link", "embed"})
#: Lesson kinds that count in a course's percentage and its completion: quizzes and assignments complete when
#: their released grade passes (``completed_by = 'grade'``).
COUNTED_KINDS: frozenset[str] = SELF_COMPLETED_KINDS | {"quiz", "assignment"}
FALLBACK_ZONE = "UTC"


def credit_seconds(last_beat_at: datetime.datetime | None, now: datetime.datetime, cap: int = BEAT_CAP) -> int:
    """Seconds a heartbeat at ``now`` credits: the gap since the previous beat of any tab, 0 to ``cap``."""
    if last_beat_at is None:
        return cap
    gap = (now - last_beat_at).total_seconds()
    if gap <= 0:
        return 0  # a beat that arrives out of order (another tab's already counted this moment)
    return min(int(gap), cap)


def percent(done: int, total: int) -> int:
    """Whole percent, rounded down: 100 only when everything is done; nothing to do is 0 (never "complete")."""
    if total <= 0:
        return 0
    done = max(0, min(done, total))
    return 100 * done // total


def zone_of(name: str | None) -> ZoneInfo:
    """The learner's time zone (``users.time_zone``); an unknown name falls back to UTC."""
    try:
        return ZoneInfo(name or FALLBACK_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_ZONE)


def local_day(moment: datetime.datetime, zone_name: str | None) -> datetime.date:
    """The learner's calendar day at ``moment`` (an aware datetime)."""
    return moment.astimezone(zone_of(zone_name)).date()


def is_active_day(seconds: int, lessons_completed: int) -> bool:
    return lessons_completed > 0 or seconds >= ACTIVE_DAY_SECONDS


@dataclass(frozen=True)
class Streak:
    days: int
    best: int
    last_active_on: datetime.date | None


def advance(streak: Streak, today: datetime.date) -> Streak:
    """The streak once ``today`` (the learner's local day) has become active."""
    if streak.last_active_on == today:
        return streak
    if streak.last_active_on is not None and streak.last_active_on > today:
        return streak  # a day already counted later (a clock or zone change): never go backwards
    if streak.last_active_on == today - datetime.timedelta(days=1):
        days = streak.days + 1
    else:
        days = 1
    return Streak(days, max(streak.best, days), today)


def current(streak: Streak, today: datetime.date) -> int:
    """The streak to show on ``today``: still alive if the last active day is today or yesterday (today can still
    be made active), else 0. Computed on read, so a stale stored streak is never shown."""
    if streak.last_active_on is None:
        return 0
    if today - streak.last_active_on <= datetime.timedelta(days=1):
        return streak.days
    return 0
