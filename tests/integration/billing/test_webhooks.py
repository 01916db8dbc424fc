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
                                            "quantity": 7}], "metadata": {"tenant_id": str(tenant.id)}})
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


async def test_a_failure_is_recorded_and_the_sweep_enqueues_it_again(engine, bsettings, billing_jobs) -> None:
    """Stripe unreachable: the event is ``failed`` with the error and the job raises (SAQ retries); the minutely
    sweep enqueues events left behind (a lost enqueue, failures), but not those out of attempts."""
    import dataclasses
    import datetime

    from sqlalchemy import update

    from tajiconnect.domains.billing.tasks import MAX_ATTEMPTS, process_billing_event, sweep_billing_events
    from tajiconnect.domains.billing.webhooks import event_row
    from tests.support import free_port

    sub_event = event(f"evt_{uuid.uuid4().hex}", "customer.subscription.updated",
                      {"id": f"sub_{uuid.uuid4().hex[:10]}", "object": "subscription", "customer": "cus_nobody"})
    spent = event(f"evt_{uuid.uuid4().hex}", "customer.subscription.updated",
                  {"id": f"sub_{uuid.uuid4().hex[:10]}", "object": "subscription"})
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            session.add(BillingEvent(**event_row(sub_event), status="received", attempts=0))
            session.add(BillingEvent(**event_row(spent), status="failed", attempts=MAX_ATTEMPTS))
    away = dataclasses.replace(bsettings, billing=dataclasses.replace(
        bsettings.billing, api_base=f"http://127.0.0.1:{free_port()}"))
    try:
        await process_billing_event({"engine": engine, "settings": away, "queue": None}, event_id=sub_event["id"])
    except Exception as exc:
        assert "APIConnectionError" in type(exc).__name__
    else:
        raise AssertionError("the job did not fail")
    [row] = await stored(engine, sub_event["id"])
    assert (row.status, row.attempts) == ("failed", 1) and "APIConnectionError" in (row.error or "")

    # Not yet two minutes old: left alone. Older: enqueued again, and processed (the subscription is unknown to
    # Stripe: ignored). The event out of attempts stays as it is.
    ctx = {"engine": engine, "settings": bsettings, "queue": billing_jobs.queues}
    await billing_jobs(max_jobs=0)  # connects the queues
    await sweep_billing_events(ctx)
    await billing_jobs()
    assert (await stored(engine, sub_event["id"]))[0].attempts == 1
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(BillingEvent).where(BillingEvent.id.in_([sub_event["id"], spent["id"]]))
                                  .values(received_at=datetime.datetime.now(datetime.UTC)
                                          - datetime.timedelta(minutes=3)))
    result = await sweep_billing_events(ctx)
    assert result["enqueued"] >= 1
    await billing_jobs()
    [row] = await stored(engine, sub_event["id"])
    assert (row.status, row.attempts, row.tenant_id) == ("ignored", 2, None), row.error
    [row] = await stored(engine, spent["id"])
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
