"""The certificate flow end to end, in a browser on a 390 px phone: a learner finishes a one-lesson course, the bell
lights up (live, through the server's own worker: the certificate is made on the certificates queue and the
notification on the notifications queue), the notification leads to "My certificates", the PDF downloads with the
learner's name in it, and the public verification page says the certificate is valid."""

from __future__ import annotations

import re
from typing import Any

import pypdfium2
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
COURSE = "Clean cooking"
NAME = "Wanjirũ Amélie Njoroge"


def seed(settings, slug: str) -> None:
    """A published one-lesson course and a learner (with a name beyond ASCII) enrolled in it."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import build_course, enroll

    async def add(engine: Any, tenant: Any) -> None:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"wanjiru@{slug}.example",
                                      name=NAME)
        course = await build_course(engine, tenant, kinds=("text",), title=COURSE,
                                    lesson_values={0: {"body": "Use a clean stove.",
                                                       "body_html": "<p>Use a clean stove.</p>"}})
        await enroll(engine, tenant, learner.id, course.id)

    in_tenant(settings, slug, add)


def test_finish_a_course_see_the_bell_and_download_the_certificate(create_tenant, new_page, settings):
    org = create_tenant("cert")
    seed(settings, org.slug)

    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, org.base_url, f"wanjiru@{org.slug}.example", E2E_PASSWORD)
    bell = learner.locator("#bell")
    expect(bell).to_be_visible()
    expect(learner.locator("#bell-count")).not_to_have_attribute("data-count", "1")  # nothing unread yet

    learner.locator("#learn-courses").get_by_role("link", name=COURSE).click()
    learner.get_by_role("link", name="Start").click()
    learner.get_by_role("button", name="Mark as complete").click()
    expect(learner.locator("#course-done")).to_contain_text("Course completed")

    # The bell lights up on this very page, pushed by the server (no reload): the certificate was issued.
    expect(learner.locator("#bell-count")).to_have_attribute("data-count", "1", timeout=30_000)
    bell.click()
    main = learner.locator("main")
    expect(main).to_contain_text(COURSE)
    main.get_by_role("button", name=re.compile("^Open")).first.click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("My certificates")

    # The PDF, with the learner's name as written.
    with learner.expect_download() as download_info:
        learner.get_by_role("link", name=re.compile("Download PDF")).first.click()
    path = download_info.value.path()
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert NAME in text and COURSE in text
    assert learner.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")

    # Its code opens the public verification page, which needs no sign-in.
    code_link = learner.locator("main a[href^='/verify/']").first
    href = code_link.get_attribute("href")
    assert href
    visitor = new_page()
    visitor.set_viewport_size(PHONE)
    visitor.goto(org.url(href))
    main = visitor.locator("main")
    expect(main).to_contain_text("valid", ignore_case=True)
    expect(main).to_contain_text(NAME)
    expect(main).to_contain_text(COURSE)
