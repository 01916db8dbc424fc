"""Plans -> Stripe: one product per plan and its per-seat recurring prices, monthly and yearly.

``tajiconnect billing sync-plans`` runs :func:`sync_plans`. Every Stripe object has a deterministic id, so a run
retrieves before it creates and a second run creates nothing:

* the product ``taji-<code>`` (name, ``metadata.plan``, active): created, or updated when its name, metadata or
  active flag differ;
* the prices, Stripe *plans* (which Checkout and subscriptions accept wherever a price id goes, and which the
  tests' localstripe has), ``taji-<code>-<interval>-<currency>-<amount in cents>``: a plan's amount in Stripe can
  never change, so a new price is a new id; the plan's older Stripe plans of the same interval are deactivated
  (``active=false``), which keeps existing subscriptions on them billing as before.

The ids are stored in ``Plan.stripe_product_id`` / ``stripe_price_monthly_id`` / ``stripe_price_yearly_id``,
which is how :mod:`reconcile` recognises a subscription's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import Plan
from tajiconnect.settings import BillingSettings
from tajiconnect.tenancy.context import tenant_context

INTERVALS = ("month", "year")


@dataclass(frozen=True, slots=True)
class SyncedObject:
    """One line of the report: which plan, which Stripe object, and what was done."""

    plan: str
    kind: str  # "product" | "price month" | "price year"
    stripe_id: str
    action: str  # "created" | "kept" | "updated" | "deactivated"


def product_id(code: str) -> str:
    return f"taji-{code}"


def price_id(code: str, interval: str, currency: str, amount_cents: int) -> str:
    return f"taji-{code}-{interval}-{currency.lower()}-{amount_cents}"


def _active(value: Any) -> bool:
    # Stripe answers a boolean; a fake server may echo back the string it was sent.
    return value is True or str(value).lower() == "true"


async def _retrieve(resource: Any, object_id: str) -> dict[str, Any] | None:
    try:
        return (await resource.retrieve_async(object_id)).to_dict()
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise


async def _sync_product(client: stripe.StripeClient, plan: Plan) -> SyncedObject:
    wanted = {"name": plan.name, "metadata": {"plan": plan.code}, "active": True}
    pid = product_id(plan.code)
    found = await _retrieve(client.v1.products, pid)
    if found is None:
        await client.v1.products.create_async({"id": pid, **wanted})  # type: ignore[typeddict-item]
        return SyncedObject(plan.code, "product", pid, "created")
    if (found.get("name") != plan.name or (found.get("metadata") or {}).get("plan") != plan.code
            or not _active(found.get("active"))):
        await client.v1.products.update_async(pid, wanted)  # type: ignore[arg-type]
        return SyncedObject(plan.code, "product", pid, "updated")
    return SyncedObject(plan.code, "product", pid, "kept")


async def _sync_price(client: stripe.StripeClient, plan: Plan, interval: str) -> list[SyncedObject]:
    amount = plan.price_monthly_cents if interval == "month" else plan.price_yearly_cents
    pid = price_id(plan.code, interval, plan.currency, amount)
    kind = f"price {interval}"
    done: list[SyncedObject] = []
    found = await _retrieve(client.v1.plans, pid)
    if found is None:
        await client.v1.plans.create_async({
            "id": pid, "product": product_id(plan.code), "amount": amount, "currency": plan.currency.lower(),
            "interval": interval, "nickname": f"{plan.name} ({interval})",
            "metadata": {"plan": plan.code, "interval": interval},
        })
        done.append(SyncedObject(plan.code, kind, pid, "created"))
    elif not _active(found.get("active")):
        await client.v1.plans.update_async(pid, {"active": True})
        done.append(SyncedObject(plan.code, kind, pid, "updated"))
    else:
        done.append(SyncedObject(plan.code, kind, pid, "kept"))
    # The plan's older prices of this interval: no new subscription may start on them.
    listed = await client.v1.plans.list_async({"product": product_id(plan.code), "limit": 100})
    for other in (p.to_dict() for p in listed.data):  # a plan has a handful of prices, never 100
        if other["id"] != pid and other.get("interval") == interval and _active(other.get("active")):
            await client.v1.plans.update_async(other["id"], {"active": False})
            done.append(SyncedObject(plan.code, kind, other["id"], "deactivated"))
    if interval == "month":
        plan.stripe_price_monthly_id = pid
    else:
        plan.stripe_price_yearly_id = pid
    return done


async def sync_plans(engine: AsyncEngine, billing: BillingSettings) -> list[SyncedObject]:
    """Create or update every plan's product and prices in Stripe and store their ids (see the module).

    Raises :class:`~tajiconnect.domains.billing.stripe_api.BillingNotConfiguredError` without a key and Stripe's
    errors as they come; the ids of the plans synced before an error are kept (each plan commits on its own)."""
    client = stripe_client(billing)
    report: list[SyncedObject] = []
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            codes = list((await session.scalars(select(Plan.code).order_by(Plan.sort_order, Plan.code))).all())
        for code in codes:
            async with session_scope(engine, schema=None) as session:
                plan = (await session.scalars(select(Plan).where(Plan.code == code).with_for_update())).one()
                report.append(await _sync_product(client, plan))
                for interval in INTERVALS:
                    report.extend(await _sync_price(client, plan, interval))
                plan.stripe_product_id = product_id(plan.code)
    return report
