"""A learner on a 390 px phone: from their home to a course, reads a text lesson (lesson.js sends its heartbeat),
goes next (an HTMX swap, the layout is not reloaded), completes the course and sees 100 % and their streak."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def seed(settings, slug: str, email: str) -> None:
    """A learner enrolled in a published course of two text lessons, straight into the tenant ``slug``."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import build_course, enroll

    async def add(engine: Any, tenant: Any) -> None:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=email,
                                      name="Amani Wekesa")
        course = await build_course(engine, tenant, kinds=("text", "text"), title="Soil and water",
                                    lesson_values={0: {"body_html": "<p>Healthy soil holds water.</p>"},
                                                   1: {"body_html": "<p>Mulch keeps it there.</p>"}})
        await enroll(engine, tenant, learner.id, course.id)

    in_tenant(settings, slug, add)


def test_a_learner_completes_a_course_on_a_phone(create_tenant, new_page, settings):
    org = create_tenant("learn")
    email = f"amani@{org.slug}.example"
    seed(settings, org.slug, email)
    page = new_page()
    page.set_viewport_size(PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, org.base_url, email, E2E_PASSWORD)
    expect_signed_in(page, "Amani Wekesa")  # a learner's home is their learning
    expect(page.locator("#learn-streak")).to_contain_text("0 days in a row")
    page.locator("#learn-courses").get_by_role("link", name="Soil and water").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Soil and water")
    page.get_by_role("link", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lesson 1")
    expect(page.locator(".lesson-body")).to_have_text("Healthy soil holds water.")
    lesson_url = page.url
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.locator("#lesson-complete")).to_contain_text("Completed")
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lesson 2")
    expect(page).to_have_url(f"{org.base_url}/learn/courses/" + page.url.split("/learn/courses/")[1])
    assert page.evaluate("() => window.__sameDocument === true")  # swapped in place, not reloaded
    # the module outline folds away on a phone, and opens
    outline = page.locator("details.lesson-outline")
    expect(outline).not_to_have_attribute("open", "")
    outline.locator("summary").click()
    expect(outline.get_by_role("link", name="Lesson 1")).to_be_visible()
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.locator("#course-done")).to_contain_text("Course completed")
    expect(page.locator("#course-done")).to_contain_text("100 %")
    expect(page.locator("#course-done")).to_contain_text("Streak: 1 day")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    # the course page, then Back: the whole lesson page again (not the swapped fragment from the cache)
    page.locator("nav.breadcrumb").get_by_role("link", name="Soil and water").click()
    expect(page.get_by_role("link", name="Review")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lesson 2")
    expect(page.locator("header").get_by_role("link", name="My learning")).to_be_visible()
    page.locator("header").get_by_role("link", name="My learning").click()
    expect(page.locator("#learn-streak")).to_contain_text("1 day in a row")
    assert errors == []  # lesson.js ran without a script error, under the CSP
    row = page.locator("#learn-courses tbody tr").first
    expect(row).to_contain_text("Completed")
    expect(row.locator("progress")).to_have_attribute("value", "100")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    # 30 s on a lesson page: lesson.js sends a heartbeat, with the CSRF header the app expects (fake timers)
    page.clock.install()
    page.goto(lesson_url)
    with page.expect_response(lambda r: r.url.endswith("/beat")) as beat:
        page.clock.run_for(31_000)
    assert beat.value.status == 200 and beat.value.json()["recorded"] is True
