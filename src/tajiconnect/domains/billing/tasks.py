"""Processing Stripe's events (stored by ``webhooks.py``) and dunning.

:func:`process_billing_event` locks the event row (``FOR UPDATE SKIP LOCKED``: one worker at a time; processed or
ignored events are left alone), works out the subscription or customer the event concerns, and has
:mod:`reconcile` fetch that subscription *as Stripe has it now* and apply it to the tenant's license. An event
that arrives twice, late or out of order therefore leads to the same license; the license's audit entries are
written only when something changed, so duplicates add none.

================================  =========================================================================
event                             what is synced
================================  =========================================================================
customer.subscription.*           the subscription
checkout.session.completed        the session's customer is adopted by the tenant (``client_reference_id``
                                  or ``metadata.tenant_id``) when its license has none; then the subscription
invoice.paid / payment_succeeded  the invoice's subscription (else the customer's latest); see dunning
invoice.payment_failed            the same, then the admins are told (dunning)
customer.updated                  ``License.billing_email`` from the customer (fetched), and its subscription
anything else                     nothing (status ``ignored``)
================================  =========================================================================

Dunning, each notification keyed by the invoice so that it is sent once whatever is delivered again:

* ``billing:payment_failed:<invoice>``: to every active org admin, urgent (app + email): the amount, and the day
  the organization becomes read-only unless it pays (``past_due_since + grace_days``);
* ``billing:payment_restored:<invoice>``: once a payment cleared a past-due license, or an invoice whose payment
  had failed is paid: full access is back.

``sweep_billing_events`` (every minute) enqueues again the events still ``received`` or ``failed`` after
:data:`SWEEP_AFTER` with fewer than :data:`MAX_ATTEMPTS` attempts: the backstop for an enqueue lost after the
webhook's commit, and for processing that failed (Stripe unreachable) beyond the job's own retries.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import stripe
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.access import read_only_from
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.domains.billing.money import Amount
from tajiconnect.domains.billing.reconcile import sync_customer, sync_subscription, tenant_id_of
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.licensing.service import LicenseView
from tajiconnect.i18n import N_
from tajiconnect.settings import Settings
from tajiconnect.tasks.base import TaskPolicy, build_job, platform_task
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.service import load_tenant

log = structlog.get_logger(__name__)

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")
PAID_EVENTS = ("invoice.paid", "invoice.payment_succeeded")
FAILED_EVENT = "invoice.payment_failed"
CHECKOUT_EVENT = "checkout.session.completed"
CUSTOMER_EVENT = "customer.updated"
HANDLED = (*SUBSCRIPTION_EVENTS, *PAID_EVENTS, FAILED_EVENT, CHECKOUT_EVENT, CUSTOMER_EVENT)

SWEEP_AFTER = datetime.timedelta(minutes=2)
MAX_ATTEMPTS = 10
SWEEP_BATCH = 200
ERROR_MAX = 500

#: Stripe may be slow or away for a while: a few attempts with backoff, then the sweep takes over.
POLICY = TaskPolicy(retries=5, timeout=120, heartbeat=60, retry_delay=5.0)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # "processed" | "ignored"
    tenant_id: uuid.UUID | None = None


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def invoice_subscription(invoice: dict[str, Any]) -> str | None:
    """The invoice's subscription: ``subscription`` (API versions before 2025-03) or
    ``parent.subscription_details.subscription`` (later ones)."""
    direct = _id(invoice.get("subscription"))
    if direct:
        return direct
    parent = invoice.get("parent") or {}
    return _id(((parent.get("subscription_details") or {}) if isinstance(parent, dict) else {}).get("subscription"))


async def _tenant_id(engine: AsyncEngine, slug: str) -> uuid.UUID | None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await session.scalar(select(Tenant.id).where(Tenant.slug == slug))


async def _license_of_customer(engine: AsyncEngine, customer_id: str) -> tuple[str, License] | None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            row = (await session.execute(
                select(Tenant.slug, License).join(License, License.tenant_id == Tenant.id)
                .where(License.stripe_customer_id == customer_id)
            )).first()
            return (row[0], row[1]) if row is not None else None


async def adopt_customer(engine: AsyncEngine, tenant_id: uuid.UUID, customer_id: str) -> bool:
    """Give the tenant ``tenant_id``'s license the Stripe customer ``customer_id`` when it has none and no other
    license has it (a Checkout session the app started for that tenant names both); True when set."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            taken = await session.scalar(select(License.id).where(License.stripe_customer_id == customer_id))
            if taken is not None:
                return False
            result = await session.execute(
                update(License).where(
                    License.tenant_id == tenant_id,
                    License.stripe_customer_id.is_(None),
                ).values(stripe_customer_id=customer_id)
            )
            return bool(getattr(result, "rowcount", 0))


async def _sync_invoice(engine: AsyncEngine, settings: Settings, invoice: dict[str, Any], context: dict[str, Any]
                        ) -> tuple[LicenseView | None, dict[str, Any]]:
    sub_id = invoice_subscription(invoice)
    if sub_id:
        return await sync_subscription(engine, settings.billing, sub_id, **context)
    customer = _id(invoice.get("customer"))
    if customer:
        return await sync_customer(engine, settings.billing, customer, **context)
    return None, {}


async def _notify_admins(ctx: dict[str, Any], slug: str, *, key: str, title: str, body: str,
                         params: dict[str, Any]) -> int:
    """Notify every active org admin of the tenant ``slug`` (category ``billing``), once per ``key``."""
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.notifications.service import notify
    from tajiconnect.tasks.outbox import dispatch_committed

    engine = ctx["engine"]
    tenant = await load_tenant(engine, slug)
    created = 0
    with tenant_context(tenant), i18n.locale_context(tenant.locale):
        async with session_scope(engine) as session:
            admins = (await session.scalars(
                select(User).where(User.roles.contains(["org_admin"]), User.status == "active"))).all()
            for admin in admins:
                created += await notify(session, admin, "billing", key=key, title=title, body=body,
                                        params=params, link="/admin/billing") is not None
        await dispatch_committed(session, ctx.get("queue"))
    return created


async def _dunning_facts(engine: AsyncEngine, slug: str) -> tuple[datetime.datetime | None, str | None]:
    """The license's ``past_due_since`` and Stripe's raw subscription status."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            row = (await session.execute(
                select(License.past_due_since, License.subscription_status)
                .join(Tenant, Tenant.id == License.tenant_id).where(Tenant.slug == slug)
            )).first()
            return (row[0], row[1]) if row is not None else (None, None)


#: A subscription whose first payment never succeeded confirmed nothing: its failure is Checkout's to show, and
#: the license (a trial, say) is not in dunning.
NOT_STARTED = (None, "incomplete", "incomplete_expired")


async def payment_failed(ctx: dict[str, Any], event: BillingEvent, slug: str, invoice: dict[str, Any]) -> None:
    """Tell the admins a payment failed, how much, and from when the organization is read-only."""
    settings: Settings = ctx["settings"]
    since, subscription_status = await _dunning_facts(ctx["engine"], slug)
    if subscription_status in NOT_STARTED:
        return
    since = since or event.stripe_created_at
    until = read_only_from(since, settings.billing.grace_days)
    assert until is not None
    await _notify_admins(
        ctx, slug, key=f"billing:payment_failed:{invoice['id']}",
        title=N_("Payment failed: %(amount)s"),
        body=N_("The payment of %(amount)s for your subscription failed. Unless it is paid, the organization "
                "becomes read-only on %(date)s: members can still sign in and read, nothing else. Update the "
                "payment method on the billing page."),
        params={"amount": Amount.of(invoice.get("amount_due"), invoice.get("currency")), "date": until.date()},
    )


async def payment_restored(ctx: dict[str, Any], slug: str, invoice: dict[str, Any]) -> None:
    await _notify_admins(
        ctx, slug, key=f"billing:payment_restored:{invoice['id']}",
        title=N_("Payment received: full access restored"),
        body=N_("The payment of %(amount)s was received. Everything works again as before."),
        params={"amount": Amount.of(invoice.get("amount_paid") or invoice.get("amount_due"), invoice.get("currency"))},
    )


async def _failed_before(engine: AsyncEngine, invoice_id: str) -> bool:
    """Whether a failed payment of this invoice was reported to us (by an event stored at any time)."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await session.scalar(select(BillingEvent.id).where(
                BillingEvent.type == FAILED_EVENT, BillingEvent.object_id == invoice_id).limit(1)) is not None


async def handle_event(ctx: dict[str, Any], event: BillingEvent) -> Outcome:
    """Sync what ``event`` concerns (see the module); the tenant it belongs to, or ignored."""
    engine: AsyncEngine = ctx["engine"]
    settings: Settings = ctx["settings"]
    billing = settings.billing
    obj: dict[str, Any] = (event.payload.get("data") or {}).get("object") or {}
    context: dict[str, Any] = {"event": event.id, "event_type": event.type}
    view: LicenseView | None = None
    changes: dict[str, Any] = {}
    if event.type in SUBSCRIPTION_EVENTS:
        view, changes = await sync_subscription(engine, billing, str(obj["id"]), **context)
    elif event.type == CHECKOUT_EVENT:
        tenant_id = tenant_id_of(obj.get("client_reference_id") or (obj.get("metadata") or {}).get("tenant_id"))
        customer = _id(obj.get("customer"))
        if tenant_id is not None and customer:
            await adopt_customer(engine, tenant_id, customer)
        if sub_id := _id(obj.get("subscription")):
            view, changes = await sync_subscription(engine, billing, sub_id, **context)
        elif customer:
            view, changes = await sync_customer(engine, billing, customer, **context)
    elif event.type in (*PAID_EVENTS, FAILED_EVENT):
        invoice_id = str(obj["id"])
        view, changes = await _sync_invoice(engine, settings, obj, context)
        if view is not None:
            current = (await stripe_client(billing).v1.invoices.retrieve_async(invoice_id)).to_dict()
            paid = current.get("status") == "paid"
            if event.type == FAILED_EVENT:
                await payment_failed(ctx, event, view.slug, current)
            cleared = "past_due_since" in changes and changes["past_due_since"] is None
            if paid and view.status == "active" and (cleared or await _failed_before(engine, invoice_id)):
                await payment_restored(ctx, view.slug, current)
    elif event.type == CUSTOMER_EVENT:
        customer_id = str(obj["id"])
        owner = await _license_of_customer(engine, customer_id)
        if owner is None:
            return Outcome("ignored")
        fetched = (await stripe_client(billing).v1.customers.retrieve_async(customer_id)).to_dict()
        email = fetched.get("email") if isinstance(fetched.get("email"), str) else None
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                await session.execute(update(License).where(License.stripe_customer_id == customer_id)
                                      .values(billing_email=(email or None) and email[:320]))
        view, changes = await sync_customer(engine, billing, customer_id, **context)
        return Outcome("processed", await _tenant_id(engine, owner[0]))
    else:
        return Outcome("ignored")
    if view is None:
        return Outcome("ignored")
    return Outcome("processed", await _tenant_id(engine, view.slug))


async def _handle_or_ignore(ctx: dict[str, Any], event: BillingEvent) -> Outcome:
    try:
        return await handle_event(ctx, event)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        return Outcome("ignored")  # the object is not in our Stripe account (any more): nothing to sync


@platform_task(policy=POLICY)
async def process_billing_event(ctx: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    """Process one stored Stripe event, at most once to completion (see the module)."""
    engine: AsyncEngine = ctx["engine"]
    failure: Exception | None = None
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            event = await session.scalar(
                select(BillingEvent).where(BillingEvent.id == event_id).with_for_update(skip_locked=True))
            if event is None:  # unknown, or another worker has it right now
                return {"event": event_id, "status": "busy or unknown"}
            if event.status in ("processed", "ignored"):
                return {"event": event_id, "status": event.status}
            event.attempts += 1
            try:
                outcome = await _handle_or_ignore(ctx, event)
            except Exception as exc:  # recorded, then raised again so that SAQ retries
                log.warning("billing.event.failed", event_id=event_id, type=event.type, error=type(exc).__name__)
                event.status = "failed"
                event.error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
                failure = exc
            else:
                event.status = outcome.status
                event.tenant_id = outcome.tenant_id
                event.processed_at = datetime.datetime.now(datetime.UTC)
                event.error = None
            status = event.status
    if failure is not None:
        raise failure
    return {"event": event_id, "status": status}


@platform_task
async def sweep_billing_events(ctx: dict[str, Any]) -> dict[str, Any]:
    """Enqueue again the events left ``received`` or ``failed`` (see the module)."""
    engine: AsyncEngine = ctx["engine"]
    cutoff = datetime.datetime.now(datetime.UTC) - SWEEP_AFTER
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            rows = list((await session.execute(
                select(BillingEvent.id, BillingEvent.attempts)
                .where(or_(BillingEvent.status == "received", BillingEvent.status == "failed"),
                       BillingEvent.received_at <= cutoff, BillingEvent.attempts < MAX_ATTEMPTS)
                .order_by(BillingEvent.received_at).limit(SWEEP_BATCH)
            )).tuples().all())
    enqueued = 0
    for event_id, attempts in rows:
        # A key of its own per attempt: SAQ keeps a finished job's key, which would refuse the same one again.
        job = build_job(process_billing_event, key=f"billing-event:{event_id}:sweep:{attempts}", event_id=event_id)
        try:
            enqueued += await ctx["queue"].enqueue(job) is not None
        except Exception as exc:
            log.warning("billing.sweep.enqueue_failed", event_id=event_id, error=type(exc).__name__)
            break
    return {"found": len(rows), "enqueued": enqueued}
