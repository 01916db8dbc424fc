"""The org admin's billing page against the local fake Stripe (localstripe): the license and what Stripe says
(next charge, invoices), Checkout and the customer portal (the requests the app builds, read back from the
stand-ins), seat changes on a real localstripe subscription, refusals that send nothing to Stripe, Stripe out of
reach, billing not configured, and who may see or act (members, other organizations)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import secrets
from typing import Any

import pytest
import stripe
from sqlalchemy import select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing import reconcile
from tajiconnect.domains.billing.stripe_api import stripe_client
from tajiconnect.domains.licensing.models import License, Plan
from tajiconnect.domains.licensing.service import set_license
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tests.conftest import BASE_DOMAIN, open_client
from tests.integration.conftest import audit_entries, post_form, session_of, sign_in, with_cookie
from tests.integration.seats.conftest import add_learner, seats_used

ATTEMPT = "a" * 24


def in_days(days: int) -> datetime.date:
    return datetime.date.today() + datetime.timedelta(days=days)


@pytest.fixture(scope="module")
def app(billing_settings, migrated):
    """This module's app has billing configured against localstripe."""
    from tajiconnect.app import create_app

    return create_app(billing_settings)


@pytest.fixture(scope="module")
async def price_id(engine, billing_settings) -> str:
    """A per-seat monthly price (a localstripe plan) of the Standard plan: what sync-plans would set."""
    return await standard_price(engine, billing_settings)


async def standard_price(engine: Any, billing_settings: Any) -> str:
    """The Standard plan's monthly price in localstripe: the one already set (sync-plans in another test module),
    else a new one set on the plan."""
    client = stripe_client(billing_settings.billing)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            known = await session.scalar(select(Plan.stripe_price_monthly_id).where(Plan.code == "standard"))
    if known:
        with contextlib.suppress(stripe.InvalidRequestError):  # not in this localstripe: make our own
            await client.v1.plans.retrieve_async(known)
            return known
    product = await client.v1.products.create_async({"name": "Standard"})
    plan_id = f"price_std_m_{secrets.token_hex(6)}"
    await client.v1.plans.create_async(
        {"id": plan_id, "product": product.id, "amount": 400, "currency": "usd", "interval": "month"}  # type: ignore[typeddict-unknown-key]
    )
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(
                update(Plan).where(Plan.code == "standard")
                .values(stripe_product_id=product.id, stripe_price_monthly_id=plan_id)
            )
    return plan_id


async def license_of(engine: Any, tenant: Any) -> License:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            lic = await session.scalar(select(License).where(License.tenant_id == tenant.id))
            assert lic is not None
            return lic


async def subscribe_in_stripe(
    engine: Any, billing_settings: Any, tenant: Any, price: str, quantity: int
) -> tuple[str, str]:
    """A customer paying with card 4242 and an active subscription of ``quantity`` seats, applied to the license
    as Stripe's confirmed state (what the webhook would do). Returns (customer id, subscription id)."""
    client = stripe_client(billing_settings.billing)
    customer = await client.v1.customers.create_async(
        {"email": f"billing@{tenant.slug}.example", "metadata": {"tenant_id": str(tenant.id)}}
    )
    method = await client.v1.payment_methods.create_async(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}}  # type: ignore[typeddict-item]
    )
    await client.v1.payment_methods.attach_async(method.id, {"customer": customer.id})
    await client.v1.customers.update_async(customer.id, {"invoice_settings": {"default_payment_method": method.id}})
    sub = await client.v1.subscriptions.create_async(
        {"customer": customer.id, "items": [{"plan": price, "quantity": quantity}],  # type: ignore[typeddict-item]
         "metadata": {"tenant_id": str(tenant.id)}}
    )
    view, _changes = await reconcile.sync_subscription(engine, billing_settings.billing, sub.id)
    assert view is not None and view.seats == quantity and view.status == "active"
    return customer.id, sub.id


def checkout_requests(localstripe: Any, tenant: Any) -> list[dict[str, Any]]:
    sent = localstripe.requests("/v1/checkout/sessions")
    return [r["data"] for r in sent if r["data"].get("client_reference_id") == str(tenant.id)]


def portal_requests(localstripe: Any, customer: str) -> list[dict[str, Any]]:
    sent = localstripe.requests("/v1/billing_portal/sessions")
    return [r["data"] for r in sent if r["data"].get("customer") == customer]


async def test_without_a_key_the_page_says_billing_is_not_configured(settings, migrated, new_org):
    from tajiconnect.app import create_app

    org = await new_org("bnc", seats=12)
    plain = create_app(settings)  # STRIPE_API_KEY unset
    async with open_client(plain, org.tenant) as client:
        client.follow_redirects = False
        assert (await sign_in(client, org.admin.email, org.admin.password)).status_code == 303
        page = await client.get("/admin/billing")
        refused = await post_form(client, "/admin/billing/checkout",
                                  {"plan": "standard", "interval": "month", "seats": "5"})
    assert page.status_code == 200
    assert "Billing is not configured" in page.text and "platform operators manage your plan and seats" in page.text
    assert 'id="billing-plan"' in page.text and "0 of 12" in page.text  # the license is still shown
    assert "/admin/billing/checkout" not in page.text and "/admin/billing/portal" not in page.text
    assert refused.status_code == 409 and "Billing is not configured." in refused.text


async def test_trial_page_shows_days_left_plans_and_the_navigation(signed_in, new_org, engine, price_id):
    org = await new_org("btr", seats=50)
    await set_license(engine, org.tenant.slug, status="trialing", until=in_days(10))
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/billing")
    assert page.status_code == 200, page.text
    assert 'href="/admin/billing"' in page.text  # in the admin navigation
    assert "Trial until" in page.text and "10 days left" in page.text
    assert 'action="/admin/billing/checkout"' in page.text and 'value="standard"' in page.text
    assert "$4.00 per seat a month" in page.text
    assert 'value="starter"' not in page.text  # no Stripe price: not offered
    assert 'id="no-invoices"' in page.text  # no customer yet: nothing asked of Stripe
    # Its forms may end on Stripe's hosted pages (Chromium checks form-action on redirects), nowhere else.
    assert "form-action 'self' https://checkout.stripe.com https://billing.stripe.com" in page.headers[
        "content-security-policy"]


async def test_subscribe_builds_the_checkout_request_and_changes_no_license(
    signed_in, new_org, engine, billing_settings, price_id, localstripe
):
    org = await new_org("bsub", seats=50)
    await add_learner(engine, org.tenant)
    await add_learner(engine, org.tenant)
    await set_license(engine, org.tenant.slug, status="trialing", until=in_days(5))
    before = await license_of(engine, org.tenant)
    async with signed_in(org.admin) as client:
        # A Host with another port: the return URLs still come from the settings, never from the request.
        answer = await post_form(client, "/admin/billing/checkout",
                                 {"plan": "standard", "interval": "month", "seats": "7", "attempt": ATTEMPT},
                                 headers={"host": f"{org.tenant.slug}.{BASE_DOMAIN}:8443"})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
        htmx = await post_form(client, "/admin/billing/checkout",
                               {"plan": "standard", "interval": "month", "seats": "7"}, headers={"HX-Request": "true"})
        assert htmx.status_code == 200 and htmx.headers["hx-redirect"].startswith("https://checkout.stripe.test/")
        after_redirect = await license_of(engine, org.tenant)
        back = await client.get("/admin/billing?checkout=success")
    lic = await license_of(engine, org.tenant)
    sent = checkout_requests(localstripe, org.tenant)
    assert len(sent) == 2
    origin = f"https://{org.tenant.slug}.{BASE_DOMAIN}"
    assert sent[0] == {
        "mode": "subscription", "customer": lic.stripe_customer_id, "client_reference_id": str(org.tenant.id),
        "line_items": [{"price": price_id, "quantity": "7"}],
        "subscription_data": {"metadata": {"tenant_id": str(org.tenant.id), "tenant": org.tenant.slug}},
        "success_url": f"{origin}/admin/billing?checkout=success",
        "cancel_url": f"{origin}/admin/billing?checkout=cancelled",
    }
    assert sent[1]["customer"] == lic.stripe_customer_id  # one customer for the tenant, made once
    stripe_api = stripe_client(billing_settings.billing)
    customer = (await stripe_api.v1.customers.retrieve_async(lic.stripe_customer_id or "")).to_dict()
    assert customer["email"] == org.admin.email and customer["metadata"] == {
        "tenant_id": str(org.tenant.id), "tenant": org.tenant.slug}
    # Nothing about the license changed: only Stripe's confirmed state (a webhook) may change it.
    for state in (after_redirect, lic):
        assert (state.plan_id, state.seats, state.status, state.term_end, state.stripe_subscription_id) == (
            before.plan_id, before.seats, before.status, before.term_end, None)
    assert back.status_code == 200
    assert "Payment received by Stripe; your license updates as soon as Stripe confirms it" in back.text
    started = await audit_entries(engine, org.tenant, "billing.checkout.started")
    assert len(started) == 2 and started[0].details["seats"] == 7 and started[0].actor_email == org.admin.email


async def test_no_second_checkout_while_a_paid_one_is_not_confirmed_yet(
    signed_in, new_org, engine, billing_settings, price_id, localstripe
):
    """A Checkout paid in another tab whose events have not arrived: the customer has a live subscription that the
    license does not show. Starting another Checkout is refused (it would make a second subscription), and the
    license catches up with Stripe's state at once."""
    org = await new_org("bdbl", seats=50)
    await set_license(engine, org.tenant.slug, status="trialing", until=in_days(5))
    _customer, sub_id = await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, quantity=6)
    with tenant_context(None):  # as it was before the subscription's events arrived
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(License).where(License.tenant_id == org.tenant.id).values(
                stripe_subscription_id=None, subscription_status=None, status="trialing", seats=50))
    invalidate_tenant_cache()
    async with signed_in(org.admin) as client:
        answer = await post_form(client, "/admin/billing/checkout",
                                 {"plan": "standard", "interval": "month", "seats": "6", "attempt": ATTEMPT})
    assert answer.status_code == 409, answer.text
    assert "A subscription was already started for the organization" in answer.text
    assert checkout_requests(localstripe, org.tenant) == []
    lic = await license_of(engine, org.tenant)
    assert (lic.stripe_subscription_id, lic.status, lic.seats) == (sub_id, "active", 6)
    assert 'id="billing-seats"' in answer.text and "of 6" in answer.text  # the page shows the synced license


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"plan": "standard", "interval": "month", "seats": "1"}, "seats", "from 2 to"),
        ({"plan": "standard", "interval": "month", "seats": "0"}, "seats", "from 2 to"),
        ({"plan": "standard", "interval": "month", "seats": "2.5"}, "seats", "whole number"),
        ({"plan": "standard", "interval": "month", "seats": "1000001"}, "seats", "from 2 to"),
        ({"plan": "starter", "interval": "month", "seats": "5"}, "plan", "Choose a plan"),
        ({"plan": "standard", "interval": "year", "seats": "5"}, "plan", "cannot be bought with this billing"),
        ({"plan": "standard", "interval": "week", "seats": "5"}, "interval", "monthly or yearly"),
    ],
)
async def test_subscribe_refusals_rerender_with_field_errors_and_send_nothing(
    signed_in, new_org, engine, price_id, localstripe, fields, field, message
):
    org = await new_org("bref", seats=50)
    await add_learner(engine, org.tenant)
    await add_learner(engine, org.tenant)
    async with signed_in(org.admin) as client:
        answer = await post_form(client, "/admin/billing/checkout", fields)
    assert answer.status_code == 422
    assert f'id="e-{field}"' in answer.text and message in answer.text
    assert checkout_requests(localstripe, org.tenant) == []
    assert (await license_of(engine, org.tenant)).stripe_customer_id is None


async def test_portal_request_is_built_and_redirected(signed_in, new_org, engine, localstripe):
    org = await new_org("bpor")
    async with signed_in(org.admin) as client:
        answer = await post_form(client, "/admin/billing/portal")
    assert answer.status_code == 303 and answer.headers["location"].startswith("https://billing.stripe.test/p/session/")
    lic = await license_of(engine, org.tenant)
    assert lic.stripe_customer_id and lic.billing_email == org.admin.email
    assert portal_requests(localstripe, lic.stripe_customer_id) == [
        {"customer": lic.stripe_customer_id, "return_url": f"https://{org.tenant.slug}.{BASE_DOMAIN}/admin/billing"}
    ]
    assert len(await audit_entries(engine, org.tenant, "billing.portal.opened")) == 1


async def test_seat_change_updates_stripe_and_the_license_lowering_below_use_is_refused(
    signed_in, new_org, engine, billing_settings, price_id, localstripe
):
    org = await new_org("bseat", seats=50)
    for _ in range(3):
        await add_learner(engine, org.tenant)
    customer, sub_id = await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 5)
    client_stripe = stripe_client(billing_settings.billing)
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/billing")
        assert page.status_code == 200, page.text
        assert "3 of 5" in page.text and 'action="/admin/billing/seats"' in page.text
        assert 'action="/admin/billing/checkout"' not in page.text  # subscribed: no second subscription
        assert 'id="next-charge"' in page.text and "$20.00" in page.text  # 5 seats x $4.00
        assert 'class="invoice"' in page.text and "Paid" in page.text  # the first invoice, from Stripe
        raised = await post_form(client, "/admin/billing/seats", {"seats": "8", "attempt": ATTEMPT})
        assert raised.status_code == 303 and raised.headers["location"] == "/admin/billing?notice=seats_changed"
        sub = (await client_stripe.v1.subscriptions.retrieve_async(sub_id)).to_dict()
        assert sub["items"]["data"][0]["quantity"] == 8
        assert (await license_of(engine, org.tenant)).seats == 8  # Stripe's answer, applied at once
        lowered = await post_form(client, "/admin/billing/seats", {"seats": "2"})
        shown = await client.get("/admin/billing?notice=seats_changed")
    assert lowered.status_code == 422
    assert "3 seats are in use" in lowered.text and 'href="/admin/seats?seat=holding"' in lowered.text
    sub = (await client_stripe.v1.subscriptions.retrieve_async(sub_id)).to_dict()
    assert sub["items"]["data"][0]["quantity"] == 8  # nothing was sent
    lic = await license_of(engine, org.tenant)
    assert lic.seats == 8 and lic.stripe_customer_id == customer
    assert "3 of 8" in shown.text and "The seats were changed" in shown.text
    changed = await audit_entries(engine, org.tenant, "billing.seats.changed")
    assert [(e.details["before"], e.details["after"]) for e in changed] == [({"seats": 5}, {"seats": 8})]


async def test_lowering_seats_and_inviting_at_the_same_moment_never_overfill_the_license(
    new_org, make_user, engine, billing_settings, price_id
):
    """4 of 6 seats used: one admin lowers to 4 while another invites a 5th learner. Both wait on the license row
    (held here), then go one after the other: whichever comes first wins and the other is refused, so the seats in
    use never exceed the license (nor Stripe's quantity)."""
    from sqlalchemy import text

    from tests.integration.seats.test_seat_limits import live_client, served, waiting_on_locks

    org = await new_org("blow", seats=50)
    for _ in range(4):
        await add_learner(engine, org.tenant)
    _customer, sub_id = await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 6)
    other_admin = await make_user(org.tenant, ["org_admin"])
    async with served(billing_settings) as app, live_client(app, org.tenant) as one, \
            live_client(app, org.tenant) as two:
        assert (await sign_in(one, org.admin.email, org.admin.password)).status_code == 303
        assert (await sign_in(two, other_admin.email)).status_code == 303
        async with session_scope(engine, schema=None) as holder:
            await holder.execute(text("SELECT 1 FROM public.licenses WHERE tenant_id = :t FOR UPDATE"),
                                 {"t": org.tenant.id})
            race = asyncio.gather(
                post_form(one, "/admin/billing/seats", {"seats": "4", "attempt": ATTEMPT}),
                post_form(two, "/admin/users/invite", {"email": f"fifth@{org.tenant.slug}.example",
                                                       "roles": "student"}),
            )
            await waiting_on_locks(engine, 2)
        lowered, invited = await race
    lic = await license_of(engine, org.tenant)
    quantity = (await stripe_client(billing_settings.billing).v1.subscriptions.retrieve_async(sub_id)).to_dict()[
        "items"]["data"][0]["quantity"]
    used = await seats_used(engine, org.tenant)
    if lowered.status_code == 303:  # the lowering went first: the invitation found no free seat
        assert invited.status_code == 409 and (lic.seats, quantity, used) == (4, 4, 4)
    else:  # the invitation went first: the lowering saw 5 seats in use
        assert lowered.status_code == 422 and "5 seats are in use" in lowered.text, lowered.text
        assert invited.status_code == 303 and (lic.seats, quantity, used) == (6, 6, 5)


async def test_invoices_are_paginated_with_more(signed_in, new_org, engine, billing_settings, price_id, monkeypatch):
    from tajiconnect.domains.billing import pages

    org = await new_org("binv")
    await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 2)
    lic = await license_of(engine, org.tenant)
    client_stripe = stripe_client(billing_settings.billing)
    # A second subscription of the same customer makes a second invoice.
    await client_stripe.v1.subscriptions.create_async(
        {"customer": lic.stripe_customer_id or "", "items": [{"plan": price_id, "quantity": 1}]}  # type: ignore[typeddict-item]
    )
    monkeypatch.setattr(pages, "INVOICES_PER_PAGE", 1)
    async with signed_in(org.admin) as client:
        first = await client.get("/admin/billing")
        assert first.text.count('class="invoice"') == 1 and 'id="invoices-more"' in first.text
        cursor = first.text.split("/admin/billing?after=", 1)[1].split('"', 1)[0].split("#", 1)[0]
        more = await client.get(f"/admin/billing?after={cursor}",
                                headers={"HX-Request": "true", "HX-Target": "invoices-more"})
    assert more.status_code == 200 and "<html" not in more.text
    assert more.text.count('class="invoice"') == 1 and f'id="invoice-{cursor}"' not in more.text


async def test_stripe_out_of_reach_is_a_message_not_an_error(
    billing_settings, new_org, engine, price_id, localstripe, migrated
):
    from tajiconnect.app import create_app
    from tests.support import free_port

    org = await new_org("bdown")
    await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 2)
    away = dataclasses.replace(billing_settings,
                               billing=dataclasses.replace(billing_settings.billing, api_base=f"http://127.0.0.1:{free_port()}"))
    async with open_client(create_app(away), org.tenant) as client:
        client.follow_redirects = False
        assert (await sign_in(client, org.admin.email, org.admin.password)).status_code == 303
        page = await client.get("/admin/billing")
        portal = await post_form(client, "/admin/billing/portal")
        seats = await post_form(client, "/admin/billing/seats", {"seats": "3"})
    assert page.status_code == 200 and page.text.count("Stripe could not be reached; try again.") == 2
    assert 'id="billing-plan"' in page.text
    assert portal.status_code == 502 and "Stripe could not be reached; try again." in portal.text
    assert seats.status_code == 502 and (await license_of(engine, org.tenant)).seats == 2


async def test_members_and_other_organizations_cannot_see_or_act(
    signed_in, browser, new_org, make_user, engine, billing_settings, price_id, localstripe
):
    org = await new_org("bown")
    other = await new_org("both")
    customer, sub_id = await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 3)
    teacher = await make_user(org.tenant, ["teacher", "manager"])
    async with signed_in(teacher) as client:
        assert (await client.get("/admin/billing")).status_code == 403
        for path, data in (("/admin/billing/checkout", {"plan": "standard", "interval": "month", "seats": "5"}),
                           ("/admin/billing/portal", {}), ("/admin/billing/seats", {"seats": "9"})):
            assert (await post_form(client, path, data)).status_code == 403
    # The other organization's admin: their session is not valid on this host (sign-in page), and what they
    # do on their own billing page concerns only their own customer.
    async with signed_in(other.admin) as client:
        own = await post_form(client, "/admin/billing/portal")
        stolen = session_of(client)
    assert stolen
    async with browser(org.tenant) as client:
        answer = await with_cookie(client, "/admin/billing", stolen)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign-in")
    assert own.status_code == 303
    theirs = await license_of(engine, other.tenant)
    assert theirs.stripe_customer_id and theirs.stripe_customer_id != customer
    assert portal_requests(localstripe, customer) == []  # nobody opened this tenant's portal
    sub = (await stripe_client(billing_settings.billing).v1.subscriptions.retrieve_async(sub_id)).to_dict()
    assert sub["items"]["data"][0]["quantity"] == 3
    assert (await license_of(engine, org.tenant)).seats == 3
    invalidate_tenant_cache()


async def test_racing_requests_make_one_customer(new_org, engine, billing_settings):
    import asyncio

    from tajiconnect.domains.billing.customers import ensure_customer

    org = await new_org("bcus")
    ids = await asyncio.gather(*(
        ensure_customer(engine, billing_settings.billing, org.tenant, email=org.admin.email) for _ in range(3)
    ))
    lic = await license_of(engine, org.tenant)
    assert set(ids) == {lic.stripe_customer_id}
    listed = await stripe_client(billing_settings.billing).v1.customers.list_async({"limit": 100})
    mine = [c for c in listed.data if (c.to_dict().get("metadata") or {}).get("tenant") == org.tenant.slug]
    assert len(mine) == 1 and mine[0].to_dict()["name"] == org.tenant.name


async def test_the_proration_preview_is_quiet_when_stripe_cannot_say(
    signed_in, new_org, engine, billing_settings, price_id
):
    """localstripe has no ``subscription_details`` in invoice previews: the fragment is empty, never an error."""
    org = await new_org("bprev")
    await subscribe_in_stripe(engine, billing_settings, org.tenant, price_id, 2)
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/billing")
        preview = await client.get("/admin/billing/seats/preview?seats=4", headers={"HX-Request": "true"})
        nonsense = await client.get("/admin/billing/seats/preview?seats=abc", headers={"HX-Request": "true"})
    assert 'hx-get="/admin/billing/seats/preview"' in page.text and 'id="seat-preview"' in page.text
    assert preview.status_code == 200 and "<html" not in preview.text and "Stripe could not" not in preview.text
    assert nonsense.status_code == 200 and nonsense.text.strip() == ""
    assert (await license_of(engine, org.tenant)).seats == 2
