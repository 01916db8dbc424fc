"""An org admin invites a member; the member joins from the email, turns on 2FA and signs in with a code."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tajiconnect.domains.accounts.totp import code_for
from tests.e2e.flows import MAIL_TIMEOUT, accept_invitation, expect_signed_in, invite, sign_in
from tests.support import link_in

pytestmark = pytest.mark.e2e

MEMBER_PASSWORD = "copper-meadow-whistle-52"


def test_invited_member_joins_enables_two_factor_and_signs_in_with_a_code(create_tenant, new_page, mail_sink):
    org = create_tenant("inv")
    email = f"amani@{org.slug}.example"

    # The org admin signs in and invites a learner.
    admin = new_page()
    sign_in(admin, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(admin, org.admin_name)
    invite(admin, org.base_url, email, "Amani", role_label="Learner")
    expect(admin.locator("#admin-user-status")).to_have_text("Invited")

    # The invitation reaches the real SMTP server, sent by the real worker.
    message = mail_sink.last_to(email, "You are invited", timeout=MAIL_TIMEOUT)
    link = link_in(message, "/auth/invitation/")
    assert link.startswith(org.url("/auth/invitation/"))

    # The member opens it in a browser of their own, chooses name and password, and is signed in.
    member = new_page()
    accept_invitation(member, link, "Amani Wanjiru", MEMBER_PASSWORD)

    # Two-step verification: read the key, enter a code from it, get recovery codes.
    member.goto(org.url("/account/two-factor"))
    expect(member.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    secret = member.locator("#totp-secret").inner_text().strip()
    assert len(secret) >= 16
    member.get_by_label("Code from the app").fill(code_for(secret))
    member.get_by_role("button", name="Turn on").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(member.get_by_role("status")).to_have_text("Two-step verification is on.")
    expect(member.locator("#recovery-codes li")).to_have_count(10)

    # Sign out from the header.
    member.locator("header").get_by_role("button", name="Sign out").click()
    expect(member).to_have_url(org.url("/auth/sign-in?notice=signed_out"))
    expect(member.get_by_role("status")).to_have_text("You are signed out.")

    # Email and password are no longer enough: the code is asked for.
    sign_in(member, org.base_url, email, MEMBER_PASSWORD)
    expect(member).to_have_url(org.url("/auth/two-factor?next=/"))
    expect(member.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    # The enabling code's step is spent; the next step's code is fresh (one step of drift is accepted).
    member.get_by_label("Code").fill(code_for(secret, at=time.time() + 30))
    member.get_by_role("button", name="Verify").click()
    expect_signed_in(member, "Amani Wanjiru")
    expect(member).to_have_url(org.url("/"))

    # The admin sees the member active, with two-step verification on.
    admin.reload()
    expect(admin.locator("#admin-user-status")).to_have_text("Active")
    expect(admin.locator("dt:text-is('Two-step verification') + dd")).to_have_text("On")
