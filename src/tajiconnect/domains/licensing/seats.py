"""Seats: each invited or active learner (``student`` role) holds one, and never more than the license allows.

Every change that adds seat holders first takes the tenant's license row ``FOR UPDATE`` (:func:`claim`), then
counts the holders. Two admins acting at the same moment therefore queue on that row: the second one counts
after the first one's commit (READ COMMITTED reads a new snapshot per statement) and is refused if the seats ran
out. A change that needs several seats is refused as a whole, naming how many are missing.

Releasing a seat keeps the account and all its history: an admin can reclaim a learner's seat and give it back
later. Every change is a :class:`SeatEvent` (who, when, by whom, why) in the same transaction as the change.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.licensing.models import License, SeatEvent
from tajiconnect.i18n import _, ngettext
from tajiconnect.tenancy.context import require_tenant

SeatReason = Literal[
    "invited", "role_changed", "reactivated", "deactivated", "deleted", "assigned", "reclaimed", "reassigned",
    "imported", "migration",
]
# A license in these states gives no new seats (learners who hold one keep it).
CLOSED_STATUSES = ("suspended", "cancelled")


class SeatError(AccountError):
    """A change refused for want of seats."""


class SeatLimitError(SeatError):
    """Not enough seats for a change; ``missing`` says how many more it would need."""

    def __init__(self, *, missing: int, used: int, purchased: int) -> None:
        self.missing, self.used, self.purchased = missing, used, purchased
        super().__init__(
            ngettext(
                "Not enough seats: %(missing)d more seat is needed (%(used)d of %(purchased)d in use).",
                "Not enough seats: %(missing)d more seats are needed (%(used)d of %(purchased)d in use).",
                missing,
            )
            % {"missing": missing, "used": used, "purchased": purchased},
            "roles",
        )


class LicenseClosedError(SeatError):
    """The license is suspended or cancelled: no seat can be given."""

    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(_("The organization's license is not active, so no seat can be given."), "roles")


@dataclass(frozen=True, slots=True)
class SeatUsage:
    purchased: int
    used: int
    status: str

    @property
    def available(self) -> int:
        return max(0, self.purchased - self.used)

    @property
    def over_by(self) -> int:
        return max(0, self.used - self.purchased)

    @property
    def near_limit(self) -> bool:
        """At least 90% used, or fewer than 3 seats left (the dashboard warns)."""
        return self.purchased > 0 and (self.used * 10 >= self.purchased * 9 or self.available < 3)


def needs_seat(roles: Iterable[str], status: str) -> bool:
    """Whether a member with these roles and status holds a seat by default."""
    return "student" in roles and status in ("invited", "active")


def missing_seats(*, purchased: int, used: int, wanted: int) -> int:
    """How many seats short a change that adds ``wanted`` holders falls (0: it fits)."""
    return max(0, used + wanted - purchased)


async def seats_used(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(User.seat_assigned_at.is_not(None))) or 0)


async def license_of_tenant(session: AsyncSession, *, lock: bool = False) -> License:
    stmt = select(License).where(License.tenant_id == require_tenant().id)
    if lock:
        stmt = stmt.with_for_update(of=License)
    lic = await session.scalar(stmt)
    if lic is None:  # every tenant gets one at provisioning; a missing one is a bug, not a user error
        raise LookupError("tenant has no license")
    return lic


async def usage(session: AsyncSession) -> SeatUsage:
    lic = await license_of_tenant(session)
    return SeatUsage(purchased=lic.seats, used=await seats_used(session), status=lic.status)


async def claim(session: AsyncSession, wanted: int) -> SeatUsage:
    """Lock the license and check that ``wanted`` more holders fit; raise otherwise. Holds the lock until the
    transaction ends, so the caller's new holders are counted by whoever claims next."""
    lic = await license_of_tenant(session, lock=True)
    used = await seats_used(session)
    if wanted > 0 and lic.status in CLOSED_STATUSES:
        raise LicenseClosedError(lic.status)
    missing = missing_seats(purchased=lic.seats, used=used, wanted=wanted)
    if missing:
        raise SeatLimitError(missing=missing, used=used, purchased=lic.seats)
    return SeatUsage(purchased=lic.seats, used=used, status=lic.status)


def _event(user: User, change: str, reason: str, actor_email: str | None, note: str | None) -> SeatEvent:
    return SeatEvent(user_id=user.id, user_email=user.email, change=change, reason=reason,
                     actor_email=actor_email, note=note)


async def assign(
    session: AsyncSession,
    users: Sequence[User],
    *,
    reason: SeatReason,
    actor_email: str | None,
    note: str | None = None,
) -> int:
    """Give a seat to each of ``users`` that has none (all or none); return how many were given."""
    wanted = [u for u in users if u.seat_assigned_at is None]
    for user in wanted:
        if not needs_seat(user.roles, user.status):
            raise AccountError(_("Only invited or active learners can hold a seat."))
    if not wanted:
        return 0
    await claim(session, len(wanted))
    now = datetime.datetime.now(datetime.UTC)
    for user in wanted:
        user.seat_assigned_at = now
    await session.flush()
    session.add_all([_event(u, "assigned", reason, actor_email, note) for u in wanted])
    await session.flush()
    return len(wanted)


async def release(
    session: AsyncSession,
    users: Sequence[User],
    *,
    reason: SeatReason,
    actor_email: str | None,
    note: str | None = None,
) -> int:
    """Take the seat back from each of ``users`` that holds one; return how many were released."""
    holders = [u for u in users if u.seat_assigned_at is not None]
    for user in holders:
        user.seat_assigned_at = None
    if holders:
        session.add_all([_event(u, "released", reason, actor_email, note) for u in holders])
        await session.flush()
    return len(holders)


async def sync(session: AsyncSession, user: User, *, reason: SeatReason, actor_email: str | None) -> None:
    """After a role or status change: a member who now needs a seat gets one (or the change is refused by the
    caller's rollback), one who no longer may hold it releases it."""
    if needs_seat(user.roles, user.status):
        await assign(session, [user], reason=reason, actor_email=actor_email)
    else:
        await release(session, [user], reason=reason, actor_email=actor_email)
