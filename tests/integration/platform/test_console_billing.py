"""The operators' console with billing configured (the local fake Stripe): invoices from Stripe on the tenant page,
"Stripe could not be reached" when it fails, and no hand license change for a subscribed tenant."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import pytest
import stripe

from tajiconnect.domains.licensing.service import get_license
from tests.integration.conftest import post_form
from tests.integration.platform.test_console_actions import set_billing
from tests.integration.platform.test_operator_console import dd, platform_entries


@pytest.fixture(scope="module")
def app(billing_settings):
    """This module's app has billing configured (every fixture that builds a client uses it)."""
    from tajiconnect.app import create_app

    return create_app(billing_settings)


def sdk(billing_settings) -> stripe.StripeClient:
    return stripe.StripeClient(billing_settings.billing.api_key.get(),
                               base_addresses={"api": billing_settings.billing.api_base})


@pytest.fixture(scope="module")
def subscribed(billing_settings) -> tuple[str, str]:
    """A customer in the fake Stripe with a paid monthly subscription of 3 seats at 2.50 USD: (customer, sub)."""
    client = sdk(billing_settings)
    customer = client.v1.customers.create({"email": f"billing.{uuid.uuid4().hex[:6]}@example.org"})
    card = client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    client.v1.payment_methods.attach(card.id, {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": card.id}})
    product = client.v1.products.create({"name": "Standard"})
    plan = client.v1.plans.create({"product": product.id, "amount": 250, "currency": "usd", "interval": "month"})
    subscription = client.v1.subscriptions.create({"customer": customer.id,
                                                   "items": [{"plan": plan.id, "quantity": 3}]})
    return customer.id, subscription.id


async def test_the_tenant_page_shows_stripe_invoices_and_billing_facts(as_operator, new_org, engine, subscribed):
    customer, subscription = subscribed
    org = await new_org("aabill")
    since = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.UTC)
    await set_billing(engine, org.tenant.slug, stripe_customer_id=customer, stripe_subscription_id=subscription,
                      subscription_status="past_due", status="past_due", billing_interval="month",
                      past_due_since=since)
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{org.tenant.slug}")
    html = page.text
    assert page.status_code == 200
    assert dd(html, "platform-customer") == customer and dd(html, "platform-subscription") == subscription
    assert dd(html, "platform-subscription-status") == "past due"
    assert dd(html, "platform-past-due") == "2026-03-01 08:00 UTC"
    assert dd(html, "platform-read-only-from") == "2026-03-08 08:00 UTC"  # past due + 7 days of grace
    assert dd(html, "platform-access").startswith("read-only")
    assert 'id="platform-invoices"' in html and "$7.50" in html and ">Paid<" in html
    # Stripe decides this license: no hand form.
    assert "Stripe decides this tenant" in html
    assert f'action="/platform/tenants/{org.tenant.slug}/license"' not in html


async def test_hand_license_changes_are_refused_while_stripe_decides(as_operator, new_org, engine, subscribed):
    org = await new_org("aabillr")
    slug = org.tenant.slug
    await set_billing(engine, slug, stripe_customer_id=f"cus_{uuid.uuid4().hex[:10]}",
                      stripe_subscription_id=f"sub_{uuid.uuid4().hex[:10]}", subscription_status="active")
    before = await get_license(engine, slug)
    async with as_operator() as client:
        refused = await post_form(client, f"/platform/tenants/{slug}/license",
                                  {"plan": "enterprise", "seats": "99", "status": "active", "term_end": ""})
    assert refused.status_code == 422
    assert "Stripe decides this organization" in refused.text
    assert await get_license(engine, slug) == before
    assert await platform_entries(engine, slug, "platform.license.changed") == []
    # Nor is a trial that Stripe holds extended by hand.
    await set_billing(engine, slug, subscription_status="trialing")
    async with as_operator() as client:
        refused = await post_form(client, f"/platform/tenants/{slug}/extend-trial", {"days": "10"})
    assert refused.status_code == 422
    assert "Stripe decides this organization" in refused.text
    assert (await get_license(engine, slug)).term_end == before.term_end
    assert await platform_entries(engine, slug, "platform.trial.extended") == []
    # Without a subscription, billing configured or not, the operator sets the license by hand.
    await set_billing(engine, slug, stripe_subscription_id=None)
    async with as_operator() as client:
        saved = await post_form(client, f"/platform/tenants/{slug}/license",
                                {"plan": "enterprise", "seats": "99", "status": "active", "term_end": ""})
    assert saved.status_code == 303 and (await get_license(engine, slug)).seats == 99


async def test_the_page_says_when_stripe_cannot_be_reached(as_operator, new_org, engine, monkeypatch, subscribed):
    from tajiconnect.platform import pages

    org = await new_org("aabillx")
    await set_billing(engine, org.tenant.slug, stripe_customer_id=f"cus_{uuid.uuid4().hex[:10]}")
    real = pages.invoices_of

    async def unreachable(billing, customer_id):
        broken = dataclasses.replace(billing, api_base="http://127.0.0.1:9")  # nothing listens there
        return await real(broken, customer_id)

    monkeypatch.setattr(pages, "invoices_of", unreachable)
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{org.tenant.slug}")
    assert page.status_code == 200
    assert "Stripe could not be reached" in page.text and 'id="platform-invoices"' not in page.text
