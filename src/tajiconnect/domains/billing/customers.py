"""The tenant's Stripe customer: one per tenant, made the first time the tenant pays (Checkout, the portal).

Its id lives on the tenant's license (``License.stripe_customer_id``, unique). It is created under the license
row lock and with a Stripe idempotency key derived from the tenant's id, so two racing requests (two admins, a
double click, a retry after a lost answer) end with one customer, not two.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import License
from tajiconnect.settings import BillingSettings
from tajiconnect.tenancy.context import TenantRef, tenant_context


async def ensure_customer(
    engine: AsyncEngine, billing: BillingSettings, tenant: TenantRef, *, email: str | None = None
) -> str:
    """The Stripe customer id of ``tenant``, created when it has none (``email``: the acting admin's, which
    also becomes the license's billing email when it has none). Raises Stripe's errors and
    ``BillingNotConfiguredError``."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            lic = await session.scalar(
                select(License).where(License.tenant_id == tenant.id).with_for_update(of=License)
            )
            if lic is None:  # every tenant gets a license at provisioning
                raise LookupError(f"tenant {tenant.slug!r} has no license")
            if lic.stripe_customer_id:
                return lic.stripe_customer_id
            metadata = {"tenant_id": str(tenant.id), "tenant": tenant.slug}  # the id names it; the slug is for people
            params: dict[str, object] = {"name": tenant.name, "metadata": metadata}
            if email:
                params["email"] = email
            customer = await stripe_client(billing).v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"customer-{tenant.id}"},
            )
            lic.stripe_customer_id = customer.id
            if email and not lic.billing_email:
                lic.billing_email = email
            return customer.id
