"""Small browser flows shared by the e2e tests (the callers assert where each one lands)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers import operator_code, remember_operator_key, remember_recovery_codes

#: Seconds to wait for an email: the server's worker subprocess may still be starting on a busy machine.
MAIL_TIMEOUT = 45


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Open the sign-in page, fill it and submit it."""
    page.goto(base_url + "/auth/sign-in")
    main = page.locator("main")
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password").fill(password)
    main.get_by_role("button", name="Sign in").click()


def expect_signed_in(page: Page, name: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    expect(page.locator("header").get_by_role("button", name="Sign out")).to_be_visible()


def invite(page: Page, base_url: str, email: str, name: str, role_label: str = "Learner") -> str:
    """As a signed-in org admin, invite ``email`` with one role; returns the new member's admin page URL."""
    page.goto(base_url + "/admin/users/invite")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite a member")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Name", exact=True).fill(name)
    roles = page.get_by_role("group", name="Roles")
    for box in roles.get_by_role("checkbox").all():
        box.uncheck()
    roles.get_by_role("checkbox", name=role_label, exact=True).check()
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_have_text("The invitation was sent.")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return page.url.split("?", 1)[0]


def accept_invitation(page: Page, link: str, name: str, password: str) -> None:
    """Open the emailed invitation link, choose a name and a password; lands signed in on the home page."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Join")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create my account").click()
    expect_signed_in(page, name)


def operator_sign_in(page: Page, apex: str, email: str, password: str) -> None:
    """Sign in on the apex as operator ``email``: the password, then the second factor answered with pyotp
    (tests/helpers.py), enrolled the first time: the key read from the page, the recovery codes kept, "I saved
    them". Lands on the organizations list."""
    page.goto(apex + "/platform/sign-in")
    main = page.locator("main")
    main.get_by_label("Email").fill(email)
    main.get_by_label("Password").fill(password)
    main.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/platform/2fa"))
    if page.url.endswith("/platform/2fa/setup"):
        remember_operator_key(email, page.content())
        main.get_by_label("Code from the app").fill(operator_code(email.lower()))
        main.get_by_role("button", name="Turn on").click()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        remember_recovery_codes(email, page.locator("#recovery-codes li").all_inner_texts())
        main.get_by_role("link", name="I saved them").click()
    else:
        main.get_by_label("Code").fill(operator_code(email.lower()))
        main.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/platform/?$"))
