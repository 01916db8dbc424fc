"""What the admin dashboard shows, read in ONE statement whatever the organization's size.

Each part is an aggregate or a short ``LIMIT`` query, handed back as a JSON array by a scalar subquery of one
``SELECT``: the license and its plan; one pass over ``users`` grouped by status and roles (a few dozen rows,
summed up in Python) for every member figure (seats held, members by role, invitations, learners active this
week); groups by kind; the largest groups with their member counts; the oldest pending invitations; the latest
audit entries. One round trip matters when the machine is busy: every statement is a wake-up of the database
backend and of the app. Nothing is loaded per row (no N+1). ``bench/dashboard.py`` measures it at 5,000 learners
and 200 groups (``docs/performance.md``).
"""

from __future__ import annotations

import datetime
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.groups.models import KINDS_BY_TENANT, Group, GroupMembership
from tajiconnect.domains.licensing.models import License, Plan
from tajiconnect.domains.licensing.seats import SeatUsage
from tajiconnect.tenancy.context import require_tenant

ACTIVE_WINDOW = datetime.timedelta(days=7)
LARGEST_GROUPS = 5
OLDEST_INVITATIONS = 5
RECENT_AUDIT = 10


@dataclass(frozen=True, slots=True)
class LicenseSummary:
    plan_code: str
    plan_name: str
    seats: int
    status: str
    term_start: datetime.date
    term_end: datetime.date | None


@dataclass(frozen=True, slots=True)
class GroupSize:
    id: uuid.UUID
    name: str
    kind: str
    members: int


@dataclass(frozen=True, slots=True)
class Invitation:
    id: uuid.UUID
    name: str
    email: str
    roles: list[str]
    invited_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class RecentEntry:
    occurred_at: datetime.datetime
    action: str
    actor_email: str | None
    subject_email: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    license: LicenseSummary | None
    usage: SeatUsage | None
    members: int  # invited or active
    deactivated: int
    by_role: list[tuple[str, int]]  # invited or active members with each role (someone with two roles counts twice)
    learners_active: int
    learners_active_this_week: int  # active learners who signed in within ACTIVE_WINDOW
    invitations: int
    oldest_invitations: list[Invitation]
    groups: int
    groups_by_kind: list[tuple[str, int]]
    largest_groups: list[GroupSize]
    recent_audit: list[RecentEntry]


def _rows(query: Select[Any], *order: str) -> Any:
    """``query``'s rows as one JSON array of arrays (``[]`` when there is none), in ``order`` (column names of
    ``query``; ``-name``: descending)."""
    part = query.subquery()
    row = func.json_build_array(*part.c)
    keys = [part.c[name.removeprefix("-")].desc() if name.startswith("-") else part.c[name] for name in order]
    agg = func.json_agg(aggregate_order_by(row, *keys) if keys else row)
    return select(func.coalesce(agg, func.json_build_array(), type_=JSON)).select_from(part).scalar_subquery()


def _time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


@functools.cache
def statement() -> Select[Any]:
    """The one statement, built once (building it costs more than running it): ``tenant_id`` and ``since`` (the
    start of the active window) are bound at execution."""
    tenant_id = bindparam("tenant_id", type_=License.tenant_id.type)
    since = bindparam("since", type_=User.last_sign_in_at.type)
    licence = (
        select(License.seats, License.status, License.term_start, License.term_end, Plan.code, Plan.name)
        .join(Plan, Plan.id == License.plan_id)
        .where(License.tenant_id == tenant_id)
    )
    shapes = select(
        User.status, User.roles, func.count().label("n"), func.count(User.seat_assigned_at).label("seats"),
        func.count().filter(User.last_sign_in_at >= since).label("week"),
    ).group_by(User.status, User.roles)
    kinds = select(Group.kind, func.count().label("n")).where(Group.archived_at.is_(None)).group_by(Group.kind)
    # Count the current members of every group first (one pass over the memberships), then name the largest.
    sizes = (
        select(GroupMembership.group_id, func.count().label("members"))
        .where(GroupMembership.ended_at.is_(None), GroupMembership.role == "member")
        .group_by(GroupMembership.group_id)
        .subquery()
    )
    lower_name = func.lower(Group.name).label("lower_name")
    largest = (
        select(Group.id, Group.name, Group.kind, sizes.c.members, lower_name)
        .join(sizes, sizes.c.group_id == Group.id)
        .where(Group.archived_at.is_(None))
        .order_by(sizes.c.members.desc(), lower_name, Group.id)
        .limit(LARGEST_GROUPS)
    )
    oldest = (
        select(User.id, User.name, User.email, User.roles, User.created_at)
        .where(User.status == "invited")
        .order_by(User.created_at, User.id)
        .limit(OLDEST_INVITATIONS)
    )
    audit = (
        select(AuditEntry.occurred_at, AuditEntry.action, AuditEntry.actor_email, AuditEntry.subject_email,
               AuditEntry.id)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(RECENT_AUDIT)
    )
    return select(
        _rows(licence).label("license"),
        _rows(shapes).label("shapes"),
        _rows(kinds).label("kinds"),
        _rows(largest, "-members", "lower_name", "id").label("largest"),
        _rows(oldest, "created_at", "id").label("oldest"),
        _rows(audit, "-occurred_at", "-id").label("audit"),
    )


async def load(session: AsyncSession, *, now: datetime.datetime | None = None) -> Dashboard:
    now = now or datetime.datetime.now(datetime.UTC)
    tenant = require_tenant()
    row = (await session.execute(statement(), {"tenant_id": tenant.id, "since": now - ACTIVE_WINDOW})).one()

    lic = None
    if row.license:
        seats, status, start, end, code, name = row.license[0]
        lic = LicenseSummary(code, name, seats, status, datetime.date.fromisoformat(start),
                             datetime.date.fromisoformat(end) if end else None)

    seats_used = members = deactivated = invitations = learners_active = learners_week = 0
    per_role = dict.fromkeys(ROLES, 0)
    for status, roles, count, holding, signed_in_this_week in row.shapes:
        seats_used += holding
        if status == "deactivated":
            deactivated += count
            continue
        members += count
        invitations += count if status == "invited" else 0
        for role in set(roles or ()):
            if role in per_role:
                per_role[role] += count
        if status == "active" and "student" in (roles or ()):
            learners_active += count
            learners_week += signed_in_this_week

    kinds = {kind: count for kind, count in row.kinds}
    own_kinds = KINDS_BY_TENANT.get(tenant.kind, ())  # the tenant's two levels, then any other kind in use
    return Dashboard(
        license=lic,
        usage=SeatUsage(purchased=lic.seats, used=seats_used, status=lic.status) if lic is not None else None,
        members=members,
        deactivated=deactivated,
        by_role=list(per_role.items()),
        learners_active=learners_active,
        learners_active_this_week=learners_week,
        invitations=invitations,
        oldest_invitations=[Invitation(uuid.UUID(i), n, e, list(r), _time(c)) for i, n, e, r, c in row.oldest],
        groups=sum(kinds.values()),
        groups_by_kind=[(k, kinds.get(k, 0)) for k in [*own_kinds, *sorted(set(kinds) - set(own_kinds))]],
        largest_groups=[GroupSize(uuid.UUID(i), n, k, c) for i, n, k, c, _lower in row.largest],
        recent_audit=[RecentEntry(_time(t), a, actor, subject) for t, a, actor, subject, _id in row.audit],
    )
