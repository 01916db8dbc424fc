"""Learners at risk: the three rules of the teacher's home, as pure functions (unit-tested) and their SQL twins.

A learner is at risk when they meet one or more of:

* **inactive**: no learning activity for ``days`` days (the organization's setting, 7 by default): their latest
  activity in any current enrollment, or, never active, the day they were enrolled, is older than that. A learner
  with no current enrollment has nothing to be active in and is never "inactive";
* **overdue**: work past its due date and not done: a current enrollment whose due date passed and that is not
  completed, or a quiz/assignment of a course they are actively enrolled in whose due date passed and that they
  never submitted (no grade row);
* **falling grades**: the average of their last :data:`RECENT` released grades (in percent, newest by release time)
  is at least :data:`DROP_POINTS` points under the average of their earlier released grades (at least one earlier
  grade is needed).

On the teacher's home the rules read a learner's courses that the teacher staffs and, for the learners of the
classes the teacher leads, all their courses; another teacher's course never puts a learner on a course teacher's
list.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

DEFAULT_INACTIVE_DAYS = 7
MIN_INACTIVE_DAYS, MAX_INACTIVE_DAYS = 1, 365
RECENT = 3
DROP_POINTS = Decimal(15)

INACTIVE, OVERDUE, FALLING = "inactive", "overdue", "falling"
RULES = (INACTIVE, OVERDUE, FALLING)


def is_inactive(last_activity: datetime.datetime | None, enrolled_at: datetime.datetime | None,
                now: datetime.datetime, days: int) -> bool:
    """No activity for ``days`` days: the latest activity (or, never active, the enrollment) is older than that.
    ``enrolled_at`` None means no current enrollment: never inactive."""
    if enrolled_at is None and last_activity is None:
        return False
    since = last_activity or enrolled_at
    assert since is not None
    return since <= now - datetime.timedelta(days=days)


def averages(percents_newest_first: Sequence[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    """(the average of the last :data:`RECENT` grades, the average of the earlier ones); None when missing."""
    recent, earlier = percents_newest_first[:RECENT], percents_newest_first[RECENT:]
    avg = (lambda xs: sum(xs, Decimal(0)) / len(xs) if xs else None)  # noqa: E731
    return avg(list(recent)), avg(list(earlier))


def is_falling(percents_newest_first: Sequence[Decimal]) -> bool:
    """The last :data:`RECENT` grades average at least :data:`DROP_POINTS` under the earlier ones."""
    if len(percents_newest_first) <= RECENT:
        return False
    recent, earlier = averages(percents_newest_first)
    assert recent is not None and earlier is not None
    return recent <= earlier - DROP_POINTS


def falling_from_averages(recent: Decimal | None, earlier: Decimal | None) -> bool:
    """:func:`is_falling` from the two averages (what the SQL returns)."""
    return recent is not None and earlier is not None and Decimal(recent) <= Decimal(earlier) - DROP_POINTS


def rules_met(*, last_activity: datetime.datetime | None, enrolled_at: datetime.datetime | None, overdue: int,
              recent_avg: Any, earlier_avg: Any, now: datetime.datetime, days: int) -> list[str]:
    """Which rules a learner meets, in :data:`RULES` order."""
    met = []
    if is_inactive(last_activity, enrolled_at, now, days):
        met.append(INACTIVE)
    if overdue > 0:
        met.append(OVERDUE)
    if falling_from_averages(recent_avg, earlier_avg):
        met.append(FALLING)
    return met


def check_days(value: str) -> int:
    """The organization's "no activity for N days" from a form; ValueError with the reason otherwise."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        raise ValueError("not a number")
    days = int(text)
    if not MIN_INACTIVE_DAYS <= days <= MAX_INACTIVE_DAYS:
        raise ValueError("out of range")
    return days
