"""Seats: each invited or active learner (``student`` role) holds one, and never more than the license allows.

Every change that adds seat holders first takes the tenant's license row ``FOR UPDATE`` (:func:`claim`), then
counts the holders. Two admins acting at the same moment therefore queue on that row: the second one counts
after the first one's commit (READ COMMITTED reads a new snapshot per statement) and is refused if the seats ran
out. A change that needs several seats is refused as a whole, naming how many are missing.

Releasing a seat keeps the account and all its history: an admin can reclaim a learner's seat and give it back
later. Every change is a :class:`SeatEvent` (who, when, by whom, why) in the same transaction as the change.

What admins do by hand, for the pages and the API alike: :func:`give` (assign a seat), :func:`reclaim` and
:func:`reassign` (from one learner to another in one transaction, so it works with no seat free). Each locks the
members' rows, then the license, checks again under those locks, refuses before writing anything, and writes its
seat events and its audit entry in the caller's transaction. :func:`learners` and :func:`events` read the lists.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import any_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Actor, record
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
    if lock:  # and read it afresh: the session may hold it from before the lock
        stmt = stmt.with_for_update(of=License).execution_options(populate_existing=True)
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
    from tajiconnect.domains.notifications import events

    await events.seats_claimed(session, purchased=lic.seats, used_before=used, wanted=wanted)
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


# --- what admins do by hand: assign, reclaim, reassign (pages and API call these) ------------------------------

NOTE_MAX = 500  # seat_events.note is VARCHAR(500)


class SeatStateError(AccountError):
    """The learner's state does not allow the change (already holds a seat, holds none, is not a learner);
    ``field`` names the input in question."""


async def _lock_members(session: AsyncSession, users: Sequence[User]) -> None:
    """Lock the members' rows (in id order) and read them again, so the checks that follow see the last committed
    state. Rows first, license second: the order every other seat change takes (it updates the member, then
    claims), so two changes never wait on each other crosswise."""
    ids = sorted({u.id for u in users})
    await session.execute(
        select(User).where(User.id.in_(ids)).order_by(User.id).with_for_update(of=User)
        .execution_options(populate_existing=True)
    )


def check_note(note: str | None) -> str | None:
    """The admin's reason as stored: trimmed, empty means none, at most ``NOTE_MAX`` characters (refused beyond)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise AccountError(_("Use at most %(n)d characters.") % {"n": NOTE_MAX}, "reason")
    return note or None


def _can_hold(user: User, field: str) -> None:
    if user.seat_assigned_at is not None:
        raise SeatStateError(_("%(name)s already holds a seat.") % {"name": user.name}, field)
    if not needs_seat(user.roles, user.status):
        raise SeatStateError(_("Only invited or active learners can hold a seat."), field)


async def _audit(session: AsyncSession, actor: Actor, action: str, user: User, **details: Any) -> None:
    await record(session, actor, action, subject_email=user.email, target_type="user", target_id=user.id, **details)


async def give(session: AsyncSession, user: User, *, actor: Actor, note: str | None = None) -> SeatUsage:
    """Assign a seat to a learner who has none (refused with :class:`SeatLimitError` when none is free)."""
    note = check_note(note)
    await _lock_members(session, [user])
    _can_hold(user, "user_id")
    await assign(session, [user], reason="assigned", actor_email=actor.email, note=note)
    await _audit(session, actor, "seat.assigned", user, reason=note)
    return await usage(session)


async def reclaim(session: AsyncSession, user: User, *, actor: Actor, note: str | None = None) -> SeatUsage:
    """Take a learner's seat back. The account stays as it is (they still sign in, all history kept), without a
    seat; it can get one again later."""
    note = check_note(note)
    await _lock_members(session, [user])
    if user.seat_assigned_at is None:
        raise SeatStateError(_("%(name)s holds no seat.") % {"name": user.name}, "user_id")
    await release(session, [user], reason="reclaimed", actor_email=actor.email, note=note)
    await _audit(session, actor, "seat.reclaimed", user, reason=note)
    return await usage(session)


async def reassign(
    session: AsyncSession, source: User, target: User, *, actor: Actor, note: str | None = None
) -> SeatUsage:
    """Move ``source``'s seat to ``target`` in one transaction: it works with no seat free. Under the license
    lock, so it is refused (nothing written) only when the license is closed or more seats are in use than it
    allows (``missing`` says how many must be reclaimed first)."""
    note = check_note(note)
    if source.id == target.id:
        raise SeatStateError(_("Choose another learner to receive the seat."), "to_user_id")
    await _lock_members(session, [source, target])
    if source.seat_assigned_at is None:
        raise SeatStateError(_("%(name)s holds no seat.") % {"name": source.name}, "from_user_id")
    _can_hold(target, "to_user_id")
    # Checked before anything is written: the swap leaves the count as it is, so it fits unless already over.
    lic = await license_of_tenant(session, lock=True)
    used = await seats_used(session)
    if lic.status in CLOSED_STATUSES:
        raise LicenseClosedError(lic.status)
    missing = missing_seats(purchased=lic.seats, used=used - 1, wanted=1)
    if missing:
        raise SeatLimitError(missing=missing, used=used, purchased=lic.seats)
    await release(session, [source], reason="reassigned", actor_email=actor.email, note=note)
    await assign(session, [target], reason="reassigned", actor_email=actor.email, note=note)
    await _audit(session, actor, "seat.reassigned", target, from_email=source.email, from_id=str(source.id),
                 reason=note)
    return await usage(session)


# --- reading: learners with or without a seat, the seat history -----------------------------------------------

PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class LearnerQuery:
    q: str | None = None
    holding: bool | None = None  # True: holding a seat; False: not holding one; None: both
    assignable: bool = False  # only learners who could get a seat now (invited or active, without one)
    page: int = 1
    per_page: int = PAGE_SIZE


async def learners(session: AsyncSession, query: LearnerQuery) -> tuple[list[User], int]:
    """Members with the learner role (every seat holder is one), by name; and how many match."""
    stmt = select(User).where(any_(User.roles) == "student")
    if query.q:
        needle = query.q.strip().lower()  # as typed: autoescape makes "%" and "_" match themselves
        stmt = stmt.where(
            or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True))
        )
    if query.holding is True:
        stmt = stmt.where(User.seat_assigned_at.is_not(None))
    elif query.holding is False:
        stmt = stmt.where(User.seat_assigned_at.is_(None))
    if query.assignable:
        stmt = stmt.where(User.seat_assigned_at.is_(None), User.status.in_(("invited", "active")))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = max(1, query.page)
    rows = await session.scalars(
        stmt.order_by(func.lower(User.name), User.email, User.id).limit(query.per_page)
        .offset((page - 1) * query.per_page)
    )
    return list(rows.all()), int(total or 0)


async def events(
    session: AsyncSession, *, user_id: uuid.UUID | None = None, limit: int, offset: int
) -> tuple[list[SeatEvent], int]:
    """The seat history, newest first (of one member when ``user_id`` is given), and its length."""
    where = [SeatEvent.user_id == user_id] if user_id is not None else []
    total = await session.scalar(select(func.count()).select_from(SeatEvent).where(*where))
    rows = await session.scalars(
        select(SeatEvent).where(*where).order_by(SeatEvent.created_at.desc(), SeatEvent.id.desc())
        .limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)
