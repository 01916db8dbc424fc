"""On a 390 px phone the lists (members, devices, audit log) fit the screen: rows become labelled cards."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.flows import expect_signed_in, invite, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PIXEL_7 = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36"
)
# A client the parser cannot name: shown as sent (shortened), one long word that must wrap, not overflow.
ODD_AGENT = "SchoolKiosk/" + "x" * 120

OVERFLOW = """() => ({
  page: [document.scrollingElement.scrollWidth, window.innerWidth],
  lists: [...document.querySelectorAll('.table-wrap')].map(el => [el.scrollWidth, el.clientWidth]),
})"""


@pytest.fixture
def phone(browser):
    """``phone(user_agent)``: a page 390 px wide (a phone), in a context of its own."""
    contexts = []

    def make(user_agent: str = PIXEL_7):
        context = browser.new_context(locale="en-US", viewport=PHONE, user_agent=user_agent, is_mobile=True)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def assert_fits(page, label: str, first_column: str) -> None:
    """No horizontal scrolling, of the page or inside a list; the rows are cards labelled by column."""
    expect(page.locator("table.list tbody tr").first).to_be_visible()
    sizes = page.evaluate(OVERFLOW)
    assert sizes["page"][0] <= sizes["page"][1], (label, sizes)
    assert sizes["lists"], label
    for scroll, client in sizes["lists"]:
        assert scroll <= client, (label, sizes)
    assert page.evaluate("() => document.querySelector('table.list thead').getBoundingClientRect().width") <= 1
    first_cell = page.locator("table.list tbody tr td[data-label]").first
    shown_label = first_cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert shown_label == f'"{first_column}"', (label, shown_label)


def test_lists_fit_a_390px_phone(create_tenant, phone, new_page):
    org = create_tenant("phone")
    # A member with a long address, so that the list holds text wider than a phone's column.
    desk = new_page()
    sign_in(desk, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(desk, org.admin_name)
    invite(desk, org.base_url, f"a.very.long.address.for.a.phone.screen@{org.slug}.example", "Wanjiku Nyambura-Kamau")
    # And a second device the parser cannot name.
    odd = phone(ODD_AGENT)
    sign_in(odd, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(odd, org.admin_name)

    page = phone()
    sign_in(page, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(page, org.admin_name)

    page.goto(org.url("/admin/users"))
    expect(page.locator("#users-results")).to_contain_text("a.very.long.address.for.a.phone.screen")
    assert_fits(page, "members", "Name")

    page.goto(org.url("/account/sessions"))
    devices = page.locator("table.list tbody tr")
    expect(devices).to_have_count(3)
    this_device = devices.filter(has_text="This device")
    expect(this_device.locator("td").first).to_contain_text("Chrome Mobile 131 on Android 14 (Pixel 7)")
    expect(page.locator("main")).to_contain_text("SchoolKiosk/xxx")
    assert_fits(page, "devices", "Device")

    page.goto(org.url("/admin/audit"))
    expect(page.locator("#audit-results")).to_contain_text("user.invited")
    assert_fits(page, "audit log", "When (UTC)")
