"""What operators do to organizations: change a license, suspend and resume a tenant, extend a trial, delete a
tenant (after its retention and an export); and what the console shows of them (billing facts, events received).

Each action and its entry in the platform audit log (``platform_audit_log``, with the values before and after)
happen in the caller's public transaction: the entry exists exactly when the change was committed. The operator
pages (``platform/pages.py``) and the command line (``tajiconnect tenants license|suspend|resume``) both call
these, with their own :class:`Actor`.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.domains.licensing import service as licensing
from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.licensing.service import LicenseError, LicenseView
from tajiconnect.domains.storage.backends import Backend
from tajiconnect.i18n import _
from tajiconnect.platform.models import TenantExport
from tajiconnect.settings import BillingSettings
from tajiconnect.tenancy import service as tenancy
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.tenancy.urls import canonical_host

MAX_TRIAL_EXTENSION = 365


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
    billing: License  # the license row itself: Stripe ids, interval, past due since, cancelled, retained until


async def tenant_detail(session: AsyncSession, slug: str) -> TenantDetail:
    """A tenant, the host names that serve it and its license (raises ``TenantNotFoundError``)."""
    tenant = await tenancy.get_tenant(session, slug)
    custom = await session.scalars(
        select(TenantDomain.domain).where(TenantDomain.tenant_id == tenant.id).order_by(TenantDomain.domain)
    )
    row = await session.scalar(select(License).where(License.tenant_id == tenant.id))
    assert row is not None  # every tenant is provisioned with its license
    return TenantDetail(
        tenant=tenant,
        domains=[canonical_host(tenant.slug), *custom.all()],
        license=await licensing.license_view(session, slug),
        billing=row,
    )


def stripe_decides(billing: BillingSettings, lic: License) -> bool:
    """Whether Stripe owns this license (billing configured and the tenant subscribed): then no operator changes
    its seats, plan or status by hand; only Stripe's confirmed state does."""
    return billing.configured and bool(lic.stripe_subscription_id)


async def billing_events(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[BillingEvent], int]:
    """The Stripe events found to concern this tenant, newest first (a page of them, and how many in all)."""
    where = BillingEvent.tenant_id == tenant_id
    total = int(await session.scalar(select(func.count()).select_from(BillingEvent).where(where)) or 0)
    rows = await session.scalars(
        select(BillingEvent).where(where)
        .order_by(BillingEvent.stripe_created_at.desc(), BillingEvent.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), total


async def extend_trial(session: AsyncSession, actor: Actor, slug: str, days: int, **context: Any) -> LicenseView:
    """Move a trial's end ``days`` (1-365) later: from its end, or from today when it has already ended (a trial
    without an end is given one). Only a trialing license; recorded as ``platform.trial.extended``. The caller
    commits, then invalidates the host cache (the read-only rule reads the term's end)."""
    if not 1 <= days <= MAX_TRIAL_EXTENSION:
        raise LicenseError(_("Extend the trial by 1 to %(max)d days.") % {"max": MAX_TRIAL_EXTENSION})
    current = await licensing.license_view(session, slug)
    if current.status != "trialing":
        raise LicenseError(_("Only a trial can be extended: this license is not trialing."))
    today = datetime.date.today()
    start = max(current.term_end or today, today)
    view, _changes = await licensing.change_license(session, slug, until=start + datetime.timedelta(days=days))
    await record(
        session, actor, "platform.trial.extended", target_type="tenant", target_id=slug, model=PlatformAuditEntry,
        tenant=slug, days=days, before={"term_end": _plain(current.term_end)},
        after={"term_end": _plain(view.term_end)}, **context,
    )
    return view


# --- deletion ---------------------------------------------------------------------------------------------------


class DeletionRefusedError(Exception):
    """A deletion was refused; the message is fit to show to the operator."""


async def latest_ready_export(session: AsyncSession, tenant_id: uuid.UUID) -> TenantExport | None:
    return await session.scalar(
        select(TenantExport).where(TenantExport.tenant_id == tenant_id, TenantExport.status == "ready")
        .order_by(TenantExport.created_at.desc()).limit(1)
    )


async def last_change_at(session: AsyncSession, tenant: Tenant) -> datetime.datetime | None:
    """The latest change we can see in a tenant's data: the newest ``created_at``/``updated_at`` of any of its
    tables' rows, a member's sign-in, an entry of its audit log. (A row deleted leaves no time behind; a cancelled
    organization is read-only, and what its admins may still do is audited.)"""
    schema = tenant.schema
    columns = (await session.execute(text(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = :schema AND data_type = 'timestamp with time zone'"
        " AND column_name IN ('created_at', 'updated_at', 'last_sign_in_at', 'occurred_at')"
        " ORDER BY table_name, column_name"
    ), {"schema": schema})).all()
    if not columns:
        return None
    parts = [f"(SELECT max({_ident(column)}) FROM {_ident(schema)}.{_ident(table)})" for table, column in columns]
    return await session.scalar(text(f"SELECT greatest({', '.join(parts)})"))


def _ident(name: str) -> str:
    """A quoted SQL identifier (names come from the catalog; quoted all the same)."""
    return '"' + name.replace('"', '""') + '"'


def kept_until(lic: License, retention_days: int) -> datetime.date | None:
    """The last day a cancelled license's data is kept: ``retain_until``, else its cancellation plus the retention
    period (``TAJI_RETENTION_DAYS``); ``None`` when neither is known (a license cancelled by hand)."""
    if lic.retain_until is not None:
        return lic.retain_until
    if lic.cancelled_at is not None:
        return lic.cancelled_at.date() + datetime.timedelta(days=retention_days)
    return None


async def deletion_refusal(
    session: AsyncSession, tenant: Tenant, *, override_retention: bool, retention_days: int,
    today: datetime.date | None = None,
) -> str | None:
    """Why this tenant may not be deleted now, or ``None``: its license must be cancelled (and its Stripe
    subscription ended) and kept past its retention (unless the operator overrides the retention, and only the
    retention), and a ready export newer than its last change must exist."""
    lic = await session.scalar(select(License).where(License.tenant_id == tenant.id))
    today = today or datetime.date.today()
    if lic is None or lic.status != "cancelled":
        return _("Only an organization whose license is cancelled can be deleted.")
    if lic.stripe_subscription_id and lic.subscription_status not in (None, "canceled", "incomplete_expired"):
        return _("Its Stripe subscription has not ended: cancel it in Stripe before deleting the organization.")
    if not override_retention:
        until = kept_until(lic, retention_days)
        if until is None:
            return _("No retention date is recorded for this cancelled license: check it, then override the "
                     "retention to delete.")
        if until >= today:
            return _("The data is kept until %(date)s: delete it after that day, or override the retention.") % {
                "date": until.isoformat()}
    export = await latest_ready_export(session, tenant.id)
    if export is None:
        return _("Export the organization first: a ready export is needed before deleting it.")
    changed = await last_change_at(session, tenant)
    if changed is not None and changed > export.created_at:
        return _("The organization changed after its latest export: export it again before deleting it.")
    return None


async def delete_tenant(
    engine: AsyncEngine,
    storage: Backend | None,
    actor: Actor,
    slug: str,
    *,
    confirm: str,
    retention_days: int,
    override_retention: bool = False,
    force: bool = False,
    **context: Any,
) -> uuid.UUID | None:
    """Delete a tenant for good (``tenancy.service.delete_tenant``: schema and registry row in one transaction,
    then its stored files), once :func:`deletion_refusal` has nothing against it and ``confirm`` is its slug;
    ``force`` (the command line's) skips the rules. Recorded as ``platform.tenant.deleted`` with the export it
    relied on, in the deleting transaction. Returns that export's id. Raises :class:`DeletionRefusedError`."""
    used: list[uuid.UUID | None] = []

    async def check(session: AsyncSession, tenant: Tenant) -> None:
        if confirm.strip() != tenant.slug:
            raise DeletionRefusedError(_("Type the organization's slug exactly to confirm the deletion."))
        if not force:
            refusal = await deletion_refusal(session, tenant, override_retention=override_retention,
                                             retention_days=retention_days)
            if refusal:
                raise DeletionRefusedError(refusal)
        export = await latest_ready_export(session, tenant.id)
        lic = await session.scalar(select(License).where(License.tenant_id == tenant.id))
        used.append(export.id if export else None)
        await record(
            session, actor, "platform.tenant.deleted", target_type="tenant", target_id=slug,
            model=PlatformAuditEntry, tenant=slug, export_id=str(export.id) if export else None,
            override_retention=override_retention, force=force,
            before={"name": tenant.name, "status": tenant.status, "license_status": lic.status if lic else None,
                    "retain_until": _plain(lic.retain_until) if lic else None},
            after=None, **context,
        )

    with tenant_context(None):
        await tenancy.delete_tenant(engine, slug, check=check, storage=storage)
    return used[0] if used else None
