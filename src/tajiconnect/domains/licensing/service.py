"""Licenses as operators (and, later, billing) see and change them: from the public schema, by tenant slug."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing.models import LICENSE_STATUSES, MAX_SEATS, License, Plan
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.slugs import schema_for

TRIAL_PLAN = "standard"
TRIAL_SEATS = 50
TRIAL_DAYS = 30


class LicenseError(ValueError):
    """A license change was refused (unknown plan, seats out of range, bad status or date)."""


@dataclass(frozen=True, slots=True)
class LicenseView:
    slug: str
    tenant_name: str
    tenant_status: str
    plan_code: str
    plan_name: str
    seats: int
    seats_used: int
    status: str
    term_start: datetime.date
    term_end: datetime.date | None
    tenant_kind: str = "company"
    tenant_created_at: datetime.datetime | None = None
    #: Stripe's own subscription status (``None``: not billed through Stripe).
    subscription_status: str | None = None
    #: The latest sign-in of any member of the tenant (filled by :func:`list_licenses`).
    last_activity_at: datetime.datetime | None = None

    @property
    def seats_available(self) -> int:
        return max(0, self.seats - self.seats_used)


async def plans(session: AsyncSession) -> list[Plan]:
    return list((await session.scalars(select(Plan).order_by(Plan.sort_order, Plan.code))).all())


async def plan_by_code(session: AsyncSession, code: str) -> Plan:
    plan = await session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        raise LicenseError(f"no plan with code {code!r}")
    return plan


async def start_trial(
    session: AsyncSession, tenant_id: uuid.UUID, *, seats: int = TRIAL_SEATS, days: int = TRIAL_DAYS
) -> License:
    """The license of a new tenant: a trial of the standard plan for ``days`` days."""
    plan = await plan_by_code(session, TRIAL_PLAN)
    today = datetime.date.today()
    lic = License(tenant_id=tenant_id, plan_id=plan.id, seats=seats, status="trialing", term_start=today,
                  term_end=today + datetime.timedelta(days=days))
    session.add(lic)
    await session.flush()
    return lic


def check_change(
    lic: License, *, seats: int | None, status: str | None, until: datetime.date | None, open_ended: bool = False
) -> None:
    if seats is not None and not 0 <= seats <= MAX_SEATS:
        raise LicenseError(f"seats must be between 0 and {MAX_SEATS}")
    if status is not None and status not in LICENSE_STATUSES:
        raise LicenseError(f"status must be one of: {', '.join(LICENSE_STATUSES)}")
    if until is not None and open_ended:
        raise LicenseError("a term cannot both end on a date and be open-ended")
    if until is not None and until < lic.term_start:
        raise LicenseError(f"the term cannot end before it starts ({lic.term_start.isoformat()})")


async def usage_by_tenant(
    session: AsyncSession, slugs: list[str]
) -> dict[str, tuple[int, datetime.datetime | None]]:
    """Seat holders and latest member sign-in of each tenant, in one round trip (one row per schema, read from the
    public side with ``UNION ALL``)."""
    if not slugs:
        return {}
    parts = [
        f"SELECT CAST(:s{i} AS text) AS slug, count(*) FILTER (WHERE seat_assigned_at IS NOT NULL) AS used,"
        f" max(last_sign_in_at) AS last FROM \"{schema_for(slug)}\".users"
        for i, slug in enumerate(slugs)
    ]
    rows = await session.execute(text(" UNION ALL ".join(parts)), {f"s{i}": s for i, s in enumerate(slugs)})
    return {slug: (int(used), last) for slug, used, last in rows.all()}


async def seats_used_by_tenant(session: AsyncSession, slugs: list[str]) -> dict[str, int]:
    """Seat holders of each tenant, in one round trip (see :func:`usage_by_tenant`)."""
    return {slug: used for slug, (used, _) in (await usage_by_tenant(session, slugs)).items()}


def _view(
    tenant: Tenant, lic: License, used: int, last_activity_at: datetime.datetime | None = None
) -> LicenseView:
    return LicenseView(
        slug=tenant.slug, tenant_name=tenant.name, tenant_status=tenant.status, plan_code=lic.plan.code,
        plan_name=lic.plan.name, seats=lic.seats, seats_used=used, status=lic.status,
        term_start=lic.term_start, term_end=lic.term_end, tenant_kind=tenant.kind, tenant_created_at=tenant.created_at,
        subscription_status=lic.subscription_status if lic.stripe_subscription_id else None,
        last_activity_at=last_activity_at,
    )


async def list_licenses(
    engine: AsyncEngine, *, limit: int = 50, offset: int = 0, q: str | None = None, status: str | None = None
) -> tuple[list[LicenseView], int]:
    """A page of tenants with their license, seats used and last activity, for the operators' organization list:
    ``q`` matches the slug or the name (case-insensitive, wildcards taken literally), ``status`` the license
    status. Three round trips whatever the page size."""
    from sqlalchemy import func, or_

    stmt = select(Tenant, License).join(License, License.tenant_id == Tenant.id)
    if q and q.strip():
        needle = q.strip()  # ILIKE '%...%' with "%", "_" and "/" escaped (autoescape)
        stmt = stmt.where(or_(Tenant.slug.icontains(needle, autoescape=True),
                              Tenant.name.icontains(needle, autoescape=True)))
    if status:
        stmt = stmt.where(License.status == status)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
            rows = (await session.execute(stmt.order_by(Tenant.slug).limit(limit).offset(offset))).all()
            usage = await usage_by_tenant(session, [t.slug for t, _ in rows])
            return [_view(t, lic, *usage.get(t.slug, (0, None))) for t, lic in rows], total


async def license_view(session: AsyncSession, slug: str) -> LicenseView:
    """The license of tenant ``slug`` with its seats used, in the caller's (public) transaction."""
    from tajiconnect.tenancy.service import TenantNotFoundError

    row = (
        await session.execute(
            select(Tenant, License).join(License, License.tenant_id == Tenant.id).where(Tenant.slug == slug)
        )
    ).first()
    if row is None:
        raise TenantNotFoundError(f"no tenant with slug {slug!r}")
    used = await seats_used_by_tenant(session, [slug])
    return _view(row[0], row[1], used.get(slug, 0))


async def get_license(engine: AsyncEngine, slug: str) -> LicenseView:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await license_view(session, slug)


async def change_license(
    session: AsyncSession,
    slug: str,
    *,
    seats: int | None = None,
    plan: str | None = None,
    status: str | None = None,
    until: datetime.date | None = None,
    open_ended: bool = False,
) -> tuple[LicenseView, dict[str, tuple[object, object]]]:
    """Change a tenant's license in the caller's (public) transaction, with the license row locked. Returns the
    new state and what changed (field: (before, after)). ``None`` keeps a field; ``open_ended`` removes the term's
    end. Lowering seats below those in use is allowed: no new seat can then be given."""
    from tajiconnect.tenancy.service import TenantNotFoundError

    row = (
        await session.execute(
            select(Tenant, License)
            .join(License, License.tenant_id == Tenant.id)
            .where(Tenant.slug == slug)
            .with_for_update(of=License)
        )
    ).first()
    if row is None:
        raise TenantNotFoundError(f"no tenant with slug {slug!r}")
    tenant, lic = row
    check_change(lic, seats=seats, status=status, until=until, open_ended=open_ended)
    changes: dict[str, tuple[object, object]] = {}
    if plan is not None and plan != lic.plan.code:
        new_plan = await plan_by_code(session, plan)
        changes["plan"] = (lic.plan.code, new_plan.code)
        lic.plan_id, lic.plan = new_plan.id, new_plan
    term_end = None if open_ended else until
    for field, value, given in (
        ("seats", seats, seats is not None),
        ("status", status, status is not None),
        ("term_end", term_end, until is not None or open_ended),
    ):
        if given and getattr(lic, field) != value:
            changes[field] = (getattr(lic, field), value)
            setattr(lic, field, value)
    await session.flush()
    used = await seats_used_by_tenant(session, [slug])
    return _view(tenant, lic, used.get(slug, 0)), changes


async def set_license(
    engine: AsyncEngine,
    slug: str,
    *,
    seats: int | None = None,
    plan: str | None = None,
    status: str | None = None,
    until: datetime.date | None = None,
    open_ended: bool = False,
) -> tuple[LicenseView, dict[str, tuple[object, object]]]:
    """Change a tenant's license (operators, until billing does it) in a transaction of its own; see
    :func:`change_license`."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await change_license(
                session, slug, seats=seats, plan=plan, status=status, until=until, open_ended=open_ended
            )
