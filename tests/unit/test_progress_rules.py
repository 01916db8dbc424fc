"""The arithmetic of progress: heartbeat credit, percentages, local days and streaks across time zones."""

from __future__ import annotations

import datetime

from tajiconnect.domains.progress import rules
from tajiconnect.domains.progress.rules import Streak

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def s(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def test_credit_is_the_gap_since_the_last_beat_capped():
    assert rules.credit_seconds(s(0), s(30)) == 30
    assert rules.credit_seconds(s(0), s(12.7)) == 12
    assert rules.credit_seconds(s(0), s(3600)) == rules.BEAT_CAP  # back after an hour: not an hour learned
    assert rules.credit_seconds(None, s(0)) == rules.BEAT_CAP  # the first beat of all
    assert rules.credit_seconds(s(30), s(10)) == 0  # out of order: already counted by another tab
    assert rules.credit_seconds(s(0), s(0)) == 0


def test_two_tabs_interleaved_credit_wall_time():
    """Tabs A and B beat every 30 s, 15 s apart, for 10 minutes: credited = wall time, not twice it."""
    last, total = s(0), 0
    beats = sorted([s(t) for t in range(30, 601, 30)] + [s(t) for t in range(15, 601, 30)])
    for at in beats:
        total += rules.credit_seconds(last, at)
        last = max(last, at)
    assert total == 600


def test_credit_never_exceeds_wall_time_plus_the_slack_per_visit():
    beats = [s(t) for t in (0, 30, 61, 3000, 3030)]
    last, total = None, 0
    for at in beats:
        total += rules.credit_seconds(last, at)
        last = at
    # 35 (first) + 30 + 31 + 35 (back after a break) + 30
    assert total == 161


def test_percent_rounds_down_and_is_100_only_when_all_done():
    assert rules.percent(0, 3) == 0
    assert rules.percent(1, 3) == 33
    assert rules.percent(2, 3) == 66
    assert rules.percent(199, 200) == 99
    assert rules.percent(3, 3) == 100
    assert rules.percent(5, 3) == 100
    assert rules.percent(0, 0) == 0  # nothing to do never reads as complete


def test_quizzes_and_assignments_count_but_complete_by_their_grade():
    assert {"text", "video", "document", "link", "embed", "quiz", "assignment"} == set(rules.COUNTED_KINDS)
    assert "quiz" not in rules.SELF_COMPLETED_KINDS and "assignment" not in rules.SELF_COMPLETED_KINDS
    assert rules.SELF_COMPLETED_KINDS < rules.COUNTED_KINDS


def test_local_day_in_nairobi_and_west_of_utc():
    late_utc = datetime.datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    assert rules.local_day(late_utc, "Africa/Nairobi") == datetime.date(2026, 3, 11)  # UTC+3: already tomorrow
    assert rules.local_day(late_utc, "America/Bogota") == datetime.date(2026, 3, 10)  # UTC-5
    early_utc = datetime.datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    assert rules.local_day(early_utc, "America/Bogota") == datetime.date(2026, 3, 9)
    assert rules.local_day(early_utc, "Not/AZone") == datetime.date(2026, 3, 10)  # unknown: UTC


def test_streak_grows_on_consecutive_days_and_resets_after_a_missed_day():
    d = datetime.date(2026, 3, 10)
    streak = Streak(0, 0, None)
    streak = rules.advance(streak, d)
    assert (streak.days, streak.best) == (1, 1)
    assert rules.advance(streak, d) == streak  # same day twice: once
    for offset in (1, 2, 3):
        streak = rules.advance(streak, d + datetime.timedelta(days=offset))
    assert (streak.days, streak.best) == (4, 4)
    streak = rules.advance(streak, d + datetime.timedelta(days=5))  # day 4 missed
    assert (streak.days, streak.best) == (1, 4)
    assert rules.advance(streak, d) == streak  # an earlier day never rewinds it


def test_streak_shown_is_computed_on_read():
    d = datetime.date(2026, 3, 10)
    streak = Streak(6, 9, d)
    assert rules.current(streak, d) == 6
    assert rules.current(streak, d + datetime.timedelta(days=1)) == 6  # today can still count
    assert rules.current(streak, d + datetime.timedelta(days=2)) == 0  # a missed day: stale, shown as 0
    assert rules.current(Streak(0, 0, None), d) == 0


def test_streak_over_local_days_in_two_zones():
    """The same two UTC moments are consecutive local days in Nairobi but the same day in Bogota."""
    first = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # Nairobi 23:00 on the 10th; Bogota 15:00 the 10th
    second = datetime.datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # Nairobi 01:00 on the 11th; Bogota 17:00 the 10th
    for zone, expected in (("Africa/Nairobi", 2), ("America/Bogota", 1)):
        streak = Streak(0, 0, None)
        for moment in (first, second):
            streak = rules.advance(streak, rules.local_day(moment, zone))
        assert streak.days == expected, zone


def test_an_active_day_needs_a_lesson_or_enough_minutes():
    assert not rules.is_active_day(rules.ACTIVE_DAY_SECONDS - 1, 0)
    assert rules.is_active_day(rules.ACTIVE_DAY_SECONDS, 0)
    assert rules.is_active_day(0, 1)
