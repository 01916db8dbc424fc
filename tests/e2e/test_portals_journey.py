"""Issue 12's journey in a browser: a teacher announces to a class including parents; a parent on a 390 px phone
reads it from the parent's home, and messages the teacher from there; the teacher answers from the grader's side;
the answer reaches the parent's open page live."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def build_class(settings, slug: str, emails: dict[str, str]) -> str:
    """A teacher leading a class (the learner, a classmate) and owning a quiz whose essay attempt by the learner
    waits for a grade; the learner's parent linked. Returns the grade's id."""
    from tajiconnect.domains.parents.models import ParentLink
    from tests.integration.conftest import create_member
    from tests.integration.grading.conftest import essay_attempt, make_assignment
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import add_group

    async def build(engine: Any, tenant: Any) -> str:
        teacher = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=emails["teacher"],
                                      name="Neema Mwalimu")
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=emails["learner"],
                                      name="Juma Kariuki")
        classmate = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=emails["classmate"],
                                        name="Wanjiku Njeri")
        parent = await create_member(engine, tenant, ["parent"], E2E_PASSWORD, email=emails["parent"],
                                     name="Fatuma Kariuki")
        await add_group(engine, tenant, members=[learner.id, classmate.id], leaders=[teacher.id])
        async with tenant_session(engine, tenant) as session:
            session.add(ParentLink(parent_id=parent.id, learner_id=learner.id, source="admin"))
        quiz = await make_assignment(engine, tenant, teacher.id, learners=(learner.id,), kind="quiz")
        return str(await essay_attempt(engine, tenant, quiz, learner.id))

    return in_tenant(settings, slug, build)


def test_announce_read_on_a_phone_message_and_answer_from_the_grader(create_tenant, new_page, settings):
    org = create_tenant("portal", kind="school")
    emails = {key: f"{key}@{org.slug}.example" for key in ("teacher", "learner", "classmate", "parent")}
    grade_id = build_class(settings, org.slug, emails)

    # 1. The teacher's home links to a quick announcement for the class; parents included.
    teacher = new_page()
    sign_in(teacher, org.base_url, emails["teacher"], E2E_PASSWORD)
    expect_signed_in(teacher, "Neema Mwalimu")
    teacher.goto(org.url("/"))
    teacher.locator("main").get_by_role("link", name="Quick announcement").first.click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("New announcement")
    teacher.get_by_label("Title").fill("Parents' day on Saturday")
    teacher.get_by_label("Message").fill("Come and see the **science fair** at 10:00.")
    teacher.get_by_label("Include the learners' parents").check()
    teacher.get_by_role("button", name="Post the announcement").click()
    expect(teacher.get_by_role("status")).to_contain_text("The announcement was published")
    expect(teacher.locator("#sent-to")).to_have_text("Sent to 3 people (1 parent).")

    # 2. The parent, on a phone, lands on the parent's home and reads the announcement.
    parent = new_page()
    parent.set_viewport_size({"width": 390, "height": 844})
    sign_in(parent, org.base_url, emails["parent"], E2E_PASSWORD)
    expect_signed_in(parent, "Fatuma Kariuki")
    parent.goto(org.url("/"))
    expect(parent.locator("main")).to_contain_text("Juma Kariuki")
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390
    parent.locator("header").get_by_role("link", name="Announcements").click()
    parent.locator("tr.unread").get_by_role("link", name="Parents' day on Saturday").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Parents' day on Saturday")
    expect(parent.locator("article strong")).to_have_text("science fair")
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390

    # 3. From the parent's home, a message to the child's teacher.
    parent.goto(org.url("/"))
    parent.locator("main").get_by_role("link", name="Message Neema Mwalimu").first.click()
    parent.get_by_label("Message to Neema Mwalimu").fill("Thank you. Will Juma present his project?")
    parent.get_by_role("button", name="Send").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Neema Mwalimu")
    expect(parent.locator("#messages")).to_contain_text("Will Juma present his project?")

    # 4. The teacher answers from the grader's side; the parent's open page receives it live.
    teacher.goto(org.url(f"/teach/grading/{grade_id}"))
    expect(teacher.get_by_role("heading", level=2, name="Juma Kariuki")).to_be_visible()
    teacher.get_by_role("link", name="Message the parents").click()
    teacher.get_by_label("Message to Fatuma Kariuki").fill("Yes, at 11:00, right after the fair opens.")
    teacher.get_by_role("button", name="Send").click()
    expect(teacher.locator("#messages")).to_contain_text("right after the fair opens")
    expect(parent.locator("#messages")).to_contain_text("right after the fair opens", timeout=15_000)
    expect(parent.locator("#messages li.message")).to_have_count(2)
