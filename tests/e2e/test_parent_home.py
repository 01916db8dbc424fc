"""The parent's home in a browser: a parent on a 390 px phone signs in, lands on their home and sees their child's
released grade (with the teacher's feedback, never a draft) and the work due soon, then opens the child's page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def seed_family(settings, slug: str):
    """``build_family`` (tests/integration/parents/conftest.py) in the tenant ``slug``, passwords ``E2E_PASSWORD``."""
    from tests.integration.conftest import create_member
    from tests.integration.parents.conftest import build_family

    async def seed(engine: Any, tenant: Any):

        async def make_user(tenant, roles, **kwargs):
            return await create_member(engine, tenant, roles, E2E_PASSWORD, **kwargs)

        return await build_family(engine, tenant, make_user)

    return in_tenant(settings, slug, seed)


def test_a_parent_on_a_phone_sees_a_released_grade_and_upcoming_work(create_tenant, new_page, settings):
    org = create_tenant("phome", kind="school")
    family = seed_family(settings, org.slug)

    parent = new_page()
    parent.set_viewport_size(PHONE)
    sign_in(parent, org.base_url, family.parent.email, E2E_PASSWORD)
    expect_signed_in(parent, f"Parent {family.tag}")  # the home is "/": no click needed
    child = parent.locator(f"#child-{family.child.id}")
    expect(child.get_by_role("heading", level=2)).to_contain_text(f"Child {family.tag}")

    grades = child.get_by_role("region", name="Grades and feedback")
    expect(grades).to_contain_text(family.released_title)
    expect(grades).to_contain_text("8 / 10")
    expect(grades).to_contain_text(f"Well argued {family.tag}")
    expect(child).not_to_contain_text(f"SECRET draft {family.tag}")

    work = child.get_by_role("region", name="Upcoming and overdue work")
    expect(work.get_by_text(family.due_title)).to_be_visible()
    expect(work).to_contain_text("Due ")
    expect(work).to_contain_text("Overdue since")
    expect(child.get_by_role("link", name=f"Message Teacher {family.tag}")).to_be_visible()
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone

    child.get_by_role("link", name=f"Child {family.tag}").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text(f"Child {family.tag}")
    expect(parent.locator("main")).to_contain_text(f"Well argued {family.tag}")
