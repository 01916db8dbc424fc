"""Messages in a browser: a parent on a phone writes to their child's teacher; the teacher answers from the grader
("Message the parents"); the parent sees the answer arrive without reloading (server-sent events)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def build_class(settings, slug: str, teacher: str, learner: str, parent: str) -> str:
    """The teacher's quiz with the learner's submitted attempt waiting for a grade, the parent linked to the
    learner; the grade's id."""
    from tajiconnect.domains.parents.models import ParentLink
    from tests.integration.conftest import create_member
    from tests.integration.grading.conftest import essay_attempt, make_assignment
    from tests.integration.groups.conftest import tenant_session

    async def build(engine: Any, tenant: Any) -> str:
        t = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=teacher, name="Tess Wanjiru")
        lea = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=learner, name="Lea Achieng")
        pat = await create_member(engine, tenant, ["parent"], E2E_PASSWORD, email=parent, name="Pat Achieng")
        async with tenant_session(engine, tenant) as session:
            session.add(ParentLink(parent_id=pat.id, learner_id=lea.id, source="admin"))
        task = await make_assignment(engine, tenant, t.id, learners=(lea.id,), kind="quiz")
        return str(await essay_attempt(engine, tenant, task, lea.id))

    return in_tenant(settings, slug, build)


def test_a_parent_writes_and_the_teacher_answers_from_the_grader(create_tenant, new_page, settings):
    org = create_tenant("msg", kind="school")
    teacher_email, parent_email = f"tess@{org.slug}.example", f"pat@{org.slug}.example"
    grade_id = build_class(settings, org.slug, teacher_email, f"lea@{org.slug}.example", parent_email)

    parent = new_page()
    parent.set_viewport_size({"width": 390, "height": 844})
    sign_in(parent, org.base_url, parent_email, E2E_PASSWORD)
    expect_signed_in(parent, "Pat Achieng")
    parent.locator("header").get_by_role("link", name="Messages").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Messages")
    parent.get_by_role("link", name="New message").click()
    parent.get_by_role("link", name="Tess Wanjiru").click()
    parent.get_by_label("Message to Tess Wanjiru").fill("Hello, how is Lea doing with the quiz?")
    parent.get_by_role("button", name="Send").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Tess Wanjiru")
    expect(parent.locator("#messages")).to_contain_text("how is Lea doing")
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone

    teacher = new_page()
    sign_in(teacher, org.base_url, teacher_email, E2E_PASSWORD)
    expect_signed_in(teacher, "Tess Wanjiru")
    teacher.goto(f"{org.base_url}/teach/grading/{grade_id}")
    expect(teacher.get_by_role("heading", level=2, name="Lea Achieng")).to_be_visible()
    teacher.get_by_role("link", name="Message the parents").click()
    teacher.get_by_label("Message to Pat Achieng").fill("Lea answered well; I am grading her essay today.")
    teacher.get_by_role("button", name="Send").click()
    expect(teacher.locator("#messages")).to_contain_text("I am grading her essay today")

    # The parent's page was never reloaded: the answer arrived over the live stream.
    expect(parent.locator("#messages")).to_contain_text("I am grading her essay today", timeout=15_000)
    expect(parent.locator("#messages li.message")).to_have_count(2)
