"""A subscription's life in localstripe (subscribe N seats, change seats, a failed payment, payment again), its
events delivered to the app: live as they happen, then replayed once in order and three times shuffled. The
license always ends equal to Stripe's state, the admins are told once per failed invoice, duplicate events add no
audit entry, and no other tenant's license is touched."""

from __future__ import annotations

import contextlib
import datetime
import json
import random
import uuid
from typing import Any

import pytest
import stripe
from babel.dates import format_date
from babel.numbers import format_currency
from sqlalchemy import delete, func, select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.resolver import TenantResolver, invalidate_tenant_cache
from tests.conftest import BASE_DOMAIN
from tests.integration.billing.conftest import FAILING_CARD, GOOD_CARD, card, license_of
from tests.integration.conftest import create_member

FIELDS = ("plan_id", "seats", "status", "term_start", "term_end", "stripe_customer_id", "stripe_subscription_id",
          "subscription_status", "billing_interval", "cancel_at_period_end", "past_due_since", "cancelled_at",
          "retain_until", "billing_email")


def facts(lic: License) -> dict[str, Any]:
    return {field: getattr(lic, field) for field in FIELDS}


async def customer_events(stripe_api, customer_id: str, since: int) -> list[dict[str, Any]]:
    """localstripe's events about this customer, oldest first."""
    found = []
    listed = await stripe_api.v1.events.list_async({"limit": 100})
    async for evt in listed.auto_paging_iter():
        data = evt.to_dict()
        obj = data["data"]["object"]
        if data["created"] >= since and customer_id in (obj.get("customer"), obj.get("id")):
            found.append(data)
    found.sort(key=lambda e: (e["created"], e["id"]))
    return found


async def billing_notifications(engine, tenant) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return sorted((await session.execute(
                select(Notification.key, Notification.user_id)
                .where(Notification.category == "billing"))).tuples().all())


async def audit_entries(engine, slug: str) -> list[str]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return [json.dumps(d, sort_keys=True, default=str) for d in (await session.scalars(
                select(PlatformAuditEntry.details).where(PlatformAuditEntry.target_id == slug,
                                                         PlatformAuditEntry.action == "billing.license.synced")
                .order_by(PlatformAuditEntry.occurred_at))).all()]


async def read_only_of(engine, slug: str, grace_days: int) -> str | None:
    invalidate_tenant_cache()
    match = await TenantResolver(engine, BASE_DOMAIN, 0, grace_days=grace_days).resolve(f"{slug}.{BASE_DOMAIN}")
    assert match.tenant is not None
    return match.tenant.read_only


class Replayer:
    def __init__(self, deliver, jobs, engine) -> None:
        self.deliver, self.jobs, self.engine = deliver, jobs, engine

    async def send(self, events: list[dict[str, Any]], *, drain_every: int = 1) -> None:
        for n, evt in enumerate(events, start=1):
            assert (await self.deliver(evt)).status_code == 200
            if n % drain_every == 0:
                await self.jobs()
        await self.jobs()
        with tenant_context(None):
            async with session_scope(self.engine, schema=None) as session:
                pending = (await session.scalars(select(BillingEvent.status).where(
                    BillingEvent.id.in_({e["id"] for e in events})))).all()
        assert set(pending) <= {"processed", "ignored"}, pending


@pytest.fixture
async def org(make_tenant, engine):
    """A tenant on a trial, with two active admins (and a teacher, who is never told about billing)."""
    from tajiconnect.domains.licensing.service import set_license

    tenant = await make_tenant("bill")
    await set_license(engine, tenant.slug, seats=50, status="trialing",
                      until=datetime.date.today() + datetime.timedelta(days=20))
    await create_member(engine, tenant, ["org_admin"], email=f"second-admin@{tenant.slug}.example")
    await create_member(engine, tenant, ["teacher"])
    return tenant


async def test_live_events_then_replays_end_in_stripes_state(
    org, make_tenant, engine, stripe_api, synced_plans, deliver, billing_jobs, bsettings, mail_sink
) -> None:
    grace = bsettings.billing.grace_days
    replay = Replayer(deliver, billing_jobs, engine)
    monthly = synced_plans["standard"].stripe_price_monthly_id
    start = int(datetime.datetime.now(datetime.UTC).timestamp()) - 1

    # A bystander with its own customer and subscription, synced: never touched by the other tenant's events.
    other = await make_tenant("byst")
    other_customer = await stripe_api.v1.customers.create_async({"email": f"pay@{other.slug}.example"})
    await card(stripe_api, other_customer.id, GOOD_CARD)
    await stripe_api.v1.subscriptions.create_async({"customer": other_customer.id, "items": [
        {"plan": monthly, "quantity": 3}], "metadata": {"tenant_id": str(other.id)}})
    await replay.send(await customer_events(stripe_api, other_customer.id, start))
    bystander = facts(await license_of(engine, other.slug))
    assert (bystander["seats"], bystander["status"]) == (3, "active")

    # 1. Subscribe for 12 seats with a working card (the app would have made the customer for the tenant).
    customer = await stripe_api.v1.customers.create_async(
        {"email": f"billing@{org.slug}.example", "metadata": {"tenant_id": str(org.id)}})
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(License).where(License.tenant_id == org.id)
                                  .values(stripe_customer_id=customer.id))
    before = facts(await license_of(engine, org.slug))
    await card(stripe_api, customer.id, GOOD_CARD)
    sub = await stripe_api.v1.subscriptions.create_async({"customer": customer.id, "items": [
        {"plan": monthly, "quantity": 12}], "metadata": {"tenant_id": str(org.id)}})
    seen = await customer_events(stripe_api, customer.id, start)
    await replay.send(seen)
    lic = await license_of(engine, org.slug)
    assert (lic.plan.code, lic.seats, lic.status, lic.billing_interval) == ("standard", 12, "active", "month")
    assert lic.billing_email == f"billing@{org.slug}.example"

    # 2. Seats raised to 15 (localstripe announces no subscription update: the invoice paid for it does).
    item = sub.to_dict()["items"]["data"][0]["id"]
    await stripe_api.v1.subscriptions.update_async(sub.id, {"items": [{"id": item, "quantity": 15}]})
    # 3. The invoice for it fails. (localstripe's /pay declines the card without telling the invoice; a payment
    # intent attached to the invoice and confirmed fails it as Stripe's own retry would: invoice.payment_failed,
    # subscription past_due.)
    failing = await card(stripe_api, customer.id, FAILING_CARD)
    invoice = await stripe_api.v1.invoices.create_async({"customer": customer.id, "subscription": sub.id})
    with contextlib.suppress(stripe.StripeError):
        await stripe_api.v1.invoices.pay_async(invoice.id)
    invoice = await stripe_api.v1.invoices.retrieve_async(invoice.id)
    retry = await stripe_api.v1.payment_intents.create_async({
        "amount": invoice.amount_due, "currency": invoice.currency, "customer": customer.id,
        "payment_method": failing})
    await stripe_api.v1.payment_intents.update_async(retry.id, {"invoice": invoice.id})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(stripe.CardError):
        await stripe_api.v1.payment_intents.confirm_async(retry.id)
    assert (await stripe_api.v1.subscriptions.retrieve_async(sub.id)).status == "past_due"
    new = [e for e in await customer_events(stripe_api, customer.id, start) if e["id"] not in {x["id"] for x in seen}]
    assert "invoice.payment_failed" in {e["type"] for e in new}
    seen += new
    await replay.send(new)
    lic = await license_of(engine, org.slug)
    assert (lic.seats, lic.status, lic.subscription_status) == (15, "past_due", "past_due")
    assert lic.past_due_since is not None
    failed_key = f"billing:payment_failed:{invoice.id}"
    notes = await billing_notifications(engine, org)
    assert [k for k, _ in notes] == [failed_key, failed_key]  # each of the two admins, once
    mail = mail_sink.last_to(f"second-admin@{org.slug}.example", "Payment failed")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    read_only_day = format_date((lic.past_due_since + datetime.timedelta(days=grace)).date(), "long", locale="en")
    amount = format_currency(invoice.amount_due / 100, invoice.currency.upper(), locale="en")  # e.g. $60.00
    assert "read-only" in text and read_only_day in text and amount in text and "/admin/billing" in text

    # During the grace period the tenant works; after it, it is read-only.
    assert await read_only_of(engine, org.slug, grace) is None
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(License).where(License.tenant_id == org.id).values(
                past_due_since=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=grace, hours=1)))
    assert await read_only_of(engine, org.slug, grace) == "past_due"

    # 4. Paid with a working card: active again at once, the admins told once.
    await card(stripe_api, customer.id, GOOD_CARD)
    await stripe_api.v1.invoices.pay_async(invoice.id)
    new = [e for e in await customer_events(stripe_api, customer.id, start) if e["id"] not in {x["id"] for x in seen}]
    seen += new
    await replay.send(new)
    live = facts(await license_of(engine, org.slug))
    assert (live["status"], live["seats"], live["past_due_since"]) == ("active", 15, None)
    assert await read_only_of(engine, org.slug, grace) is None
    keys = [k for k, _ in await billing_notifications(engine, org)]
    assert keys.count(f"billing:payment_restored:{invoice.id}") == 2 and keys.count(failed_key) == 2

    # Stripe's state is the license's.
    current = (await stripe_api.v1.subscriptions.retrieve_async(sub.id)).to_dict()
    assert (live["stripe_subscription_id"], live["subscription_status"]) == (sub.id, current["status"])
    assert live["seats"] == current["items"]["data"][0]["quantity"]
    assert live["term_end"] == datetime.datetime.fromtimestamp(current["current_period_end"], datetime.UTC).date()
    live_notes = await billing_notifications(engine, org)

    # Replays: once in order, then every event three times, shuffled; each from the license as it was before.
    async def reset() -> None:
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                await session.execute(update(License).where(License.tenant_id == org.id).values(**before))
                await session.execute(delete(BillingEvent).where(BillingEvent.id.in_({e["id"] for e in seen})))
                await session.execute(delete(PlatformAuditEntry).where(PlatformAuditEntry.target_id == org.slug))
        with tenant_context(org):
            async with session_scope(engine) as session:
                await session.execute(delete(Notification).where(Notification.category == "billing"))
        invalidate_tenant_cache()

    outcomes = []
    for seed in (None, 1, 2, 3):
        await reset()
        events = list(seen) if seed is None else random.Random(seed).sample(seen * 3, len(seen) * 3)
        await replay.send(events, drain_every=1 if seed is None else 4)
        outcomes.append((facts(await license_of(engine, org.slug)), await billing_notifications(engine, org),
                         await audit_entries(engine, org.slug)))
    first = outcomes[0]
    for outcome in outcomes[1:]:
        assert outcome[0] == first[0]
        assert outcome[1] == first[1]
        assert len(outcome[2]) == len(first[2]) and len(set(outcome[2])) == len(outcome[2])
    replayed = first[0]
    assert {k: replayed[k] for k in ("plan_id", "seats", "status", "term_start", "term_end",
                                     "stripe_subscription_id", "past_due_since")} == {
        k: live[k] for k in ("plan_id", "seats", "status", "term_start", "term_end",
                             "stripe_subscription_id", "past_due_since")}
    assert sorted(k for k, _ in first[1]) == sorted(k for k, _ in live_notes)  # failed, then restored: each once
    assert len(first[2]) >= 1  # the trial became the subscription: audited once, duplicates add nothing
    assert sum(k == failed_key for k, _ in first[1]) == 2  # one per admin for the one failed invoice
    assert facts(await license_of(engine, other.slug)) == bystander


async def test_an_event_never_moves_a_subscription_onto_another_tenants_license(
    make_tenant, engine, stripe_api, synced_plans, deliver, billing_jobs
) -> None:
    """A subscription whose metadata names a tenant that pays through another customer is not that tenant's."""
    victim = await make_tenant("vict")
    victim_customer = await stripe_api.v1.customers.create_async({"email": f"pay@{victim.slug}.example"})
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(License).where(License.tenant_id == victim.id)
                                  .values(stripe_customer_id=victim_customer.id))
    before = facts(await license_of(engine, victim.slug))
    stranger = await stripe_api.v1.customers.create_async({"email": "someone@else.example"})
    await card(stripe_api, stranger.id, GOOD_CARD)
    sub = await stripe_api.v1.subscriptions.create_async({"customer": stranger.id, "items": [
        {"plan": synced_plans["standard"].stripe_price_monthly_id, "quantity": 2}],
        "metadata": {"tenant_id": str(victim.id)}})
    evt = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "customer.subscription.updated",
           "created": sub.created, "livemode": False, "data": {"object": sub.to_dict()}}
    assert (await deliver(evt)).status_code == 200
    await billing_jobs()
    assert facts(await license_of(engine, victim.slug)) == before
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            row = await session.get(BillingEvent, evt["id"])
            assert row is not None and (row.status, row.tenant_id) == ("ignored", None)
            assert await session.scalar(select(func.count()).select_from(Tenant)) > 0


async def test_checkout_completed_adopts_the_customer_of_the_tenant_it_names(
    make_tenant, engine, stripe_api, synced_plans, deliver, billing_jobs
) -> None:
    tenant = await make_tenant("chk")
    customer = await stripe_api.v1.customers.create_async({"email": f"pay@{tenant.slug}.example"})
    await card(stripe_api, customer.id, GOOD_CARD)
    sub = await stripe_api.v1.subscriptions.create_async({"customer": customer.id, "items": [
        {"plan": synced_plans["standard"].stripe_price_yearly_id, "quantity": 9}]})  # no metadata
    session_obj = {"id": f"cs_test_{uuid.uuid4().hex}", "object": "checkout.session", "mode": "subscription",
                   "customer": customer.id, "subscription": sub.id, "client_reference_id": str(tenant.id),
                   "metadata": {"tenant_id": str(tenant.id)}, "status": "complete"}
    evt = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "checkout.session.completed",
           "created": sub.created, "livemode": False, "data": {"object": session_obj}}
    assert (await deliver(evt)).status_code == 200
    await billing_jobs()
    lic = await license_of(engine, tenant.slug)
    assert (lic.stripe_customer_id, lic.stripe_subscription_id, lic.seats, lic.billing_interval, lic.status) == (
        customer.id, sub.id, 9, "year", "active")


async def test_a_sync_fetches_stripes_state_only_once_it_holds_the_subscriptions_lock(
    make_tenant, engine, stripe_api, synced_plans, bsettings
) -> None:
    """Two syncs of one subscription run one after the other, and each fetches inside its turn: a seat change made
    while a sync waits is what that sync applies (a snapshot fetched before waiting would undo it)."""
    import asyncio

    from sqlalchemy import text

    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.billing.reconcile import sync_subscription

    org = await make_tenant("race")
    monthly = synced_plans["standard"].stripe_price_monthly_id
    customer = await stripe_api.v1.customers.create_async({"email": f"pay@{org.slug}.example"})
    await card(stripe_api, customer.id, GOOD_CARD)
    sub = await stripe_api.v1.subscriptions.create_async({"customer": customer.id, "items": [
        {"plan": monthly, "quantity": 4}], "metadata": {"tenant_id": str(org.id)}})
    item = sub.to_dict()["items"]["data"][0]["id"]
    with tenant_context(None):
        async with session_scope(engine, schema=None) as holder:  # another sync of the subscription, in its turn
            await holder.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                                 {"key": f"stripe-subscription:{sub.id}"})
            waiting = asyncio.ensure_future(sync_subscription(engine, bsettings.billing, sub.id))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await stripe_api.v1.subscriptions.update_async(sub.id, {"items": [{"id": item, "quantity": 9}]})
    view, _ = await waiting
    assert view is not None and view.seats == 9
    assert (await license_of(engine, org.slug)).seats == 9
