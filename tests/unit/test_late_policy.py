"""The late-policy arithmetic of assignments: days late (parts of a day count whole) and the penalty."""

from __future__ import annotations

import datetime
import math

from hypothesis import given
from hypothesis import strategies as st

from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.assessments.submissions import late_days, late_penalty, penalty_percent

DUE = datetime.datetime(2026, 3, 10, 17, 0, tzinfo=datetime.UTC)


def test_on_time_and_edges() -> None:
    assert late_days(None, DUE + datetime.timedelta(days=30)) == 0
    assert late_days(DUE, DUE) == 0
    assert late_days(DUE, DUE - datetime.timedelta(seconds=1)) == 0
    assert late_days(DUE, DUE + datetime.timedelta(seconds=1)) == 1
    assert late_days(DUE, DUE + datetime.timedelta(days=1)) == 1
    assert late_days(DUE, DUE + datetime.timedelta(days=1, microseconds=1)) == 2


@given(st.integers(min_value=1, max_value=10**9))
def test_days_are_the_ceiling_of_the_lateness(seconds: int) -> None:
    assert late_days(DUE, DUE + datetime.timedelta(seconds=seconds)) == math.ceil(seconds / 86400)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=100))
def test_penalty_is_days_times_rate_capped_at_100(days: int, per_day: int) -> None:
    pct = penalty_percent(days, per_day)
    assert pct == min(100, days * per_day)
    assert 0 <= pct <= 100
    assert penalty_percent(days + 1, per_day) >= pct  # never smaller for later work


@given(st.sampled_from(["accept", "penalize", "refuse"]), st.integers(0, 50), st.integers(0, 100))
def test_only_the_penalize_policy_takes_points_off(policy: str, days: int, per_day: int) -> None:
    assessment = Assessment(late_policy=policy, late_penalty_percent=per_day)
    expected = min(100, days * per_day) if policy == "penalize" else 0
    assert late_penalty(assessment, days) == expected
