"""The learning flow end to end, in browsers: a teacher builds and publishes a short course, a manager assigns it
to the team they lead, and a learner of that team completes it on a 390 px phone, with progress and streak."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def seed_people(settings, slug: str) -> None:
    """A teacher, a manager leading "Field sales" and a learner (holding a seat) in it."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.passwords import hash_password
    from tajiconnect.domains.accounts.service import new_user
    from tajiconnect.domains.groups.models import Group, GroupMembership
    from tajiconnect.tenancy.context import tenant_context

    async def seed(engine: Any, tenant: Any) -> None:
        with tenant_context(tenant):
            async with session_scope(engine) as s:
                people = {}
                for key, name, role in (("tess", "Tess Teacher", "teacher"), ("mona", "Mona Manager", "manager"),
                                        ("lea", "Lea Learner", "student")):
                    user = new_user(email=f"{key}@{slug}.example", name=name, password=None, roles=[role],
                                    status="active")
                    user.password_hash = hash_password(E2E_PASSWORD)
                    if role == "student":
                        user.seat_assigned_at = datetime.datetime.now(datetime.UTC)
                    s.add(user)
                    people[key] = user
                team = Group(name="Field sales", kind="team", depth=0)
                s.add(team)
                await s.flush()
                s.add(GroupMembership(group_id=team.id, user_id=people["mona"].id, role="leader"))
                s.add(GroupMembership(group_id=team.id, user_id=people["lea"].id, role="member"))

    in_tenant(settings, slug, seed)


def test_build_assign_and_complete_a_course(create_tenant, new_page, settings):
    org = create_tenant("flow")
    seed_people(settings, org.slug)

    # 1. The teacher builds a one-lesson course and publishes it.
    teacher = new_page()
    sign_in(teacher, org.base_url, f"tess@{org.slug}.example", E2E_PASSWORD)
    teacher.locator("header").get_by_role("link", name="Teaching").click()
    teacher.get_by_label("Title").fill("Safe water at home")
    teacher.get_by_role("button", name="Create course").click()
    expect(teacher.get_by_role("heading", level=1)).to_contain_text("Safe water at home")
    teacher.wait_for_load_state()
    teacher.get_by_label("New module title").fill("Treat it")
    teacher.get_by_role("button", name="Add module").click()
    expect(teacher.locator("li.module")).to_have_count(1)
    teacher.get_by_label("New lesson title").fill("Boil it")
    teacher.get_by_role("button", name="Add lesson").click()
    lesson = teacher.locator("li.lesson", has_text="Boil it")
    lesson.get_by_role("link", name="Edit").click()
    # The draft saves itself while the teacher types (only the status line changes).
    lesson.get_by_label("Text (Markdown)").fill("Bring water to a **rolling boil** for one minute.")
    expect(lesson.get_by_role("status")).to_have_text("Saved")
    with teacher.expect_response(lambda r: r.request.method == "POST" and re.search(r"/lessons/[0-9a-f-]+$", r.url)):
        lesson.get_by_role("button", name="Save lesson").click()
    expect(lesson.get_by_role("status")).to_have_text("Saved")
    teacher.get_by_role("button", name="Publish").click()
    expect(teacher.locator("#course-status")).to_have_text("Published")

    # 2. The manager finds it in the catalog and assigns it to their team.
    manager = new_page()
    sign_in(manager, org.base_url, f"mona@{org.slug}.example", E2E_PASSWORD)
    manager.locator("header").get_by_role("link", name="Courses").click()
    with manager.expect_response(lambda r: "/courses/suggest" in r.url):
        manager.get_by_label("Search", exact=True).press_sequentially("water", delay=40)
    manager.locator("#catalog-suggestions").get_by_role("link", name="Safe water at home").click()
    manager.get_by_role("link", name="Assign this course").click()
    manager.get_by_role("group", name="Groups").get_by_role("checkbox", name="Field sales").check()
    manager.get_by_role("button", name="Assign", exact=True).click()
    expect(manager.get_by_role("status")).to_have_text("The assignment was saved and its learners enrolled.")

    # 3. The learner completes it on a phone.
    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, org.base_url, f"lea@{org.slug}.example", E2E_PASSWORD)
    learner.locator("#learn-courses").get_by_role("link", name="Safe water at home").click()
    learner.get_by_role("link", name="Start").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Boil it")
    expect(learner.locator(".lesson-body strong")).to_have_text("rolling boil")
    learner.get_by_role("button", name="Mark as complete").click()
    done = learner.locator("#course-done")
    expect(done).to_contain_text("Course completed")
    expect(done).to_contain_text("100 %")
    expect(done).to_contain_text("Streak: 1 day")
    assert learner.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")

    # The manager's teaching view shows it done.
    manager.goto(org.url("/teach/progress"))
    expect(manager.locator("main")).to_contain_text("Lea Learner")
    expect(manager.locator("main")).to_contain_text("100")
