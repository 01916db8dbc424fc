"""A new organization signs up on the apex host from a 390 px phone: the live address check, the robot check solved
by the browser, the progress page, then the admin's invitation sets a password and lands on the trial."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import MAIL_TIMEOUT, accept_invitation
from tests.support import link_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PASSWORD = "saffron-kettle-orbit-39"


def test_an_organization_signs_up_on_a_phone_and_its_admin_starts_the_trial(e2e_server, new_page, mail_sink):
    slug = f"su{uuid.uuid4().hex[:8]}"
    email = f"mkuu@{slug}.example"
    apex = f"http://localhost:{e2e_server.port}"
    page = new_page()
    page.set_viewport_size(PHONE)

    page.goto(apex + "/")
    page.get_by_role("link", name="Start a free trial").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your organization")
    expect(page.get_by_label("Country")).to_have_value("KE")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("Organization name").fill("Shule ya Mlima")
    page.get_by_label("Address").fill("admin")
    expect(page.locator("#slug-status")).to_contain_text("reserved")
    page.get_by_label("Address").fill(slug)
    expect(page.locator("#slug-status")).to_have_text(f"{slug} is available.")
    page.get_by_label("School").check()
    page.get_by_label("Country").select_option("TZ")
    page.get_by_label("Your name").fill("Zawadi Mkuu")
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Language").select_option("en")

    # The browser solves the robot check (low difficulty here); the button waits for it.
    expect(page.locator("#pow-status")).to_have_text("Check done: you are not a robot.")
    submit = page.get_by_role("button", name="Create my organization")
    expect(submit).to_be_enabled()
    assert page.locator("input[name=pow_nonce]").input_value()
    submit.click()

    expect(page).to_have_url(re.compile(r"/signup/[A-Za-z0-9_-]{43}$"))
    expect(page.locator("#signup-ready")).to_have_text(
        f"Check your email: we sent {email} a link to set your password.", timeout=30_000
    )
    org_url = e2e_server.url(slug)
    expect(page.locator("#signup-org-url")).to_have_text(org_url)
    expect(page.locator("#signup-trial")).to_contain_text("30 days")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    message = mail_sink.last_to(email, "You are invited", timeout=MAIL_TIMEOUT)
    link = link_in(message, "/auth/invitation/")
    assert link.startswith(org_url + "/auth/invitation/")
    accept_invitation(page, link, "Zawadi Mkuu", PASSWORD)
    trial_end = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    expect(page.locator("#dashboard-seats")).to_contain_text(f"Trial · until {trial_end}")
