"""A learner's skills on a 390 px phone: a completed course's skill is there with its evidence; the learner finds
a skill they have (the search answers as they type), adds it at a level, sees it as declared, and takes it back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def seed(settings, slug: str) -> str:
    """A learner who completed "Solar basics", which builds "Solar panel checks" at level 3; their email."""
    from tajiconnect.domains.progress.service import _record_completion
    from tajiconnect.domains.skills.evidence import record
    from tajiconnect.domains.skills.models import Skill, SkillTarget
    from tests.integration.conftest import create_member
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import build_course

    async def add(engine: Any, tenant: Any) -> str:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"asha@{slug}.example",
                                      name="Asha Learner")
        course = await build_course(engine, tenant, kinds=("text",), title="Solar basics")
        async with tenant_session(engine, tenant) as session:
            skill = Skill(name="Solar panel checks", category="Trades")
            session.add(skill)
            await session.flush()
            session.add(SkillTarget(skill_id=skill.id, course_id=course.id, level=3))
            await session.flush()
            await _record_completion(session, learner.id, datetime.datetime.now(datetime.UTC), course_id=course.id)
            await record(session, user_ids=[learner.id])
        return learner.email

    return in_tenant(settings, slug, add)


def test_a_learner_sees_and_declares_skills_on_a_phone(create_tenant, new_page, settings):
    org = create_tenant("skui", kind="company")
    email = seed(settings, org.slug)
    page = new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, org.base_url, email, E2E_PASSWORD)
    page.goto(org.base_url + "/skills")
    expect(page.get_by_role("heading", level=1)).to_have_text("My skills")
    profile = page.locator("#skills-profile")
    expect(profile).to_contain_text("Solar panel checks")
    expect(profile).to_contain_text("3 · Works independently")
    expect(profile).to_contain_text("Completed the course Solar basics")

    page.get_by_label("Find a skill").fill("plumb")  # HTMX searches as one types
    match = page.locator("#skills-matches li").first
    expect(match).to_contain_text("Plumbing")
    match.get_by_role("combobox").select_option("4")
    match.get_by_role("button", name="Add").click()
    expect(profile).to_contain_text("Declared by you: 4 · Advanced")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows the phone

    profile.get_by_role("button", name="Take back").click()
    expect(profile).not_to_contain_text("Declared by you")
    expect(profile).to_contain_text("Solar panel checks")
