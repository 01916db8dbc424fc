"""``POST /webhooks/stripe``: only a correctly signed, fresh event is stored (once) and processed; anything else is a
400 problem and stores nothing; without a webhook secret the route is a 404."""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.tenancy.context import tenant_context
from tests.conftest import open_client
from tests.integration.billing.conftest import card, event, license_of, sign


async def stored(engine, event_id: str) -> list[BillingEvent]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return list((await session.scalars(select(BillingEvent).where(BillingEvent.id == event_id))).all())


async def test_a_signed_event_is_stored_then_processed_once(deliver, billing_jobs, engine, make_tenant, stripe_api,
                                                           synced_plans) -> None:
    tenant = await make_tenant("whk")
    customer = await stripe_api.v1.customers.create_async({"email": f"pay@{tenant.slug}.example"})
    await card(stripe_api, customer.id, "4242424242424242")
    sub = await stripe_api.v1.subscriptions.create_async({
        "customer": customer.id, "items": [{"plan": synced_plans["standard"].stripe_price_monthly_id,
                                            "quantity": 7}], "metadata": {"tenant": tenant.slug}})
    evt = event(f"evt_{uuid.uuid4().hex}", "customer.subscription.created", sub.to_dict())
    answer = await deliver(evt)
    assert answer.status_code == 200 and answer.json() == {"received": True}
    [row] = await stored(engine, evt["id"])
    assert (row.status, row.type, row.object_id, row.customer_id) == (
        "received", "customer.subscription.created", sub.id, customer.id)
    assert (await deliver(evt)).status_code == 200  # Stripe delivers again: acknowledged, stored once
    assert len(await stored(engine, evt["id"])) == 1
    await billing_jobs()
    [row] = await stored(engine, evt["id"])
    assert (row.status, row.attempts, row.tenant_id) == ("processed", 1, tenant.id)
    lic = await license_of(engine, tenant.slug)
    assert (lic.plan.code, lic.seats, lic.status, lic.stripe_subscription_id, lic.stripe_customer_id) == (
        "standard", 7, "active", sub.id, customer.id)
    # A third delivery after processing: still one row, not processed again.
    assert (await deliver(evt)).status_code == 200
    await billing_jobs()
    [row] = await stored(engine, evt["id"])
    assert row.attempts == 1


async def test_bad_signatures_are_refused_and_nothing_is_stored(deliver, engine, bsettings) -> None:
    secret = bsettings.billing.webhook_secret.get()
    evt = event(f"evt_{uuid.uuid4().hex}", "customer.updated", {"id": "cus_x", "object": "customer"})
    payload = json.dumps(evt).encode()
    good = sign(payload, secret)
    cases = {
        "tampered": (payload.replace(b"cus_x", b"cus_y"), good),
        "wrong secret": (payload, sign(payload, "whsec_not_the_secret")),
        "stale": (payload, sign(payload, secret, int(time.time()) - 600)),
        "missing": (payload, ""),
        "garbage header": (payload, "nonsense"),
    }
    for name, (body, signature) in cases.items():
        answer = await deliver(body, signature=signature)
        assert answer.status_code == 400, name
        assert answer.headers["content-type"].startswith("application/problem+json"), name
        assert answer.json()["status"] == 400
    assert await stored(engine, evt["id"]) == []
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            assert await session.scalar(select(func.count()).select_from(BillingEvent)
                                        .where(BillingEvent.object_id.in_(["cus_x", "cus_y"]))) == 0


async def test_the_route_is_a_404_without_billing(app, settings) -> None:
    assert settings.billing.webhook_secret is None
    payload = json.dumps(event("evt_nobilling", "customer.updated", {"id": "cus_z"})).encode()
    async with open_client(app) as client:
        answer = await client.post("/webhooks/stripe", content=payload,
                                   headers={"stripe-signature": sign(payload, "whsec_x"),
                                            "content-type": "application/json"})
    assert answer.status_code == 404


async def test_the_route_is_on_the_apex_only(billing_app, bsettings, make_tenant) -> None:
    tenant = await make_tenant("whh")
    payload = json.dumps(event(f"evt_{uuid.uuid4().hex}", "customer.updated", {"id": "cus_q"})).encode()
    async with open_client(billing_app, tenant) as client:
        answer = await client.post("/webhooks/stripe", content=payload, headers={
            "stripe-signature": sign(payload, bsettings.billing.webhook_secret.get()),
            "content-type": "application/json"})
    assert answer.status_code == 404


async def test_a_body_over_the_limit_is_refused(deliver) -> None:
    assert (await deliver(b"{" + b" " * (1024 * 1024 + 10) + b"}")).status_code == 413
