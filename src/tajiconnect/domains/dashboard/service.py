"""What the admin dashboard shows, read with a handful of aggregate statements whatever the organization's size.

Six statements in all: the license, one pass over ``users`` for every member figure (seats held, members by role,
invitations, learners active this week), groups by kind, the largest groups with their member counts, the oldest
pending invitations, and the latest audit entries. Nothing is loaded per row (no N+1): see ``bench/dashboard.py``
and ``docs/performance.md`` for the figures at 5,000 learners and 200 groups.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import any_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.groups.models import KINDS_BY_TENANT, Group, GroupMembership
from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.licensing.seats import SeatUsage
from tajiconnect.tenancy.context import require_tenant

ACTIVE_WINDOW = datetime.timedelta(days=7)
LARGEST_GROUPS = 5
OLDEST_INVITATIONS = 5
RECENT_AUDIT = 10


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
class Dashboard:
    license: License | None
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
    recent_audit: list[AuditEntry]


async def load(session: AsyncSession, *, now: datetime.datetime | None = None) -> Dashboard:
    now = now or datetime.datetime.now(datetime.UTC)
    tenant = require_tenant()

    lic = await session.scalar(select(License).where(License.tenant_id == tenant.id))

    current = User.status != "deactivated"
    learner = any_(User.roles) == "student"
    figures = (
        await session.execute(
            select(
                func.count().filter(User.seat_assigned_at.is_not(None)),
                func.count().filter(current),
                func.count().filter(User.status == "deactivated"),
                func.count().filter(User.status == "invited"),
                func.count().filter(learner, User.status == "active"),
                func.count().filter(learner, User.status == "active", User.last_sign_in_at >= now - ACTIVE_WINDOW),
                *(func.count().filter(any_(User.roles) == role, current) for role in ROLES),
            ).select_from(User)
        )
    ).one()
    seats_used, members, deactivated, invitations, learners_active, learners_week, *per_role = (
        int(v or 0) for v in figures
    )

    kinds = dict(
        (await session.execute(
            select(Group.kind, func.count()).where(Group.archived_at.is_(None)).group_by(Group.kind)
        )).tuples().all()
    )
    members_count = func.count(GroupMembership.id).label("members")
    largest = (
        await session.execute(
            select(Group.id, Group.name, Group.kind, members_count)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(Group.archived_at.is_(None), GroupMembership.ended_at.is_(None), GroupMembership.role == "member")
            .group_by(Group.id)
            .order_by(members_count.desc(), func.lower(Group.name), Group.id)
            .limit(LARGEST_GROUPS)
        )
    ).tuples().all()

    oldest = (
        await session.execute(
            select(User.id, User.name, User.email, User.roles, User.created_at)
            .where(User.status == "invited")
            .order_by(User.created_at, User.id)
            .limit(OLDEST_INVITATIONS)
        )
    ).tuples().all()

    audit = await session.scalars(
        select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(RECENT_AUDIT)
    )

    own_kinds = KINDS_BY_TENANT.get(tenant.kind, ())  # the tenant's two levels, then any other kind in use
    shown_kinds = [*own_kinds, *sorted(set(kinds) - set(own_kinds))]
    return Dashboard(
        license=lic,
        usage=SeatUsage(purchased=lic.seats, used=seats_used, status=lic.status) if lic is not None else None,
        members=members,
        deactivated=deactivated,
        by_role=list(zip(ROLES, per_role, strict=True)),
        learners_active=learners_active,
        learners_active_this_week=learners_week,
        invitations=invitations,
        oldest_invitations=[Invitation(i, n, e, list(r), c) for i, n, e, r, c in oldest],
        groups=sum(kinds.values()),
        groups_by_kind=[(k, int(kinds.get(k, 0))) for k in shown_kinds],
        largest_groups=[GroupSize(i, n, k, int(c)) for i, n, k, c in largest],
        recent_audit=list(audit.all()),
    )
