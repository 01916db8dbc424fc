"""Small browser flows shared by the e2e tests (the callers assert where each one lands)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
