"""Seats and the dashboard on a 390 px phone: nothing overflows sideways, and an admin reassigns a seat with a
reason, searching for the learner by typing (HTMX), then finds it in the seat history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import _in_fresh_loop
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def learners(settings, slug: str, specs: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Learners ``(name, email, holds a seat)`` in the tenant ``slug``; their ids by name."""

    async def make() -> dict[str, str]:
        from tajiconnect.db.session import create_engine, session_scope
        from tajiconnect.domains.accounts.service import new_user
        from tajiconnect.domains.licensing import seats
        from tajiconnect.tenancy.context import tenant_context
        from tajiconnect.tenancy.service import load_tenant

        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            tenant = await load_tenant(engine, slug)
            with tenant_context(tenant):
                async with session_scope(engine) as session:
                    users = [new_user(email=e, name=n, password=None, roles=["student"], status="active")
                             for n, e, _seat in specs]
                    session.add_all(users)
                    await session.flush()
                    holders = [u for u, (_n, _e, seat) in zip(users, specs, strict=True) if seat]
                    await seats.assign(session, holders, reason="assigned", actor_email=None)
                    return {u.name: str(u.id) for u in users}
        finally:
            await engine.dispose()

    return _in_fresh_loop(make)


def fits(page: Page) -> None:
    """Nothing is wider than the screen: neither the page nor any table inside its wrapper."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url
    too_wide = page.evaluate(
        "[...document.querySelectorAll('.table-wrap, table, .card, dl, form')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className || e.tagName)"
    )
    assert too_wide == [], (page.url, too_wide)


def test_seats_on_a_phone(create_tenant, new_page, settings):
    org = create_tenant("seatm", kind="school")
    long_email = "wanjiku.nyambura-kamau.the-second@a-rather-long-school-domain.example"
    ids = learners(settings, org.slug, [
        ("Wanjiku Nyambura Kamau", long_email, True),
        ("Baraka Otieno", f"baraka@{org.slug}.example", True),
        ("Amani Mwangi", f"amani@{org.slug}.example", False),
    ])
    page = new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(page, org.admin_name)

    # The dashboard is the admin's home.
    expect(page.locator("#dashboard-seats")).to_contain_text("Seats used")
    expect(page.locator("#seats-used")).to_have_text("2")
    fits(page)

    page.goto(org.url("/admin/seats"))
    results = page.locator("#seats-results")
    expect(results).to_contain_text("3 learners")
    fits(page)
    page.goto(org.url(f"/admin/seats/{ids['Wanjiku Nyambura Kamau']}/reclaim"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Reclaim a seat")
    fits(page)

    # Reassign Wanjiku's seat to Amani, finding Amani by typing (HTMX swaps the candidates only).
    page.goto(org.url(f"/admin/seats/{ids['Wanjiku Nyambura Kamau']}/reassign"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Reassign a seat")
    fits(page)
    candidates = page.locator("#candidates")
    expect(candidates).to_contain_text("1 learner without a seat")
    with page.expect_response(lambda r: "/reassign?" in r.url and "q=ama" in r.url) as answer:
        page.get_by_label("Find a learner without a seat").press_sequentially("ama", delay=40)
    assert answer.value.request.headers.get("hx-target") == "candidates"
    candidates.get_by_role("radio", name=re.compile("Amani Mwangi")).check()
    page.get_by_label("Reason (optional)").fill("Wanjiku moved to another school")
    page.get_by_role("button", name="Reassign the seat").click()
    expect(page.get_by_role("status")).to_have_text("The seat was reassigned.")
    expect(page.locator("#seats-used")).to_have_text("2")
    row = page.locator(f"#seat-row-{ids['Amani Mwangi']}")
    expect(row).to_contain_text("since")
    expect(page.locator(f"#seat-row-{ids['Wanjiku Nyambura Kamau']}")).to_contain_text("No seat")
    fits(page)

    page.get_by_role("link", name="Seat history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seat history")
    expect(page.locator(".seat-event").first).to_contain_text("Wanjiku moved to another school")
    fits(page)
