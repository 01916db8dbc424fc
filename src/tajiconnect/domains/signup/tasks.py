"""Provisioning a sign-up in the background: the tenant, its trial, the admin's invitation; the page follows along.

Idempotent, so that a retry after a crash neither fails nor duplicates anything:

1. the sign-up becomes ``provisioning`` (a finished one is left alone);
2. the tenant is created (one transaction: registry row, trial, schema, admin) unless an earlier attempt already
   created it (same slug and name, made after the sign-up);
3. one transaction in the new tenant issues the admin's invitation (the email leaves through the outbox) and marks
   the sign-up ``ready``: the invitation exists exactly when the sign-up is ready, so a retry never sends two.

A refusal the person can act on (the address was taken meanwhile) ends in ``failed`` with a message in their
language; anything unexpected raises, so that SAQ retries, and the last attempt marks the sign-up failed.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.notices import invite_first_admin
from tajiconnect.domains.signup.models import Signup
from tajiconnect.domains.signup.service import DONE, taken_message
from tajiconnect.i18n import _
from tajiconnect.settings import Settings
from tajiconnect.tasks.base import TaskPolicy, platform_task
from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.resolver import to_ref
from tajiconnect.tenancy.service import TenantError, TenantExistsError, provision_tenant

log = structlog.get_logger(__name__)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class _Wanted:
    id: uuid.UUID
    slug: str
    name: str
    kind: str
    country: str
    admin_email: str
    admin_name: str | None
    locale: str
    created_at: datetime.datetime


async def _start(engine: AsyncEngine, signup_id: uuid.UUID) -> _Wanted | None:
    """Mark the sign-up ``provisioning`` and return what it asks for; None when it is unknown or finished."""
    async with session_scope(engine, schema=None) as session:
        signup = await session.get(Signup, signup_id, with_for_update=True)
        if signup is None or signup.status in DONE:
            return None
        signup.status = "provisioning"
        return _Wanted(signup.id, signup.slug, signup.name, signup.kind, signup.country, signup.admin_email,
                       signup.admin_name, signup.locale, signup.created_at)


async def _fail(engine: AsyncEngine, signup_id: uuid.UUID, message: str) -> None:
    async with session_scope(engine, schema=None) as session:
        signup = await session.get(Signup, signup_id, with_for_update=True)
        if signup is not None and signup.status not in DONE:
            signup.status, signup.error, signup.finished_at = "failed", message[:500], _now()


async def _made_by_earlier_attempt(engine: AsyncEngine, wanted: _Wanted) -> TenantRef | None:
    """The tenant an earlier attempt of this sign-up created (it crashed before finishing), if any."""
    async with session_scope(engine, schema=None) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == wanted.slug))
        if tenant is None or tenant.name != wanted.name.strip() or tenant.created_at < wanted.created_at:
            return None
        return to_ref(tenant)


async def run_provisioning(
    engine: AsyncEngine, settings: Settings, queue: Any, signup_id: uuid.UUID
) -> dict[str, Any]:
    wanted = await _start(engine, signup_id)
    if wanted is None:
        return {"skipped": True}
    with i18n.locale_context(wanted.locale):
        tenant = await _made_by_earlier_attempt(engine, wanted)
        if tenant is None:
            try:
                result = await provision_tenant(
                    engine, slug=wanted.slug, name=wanted.name, admin_email=wanted.admin_email, admin_password=None,
                    admin_name=wanted.admin_name, kind=wanted.kind, locale=wanted.locale, country=wanted.country,
                    trial_days=settings.billing.trial_days,
                )
            except TenantExistsError:
                log.info("sign-up refused: slug taken meanwhile", signup_id=str(signup_id), slug=wanted.slug)
                await _fail(engine, signup_id, taken_message() + " " + _("Please sign up again."))
                return {"status": "failed", "reason": "taken"}
            except TenantError as exc:
                log.warning("sign-up refused", signup_id=str(signup_id), slug=wanted.slug, reason=str(exc))
                await _fail(engine, signup_id, _(
                    "We could not create this organization with what was entered. Please sign up again."))
                return {"status": "failed", "reason": "refused"}
            tenant = result.tenant
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                signup = await session.get(Signup, signup_id, with_for_update=True)
                if signup is None or signup.status in DONE:
                    return {"skipped": True}
                await invite_first_admin(session, settings, wanted.admin_email)
                signup.status, signup.tenant_id, signup.finished_at = "ready", tenant.id, _now()
            await dispatch_committed(session, queue)
    log.info("sign-up provisioned", signup_id=str(signup_id), slug=wanted.slug)
    return {"status": "ready", "tenant": wanted.slug}


@platform_task(policy=TaskPolicy(retries=4, timeout=120, heartbeat=60))
async def provision_signup(ctx: dict[str, Any], *, signup_id: str) -> dict[str, Any]:
    key = uuid.UUID(signup_id)
    try:
        return await run_provisioning(ctx["engine"], ctx["settings"], ctx.get("queue"), key)
    except Exception:
        job = ctx.get("job")
        if job is None or not job.retryable:
            log.warning("sign-up provisioning gave up", signup_id=signup_id)
            async with session_scope(ctx["engine"], schema=None) as session:
                signup = await session.get(Signup, key)
                locale = signup.locale if signup is not None else None
            with i18n.locale_context(locale):
                await _fail(ctx["engine"], key, _(
                    "Something went wrong while creating your organization. Please try again later."))
        raise
