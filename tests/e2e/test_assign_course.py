"""Assigning a course in a browser: a manager finds a published course with the type-ahead, assigns it to the team
they lead with a due date, and a member of that team finds it on their course page, enrolled."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e


def _seed(settings, slug: str) -> str:
    """A manager leading "Field sales", a learner (with a seat) in it, a published course; returns the course id."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.passwords import hash_password
    from tajiconnect.domains.accounts.service import new_user
    from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
    from tajiconnect.domains.groups.models import Group, GroupMembership
    from tajiconnect.tenancy.context import tenant_context

    async def seed(engine: Any, tenant: Any) -> str:
        with tenant_context(tenant):
            async with session_scope(engine) as s:
                people = []
                for email, name, role in ((f"mona@{slug}.example", "Mona Manager", "manager"),
                                          (f"lea@{slug}.example", "Lea Learner", "student")):
                    user = new_user(email=email, name=name, password=None, roles=[role], status="active")
                    user.password_hash = hash_password(E2E_PASSWORD)
                    if role == "student":
                        user.seat_assigned_at = datetime.datetime.now(datetime.UTC)
                    s.add(user)
                    people.append(user)
                team = Group(name="Field sales", kind="team", depth=0)
                course = Course(title="Customer visits", summary="Plan and run a visit", status="published",
                                self_enroll=False)
                s.add_all([team, course])
                await s.flush()
                s.add(GroupMembership(group_id=team.id, user_id=people[0].id, role="leader"))
                s.add(GroupMembership(group_id=team.id, user_id=people[1].id, role="member"))
                module = CourseModule(course_id=course.id, title="Before the visit", position=0)
                s.add(module)
                await s.flush()
                s.add(Lesson(course_id=course.id, module_id=module.id, title="Know the customer", kind="text"))
                return str(course.id)

    return in_tenant(settings, slug, seed)


def test_manager_assigns_a_course_to_a_team_and_a_member_sees_it(create_tenant, new_page, settings):
    org = create_tenant("asg")
    course_id = _seed(settings, org.slug)

    manager = new_page()
    sign_in(manager, org.base_url, f"mona@{org.slug}.example", E2E_PASSWORD)
    manager.locator("header").get_by_role("link", name="Courses").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Courses")
    with manager.expect_response(lambda r: "/courses/suggest" in r.url):
        manager.get_by_label("Search", exact=True).press_sequentially("custo", delay=40)
    manager.locator("#catalog-suggestions").get_by_role("link", name="Customer visits").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Customer visits")
    expect(manager.locator("#course-enrollment")).to_contain_text("assignment only")
    manager.get_by_role("link", name="Assign this course").click()
    manager.get_by_role("group", name="Groups").get_by_role("checkbox", name="Field sales").check()
    manager.get_by_label("Due date (optional)").fill("2031-05-31")
    manager.get_by_role("button", name="Assign", exact=True).click()
    expect(manager.get_by_role("status")).to_have_text("The assignment was saved and its learners enrolled.")
    expect(manager.locator("#subject-assignments")).to_contain_text("Field sales")

    learner = new_page()
    sign_in(learner, org.base_url, f"lea@{org.slug}.example", E2E_PASSWORD)
    learner.goto(org.url(f"/courses/{course_id}"))
    enrollment = learner.locator("#course-enrollment")
    expect(enrollment).to_contain_text("Due 2031-05-31")
    expect(enrollment.get_by_role("link", name="Start")).to_have_attribute("href", f"/learn/courses/{course_id}")
    learner.goto(org.url("/courses"))
    expect(learner.locator(f"#course-{course_id}")).to_contain_text("Enrolled")

    # On a 390 px phone the catalog and the course page do not scroll sideways.
    learner.set_viewport_size({"width": 390, "height": 844})
    for path in ("/courses", f"/courses/{course_id}"):
        learner.goto(org.url(path))
        assert learner.evaluate("document.documentElement.scrollWidth") <= 390, path
