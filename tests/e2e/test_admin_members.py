"""The members admin in a browser: HTMX search, roles, deactivation; and the sign-in page by keyboard only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import MAIL_TIMEOUT, accept_invitation, expect_signed_in, invite, sign_in
from tests.support import link_in

pytestmark = pytest.mark.e2e

MEMBER_PASSWORD = "saffron-harbour-pebble-31"


def test_admin_searches_changes_roles_and_deactivates_a_member(create_tenant, new_page, mail_sink):
    org = create_tenant("mem")
    email = f"zawadi@{org.slug}.example"

    admin = new_page()
    sign_in(admin, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(admin, org.admin_name)
    invite(admin, org.base_url, email, "Zawadi Otieno", role_label="Learner")

    # The member joins and is signed in, in a browser of their own.
    member = new_page()
    accept_invitation(
        member,
        link_in(mail_sink.last_to(email, "You are invited", timeout=MAIL_TIMEOUT), "/auth/invitation/"),
        "Zawadi Otieno",
        MEMBER_PASSWORD,
    )

    # Typing in the search box filters the list: HTMX swaps only #users-results and updates the URL.
    admin.goto(org.url("/admin/users"))
    results = admin.locator("#users-results")
    expect(results).to_contain_text("2 members")
    admin.evaluate("window.__e2eNoReload = true")  # gone if the whole page were loaded again
    with admin.expect_response(lambda r: "/admin/users?" in r.url and "q=zawa" in r.url) as answer:
        admin.get_by_label("Search").press_sequentially("zawa", delay=40)
    response = answer.value
    assert response.request.headers.get("hx-request") == "true"
    assert response.request.headers.get("hx-target") == "users-results"
    assert "<html" not in response.text()  # the results fragment only
    expect(admin).to_have_url(re.compile(r"/admin/users\?q=zawa(&|$)"))
    expect(results).to_contain_text("1 member")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results.get_by_role("link", name="Zawadi Otieno")).to_be_visible()
    expect(results).not_to_contain_text(org.admin_email)
    assert admin.evaluate("window.__e2eNoReload") is True
    expect(admin.get_by_label("Search")).to_have_value("zawa")

    # Roles: from Learner to Teacher.
    results.get_by_role("link", name="Zawadi Otieno").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Zawadi Otieno")
    roles = admin.get_by_role("group", name="Roles")
    roles.get_by_role("checkbox", name="Teacher", exact=True).check()
    roles.get_by_role("checkbox", name="Learner", exact=True).uncheck()
    admin.get_by_role("button", name="Save roles").click()
    expect(admin.get_by_role("status")).to_have_text("The roles were saved.")
    expect(roles.get_by_role("checkbox", name="Teacher", exact=True)).to_be_checked()
    expect(roles.get_by_role("checkbox", name="Learner", exact=True)).not_to_be_checked()
    detail_url = admin.url.split("?", 1)[0]
    admin.goto(org.url("/admin/users?q=zawa"))
    expect(admin.locator("#users-results tbody tr").first.locator(".badge")).to_have_text(["Teacher"])

    # The member is signed in until the admin deactivates the account...
    member.goto(org.url("/account/profile"))
    expect(member).to_have_url(org.url("/account/profile"))
    admin.goto(detail_url)
    admin.get_by_role("button", name="Deactivate").click()
    expect(admin.get_by_role("status")).to_have_text("The account was deactivated and signed out everywhere.")
    expect(admin.locator("#admin-user-status")).to_have_text("Deactivated")
    expect(admin.get_by_role("button", name="Reactivate")).to_be_visible()

    # ...then their next page asks them to sign in, and signing in is refused.
    member.goto(org.url("/account/profile"))
    expect(member).to_have_url(org.url("/auth/sign-in?next=/account/profile"))
    expect(member.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    sign_in(member, org.base_url, email, MEMBER_PASSWORD)
    expect(member.get_by_role("alert")).to_have_text("That email and password do not match an active account.")


def _focus_style(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement, style = getComputedStyle(el), box = el.getBoundingClientRect();
            return {focusVisible: el.matches(':focus-visible'), outline: style.outlineStyle,
                    width: parseFloat(style.outlineWidth), left: box.left, top: box.top};
        }"""
    )


def test_sign_in_page_works_with_the_keyboard_only(create_tenant, page):
    org = create_tenant("kbd")
    page.goto(org.url("/auth/sign-in"))
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()  # hidden off-screen until focused

    # The first Tab reaches the skip link, which then shows, with a visible focus ring.
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    style = _focus_style(page)
    assert style["focusVisible"] and style["outline"] != "none" and style["width"] >= 2, style
    assert style["left"] >= 0 and style["top"] >= 0, style

    # Enter follows it to the main content; the next Tab is the email field.
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    email = page.get_by_label("Email")
    expect(email).to_be_focused()
    style = _focus_style(page)
    assert style["focusVisible"] and style["outline"] != "none" and style["width"] >= 2, style
    page.keyboard.type(org.admin_email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(org.admin_password)
    page.keyboard.press("Enter")
    expect_signed_in(page, org.admin_name)
