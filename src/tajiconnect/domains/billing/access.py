"""When a tenant is read-only: one rule, used by the host resolver (every request) and the pages that explain it.

A read-only tenant keeps all its data and can still be read, signed in to and paid for; nothing else changes.
"""

from __future__ import annotations

import datetime
from typing import Literal

Access = Literal["full", "read_only"]
ReadOnlyReason = Literal["past_due", "trial_ended", "cancelled", "suspended"]


def read_only_reason(
    status: str,
    *,
    past_due_since: datetime.datetime | None,
    term_end: datetime.date | None,
    now: datetime.datetime,
    grace_days: int,
) -> ReadOnlyReason | None:
    """Why a license with these facts makes its tenant read-only at ``now`` (aware, UTC), or ``None`` when it
    does not: cancelled; suspended by an operator; a trial past its end; past due for longer than the grace."""
    if status == "cancelled":
        return "cancelled"
    if status == "suspended":
        return "suspended"
    if status == "trialing" and term_end is not None and term_end < now.date():
        return "trial_ended"
    if status == "past_due" and past_due_since is not None:
        if now >= past_due_since + datetime.timedelta(days=grace_days):
            return "past_due"
    return None


def read_only_from(
    past_due_since: datetime.datetime | None, grace_days: int
) -> datetime.datetime | None:
    """When a past-due tenant becomes (or became) read-only."""
    return None if past_due_since is None else past_due_since + datetime.timedelta(days=grace_days)
