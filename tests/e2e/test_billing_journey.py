"""The whole billing journey of one organization on a 390 px phone, against localstripe and the real worker:

sign-up on the apex host -> trial -> subscribing for 5 seats through Checkout -> raising to 8 seats -> a failed
payment (past due: a warning, the admin emailed) -> the grace period over (read-only: a write refused, billing
still open) -> paid again (full access at once). At every step the license shown is Stripe's confirmed state.

Stripe's side is played by the test: what Checkout would do (a customer's card and subscription) is done with the
SDK against localstripe, and localstripe's events about the customer are delivered to the server's webhook signed
with its secret, as Stripe delivers them; Checkout's own page (not a real host here) is intercepted.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import (
    CHROMIUM,
    RESULTS,
    TIMEOUT_MS,
    E2EServer,
    _in_fresh_loop,
    billing_env,
    serve,
)
from tests.e2e.flows import MAIL_TIMEOUT, accept_invitation
from tests.integration.billing.conftest import FAILING_CARD, GOOD_CARD, card, sign
from tests.support import link_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PASSWORD = "copper-mango-harbour-58"


@pytest.fixture(scope="module")
def journey_server(database_url: str, migrated: str, mail_sink, localstripe) -> Iterator[E2EServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}")
    with serve(database_url, mail_sink, name="e2e-journey", extra_env=billing_env(localstripe)) as server:
        yield server


@pytest.fixture(scope="module")
def phone(journey_server, own_browser) -> Iterator[Page]:
    context = own_browser.new_context(locale="en-US", viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        with contextlib.suppress(Exception):
            for i, opened in enumerate(context.pages):
                opened.screenshot(path=str(RESULTS / f"billing-journey-{i}.png"), full_page=True)
        context.close()


class StripeSide:
    """What Stripe does in this journey: through the SDK on localstripe, events delivered signed to the app."""

    def __init__(self, settings: Any, billing_settings: Any, server: E2EServer) -> None:
        self.settings = settings
        self.billing = billing_settings
        self.webhook = f"http://localhost:{server.port}/webhooks/stripe"
        self.secret = server.env["STRIPE_WEBHOOK_SECRET"]
        self.since = int(time.time()) - 1
        self.delivered: set[str] = set()

    def run(self, work: Any) -> Any:
        """``await work(client, engine)`` on a loop of its own (Playwright's sync API holds this thread's)."""

        async def go() -> Any:
            from tajiconnect.db.session import create_engine
            from tajiconnect.domains.billing.stripe_api import stripe_client

            engine = create_engine(self.settings.sqlalchemy_url, pool_size=1)
            try:
                return await work(stripe_client(self.billing.billing), engine)
            finally:
                await engine.dispose()

        return _in_fresh_loop(go)

    def post(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event).encode()
        request = urllib.request.Request(self.webhook, data=payload, method="POST", headers={  # noqa: S310
            "content-type": "application/json", "stripe-signature": sign(payload, self.secret)})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (our own test server)
            assert answer.status == 200

    def deliver(self, customer_id: str) -> list[str]:
        """Deliver localstripe's events about the customer not delivered yet, oldest first; their types."""

        async def events(client: Any, _engine: Any) -> list[dict[str, Any]]:
            from tests.integration.billing.test_replay import customer_events

            return await customer_events(client, customer_id, self.since)

        new = [e for e in self.run(events) if e["id"] not in self.delivered]
        for event in new:
            self.post(event)
            self.delivered.add(event["id"])
        return [e["type"] for e in new]


def license_of(side: StripeSide, slug: str) -> Any:
    async def read(_client: Any, engine: Any) -> Any:
        from tests.integration.billing.conftest import license_of as load

        return await load(engine, slug)

    return side.run(read)


def until(page: Page, url: str, selector: str, text: str, timeout: float = 30.0) -> None:
    """Reload ``url`` until ``selector`` contains ``text`` (the worker applies Stripe's events in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if text in (page.locator(selector).text_content(timeout=2_000) or ""):
            # The tenant's state (banner) was read at the start of that request, the license a moment later: the
            # worker may have committed in between. One more request sees both the same.
            page.reload()
            return
        assert time.monotonic() < deadline, f"{selector} never showed {text!r}"
        time.sleep(0.5)


def test_sign_up_trial_subscribe_raise_seats_fail_a_payment_go_read_only_and_come_back(
    journey_server, phone, settings, billing_settings, mail_sink
):
    from tests.integration.billing.test_billing_page import standard_price

    page = phone
    slug = f"bj{uuid.uuid4().hex[:8]}"
    email = f"mwalimu@{slug}.example"
    apex = f"http://localhost:{journey_server.port}"
    base = journey_server.url(slug)
    side = StripeSide(settings, billing_settings, journey_server)
    price = side.run(lambda _client, engine: standard_price(engine, billing_settings))

    # 1. Sign-up on the apex host; the invitation sets the admin's password; the organization is on its trial.
    page.goto(apex + "/signup")
    page.get_by_label("Organization name").fill("Chuo cha Ufundi Mombasa")
    page.get_by_label("Address").fill(slug)
    expect(page.locator("#slug-status")).to_have_text(f"{slug} is available.")
    page.get_by_label("Company").check()
    page.get_by_label("Your name").fill("Baraka Mwalimu")
    page.get_by_label("Your email").fill(email)
    expect(page.locator("#pow-status")).to_have_text("Check done: you are not a robot.")
    page.get_by_role("button", name="Create my organization").click()
    expect(page.locator("#signup-ready")).to_contain_text(email, timeout=30_000)
    accept_invitation(page, link_in(mail_sink.last_to(email, "You are invited", timeout=MAIL_TIMEOUT),
                                    "/auth/invitation/"), "Baraka Mwalimu", PASSWORD)
    page.goto(base + "/admin/billing")
    expect(page.locator("#billing-status")).to_have_text("Trial")

    # 2. Subscribing for 5 seats goes to Stripe Checkout; the license waits for Stripe's word.
    checkout: list[str] = []

    def checkout_page(route: Route) -> None:
        checkout.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Checkout</title><h1>Pay</h1>")

    page.route("https://checkout.stripe.test/**", checkout_page)
    subscribe = page.locator("#subscribe")
    subscribe.get_by_label("Standard").check()
    subscribe.get_by_label("Monthly").check()
    subscribe.get_by_label("Seats").fill("5")
    subscribe.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay")
    assert len(checkout) == 1
    trial_license = license_of(side, slug)
    customer_id, tenant_id = trial_license.stripe_customer_id, str(trial_license.tenant_id)
    assert customer_id, "the billing page made the tenant's Stripe customer before Checkout"
    page.goto(base + "/admin/billing?checkout=success")
    expect(page.locator("#billing-status")).to_have_text("Trial")  # nothing confirmed yet

    # What Checkout does once the card is accepted: a subscription for 5 seats, then its events, signed.
    async def pay_by_checkout(client: Any, _engine: Any) -> dict[str, Any]:
        await card(client, customer_id, GOOD_CARD)
        sub = await client.v1.subscriptions.create_async({"customer": customer_id, "items": [
            {"plan": price, "quantity": 5}], "metadata": {"tenant_id": tenant_id, "tenant": slug}})
        return sub.to_dict()

    sub = side.run(pay_by_checkout)
    side.deliver(customer_id)
    side.post({"id": f"evt_cs_{uuid.uuid4().hex[:12]}", "object": "event", "type": "checkout.session.completed",
               "created": int(time.time()), "livemode": False, "data": {"object": {
                   "id": "cs_test_" + uuid.uuid4().hex[:12], "object": "checkout.session", "mode": "subscription",
                   "customer": customer_id, "subscription": sub["id"], "client_reference_id": tenant_id,
                   "status": "complete", "payment_status": "paid", "metadata": {}}}})
    until(page, base + "/admin/billing", "#billing-status", "Active")
    expect(page.locator("#billing-seats")).to_contain_text("of 5")
    expect(page.locator("#billing-interval")).to_have_text("Monthly")

    # 3. Raising to 8 seats: Stripe prorates; the license follows Stripe's answer.
    seats = page.locator("#change-seats")
    seats.get_by_label("Seats").fill("8")
    seats.get_by_role("button", name="Change seats").click()
    expect(page.locator("#billing-notice")).to_contain_text("The seats were changed")
    expect(page.locator("#billing-seats")).to_contain_text("of 8")
    assert license_of(side, slug).seats == 8

    # 4. The next payment fails: past due, a warning on every page, the admin emailed; writes still work.
    async def fail_a_payment(client: Any, _engine: Any) -> str:
        failing = await card(client, customer_id, FAILING_CARD)
        invoice = await client.v1.invoices.create_async({"customer": customer_id, "subscription": sub["id"]})
        with contextlib.suppress(stripe.StripeError):
            await client.v1.invoices.pay_async(invoice.id)
        invoice = await client.v1.invoices.retrieve_async(invoice.id)
        retry = await client.v1.payment_intents.create_async({
            "amount": invoice.amount_due, "currency": invoice.currency, "customer": customer_id,
            "payment_method": failing})
        await client.v1.payment_intents.update_async(retry.id, {"invoice": invoice.id})
        with contextlib.suppress(stripe.CardError):
            await client.v1.payment_intents.confirm_async(retry.id)
        return str(invoice.id)

    invoice_id = side.run(fail_a_payment)
    assert "invoice.payment_failed" in side.deliver(customer_id)
    until(page, base + "/admin/billing", "#billing-status", "Payment overdue")
    expect(page.locator("#billing-banner")).to_contain_text("A payment failed")
    assert "read-only" in mail_sink.last_to(email, "Payment failed", timeout=MAIL_TIMEOUT).as_string()
    page.goto(base + "/groups/new")
    page.get_by_label("Name", exact=True).fill("Welding, evening class")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welding, evening class")

    # 5. The grace period is over: read-only. Reading works, a write is refused with the reason, billing is open.
    async def grace_over(_client: Any, engine: Any) -> None:
        from sqlalchemy import select, update

        from tajiconnect.db.session import session_scope
        from tajiconnect.domains.licensing.models import License
        from tajiconnect.tenancy.context import tenant_context
        from tajiconnect.tenancy.models import Tenant

        long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=8)
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                tenant = select(Tenant.id).where(Tenant.slug == slug).scalar_subquery()
                await session.execute(update(License).where(License.tenant_id == tenant)
                                      .values(past_due_since=long_ago))

    side.run(grace_over)
    page.goto(base + "/groups/new")
    expect(page.locator("#billing-banner")).to_contain_text("This organization is read-only")
    page.get_by_label("Name", exact=True).fill("Plumbing, weekend class")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This change was not saved")
    page.locator("#read-only-billing").click()
    expect(page.locator("#billing-status")).to_have_text("Payment overdue")

    # 6. Paid with a working card: full access at once, the same data, the seats Stripe holds.
    async def pay(client: Any, _engine: Any) -> None:
        await card(client, customer_id, GOOD_CARD)
        await client.v1.invoices.pay_async(invoice_id)

    side.run(pay)
    side.deliver(customer_id)
    until(page, base + "/admin/billing", "#billing-status", "Active")
    assert page.locator("#billing-banner").count() == 0, page.locator("#billing-banner").text_content()
    expect(page.locator("#billing-seats")).to_contain_text("of 8")
    page.goto(base + "/groups/new")
    page.get_by_label("Name", exact=True).fill("Plumbing, weekend class")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plumbing, weekend class")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    async def stripe_state(client: Any, _engine: Any) -> dict[str, Any]:
        return (await client.v1.subscriptions.retrieve_async(sub["id"])).to_dict()

    current = side.run(stripe_state)
    lic = license_of(side, slug)
    assert (lic.status, lic.seats, lic.subscription_status) == ("active", current["items"]["data"][0]["quantity"],
                                                              current["status"])
