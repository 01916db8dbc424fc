"""Parent links in a browser: a learner makes a pairing code, a parent enters it and sees the child in "My
children" (on a phone-sized screen); an admin links a parent from the member page's HTMX search."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def add_members(settings, slug: str, *members: tuple[str, str, str]) -> None:
    """Members (email, name, role) with ``E2E_PASSWORD``, straight into the tenant ``slug``."""
    from tests.integration.conftest import create_member

    async def add(engine: Any, tenant: Any) -> None:
        for email, name, role in members:
            await create_member(engine, tenant, [role], E2E_PASSWORD, email=email, name=name)

    in_tenant(settings, slug, add)


def test_a_learner_makes_a_code_and_a_parent_redeems_it(create_tenant, new_page, settings):
    org = create_tenant("pair", kind="school")
    learner_email, parent_email = f"brian@{org.slug}.example", f"mary@{org.slug}.example"
    add_members(settings, org.slug, (learner_email, "Brian Otieno", "student"), (parent_email, "Mary Otieno", "parent"))

    learner = new_page()
    sign_in(learner, org.base_url, learner_email, E2E_PASSWORD)
    expect_signed_in(learner, "Brian Otieno")
    learner.locator("header").get_by_role("link", name="My family").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("My family")
    expect(learner.locator("main")).to_contain_text("Nobody is linked to you yet.")
    learner.get_by_role("button", name="Make a pairing code").click()
    code = learner.locator("#pairing-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code

    # The parent, on a phone.
    parent = new_page()
    parent.set_viewport_size({"width": 390, "height": 844})
    sign_in(parent, org.base_url, parent_email, E2E_PASSWORD)
    expect_signed_in(parent, "Mary Otieno")
    parent.locator("header").get_by_role("link", name="My children").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("My children")
    parent.get_by_label("Pairing code", exact=True).fill("ZZZZ-ZZZZ")
    parent.get_by_role("button", name="Link me to this learner").click()
    expect(parent.locator("#e-pairing_code")).to_have_text("This code is not valid. Check it and try again.")
    parent.get_by_label("Pairing code", exact=True).fill(code.lower())
    parent.get_by_role("button", name="Link me to this learner").click()
    expect(parent.get_by_role("status")).to_contain_text("You are now linked to this learner")
    children = parent.get_by_role("table", name="My children")  # cards on a phone (components/tables.html)
    expect(children.get_by_role("link", name="Brian Otieno")).to_be_visible()
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone
    children.get_by_role("link", name="Brian Otieno").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Brian Otieno")

    # The learner sees who is linked to them now; the code is spent.
    learner.goto(org.url("/family"))
    expect(learner.locator("#my-parents")).to_contain_text("Mary Otieno")


def test_an_admin_links_a_parent_from_the_member_page(create_tenant, new_page, settings):
    org = create_tenant("plink", kind="school")
    add_members(
        settings, org.slug,
        (f"kid@{org.slug}.example", "Faith Njeri", "student"), (f"dad@{org.slug}.example", "Peter Njeri", "parent"),
    )
    admin = new_page()
    sign_in(admin, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(admin, org.admin_name)
    admin.goto(org.url("/admin/users?q=Faith"))
    admin.locator("#users-results").get_by_role("link", name="Faith Njeri").click()
    section = admin.locator("#family-links")
    expect(section.get_by_role("heading", name="Parents and children")).to_be_visible()  # loaded by HTMX
    expect(section).to_contain_text("No parent is linked to this learner.")
    section.get_by_label("Link a parent").press_sequentially("Njeri", delay=30)
    section.get_by_role("button", name="Link Peter Njeri").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Faith Njeri")
    section = admin.locator("#family-links")
    expect(section.get_by_role("status")).to_have_text("The link was added.")
    expect(section.locator("#family-parents")).to_contain_text("Peter Njeri")
    section.get_by_role("button", name="Unlink Peter Njeri").click()
    expect(admin.locator("#family-links")).to_contain_text("No parent is linked to this learner.")
