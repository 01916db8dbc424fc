"""Quiet hours and the daily digest's time math, in the member's time zone."""

from __future__ import annotations

import datetime

from tajiconnect.domains.notifications.timing import in_quiet_hours, next_digest, quiet_until

T = datetime.time
UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def test_quiet_hours_within_a_day_and_wrapping_midnight():
    assert in_quiet_hours(T(13, 0), T(12, 0), T(14, 0)) and not in_quiet_hours(T(14, 0), T(12, 0), T(14, 0))
    assert in_quiet_hours(T(23, 30), T(22, 0), T(7, 0)) and in_quiet_hours(T(3, 0), T(22, 0), T(7, 0))
    assert not in_quiet_hours(T(7, 0), T(22, 0), T(7, 0)) and not in_quiet_hours(T(12, 0), T(22, 0), T(7, 0))
    assert not in_quiet_hours(T(12, 0), None, None) and not in_quiet_hours(T(12, 0), T(9, 0), T(9, 0))


def test_quiet_until_is_the_end_in_utc_in_the_members_zone():
    # Nairobi is UTC+3: 20:30 UTC is 23:30 local, quiet 22:00-07:00 ends 07:00 local = 04:00 UTC the next day.
    assert quiet_until(at(2026, 11, 30, 20, 30), "Africa/Nairobi", T(22), T(7)) == at(2026, 12, 1, 4, 0)
    # 01:00 UTC = 04:00 local: the same night's end, 04:00 UTC that day.
    assert quiet_until(at(2026, 12, 1, 1, 0), "Africa/Nairobi", T(22), T(7)) == at(2026, 12, 1, 4, 0)
    assert quiet_until(at(2026, 12, 1, 9, 0), "Africa/Nairobi", T(22), T(7)) is None
    assert quiet_until(at(2026, 12, 1, 9, 0), "Africa/Nairobi", None, None) is None
    # An unknown zone falls back to UTC.
    assert quiet_until(at(2026, 12, 1, 23, 0), "Mars/Olympus", T(22), T(7)) == at(2026, 12, 2, 7, 0)


def test_quiet_hours_across_a_daylight_saving_change():
    # Europe/Paris leaves summer time on 2026-10-25: 07:00 local that morning is 06:00 UTC (not 05:00).
    assert quiet_until(at(2026, 10, 24, 22, 0), "Europe/Paris", T(23), T(7)) == at(2026, 10, 25, 6, 0)


def test_next_digest_is_the_next_local_hour_after_quiet_hours():
    assert next_digest(at(2026, 12, 1, 3, 0), "Africa/Nairobi", 18) == at(2026, 12, 1, 15, 0)
    assert next_digest(at(2026, 12, 1, 16, 0), "Africa/Nairobi", 18) == at(2026, 12, 2, 15, 0)
    assert next_digest(at(2026, 12, 1, 15, 0), "Africa/Nairobi", 18) == at(2026, 12, 2, 15, 0)  # strictly after
    # A digest hour inside quiet hours waits for their end (06:00 in 22:00-07:00 → 07:00 local = 04:00 UTC).
    assert next_digest(at(2026, 12, 1, 12, 0), "Africa/Nairobi", 6, T(22), T(7)) == at(2026, 12, 2, 4, 0)
