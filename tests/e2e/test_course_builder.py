"""The course builder in a browser: a teacher creates a course, the details autosave, adds a module and a text
lesson (in place, no reload), reorders lessons with the keyboard buttons, and publishes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e


def add_teacher(settings, slug: str, email: str, name: str) -> None:
    """A teacher who can sign in with the e2e password (made in the database, as an accepted invitation would)."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.passwords import hash_password
    from tajiconnect.domains.accounts.service import new_user
    from tajiconnect.tenancy.context import tenant_context

    async def make(engine: Any, tenant: Any) -> None:
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                user = new_user(email=email, name=name, password=None, roles=["teacher"])
                user.password_hash = hash_password(E2E_PASSWORD)
                user.status = "active"
                session.add(user)

    in_tenant(settings, slug, make)


def lesson_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("li.lesson .lesson-title").all_inner_texts()]


def test_teacher_builds_and_publishes_a_course(create_tenant, settings, page):
    org = create_tenant("crsb")
    email = f"tess@{org.slug}.example"
    add_teacher(settings, org.slug, email, "Tess Teacher")
    sign_in(page, org.base_url, email, E2E_PASSWORD)
    page.locator("header").get_by_role("link", name="Teaching").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My courses")

    page.get_by_label("Title").fill("Soil science")
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Soil science")
    page.wait_for_load_state()  # HTMX (a deferred script) wires the autosave when the document is loaded
    page.evaluate("window.__e2eNoReload = true")

    # The details save by themselves.
    page.get_by_label("Summary").fill("What grows where")
    expect(page.locator("#save-status")).to_have_text("Saved")

    # Another tab saves in between: this tab's next autosave is refused visibly, not silently overwritten.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_label("Category").fill("Farming")
    expect(other.locator("#save-status")).to_have_text("Saved")
    other.close()
    page.get_by_label("Category").fill("Mine")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    expect(page.locator("#save-status")).to_contain_text("Reload")
    page.reload()
    expect(page.get_by_label("Category")).to_have_value("Farming")
    page.evaluate("window.__e2eNoReload = true")

    # A module and two text lessons, added in place.
    page.get_by_label("New module title").fill("Basics")
    page.get_by_role("button", name="Add module").click()
    expect(page.locator("li.module")).to_have_count(1)
    for title in ("Clay", "Sand"):
        page.get_by_label("New lesson title").fill(title)
        page.get_by_role("button", name="Add lesson").click()
        expect(page.locator("li.lesson", has_text=title)).to_be_visible()
    assert lesson_titles(page) == ["Text Clay", "Text Sand"]

    # Write the first lesson's text (with a preview) and the second's.
    for title, body in (("Clay", "**Fine** particles"), ("Sand", "Coarse grains")):
        item = page.locator("li.lesson", has_text=title)
        item.get_by_role("link", name="Edit").click()
        item.get_by_label("Text (Markdown)").fill(body)
        if title == "Clay":
            item.get_by_role("button", name="Preview").click()
            expect(item.locator("strong")).to_have_text("Fine")
        # The draft also saves itself as it is typed: wait for this save's own answer, not an autosave's.
        with page.expect_response(lambda r: r.request.method == "POST" and re.search(r"/lessons/[0-9a-f-]+$", r.url)):
            item.get_by_role("button", name="Save lesson").click()
        expect(item.get_by_role("status")).to_have_text("Saved")

    # Keyboard: focus "Move down" on Clay and press Enter; focus stays on that button after the swap.
    # Let HTMX finish the last swap first: its settle step gives focus back to the element that had it (an editor's
    # field), which would take the key press below.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    down = page.get_by_role("button", name="Move down: Clay")
    down.focus()
    expect(down).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("li.lesson").first).to_contain_text("Sand")
    assert lesson_titles(page) == ["Text Sand", "Text Clay"]
    expect(page.get_by_role("button", name="Move down: Clay")).to_be_focused()
    assert page.evaluate("window.__e2eNoReload") is True

    # Drag and drop does the same: Clay dragged onto the top of Sand goes back before it.
    page.locator("li.lesson", has_text="Clay").drag_to(
        page.locator("li.lesson", has_text="Sand"), source_position={"x": 4, "y": 4}, target_position={"x": 4, "y": 2}
    )
    expect(page.locator("li.lesson").first).to_contain_text("Clay")
    assert lesson_titles(page) == ["Text Clay", "Text Sand"]
    assert page.evaluate("window.__e2eNoReload") is True

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").first).to_have_text("The course is published.")
    expect(page.locator("#course-status")).to_have_text("Published")
    assert re.search(r"/teach/courses/[0-9a-f-]+", page.url)
