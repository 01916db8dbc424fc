"""The operator console on a 390 px phone: the organization list, an organization's page, a license change and
suspend/resume, seen from the organization's own host as well; live search, extending a trial, and an export
built in the background then downloaded."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import _in_fresh_loop
from tests.e2e.flows import operator_sign_in

pytestmark = pytest.mark.e2e

OPERATOR_PASSWORD = "velvet-canyon-orbit-58"


@pytest.fixture(scope="module")
def operator_email(e2e_server, settings) -> str:
    from tajiconnect.db.session import create_engine
    from tajiconnect.platform.service import create_operator

    email = f"phone.{uuid.uuid4().hex[:6]}@taji.example"

    async def create() -> None:
        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            await create_operator(engine, email=email, name="Phone", password=OPERATOR_PASSWORD)
        finally:
            await engine.dispose()

    _in_fresh_loop(create)
    return email


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def operator_on_a_phone(new_page, apex: str, email: str):
    """A 390 px page signed in as the operator ``email`` on the apex."""
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    operator_sign_in(page, apex, email, OPERATOR_PASSWORD)  # with the second factor (enrolled the first time)
    return page


def test_an_operator_changes_a_license_and_suspends_an_organization_on_a_phone(
    e2e_server, create_tenant, new_page, operator_email
):
    org = create_tenant("aaphone", kind="school")
    apex = f"http://localhost:{e2e_server.port}"
    page = operator_on_a_phone(new_page, apex, operator_email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizations")

    # The list: each row a card whose cells say what they are; nothing wider than the phone.
    row = page.locator(f"#platform-tenant-{org.slug}")  # "aa...": on the first page, sorted by slug
    expect(row.locator('td[data-label="Seats used / purchased"]')).to_have_text("0 / 50")
    expect(row.locator('td[data-label="License"]')).to_have_text("Trial")
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"  # a card, not a table row
    no_horizontal_scroll(page)

    row.get_by_role("link", name=f"Org {org.slug}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Org {org.slug}")
    no_horizontal_scroll(page)

    # A wrong value is refused next to its field, then a right one is saved.
    page.get_by_label("Seats purchased").fill("-4")
    page.get_by_role("button", name="Save the license").click()
    expect(page.locator("#e-seats")).to_contain_text("Enter a whole number of seats")
    page.get_by_label("Seats purchased").fill("120")
    page.get_by_label("Plan").select_option(label="Enterprise")
    page.get_by_label("License status").select_option(label="Active")
    page.get_by_role("button", name="Save the license").click()
    expect(page.get_by_role("status")).to_have_text("The license was saved.")
    expect(page.locator("#platform-seats-purchased")).to_have_text("120")
    expect(page.locator("#platform-seats-available")).to_have_text("120")
    expect(page.locator("#platform-license-status")).to_have_text("Active")
    no_horizontal_scroll(page)

    # Suspended: the organization's own host shows the suspended page until the operator resumes it.
    page.get_by_role("button", name="Suspend the organization").click()
    expect(page.get_by_role("status")).to_have_text("The organization is suspended.")
    visitor = new_page()
    response = visitor.goto(org.url("/"))
    assert response is not None and response.status == 403
    expect(visitor.get_by_role("heading", level=1)).to_have_text(re.compile(r"is suspended$"))
    page.get_by_role("button", name="Resume the organization").click()
    expect(page.get_by_role("status")).to_have_text("The organization is active again.")
    response = visitor.goto(org.url("/"))
    assert response is not None and response.status == 200


def test_an_operator_searches_extends_a_trial_and_exports_on_a_phone(
    e2e_server, create_tenant, new_page, operator_email
):
    import datetime

    org = create_tenant("aaphonx")
    apex = f"http://localhost:{e2e_server.port}"
    page = operator_on_a_phone(new_page, apex, operator_email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizations")

    # Live search: typing narrows the list to the one organization, without leaving the page.
    page.get_by_label("Search", exact=True).fill(org.slug)
    expect(page.locator("#platform-tenants tbody tr")).to_have_count(1)
    row = page.locator(f"#platform-tenant-{org.slug}")
    expect(row.locator('td[data-label="Subscription"]')).to_have_text("not billed")
    expect(row.locator('td[data-label="Last activity"]')).to_have_text("never")
    assert f"q={org.slug}" in page.url
    no_horizontal_scroll(page)
    row.get_by_role("link", name=f"Org {org.slug}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Org {org.slug}")
    no_horizontal_scroll(page)

    # Extend the trial: a wrong number is refused next to its field, then 10 days are added to its end.
    term = page.locator("#platform-license-term")
    end = datetime.date.fromisoformat(term.inner_text().split(" to ")[1].strip())
    page.get_by_label("Extend the trial by (days)").fill("400")
    page.get_by_role("button", name="Extend the trial").click()
    expect(page.locator("#e-days")).to_contain_text("from 1 to 365")
    page.get_by_label("Extend the trial by (days)").fill("10")
    page.get_by_role("button", name="Extend the trial").click()
    expect(page.get_by_role("status")).to_have_text("The trial was extended.")
    expect(term).to_have_text(re.compile(rf"to {end + datetime.timedelta(days=10)}$"))

    # Export: the page follows the background build, then offers the archive.
    page.get_by_role("button", name="Export the organization").click()
    expect(page.get_by_role("status")).to_have_text("The export was requested: it is being built.")
    link = page.locator("#platform-exports").get_by_role("link", name=re.compile("Download the archive"))
    expect(link).to_be_visible(timeout=30_000)
    no_horizontal_scroll(page)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith(f"{org.slug}-export-")
