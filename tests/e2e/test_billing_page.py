"""The billing page on a 390 px phone: an admin sees the trial, subscribes (Checkout's address is intercepted:
checkout.stripe.test is not a real host), then, past due beyond the grace period, sees the read-only banner, has a
write refused with the reason, and still reaches billing.

This module starts its own server with billing configured against the session's localstripe (the shared e2e
server stays without a Stripe key, so the other browser tests keep their behaviour).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import (
    CHROMIUM,
    E2E_PASSWORD,
    RESULTS,
    TIMEOUT_MS,
    E2EServer,
    _in_fresh_loop,
    billing_env,
    serve,
)
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def billing_server(database_url: str, migrated: str, mail_sink, localstripe) -> Iterator[E2EServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}")
    with serve(database_url, mail_sink, name="e2e-billing", with_worker=False,
               extra_env=billing_env(localstripe)) as server:
        yield server


def provision(settings, billing_settings, slug: str) -> None:
    """A tenant on a 30-day trial, and the Standard plan's monthly price in localstripe (what sync-plans sets)."""

    async def run() -> None:
        from tajiconnect.db.session import create_engine
        from tajiconnect.tenancy.service import provision_tenant
        from tests.integration.billing.test_billing_page import standard_price

        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            await provision_tenant(engine, slug=slug, name=f"Org {slug}", admin_email=f"admin@{slug}.example",
                                   admin_password=E2E_PASSWORD, admin_name=f"Admin {slug}", kind="school",
                                   trial_days=30)
            await standard_price(engine, billing_settings)
        finally:
            await engine.dispose()

    _in_fresh_loop(run)


def past_due(settings, slug: str, days: int) -> None:
    async def run() -> None:
        from sqlalchemy import select, update

        from tajiconnect.db.session import create_engine, session_scope
        from tajiconnect.domains.licensing.models import License
        from tajiconnect.tenancy.context import tenant_context
        from tajiconnect.tenancy.models import Tenant

        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            with tenant_context(None):
                async with session_scope(engine, schema=None) as session:
                    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
                    tenant = select(Tenant.id).where(Tenant.slug == slug).scalar_subquery()
                    await session.execute(
                        update(License).where(License.tenant_id == tenant)
                        .values(status="past_due", past_due_since=since)
                    )
        finally:
            await engine.dispose()

    _in_fresh_loop(run)


def test_billing_page_on_a_phone(billing_server, own_browser, settings, billing_settings):
    slug = f"bille{uuid.uuid4().hex[:8]}"
    provision(settings, billing_settings, slug)
    base = billing_server.url(slug)
    context = own_browser.new_context(locale="en-US", viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        checkout_pages: list[str] = []

        def stripe_stub(route: Route) -> None:
            checkout_pages.append(route.request.url)
            route.fulfill(status=200, content_type="text/html",
                          body="<!doctype html><title>Stripe Checkout</title><h1>Stripe Checkout (stub)</h1>")

        page.route("https://checkout.stripe.test/**", stripe_stub)
        sign_in(page, base, f"admin@{slug}.example", E2E_PASSWORD)
        expect_signed_in(page, f"Admin {slug}")
        page.goto(base + "/admin/billing")
        expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
        expect(page.locator("#billing-status")).to_have_text("Trial")
        expect(page.get_by_text("30 days left")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        subscribe = page.locator("#subscribe")
        subscribe.get_by_label("Standard").check()
        subscribe.get_by_label("Monthly").check()
        subscribe.get_by_label("Seats").fill("4")
        subscribe.get_by_role("button", name="Continue to payment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Stripe Checkout (stub)")
        assert len(checkout_pages) == 1 and checkout_pages[0].startswith("https://checkout.stripe.test/c/pay/cs_test_")

        # Coming back: Stripe has not confirmed anything yet, so the license is still the trial.
        page.goto(base + "/admin/billing?checkout=success")
        expect(page.locator("#checkout-notice")).to_contain_text("Payment received by Stripe")
        expect(page.locator("#billing-status")).to_have_text("Trial")

        past_due(settings, slug, days=8)
        page.goto(base + "/groups/new")
        expect(page.locator("#billing-banner")).to_contain_text("This organization is read-only")
        page.get_by_label("Name", exact=True).fill("Refused class")
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("This change was not saved")
        expect(page.locator("#read-only-reason")).to_contain_text("a payment has been overdue since")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#read-only-billing").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
        expect(page.locator("#billing-status")).to_have_text("Payment overdue")
        expect(page.get_by_role("button", name="Manage payment methods & invoices")).to_be_visible()
    except Exception:
        RESULTS.mkdir(exist_ok=True)
        for i, opened in enumerate(context.pages):
            opened.screenshot(path=str(RESULTS / f"billing-page-{i}.png"), full_page=True)
        raise
    finally:
        context.close()
