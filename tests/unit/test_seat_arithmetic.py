"""Seat arithmetic: how many seats a change is short of, what is free, by how much a lowered license is exceeded,
and when the admins are warned; and who holds a seat at all."""

from __future__ import annotations

import pytest

from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.licensing.seats import (
    SeatLimitError,
    SeatUsage,
    check_note,
    missing_seats,
    needs_seat,
)


@pytest.mark.parametrize(
    ("purchased", "used", "wanted", "missing"),
    [
        (10, 9, 1, 0),  # the last seat fits
        (10, 10, 1, 1),  # none left: one short
        (10, 9, 2, 1),  # two wanted, one free: one short (refused as a whole)
        (10, 3, 30, 23),
        (0, 0, 1, 1),  # a license with no seats
        (5, 8, 1, 4),  # already over (the license was lowered): the overshoot counts too
        (10, 10, 0, 0),  # nothing wanted: never short, even when full
        (5, 8, 0, 3),  # ... except by the overshoot itself
    ],
)
def test_missing_seats(purchased, used, wanted, missing):
    assert missing_seats(purchased=purchased, used=used, wanted=wanted) == missing


@pytest.mark.parametrize(
    ("purchased", "used", "available", "over_by"),
    [(10, 0, 10, 0), (10, 7, 3, 0), (10, 10, 0, 0), (10, 13, 0, 3), (0, 0, 0, 0), (0, 2, 0, 2)],
)
def test_available_and_over_by(purchased, used, available, over_by):
    usage = SeatUsage(purchased=purchased, used=used, status="active")
    assert usage.available == available
    assert usage.over_by == over_by
    assert usage.available == 0 or usage.over_by == 0  # never both


@pytest.mark.parametrize(
    ("purchased", "used", "near"),
    [
        (100, 89, False),  # 11 free, 89 %
        (100, 90, True),  # 90 %
        (100, 100, True),
        (100, 120, True),  # over
        (20, 17, False),  # 85 %, 3 free
        (20, 18, True),  # 90 %
        (10, 7, False),  # 3 free, 70 %
        (10, 8, True),  # 2 free: fewer than 3 left, though only 80 %
        (2, 0, True),  # a tiny license is always close to its limit
        (0, 0, False),  # no seats at all: nothing to warn about approaching
        (1000, 899, False),
        (1000, 900, True),
    ],
)
def test_near_limit(purchased, used, near):
    assert SeatUsage(purchased=purchased, used=used, status="active").near_limit is near


@pytest.mark.parametrize(
    ("roles", "status", "holds"),
    [
        (["student"], "active", True),
        (["student"], "invited", True),  # an invitation reserves a seat
        (["student"], "deactivated", False),
        (["student", "parent"], "active", True),
        (["teacher"], "active", False),
        (["org_admin", "manager", "parent", "employer"], "active", False),
        ([], "active", False),
    ],
)
def test_needs_seat(roles, status, holds):
    assert needs_seat(roles, status) is holds


@pytest.mark.parametrize("missing", [1, 2, 17])
def test_the_refusal_names_how_many_seats_are_missing(missing):
    message = str(SeatLimitError(missing=missing, used=10, purchased=10))
    assert f"{missing} more seat" in message
    assert "10 of 10" in message
    assert ("seats are needed" in message) is (missing > 1)


def test_the_admin_reason_is_trimmed_optional_and_limited():
    assert check_note("  moved to another school  ") == "moved to another school"
    assert check_note("   ") is None
    assert check_note(None) is None
    assert check_note("x" * 500) == "x" * 500
    with pytest.raises(AccountError) as refused:
        check_note("x" * 501)
    assert refused.value.field == "reason"
