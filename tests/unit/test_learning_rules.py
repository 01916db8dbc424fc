"""Pure rules of enrollment and paths: stage locks, overdue, percent, the CSV's formula guard, prefix queries."""

from __future__ import annotations

import datetime
import uuid

from tajiconnect.domains.catalog.pages import parse_due
from tajiconnect.domains.catalog.search import prefix_query
from tajiconnect.domains.enrollments.service import is_overdue
from tajiconnect.domains.enrollments.teaching import _safe
from tajiconnect.domains.paths.service import StageLock, percent, stage_locks

A, B, C, D = (uuid.uuid4() for _ in range(4))


def test_first_stage_always_open_and_later_ones_wait_for_every_earlier_course():
    stages = [(True, [A, B]), (True, [C]), (True, [D])]
    assert stage_locks(stages, set()) == [StageLock(True), StageLock(False, (A, B)), StageLock(False, (A, B, C))]
    assert stage_locks(stages, {A}) == [StageLock(True), StageLock(False, (B,)), StageLock(False, (B, C))]
    assert stage_locks(stages, {A, B}) == [StageLock(True), StageLock(True), StageLock(False, (C,))]
    assert all(lock.open for lock in stage_locks(stages, {A, B, C, D}))


def test_a_stage_without_requires_previous_is_open():
    assert stage_locks([(True, [A]), (False, [B]), (True, [C])], {B}) == [
        StageLock(True), StageLock(True), StageLock(False, (A,)),
    ]
    assert stage_locks([], set()) == []


def test_overdue():
    now = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    past, future = now - datetime.timedelta(seconds=1), now + datetime.timedelta(days=1)
    assert is_overdue(past, "active", now)
    assert not is_overdue(future, "active", now)
    assert not is_overdue(None, "active", now)
    assert not is_overdue(past, "completed", now)
    assert not is_overdue(past, "withdrawn", now)


def test_percent_and_csv_guard_and_prefix_and_due_dates():
    assert (percent(0, 0), percent(1, 3), percent(3, 3), percent(5, 3)) == (0, 33, 100, 100)
    assert [_safe(v) for v in ("=1+1", "+x", "-x", "@x", "Ann")] == ["'=1+1", "'+x", "'-x", "'@x", "Ann"]
    assert prefix_query("Intro to  kili'mo!") == "intro:* & to:* & kili:* & mo:*"
    assert prefix_query("  -- ") is None
    assert parse_due("2030-02-03") == datetime.datetime(2030, 2, 3, 23, 59, 59, tzinfo=datetime.UTC)
    assert parse_due("") is None
    for bad in ("03/02/2030", "1999-01-01", "x"):
        try:
            parse_due(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
