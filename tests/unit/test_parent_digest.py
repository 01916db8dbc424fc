"""The weekly digest's pure parts: its key (the ISO week), the weekly tick, the one-line summary per child."""

from __future__ import annotations

import datetime

from tajiconnect.domains.parents.digest import ChildWeek, summary_line, week_key
from tajiconnect.tasks.schedule import tick_of

UTC = datetime.UTC


def _n(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def test_the_key_is_the_iso_week():
    assert week_key(datetime.datetime(2026, 12, 4, 14, 23, tzinfo=UTC)) == "weekly_digest:2026-W49"
    # ISO weeks cross years: 2027-01-01 is a Friday of 2026's week 53
    assert week_key(datetime.datetime(2027, 1, 1, 14, 23, tzinfo=UTC)) == "weekly_digest:2026-W53"
    # a time given in another zone counts in UTC
    east = datetime.timezone(datetime.timedelta(hours=3))
    assert week_key(datetime.datetime(2026, 12, 7, 1, 0, tzinfo=east)) == "weekly_digest:2026-W49"


def test_the_weekly_tick_is_the_monday_of_the_week():
    friday = datetime.datetime(2026, 12, 4, 14, 23, 41, tzinfo=UTC)
    assert tick_of("weekly", friday) == datetime.datetime(2026, 11, 30, tzinfo=UTC)
    assert tick_of("weekly", datetime.datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == tick_of("weekly", friday)
    assert tick_of("weekly", datetime.datetime(2026, 12, 7, tzinfo=UTC)) != tick_of("weekly", friday)


def test_the_summary_line_says_what_happened():
    week = ChildWeek(id=None, name="Amina", minutes=45, lessons=3,  # type: ignore[arg-type]
                     grades=[{"title": "Essay"}], grades_total=3, due=[{"title": "A"}], overdue=[{}, {}])
    data = week.as_data()
    assert data["grades_more"] == 2
    assert summary_line(data, str, _n) == "Amina: 3 lessons, 3 new grades, 1 due, 2 overdue"
    minutes_only = ChildWeek(id=None, name="Brian", minutes=12).as_data()  # type: ignore[arg-type]
    assert summary_line(minutes_only, str, _n) == "Brian: 12 minutes"
    assert summary_line(ChildWeek(id=None, name="Chris").as_data(), str, _n) == "Chris: a quiet week"  # type: ignore[arg-type]


def test_news_is_anything_to_tell():
    assert not ChildWeek(id=None, name="x").has_news  # type: ignore[arg-type]
    assert ChildWeek(id=None, name="x", minutes=1).has_news  # type: ignore[arg-type]
    assert ChildWeek(id=None, name="x", overdue=[{}]).has_news  # type: ignore[arg-type]


def test_the_weekly_digest_is_never_gathered_into_the_daily_digest():
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.notifications.models import Notification, NotificationPreference
    from tajiconnect.domains.notifications.tasks import plan_deliveries

    user = User(email="p@example.org", name="P", roles=["parent"], time_zone="Africa/Nairobi", phone=None)
    pref = NotificationPreference(daily_digest=True, digest_hour=18, quiet_start=None, quiet_end=None, channels={})
    now = datetime.datetime(2026, 12, 4, 11, 23, tzinfo=UTC)
    weekly = plan_deliveries(Notification(category="weekly_digest", data={}), user, pref, False, now)
    assert weekly == [{"channel": "email", "address": "p@example.org", "status": "pending"}]
    graded = plan_deliveries(Notification(category="graded", data={}), user, pref, False, now)
    assert graded[0]["status"] == "held" and graded[0]["digest"] is True
