"""What operators do to organizations: change a license, suspend and resume a tenant.

Each action and its entry in the platform audit log (``platform_audit_log``, with the values before and after)
happen in the caller's public transaction: the entry exists exactly when the change was committed. The operator
pages (``platform/pages.py``) and the command line (``tajiconnect tenants license|suspend|resume``) both call
these, with their own :class:`Actor`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.licensing import service as licensing
from tajiconnect.domains.licensing.service import LicenseView
from tajiconnect.tenancy import service as tenancy
from tajiconnect.tenancy.context import TenantRef
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.tenancy.urls import canonical_host


def _plain(value: object) -> Any:
    """A value as JSON can hold it (dates as ``YYYY-MM-DD``)."""
    return value.isoformat() if isinstance(value, datetime.date) else value


async def change_license(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    *,
    seats: int | None = None,
    plan: str | None = None,
    status: str | None = None,
    until: datetime.date | None = None,
    open_ended: bool = False,
    **context: Any,
) -> tuple[LicenseView, dict[str, tuple[object, object]]]:
    """Change the license (see :func:`licensing.change_license`) and record ``platform.license.changed`` with the
    fields that changed, before and after. A change that changes nothing records nothing."""
    view, changes = await licensing.change_license(
        session, slug, seats=seats, plan=plan, status=status, until=until, open_ended=open_ended
    )
    if changes:
        await record(
            session,
            actor,
            "platform.license.changed",
            target_type="tenant",
            target_id=slug,
            model=PlatformAuditEntry,
            tenant=slug,
            before={field: _plain(old) for field, (old, _) in changes.items()},
            after={field: _plain(new) for field, (_, new) in changes.items()},
            **context,
        )
    return view, changes


async def set_tenant_status(
    session: AsyncSession, actor: Actor, slug: str, status: str, **context: Any
) -> tuple[TenantRef, bool]:
    """Suspend (``suspended``) or resume (``active``) a tenant; returns it and whether anything changed. The caller
    invalidates the host cache after the commit (``tenancy.resolver.invalidate_tenant_cache``)."""
    ref, before = await tenancy.change_status(session, slug, status)
    if before != status:
        await record(
            session,
            actor,
            "platform.tenant.suspended" if status == "suspended" else "platform.tenant.resumed",
            target_type="tenant",
            target_id=slug,
            model=PlatformAuditEntry,
            tenant=slug,
            before={"status": before},
            after={"status": status},
            **context,
        )
    return ref, before != status


@dataclass(frozen=True, slots=True)
class TenantDetail:
    tenant: Tenant
    domains: list[str]  # the canonical host first, then custom domains
    license: LicenseView


async def tenant_detail(session: AsyncSession, slug: str) -> TenantDetail:
    """A tenant, the host names that serve it and its license (raises ``TenantNotFoundError``)."""
    tenant = await tenancy.get_tenant(session, slug)
    custom = await session.scalars(
        select(TenantDomain.domain).where(TenantDomain.tenant_id == tenant.id).order_by(TenantDomain.domain)
    )
    return TenantDetail(
        tenant=tenant,
        domains=[canonical_host(tenant.slug), *custom.all()],
        license=await licensing.license_view(session, slug),
    )
