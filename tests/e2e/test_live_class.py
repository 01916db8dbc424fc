"""Live classes in a browser: a teacher schedules a session for their class and marks attendance (HTMX); a learner
on a 390 px phone sees the session, its join link and their attendance."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e


def add_class(settings, slug: str, teacher: str, learner: str) -> None:
    """A teacher and a learner (``E2E_PASSWORD``), the teacher leading a class the learner is a member of."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import add_group

    async def add(engine: Any, tenant: Any) -> None:
        t = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=teacher, name="Grace Wanjiku")
        s = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=learner, name="Kevin Mwangi")
        await add_group(engine, tenant, members=[s.id], leaders=[t.id])

    in_tenant(settings, slug, add)


def test_a_teacher_schedules_a_class_and_marks_attendance_and_a_learner_joins(create_tenant, new_page, settings):
    org = create_tenant("live", kind="school")
    teacher_email, learner_email = f"grace@{org.slug}.example", f"kevin@{org.slug}.example"
    add_class(settings, org.slug, teacher_email, learner_email)

    teacher = new_page()
    sign_in(teacher, org.base_url, teacher_email, E2E_PASSWORD)
    expect(teacher.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    teacher.locator("header").get_by_role("link", name="Live classes").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Live classes")
    teacher.get_by_role("link", name="Schedule a live class").click()
    form = teacher.locator("main form")
    form.get_by_label("For").select_option(index=1)  # the teacher's one class
    form.get_by_label("Title").fill("Fractions revision")
    start = datetime.datetime.now(zoneinfo.ZoneInfo("Africa/Nairobi")) + datetime.timedelta(minutes=5)
    form.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Time zone of the start").select_option("Africa/Nairobi")
    form.get_by_label("Duration (minutes)").fill("40")
    form.get_by_label("Meeting link").fill("https://meet.jit.si/FractionsRevision")
    form.get_by_role("button", name="Schedule").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Fractions revision")
    expect(teacher.locator("main")).to_contain_text("The session is scheduled")
    expect(teacher.locator("main")).to_contain_text("Jitsi Meet")

    teacher.get_by_role("link", name="Attendance").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Attendance")
    row = teacher.locator("tr", has_text="Kevin Mwangi")
    expect(row).to_contain_text("Not marked yet")
    row.get_by_role("button", name="Present").click()
    expect(row.get_by_role("button", name="Present")).to_have_attribute("aria-pressed", "true")
    expect(row).to_contain_text("Present")
    assert teacher.url.endswith("/attendance")  # marked in place, no reload

    learner = new_page()
    learner.set_viewport_size({"width": 390, "height": 844})
    sign_in(learner, org.base_url, learner_email, E2E_PASSWORD)
    expect(learner.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    learner.goto(org.url("/live"))
    learner.get_by_role("link", name="Fractions revision").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Fractions revision")
    join = learner.get_by_role("link", name="Join the class on Jitsi Meet")
    expect(join).to_have_attribute("href", "https://meet.jit.si/FractionsRevision")
    expect(learner.locator("main")).to_contain_text("Present")
    expect(learner.locator("main")).to_contain_text("(Africa/Nairobi)")
    assert learner.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone
