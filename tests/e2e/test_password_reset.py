"""Forgot password -> email -> link -> new password -> sign in with it (the old one and the link stop working)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import MAIL_TIMEOUT, expect_signed_in, sign_in
from tests.support import link_in, text_of

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "juniper-rowboat-thunder-64"


def test_forgotten_password_is_reset_from_the_emailed_link(create_tenant, page, mail_sink):
    org = create_tenant("pwd")

    page.goto(org.url("/auth/sign-in"))
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email").fill(org.admin_email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account uses that address, we sent it a link")

    message = mail_sink.last_to(org.admin_email, "Reset your", timeout=MAIL_TIMEOUT)
    link = link_in(message, "/auth/reset-password/")
    assert link.startswith(org.url("/auth/reset-password/"))

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(org.url("/auth/sign-in?notice=password_reset"))
    expect(page.get_by_role("status")).to_have_text("Your password was changed. Sign in with the new one.")

    # The old password no longer works; the new one does.
    sign_in(page, org.base_url, org.admin_email, org.admin_password)
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an active account.")
    sign_in(page, org.base_url, org.admin_email, NEW_PASSWORD)
    expect_signed_in(page, org.admin_name)

    # The link was single use, and the account holder is told about the change.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not valid")
    expect(page.locator("main")).to_contain_text("already used")
    notice = mail_sink.last_to(org.admin_email, "Security notice", timeout=MAIL_TIMEOUT)
    assert "reset with an email link" in text_of(notice)
