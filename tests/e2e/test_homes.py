"""The homes in a browser: a teacher on a phone lands on their home and reaches the grader in one click from the
grading queue; a manager nudges an overdue learner, who finds the reminder among their notifications."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def seed_school(settings, slug: str) -> None:
    """A teacher leading class 7 East with a learner whose essay waits in the queue."""
    from tests.integration.conftest import create_member
    from tests.integration.homes.conftest import course, enroll, grade, group

    async def add(engine: Any, tenant: Any) -> None:
        teacher = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=f"tess@{slug}.example",
                                      name="Tess Teacher")
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"lea@{slug}.example",
                                      name="Lea Learner")
        await group(engine, tenant, members=[learner.id], leaders=[teacher.id], name="7 East")
        course_id, work = await course(engine, tenant, teacher.id, "Rivers of Kenya")
        await enroll(engine, tenant, learner.id, course_id)
        await grade(engine, tenant, work, course_id, learner.id)

    in_tenant(settings, slug, add)


def seed_company(settings, slug: str) -> None:
    """A manager leading Sales, whose member Ana is overdue in the Safety training assigned to Sales."""
    from tests.integration.conftest import create_member
    from tests.integration.homes.conftest import DAY, assignment, course, enroll, group, now

    async def add(engine: Any, tenant: Any) -> None:
        boss = await create_member(engine, tenant, ["manager"], E2E_PASSWORD, email=f"mo@{slug}.example",
                                   name="Mo Manager")
        ana = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"ana@{slug}.example",
                                  name="Ana Achieng")
        sales = await group(engine, tenant, members=[ana.id], leaders=[boss.id], name="Sales", kind="team")
        safety, _work = await course(engine, tenant, None, "Safety training")
        due = now() - 2 * DAY
        given = await assignment(engine, tenant, course_id=safety, group_id=sales, due_at=due)
        await enroll(engine, tenant, ana.id, safety, source="group", assignment_id=given, due_at=due)

    in_tenant(settings, slug, add)


def test_a_teacher_on_a_phone_reaches_the_grader_in_one_click(create_tenant, new_page, settings):
    org = create_tenant("hteach", kind="school")
    seed_school(settings, org.slug)
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, org.base_url, f"tess@{org.slug}.example", E2E_PASSWORD)
    expect_signed_in(page, "Tess Teacher")
    queue = page.locator("#teacher-queue")
    expect(queue.locator("#queue-pending")).to_have_text("1")
    expect(page.locator("#teacher-classes")).to_contain_text("7 East")
    expect(page.locator("#teacher-courses")).to_contain_text("Rivers of Kenya")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone
    queue.get_by_role("link", name="Grade Lea Learner").click()
    expect(page).to_have_url(f"{org.base_url}/teach/grading/" + page.url.rsplit("/", 1)[-1])
    expect(page.locator("#submission-panel")).to_contain_text("Lea Learner")


def test_a_manager_nudges_an_overdue_learner(create_tenant, new_page, settings):
    org = create_tenant("hmanage", kind="company")
    seed_company(settings, org.slug)
    boss = new_page()
    sign_in(boss, org.base_url, f"mo@{org.slug}.example", E2E_PASSWORD)
    expect_signed_in(boss, "Mo Manager")
    overdue = boss.get_by_role("table", name="Overdue people")
    expect(overdue).to_contain_text("Ana Achieng")
    overdue.get_by_role("button", name="Nudge Ana Achieng about Safety training").click()
    expect(boss.get_by_role("status")).to_have_text("The reminder was sent.")
    expect(overdue.get_by_role("button", name="Nudge Ana Achieng about Safety training")).to_have_count(0)
    expect(overdue).to_contain_text("next possible from")

    ana = new_page()
    ana.set_viewport_size({"width": 390, "height": 844})
    sign_in(ana, org.base_url, f"ana@{org.slug}.example", E2E_PASSWORD)
    expect_signed_in(ana, "Ana Achieng")
    ana.goto(org.url("/notifications"))
    expect(ana.locator("main")).to_contain_text("Reminder: Safety training is overdue")
