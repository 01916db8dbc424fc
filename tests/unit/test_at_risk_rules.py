"""The teacher's home's at-risk rules (``domains/homes/risk.py``), pure."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tajiconnect.domains.homes import risk

NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def test_inactive_counts_from_the_last_activity_or_the_enrollment():
    assert risk.is_inactive(NOW - 7 * DAY, None, NOW, 7)
    assert not risk.is_inactive(NOW - 7 * DAY + datetime.timedelta(minutes=1), None, NOW, 7)
    assert risk.is_inactive(None, NOW - 8 * DAY, NOW, 7)  # never active, enrolled 8 days ago
    assert not risk.is_inactive(None, NOW - 2 * DAY, NOW, 7)  # enrolled recently: not yet
    assert not risk.is_inactive(None, None, NOW, 7)  # nothing to be active in
    assert not risk.is_inactive(NOW - 2 * DAY, NOW - 30 * DAY, NOW, 7)
    assert risk.is_inactive(NOW - 2 * DAY, None, NOW, 1)


@pytest.mark.parametrize(("percents", "falling"), [
    ([], False),
    ([Decimal(10)] * 3, False),  # no earlier grade to compare with
    ([Decimal(60), Decimal(60), Decimal(60), Decimal(75)], True),  # exactly 15 under
    ([Decimal(61), Decimal(60), Decimal(60), Decimal(75)], False),  # 14.67 under
    ([Decimal(50), Decimal(55), Decimal(60), Decimal(80), Decimal(90), Decimal(70)], True),
    ([Decimal(90), Decimal(90), Decimal(90), Decimal(40)], False),  # rising
])
def test_falling_grades_compare_the_last_three_with_the_earlier(percents, falling):
    assert risk.is_falling(percents) is falling
    recent, earlier = risk.averages(percents)
    assert risk.falling_from_averages(recent, earlier) is falling


def test_rules_met_lists_every_rule_in_order():
    assert risk.rules_met(last_activity=None, enrolled_at=NOW - 9 * DAY, overdue=2, recent_avg=Decimal(40),
                          earlier_avg=Decimal(80), now=NOW, days=7) == ["inactive", "overdue", "falling"]
    assert risk.rules_met(last_activity=NOW, enrolled_at=NOW, overdue=0, recent_avg=None, earlier_avg=None,
                          now=NOW, days=7) == []
    assert risk.rules_met(last_activity=NOW, enrolled_at=NOW, overdue=1, recent_avg=Decimal(70),
                          earlier_avg=None, now=NOW, days=7) == ["overdue"]


@pytest.mark.parametrize("value", ["", "0", "366", "-3", "7.5", "abc", "1" * 40, " 9999 "])
def test_the_days_setting_refuses_what_is_not_1_to_365(value):
    with pytest.raises(ValueError):
        risk.check_days(value)


def test_the_days_setting_takes_whole_days():
    assert risk.check_days(" 14 ") == 14
    assert risk.check_days("365") == 365
