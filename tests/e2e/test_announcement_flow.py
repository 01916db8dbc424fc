"""Announcements in a browser: a teacher announces to their class, parents included; a parent on a 390 px phone
finds it unread in Announcements and reads it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def set_up_class(settings, slug: str) -> dict[str, str]:
    """A teacher leading a class of two learners, one of whom has a linked parent; and an unlinked parent."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.parents.models import ParentLink
    from tajiconnect.tenancy.context import tenant_context
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import add_group

    people = {"teacher": ("teacher", "Grace Wanjiru"), "learner": ("student", "Brian Otieno"),
              "classmate": ("student", "Amina Hassan"), "parent": ("parent", "Mary Otieno"),
              "stranger": ("parent", "Sam Stranger")}
    emails = {key: f"{key}@{slug}.example" for key in people}

    async def add(engine: Any, tenant: Any) -> None:
        ids = {key: (await create_member(engine, tenant, [role], E2E_PASSWORD, email=emails[key],
                                         name=name)).id for key, (role, name) in people.items()}
        await add_group(engine, tenant, members=[ids["learner"], ids["classmate"]], leaders=[ids["teacher"]])
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                session.add(ParentLink(parent_id=ids["parent"], learner_id=ids["learner"], source="admin"))

    in_tenant(settings, slug, add)
    return emails


def test_a_teacher_announces_to_a_class_and_a_parent_reads_it_on_a_phone(create_tenant, new_page, settings):
    org = create_tenant("annc", kind="school")
    emails = set_up_class(settings, org.slug)

    teacher = new_page()
    sign_in(teacher, org.base_url, emails["teacher"], E2E_PASSWORD)
    expect_signed_in(teacher, "Grace Wanjiru")
    teacher.locator("header").get_by_role("link", name="Announcements").click()
    teacher.get_by_role("link", name="New announcement").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("New announcement")
    expect(teacher.get_by_label("Everyone in the organization")).to_have_count(0)  # teachers: their classes only
    teacher.get_by_label("A class or team").check()
    teacher.get_by_label("Title").fill("Museum trip on Friday")
    teacher.get_by_label("Message").fill("Bring **lunch** and a water bottle.")
    teacher.get_by_label("Include the learners' parents").check()
    teacher.get_by_role("button", name="Post the announcement").click()
    expect(teacher.get_by_role("status")).to_contain_text("The announcement was published")
    expect(teacher.locator("#sent-to")).to_have_text("Sent to 3 people (1 parent).")

    parent = new_page()
    parent.set_viewport_size({"width": 390, "height": 844})
    sign_in(parent, org.base_url, emails["parent"], E2E_PASSWORD)
    expect_signed_in(parent, "Mary Otieno")
    parent.locator("header").get_by_role("link", name="Announcements").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Announcements")
    unread = parent.locator("tr.unread")
    expect(unread).to_contain_text("Museum trip on Friday")
    expect(unread).to_contain_text("Grace Wanjiru")
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone
    unread.get_by_role("link").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Museum trip on Friday")
    expect(parent.locator("article strong")).to_have_text("lunch")
    expect(parent.get_by_role("button", name="Withdraw the announcement")).to_have_count(0)
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390
    parent.goto(org.url("/announcements"))
    expect(parent.locator("tr.unread")).to_have_count(0)

    stranger = new_page()  # a parent of nobody in the class
    sign_in(stranger, org.base_url, emails["stranger"], E2E_PASSWORD)
    stranger.goto(org.url("/announcements"))
    expect(stranger.locator("main")).to_contain_text("No announcement for you yet.")
