"""Tenant provisioning and lifecycle: create, list, suspend, resume, delete.

Creation is one transaction: the registry row, the schema, its tables (built from the models and stamped at the
tenant migration head, which a test proves equal to replaying the migrations) and the first organization admin.
Any failure rolls all of it back: no schema, no registry row.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.base import tenant_metadata
from tajiconnect.db.session import session_scope, set_search_path_async
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tajiconnect.tenancy.models import TENANT_KINDS, TENANT_STATUSES, Tenant, TenantDomain
from tajiconnect.tenancy.resolver import MalformedHostError, invalidate_tenant_cache, parse_host, to_ref
from tajiconnect.tenancy.slugs import InvalidSlugError, schema_for, validate_slug

if TYPE_CHECKING:
    from tajiconnect.domains.storage.backends import Backend


class TenantError(Exception):
    """A tenant operation was refused; the message is fit to show to the person who asked."""


class TenantExistsError(TenantError):
    pass


class TenantNotFoundError(TenantError):
    pass


@dataclass(frozen=True)
class ProvisionResult:
    tenant: TenantRef
    admin_email: str
    seconds: float


SUPPORTED_LOCALES = ("en", "sw", "fr")


def _validate_new(slug: str, name: str, kind: str, locale: str) -> None:
    try:
        validate_slug(slug)
    except InvalidSlugError as exc:
        raise TenantError(str(exc)) from exc
    if not name or not name.strip() or len(name) > 200:
        raise TenantError("name must be 1-200 characters")
    if kind not in TENANT_KINDS:
        raise TenantError(f"kind must be one of: {', '.join(TENANT_KINDS)}")
    if locale not in SUPPORTED_LOCALES:
        raise TenantError(f"locale must be one of: {', '.join(SUPPORTED_LOCALES)}")


def create_tenant_tables(sync_conn: object, schema: str) -> None:
    """Create every tenant table in the schema the transaction is scoped to, and stamp the migration head."""
    from tajiconnect.db.migrate import stamp_tenant_on

    tenant_metadata.create_all(sync_conn, checkfirst=False)  # type: ignore[arg-type]
    stamp_tenant_on(sync_conn, schema)  # type: ignore[arg-type]


async def provision_tenant(
    engine: AsyncEngine,
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str | None,
    admin_name: str | None = None,
    kind: str = "company",
    locale: str = "en",
    country: str | None = None,
    trial_days: int | None = None,
) -> ProvisionResult:
    """Create the tenant, its schema at head and its first org admin, atomically. The license is a trial of
    ``trial_days`` days (the licensing default when ``None``)."""
    from tajiconnect.domains.accounts.models import OrganizationSettings
    from tajiconnect.domains.accounts.service import AccountError, new_user
    from tajiconnect.domains.licensing.service import TRIAL_DAYS, start_trial

    started = time.perf_counter()
    _validate_new(slug, name, kind, locale)
    schema = schema_for(slug)
    # The admin's argon2id hash is the slowest step (a few hundred ms of CPU). Compute it on a thread while
    # PostgreSQL builds the schema, instead of after it, on the event loop, inside the open transaction.
    admin_task = asyncio.ensure_future(
        asyncio.to_thread(
            new_user,
            email=admin_email,
            name=admin_name or admin_email.split("@", 1)[0],
            password=admin_password,
            roles=["org_admin"],
            locale=locale,
        )
    )
    try:
        async with session_scope(engine, schema=None) as session:
            if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
                raise TenantExistsError(f"a tenant with slug {slug!r} already exists")
            tenant = Tenant(slug=slug, name=name.strip(), kind=kind, status="active", locale=locale, country=country)
            session.add(tenant)
            await session.flush()
            await start_trial(session, tenant.id, days=trial_days or TRIAL_DAYS)
            await session.execute(text(f'CREATE SCHEMA "{schema}"'))
            await set_search_path_async(await session.connection(), schema)
            await session.run_sync(lambda s: create_tenant_tables(s.connection(), schema))
            admin = await admin_task
            session.add(admin)
            session.add(OrganizationSettings(id=1, require_2fa_roles=[]))
            await session.flush()
            ref = to_ref(tenant)
    except IntegrityError as exc:
        raise TenantExistsError(f"a tenant with slug {slug!r} already exists") from exc
    except AccountError as exc:
        raise TenantError(str(exc)) from exc
    finally:
        if not admin_task.done():
            admin_task.cancel()  # the transaction failed first; the hash is not needed
        elif not admin_task.cancelled():
            admin_task.exception()  # retrieved, so that asyncio does not log it as never retrieved
    invalidate_tenant_cache()
    return ProvisionResult(tenant=ref, admin_email=admin.email, seconds=time.perf_counter() - started)


async def get_tenant(session: AsyncSession, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise TenantNotFoundError(f"no tenant with slug {slug!r}")
    return tenant


async def list_tenants(engine: AsyncEngine, *, limit: int | None = None, offset: int = 0) -> list[TenantRef]:
    async with session_scope(engine, schema=None) as session:
        stmt = select(Tenant).order_by(Tenant.slug).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [to_ref(t) for t in (await session.scalars(stmt)).all()]


async def load_tenant(engine: AsyncEngine, slug: str) -> TenantRef:
    """The tenant ``slug`` as a :class:`TenantRef`, for entering it from a task or a command."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return to_ref(await get_tenant(session, slug))


async def change_status(session: AsyncSession, slug: str, status: str) -> tuple[TenantRef, str]:
    """Set the tenant's status in the caller's (public) transaction; returns it and the status before. The caller
    invalidates the host cache (:func:`invalidate_tenant_cache`) once the transaction is committed."""
    if status not in TENANT_STATUSES:
        raise TenantError(f"status must be one of: {', '.join(TENANT_STATUSES)}")
    tenant = await get_tenant(session, slug)
    before, tenant.status = tenant.status, status
    await session.flush()
    return to_ref(tenant), before


async def set_status(engine: AsyncEngine, slug: str, status: str) -> TenantRef:
    async with session_scope(engine, schema=None) as session:
        ref, _ = await change_status(session, slug, status)
    invalidate_tenant_cache()
    return ref


async def suspend_tenant(engine: AsyncEngine, slug: str) -> TenantRef:
    return await set_status(engine, slug, "suspended")


async def resume_tenant(engine: AsyncEngine, slug: str) -> TenantRef:
    return await set_status(engine, slug, "active")


async def delete_tenant(
    engine: AsyncEngine,
    slug: str,
    *,
    check: Callable[[AsyncSession, Tenant], Awaitable[None]] | None = None,
    storage: Backend | None = None,
) -> uuid.UUID:
    """Drop the tenant's schema and registry row in one transaction (one tenant per transaction), then its stored
    files (every object under its prefix in ``storage``, when given). ``check`` runs first in that transaction,
    with the registry row locked: it refuses by raising, and what it adds (an audit entry) commits with the
    deletion. Returns the deleted tenant's id."""
    from tajiconnect.domains.storage.errors import FilesLeftError
    from tajiconnect.domains.storage.keys import tenant_prefix

    async with session_scope(engine, schema=None) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug).with_for_update())
        if tenant is None:
            raise TenantNotFoundError(f"no tenant with slug {slug!r}")
        if check is not None:
            await check(session, tenant)
        tenant_id = tenant.id
        await session.execute(text(f'DROP SCHEMA IF EXISTS "{tenant.schema}" CASCADE'))
        await session.execute(delete(TenantDomain).where(TenantDomain.tenant_id == tenant.id))
        await session.delete(tenant)
    invalidate_tenant_cache()
    if storage is not None:
        prefix = tenant_prefix(tenant_id)
        failed = await storage.delete_prefix(prefix)
        if failed:  # the data is gone; these files are not: say so (nothing else will ever list them)
            raise FilesLeftError(prefix, len(failed), failed[:5])
    return tenant_id


async def add_domain(engine: AsyncEngine, slug: str, domain: str) -> None:
    # The same parser as incoming Host headers: a domain registered here is one a request can actually name.
    try:
        host = parse_host(domain.strip())
    except MalformedHostError:
        host = ""
    if "." not in host or len(host) > 253:
        raise TenantError(f"not a host name: {domain!r}")
    try:
        async with session_scope(engine, schema=None) as session:
            tenant = await get_tenant(session, slug)
            session.add(TenantDomain(tenant_id=tenant.id, domain=host))
    except IntegrityError as exc:
        raise TenantError(f"domain {host!r} is already registered") from exc
    invalidate_tenant_cache()
