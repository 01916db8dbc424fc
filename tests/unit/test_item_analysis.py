"""Quiz item analysis (grading/analytics.py): distribution, facility, discrimination, most missed, time."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from tajiconnect.domains.grading.analytics import AttemptStats, analyse, group_size, histogram

Q1, Q2, Q3 = (uuid.UUID(int=i) for i in (1, 2, 3))


def attempt(percent, fractions, seconds=60.0, asked=(Q1, Q2, Q3)):
    return AttemptStats(percent, seconds, fractions, asked)


def test_histogram_buckets_and_edges():
    buckets = histogram([0, 9.99, 10, 55, 100, 120, -5])
    assert [(b.low, b.high) for b in buckets][:2] == [(0, 10), (10, 20)] and len(buckets) == 10
    assert [b.count for b in buckets] == [3, 1, 0, 0, 0, 1, 0, 0, 0, 2]


def test_facility_discrimination_most_missed_and_time():
    # Q1: everyone right (easy, does not discriminate); Q2: only the strong get it; Q3: only the weak (bad item).
    attempts = [
        attempt(100, {Q1: 1, Q2: 1, Q3: 0}, 100), attempt(90, {Q1: 1, Q2: 1, Q3: 0}, 200),
        attempt(40, {Q1: 1, Q2: 0, Q3: 1}, 300), attempt(30, {Q1: 1, Q2: 0}, 400),  # Q3 unanswered: 0
    ]
    result = analyse(attempts, order=(Q1, Q2, Q3))
    stats = {q.question_id: q for q in result.questions}
    assert [q.question_id for q in result.questions] == [Q1, Q2, Q3]
    assert stats[Q1].facility == 1.0 and stats[Q1].discrimination == 0.0
    assert stats[Q2].facility == 0.5 and stats[Q2].discrimination == 1.0
    assert stats[Q3].facility == 0.25 and stats[Q3].discrimination == 0.0  # top: 0; bottom (30 %): 0
    assert [q.question_id for q in result.most_missed][:2] == [Q3, Q2]
    assert result.average_seconds == 250.0 and result.mean_percent == 65.0 and result.median_percent == 65.0
    assert result.attempts == 4 and result.scored == 4


def test_ungraded_and_not_asked_questions_are_left_out():
    drawn = [attempt(50, {Q1: 0.5, Q2: None}, asked=(Q1, Q2)), attempt(80, {Q3: 1}, asked=(Q3,))]
    stats = {q.question_id: q for q in analyse(drawn).questions}
    assert stats[Q1].answered == 1 and stats[Q2].answered == 0 and stats[Q2].facility is None
    assert stats[Q3].facility == 1.0
    assert all(q.discrimination is None for q in stats.values())  # fewer than 4 attempts
    assert analyse([]).mean_percent is None and analyse([]).average_seconds is None


def test_group_size_is_27_percent_without_overlap():
    assert group_size(4) == 1 and group_size(10) == 3 and group_size(100) == 27 and group_size(5) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(-1, 1), st.floats(0, 1)), min_size=0, max_size=40))
def test_bounds(rows):
    attempts = [attempt(p, {Q1: a, Q2: b}) for p, a, b in rows]
    result = analyse(attempts)
    assert sum(b.count for b in result.distribution) == len(rows)
    for q in result.questions:
        assert q.facility is None or -1 <= q.facility <= 1
        assert q.discrimination is None or -2 <= q.discrimination <= 2
        if q.question_id == Q2 and q.discrimination is not None:
            assert -1 <= q.discrimination <= 1
