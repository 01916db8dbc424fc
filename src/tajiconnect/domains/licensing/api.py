"""The license and its seats under ``/api/v1``: what the organization bought, who holds a seat, and the admin's
seat changes (assign, reclaim, reassign), each refused as a whole with a 409 problem naming the missing seats.

Admins only (``seats.manage``). Ids of members of other organizations do not exist here (404), like any id that
names no member.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import JSONBody, Parameter
from msgspec import Meta

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts import service as accounts
from tajiconnect.domains.accounts.api import seat_conflict
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import User, UserStatus
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.models import LicenseStatus, SeatChange, SeatEvent
from tajiconnect.domains.licensing.seats import SeatError, SeatReason, SeatStateError, SeatUsage
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, Timestamp, problems
from tajiconnect.web.paging import PageParam

Reason = Annotated[
    str, Meta(max_length=seats.NOTE_MAX, description="Why (optional, kept in the seat history and the audit log).")
]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
SearchText = Annotated[str | None, Parameter(max_length=100, description="Part of the name or email, any case.")]
MemberFilter = Annotated[uuid.UUID | None, Parameter(description="Only the changes of this member.")]

SEAT_409 = (
    "Refused as a whole, nothing changed. No seat is free (`missing_seats` says how many are missing) or the"
    " license is suspended or cancelled (`missing_seats`: 0); or the member's state does not allow it (`field`"
    " names the member: already holds a seat, holds none, or is not an invited or active learner)."
)


class PlanSummary(msgspec.Struct):
    code: str
    name: str


class LicenseSummary(msgspec.Struct):
    """The organization's license: its plan, the seats bought, its state and its term (``term_end`` null: open)."""

    plan: PlanSummary
    seats: int
    status: LicenseStatus
    term_start: datetime.date
    term_end: datetime.date | None


class SeatCounts(msgspec.Struct):
    """Seats bought, held (invited or active learners) and free; ``over_by`` > 0 when more are held than bought
    (the license was lowered); ``near_limit`` when at least 90% are held or fewer than 3 are free."""

    purchased: int
    used: int
    available: int
    over_by: int
    near_limit: bool
    status: LicenseStatus


class SeatHolder(msgspec.Struct):
    """A learner, with the moment their seat was given (null: they hold none)."""

    id: uuid.UUID
    email: str
    name: str
    status: UserStatus
    seat_assigned_at: Timestamp | None


class SeatHolderPage(msgspec.Struct):
    items: list[SeatHolder]
    total: int
    page: int
    per_page: int


class SeatEventRecord(msgspec.Struct):
    """A seat given (``assigned``) or taken back (``released``): to whom, why (``reason``: what caused it;
    ``note``: the admin's words), by whom (``actor_email``, null for the system) and when."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    user_email: str
    change: SeatChange
    reason: SeatReason
    note: str | None
    actor_email: str | None
    created_at: Timestamp


class SeatEventPage(msgspec.Struct):
    items: list[SeatEventRecord]
    total: int
    page: int
    per_page: int


class SeatRequest(msgspec.Struct, forbid_unknown_fields=True):
    user_id: uuid.UUID
    reason: Reason | None = None


class ReassignRequest(msgspec.Struct, forbid_unknown_fields=True):
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    reason: Reason | None = None


class SeatAnswer(msgspec.Struct):
    """The learner after the change, and the seats now."""

    learner: SeatHolder
    seats: SeatCounts


class ReassignAnswer(msgspec.Struct):
    """The learner who gave the seat up (``released``), the one who holds it now (``assigned``), and the seats."""

    released: SeatHolder
    assigned: SeatHolder
    seats: SeatCounts


def counts_json(u: SeatUsage) -> SeatCounts:
    return SeatCounts(purchased=u.purchased, used=u.used, available=u.available, over_by=u.over_by,
                      near_limit=u.near_limit, status=u.status)  # type: ignore[arg-type]


def holder_json(user: User) -> SeatHolder:
    return SeatHolder(
        id=user.id, email=user.email, name=user.name, status=user.status,  # type: ignore[arg-type]
        seat_assigned_at=user.seat_assigned_at.isoformat() if user.seat_assigned_at else None,
    )


def event_json(e: SeatEvent) -> SeatEventRecord:
    return SeatEventRecord(
        id=e.id, user_id=e.user_id, user_email=e.user_email, change=e.change, reason=e.reason,  # type: ignore[arg-type]
        note=e.note, actor_email=e.actor_email, created_at=e.created_at.isoformat(),
    )


async def member(db_session: DbSession, user_id: uuid.UUID) -> User:
    user = await accounts.get_user(db_session, user_id)
    if user is None:
        raise NotFoundException(detail="no such member")
    return user


def refusal(exc: AccountError) -> HTTPException:
    if isinstance(exc, SeatError):
        return seat_conflict(exc)
    extra = {"field": exc.field} if exc.field else None
    return HTTPException(status_code=409 if isinstance(exc, SeatStateError) else 400, detail=str(exc), extra=extra)


class LicenseApi(Controller):
    path = "/api/v1/license"
    tags = ["seats"]
    guards = [requires_permission(Permission.MANAGE_SEATS)]
    security = REQUIRES_BEARER

    @get("/", name="api.license", summary="The organization's license", **problems(*GUARDED))
    async def license(self, db_session: DbSession) -> LicenseSummary:
        lic = await seats.license_of_tenant(db_session)
        return LicenseSummary(
            plan=PlanSummary(code=lic.plan.code, name=lic.plan.name), seats=lic.seats,
            status=lic.status, term_start=lic.term_start, term_end=lic.term_end,  # type: ignore[arg-type]
        )


class SeatsApi(Controller):
    path = "/api/v1/seats"
    tags = ["seats"]
    guards = [requires_permission(Permission.MANAGE_SEATS)]
    security = REQUIRES_BEARER

    @get("/", name="api.seats", summary="Seats bought, held and free", **problems(*GUARDED))
    async def counts(self, db_session: DbSession) -> SeatCounts:
        return counts_json(await seats.usage(db_session))

    @get(
        "/holders",
        name="api.seats.holders",
        summary="Learners holding a seat, by name, paginated",
        **problems(400, *GUARDED),
    )
    async def holders(
        self, db_session: DbSession, q: SearchText = None, page: PageParam = 1, per_page: PerPage = 25
    ) -> SeatHolderPage:
        users, total = await seats.learners(
            db_session, seats.LearnerQuery(q=q, holding=True, page=page, per_page=per_page)
        )
        return SeatHolderPage(items=[holder_json(u) for u in users], total=total, page=page, per_page=per_page)

    @get(
        "/events",
        name="api.seats.events",
        summary="The seat history, newest first, paginated",
        **problems(400, *GUARDED),
    )
    async def history(
        self, db_session: DbSession, user_id: MemberFilter = None, page: PageParam = 1, per_page: PerPage = 25
    ) -> SeatEventPage:
        rows, total = await seats.events(db_session, user_id=user_id, limit=per_page, offset=(page - 1) * per_page)
        return SeatEventPage(items=[event_json(e) for e in rows], total=total, page=page, per_page=per_page)

    @post(
        "/assign",
        name="api.seats.assign",
        summary="Give a seat to a learner who has none",
        status_code=200,
        **problems(*BODY, *GUARDED, 404, 409, notes={409: SEAT_409},
                   idempotent=True),
    )
    async def assign(self, request: Request, db_session: DbSession, data: JSONBody[SeatRequest]) -> SeatAnswer:
        user = await member(db_session, data.user_id)
        try:
            now = await seats.give(db_session, user, actor=actor_of(request), note=data.reason)
        except AccountError as exc:
            raise refusal(exc) from exc
        return SeatAnswer(learner=holder_json(user), seats=counts_json(now))

    @post(
        "/reclaim",
        name="api.seats.reclaim",
        summary="Take a learner's seat back (the account and its history stay)",
        status_code=200,
        **problems(*BODY, *GUARDED, 404, 409, notes={409: "The member holds no seat (`field`: `user_id`)."},
                   idempotent=True),
    )
    async def reclaim(self, request: Request, db_session: DbSession, data: JSONBody[SeatRequest]) -> SeatAnswer:
        user = await member(db_session, data.user_id)
        try:
            now = await seats.reclaim(db_session, user, actor=actor_of(request), note=data.reason)
        except AccountError as exc:
            raise refusal(exc) from exc
        return SeatAnswer(learner=holder_json(user), seats=counts_json(now))

    @post(
        "/reassign",
        name="api.seats.reassign",
        summary="Move a seat from one learner to another, in one step (works with no seat free)",
        status_code=200,
        **problems(*BODY, *GUARDED, 404, 409, notes={409: SEAT_409},
                   idempotent=True),
    )
    async def reassign(
        self, request: Request, db_session: DbSession, data: JSONBody[ReassignRequest]
    ) -> ReassignAnswer:
        source = await member(db_session, data.from_user_id)
        target = await member(db_session, data.to_user_id)
        try:
            now = await seats.reassign(db_session, source, target, actor=actor_of(request), note=data.reason)
        except AccountError as exc:
            raise refusal(exc) from exc
        return ReassignAnswer(released=holder_json(source), assigned=holder_json(target), seats=counts_json(now))
