"""Classes in a browser: an admin creates a grade level and a class inside it, then adds a learner found with the
HTMX search box."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import expect_signed_in, invite, sign_in

pytestmark = pytest.mark.e2e


def test_admin_creates_a_grade_level_and_a_class_and_adds_a_learner(create_tenant, page):
    org = create_tenant("grp", kind="school")
    sign_in(page, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(page, org.admin_name)
    invite(page, org.base_url, f"neema@{org.slug}.example", "Neema Wambui", role_label="Learner")

    # The navigation names groups by the organization's kind.
    page.locator("header").get_by_role("link", name="Classes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grade levels and classes")
    expect(page.locator("main")).to_contain_text("There are no grade levels or classes yet.")

    # A grade level at the top...
    page.get_by_role("link", name="New grade level").click()
    expect(page.get_by_label("Kind")).to_have_value("grade")
    page.get_by_label("Name", exact=True).fill("Grade 4")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("The group was created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grade 4")

    # ...and a class inside it (the form comes with the class kind and the grade level chosen).
    page.get_by_role("link", name="Add a group inside").click()
    expect(page.get_by_label("Kind")).to_have_value("class")
    expect(page.get_by_label("Inside")).to_contain_text("Grade 4")
    page.get_by_label("Name", exact=True).fill("4 Red")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("4 Red")
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb.get_by_role("link", name="Grade 4")).to_be_visible()
    members = page.locator("#members-results")
    expect(members).to_contain_text("0 learners")

    # Typing in the search box lists matching learners in place (HTMX swaps #candidates only).
    page.evaluate("window.__e2eNoReload = true")
    with page.expect_response(lambda r: "find=nee" in r.url) as answer:
        page.get_by_label("Find a person").press_sequentially("nee", delay=40)
    assert answer.value.request.headers.get("hx-target") == "candidates"
    add = page.locator("#candidates").get_by_role("button", name="Add Neema Wambui")
    expect(add).to_be_visible()
    assert page.evaluate("window.__e2eNoReload") is True
    add.click()
    expect(page.get_by_role("status")).to_have_text("The learner was added.")
    expect(members).to_contain_text("1 learner")
    expect(members.get_by_role("link", name="Neema Wambui", exact=True)).to_be_visible()

    # The tree shows both levels and the count.
    page.goto(org.url("/groups"))
    grade = page.locator("ul.group-tree > li").filter(has_text="Grade 4")
    expect(grade.get_by_role("link", name="4 Red")).to_be_visible()
    expect(grade.locator("li").filter(has_text="4 Red")).to_contain_text(re.compile(r"\b1 learner\b"))

    # On a 390 px phone neither page scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/groups", page.url):
        page.goto(org.url(path) if path.startswith("/") else path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    grade.get_by_role("link", name="4 Red").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("4 Red")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
