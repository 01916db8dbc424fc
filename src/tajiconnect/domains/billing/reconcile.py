"""Stripe's confirmed state -> the tenant's license. The only writer of a subscribed tenant's license.

Every path that learns something about a subscription (a webhook event, the billing page after a seat change, the
operators' console, a backstop sweep) ends here with the subscription *as Stripe has it now*, never with what an
event said at the time or what a browser asked for. Applying the same state twice changes nothing; applying an
older state after a newer one is impossible because the state is fetched, not replayed. That is what makes
webhook delivery order irrelevant.

:func:`read_subscription` and :func:`license_changes` are pure (unit-tested); :func:`apply_subscription` locks the
license row and writes the changes with one platform audit entry; :func:`sync_subscription` fetches and applies.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import MAX_SEATS, License, Plan
from tajiconnect.domains.licensing.service import LicenseView, license_view
from tajiconnect.settings import BillingSettings
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.resolver import invalidate_tenant_cache

log = structlog.get_logger(__name__)

#: Who changes a license when Stripe does (platform audit log).
STRIPE = Actor(email="stripe")

#: Stripe's subscription status -> the license's. ``incomplete`` (first payment not made yet) and
#: ``incomplete_expired`` (it never was) confirm nothing and are absent: the license keeps its plan, seats and status
#: (a trial stays a trial when a Checkout payment failed) until Stripe says more.
STATUS_OF: dict[str, str] = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "paused": "suspended",
    "canceled": "cancelled",
}
ENDED = ("canceled", "incomplete_expired")


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """What the license needs from a Stripe subscription object."""

    id: str
    customer_id: str
    status: str
    price_id: str | None
    quantity: int
    period_start: datetime.date | None
    period_end: datetime.date | None
    cancel_at_period_end: bool
    ended_at: datetime.datetime | None
    #: ``metadata.tenant_id``, set when the subscription was started from TajiConnect: the tenant's id, never its
    #: slug (a slug is freed when its organization is deleted and may be taken again).
    tenant_id: uuid.UUID | None


def _date(timestamp: Any) -> datetime.date | None:
    return _when(timestamp).date() if isinstance(timestamp, int) else None  # type: ignore[union-attr]


def _when(timestamp: Any) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC) if isinstance(timestamp, int) else None


def read_subscription(sub: dict[str, Any]) -> SubscriptionState:
    """The state of a subscription object (a plain dict, e.g. ``stripe_object.to_dict()``). Periods are read from
    the first item (Stripe's API since 2025) or from the subscription itself (older versions, localstripe)."""
    items = ((sub.get("items") or {}).get("data")) or []
    item = items[0] if items else {}
    price = item.get("price") or item.get("plan") or sub.get("plan") or {}
    price_id = price.get("id") if isinstance(price, dict) else price if isinstance(price, str) else None
    quantity = item.get("quantity") or sub.get("quantity") or 0
    customer = sub.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return SubscriptionState(
        id=str(sub["id"]),
        customer_id=str(customer or ""),
        status=str(sub.get("status") or ""),
        price_id=price_id,
        quantity=int(quantity),
        period_start=_date(item.get("current_period_start") or sub.get("current_period_start")),
        period_end=_date(item.get("current_period_end") or sub.get("current_period_end")),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        ended_at=_when(sub.get("ended_at") or sub.get("canceled_at")),
        tenant_id=tenant_id_of((sub.get("metadata") or {}).get("tenant_id")),
    )


def tenant_id_of(value: Any) -> uuid.UUID | None:
    """A tenant id as the app writes it into Stripe (metadata, a Checkout session's reference), or None."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class LicenseFacts:
    """The license fields :func:`license_changes` compares (a snapshot, so the function stays pure)."""

    plan_code: str
    seats: int
    status: str
    term_start: datetime.date
    term_end: datetime.date | None
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    subscription_status: str | None
    billing_interval: str | None
    cancel_at_period_end: bool
    past_due_since: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    retain_until: datetime.date | None


def license_changes(
    lic: LicenseFacts,
    state: SubscriptionState,
    *,
    plan: tuple[str, str] | None,
    now: datetime.datetime,
    retention_days: int,
) -> dict[str, Any]:
    """The license fields to set so that ``lic`` equals Stripe's ``state`` (only those that differ).

    ``plan`` is (plan code, interval) of the subscription's price, or ``None`` when the price is not one of ours
    (the plan is then kept). A subscription other than the license's own that has ended is stale news, one that
    confirms nothing yet (a second Checkout still incomplete) is premature: nothing either.
    """
    if (lic.stripe_subscription_id and lic.stripe_subscription_id != state.id
            and (state.status in ENDED or state.status not in STATUS_OF)):
        return {}
    wanted: dict[str, Any] = {
        "stripe_subscription_id": state.id,
        "stripe_customer_id": state.customer_id or lic.stripe_customer_id,
        "subscription_status": state.status,
        "cancel_at_period_end": state.cancel_at_period_end,
    }
    status = STATUS_OF.get(state.status)
    if status is not None:  # a confirmed state
        wanted["status"] = status
        if plan is not None:
            wanted["plan_code"], wanted["billing_interval"] = plan
        if state.quantity > 0:
            wanted["seats"] = min(state.quantity, MAX_SEATS)
        if state.period_start is not None:
            wanted["term_start"] = state.period_start
        if state.period_end is not None:
            wanted["term_end"] = max(state.period_end, wanted.get("term_start", lic.term_start))
        wanted["past_due_since"] = (lic.past_due_since or now) if status == "past_due" else None
        if status == "cancelled":
            ended = lic.cancelled_at or state.ended_at or now
            wanted["cancelled_at"] = ended
            wanted["retain_until"] = ended.date() + datetime.timedelta(days=retention_days)
        else:
            wanted["cancelled_at"] = None
            wanted["retain_until"] = None
    return {field: value for field, value in wanted.items() if getattr(lic, field) != value}


def facts_of(lic: License) -> LicenseFacts:
    return LicenseFacts(
        plan_code=lic.plan.code, seats=lic.seats, status=lic.status, term_start=lic.term_start,
        term_end=lic.term_end, stripe_customer_id=lic.stripe_customer_id,
        stripe_subscription_id=lic.stripe_subscription_id, subscription_status=lic.subscription_status,
        billing_interval=lic.billing_interval, cancel_at_period_end=lic.cancel_at_period_end,
        past_due_since=lic.past_due_since, cancelled_at=lic.cancelled_at, retain_until=lic.retain_until,
    )


#: The changes worth an audit entry of their own (the rest is bookkeeping of Stripe's ids and raw status).
AUDITED = ("plan_code", "seats", "status", "term_start", "term_end", "billing_interval", "cancel_at_period_end")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


async def _plan_of_price(session: AsyncSession, price_id: str | None) -> tuple[Plan, str] | None:
    if not price_id:
        return None
    plan = await session.scalar(
        select(Plan).where(or_(Plan.stripe_price_monthly_id == price_id, Plan.stripe_price_yearly_id == price_id))
    )
    if plan is None:
        return None
    return plan, "month" if plan.stripe_price_monthly_id == price_id else "year"


async def license_for(session: AsyncSession, state: SubscriptionState) -> tuple[Tenant, License] | None:
    """The tenant and license (locked) this subscription belongs to: by subscription id, then customer id, then
    the ``tenant_id`` metadata the app set when it started the subscription, only for a license with no customer yet
    or this one (metadata never moves a subscription onto a license that pays through another customer)."""
    base = select(Tenant, License).join(License, License.tenant_id == Tenant.id).with_for_update(of=License)
    for condition in (
        License.stripe_subscription_id == state.id,
        License.stripe_customer_id == state.customer_id if state.customer_id else None,
        and_(Tenant.id == state.tenant_id,
             or_(License.stripe_customer_id.is_(None), License.stripe_customer_id == state.customer_id))
        if state.tenant_id else None,
    ):
        if condition is None:
            continue
        row = (await session.execute(base.where(condition))).first()
        if row is not None:
            return row[0], row[1]
    return None


async def apply_subscription(
    session: AsyncSession,
    subscription: dict[str, Any],
    *,
    billing: BillingSettings,
    now: datetime.datetime | None = None,
    **context: Any,
) -> tuple[LicenseView | None, dict[str, Any]]:
    """Make the license of the subscription's tenant equal to ``subscription`` (Stripe's current object, as a
    dict) in the caller's public transaction. Returns the license after and the fields changed; ``(None, {})``
    when no tenant owns the subscription. Business changes are recorded as ``billing.license.synced``."""
    now = now or datetime.datetime.now(datetime.UTC)
    state = read_subscription(subscription)
    found = await license_for(session, state)
    if found is None:
        log.warning("billing.subscription.unowned", subscription=state.id, customer=state.customer_id)
        return None, {}
    tenant, lic = found
    priced = await _plan_of_price(session, state.price_id)
    if state.price_id and priced is None:
        log.warning("billing.price.unknown", price=state.price_id, tenant=tenant.slug)
    changes = license_changes(
        facts_of(lic), state, plan=(priced[0].code, priced[1]) if priced else None, now=now,
        retention_days=billing.retention_days,
    )
    before = {field: getattr(facts_of(lic), field) for field in changes}
    for field, value in changes.items():
        if field == "plan_code":
            assert priced is not None
            lic.plan_id, lic.plan = priced[0].id, priced[0]
        else:
            setattr(lic, field, value)
    lic.billing_synced_at = now
    await session.flush()
    audited = [field for field in changes if field in AUDITED]
    if audited:
        await record(
            session, STRIPE, "billing.license.synced", target_type="tenant", target_id=tenant.slug,
            model=PlatformAuditEntry, tenant=tenant.slug, subscription=state.id,
            before={field: _plain(before[field]) for field in audited},
            after={field: _plain(changes[field]) for field in audited},
            **context,
        )
    return await license_view(session, tenant.slug), changes


async def sync_subscription(
    engine: AsyncEngine,
    billing: BillingSettings,
    subscription_id: str,
    **context: Any,
) -> tuple[LicenseView | None, dict[str, Any]]:
    """Fetch the subscription from Stripe and apply it, in a transaction of its own that holds the
    subscription's advisory lock from before the fetch to the commit: two syncs of one subscription run one after
    the other, so a snapshot fetched earlier is never applied over a newer one. The host cache is dropped once a
    change is committed."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await lock_subscription(session, subscription_id)
            view, changes = await fetch_and_apply(session, billing, subscription_id, **context)
    if changes:
        invalidate_tenant_cache()
    return view, changes


async def lock_subscription(session: AsyncSession, subscription_id: str) -> None:
    """Take the subscription's lock until the caller's transaction ends (before its license row, always)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"stripe-subscription:{subscription_id}"})


async def fetch_and_apply(session: AsyncSession, billing: BillingSettings, subscription_id: str, **context: Any
                          ) -> tuple[LicenseView | None, dict[str, Any]]:
    """Fetch the subscription and apply it in the caller's transaction, which holds :func:`lock_subscription`;
    the caller drops the host cache once it committed a change."""
    fetched = await stripe_client(billing).v1.subscriptions.retrieve_async(subscription_id)
    return await apply_subscription(session, fetched.to_dict(), billing=billing, **context)


async def latest_subscription(billing: BillingSettings, customer_id: str) -> dict[str, Any] | None:
    """The customer's subscription that matters now: the newest one not ended, else the newest ended one."""
    listed = await stripe_client(billing).v1.subscriptions.list_async(
        {"customer": customer_id, "status": "all", "limit": 20}
    )
    subs = [s.to_dict() for s in listed.data]
    if not subs:
        return None
    subs.sort(key=lambda s: (s.get("status") not in ENDED, s.get("created") or 0), reverse=True)
    return subs[0]


async def sync_customer(
    engine: AsyncEngine, billing: BillingSettings, customer_id: str, **context: Any
) -> tuple[LicenseView | None, dict[str, Any]]:
    """Apply the customer's current subscription (for events that name only a customer)."""
    sub = await latest_subscription(billing, customer_id)
    if sub is None:
        return None, {}
    return await sync_subscription(engine, billing, str(sub["id"]), **context)
