"""Issue 13's journey in a browser: a learner on a 390 px phone sees their gap for a career pathway, enrolls in the
course that closes it, completes it, sees the skill appear, builds a résumé and applies to a job posted by an
employer of another organization; the employer moves the application to interview; the learner sees the step."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def seed_learner_org(settings, slug: str, email: str) -> str:
    """A learner with a seat; the role "Data clerk" requiring "Data cleaning" at level 3; the open course
    "Cleaning data" (one lesson, an hour) building it. Returns the pathway's id."""
    from sqlalchemy import select, update

    from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
    from tajiconnect.domains.courses.models import Course
    from tajiconnect.domains.skills import taxonomy
    from tajiconnect.domains.skills.models import Skill, SkillTarget
    from tests.integration.conftest import create_member, set_user
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import build_course

    async def build(engine: Any, tenant: Any) -> str:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=email, name="Wanjirũ Ngũgĩ")
        await set_user(engine, tenant, learner.id, seat_assigned_at=datetime.datetime.now(datetime.UTC))
        course = await build_course(engine, tenant, kinds=("text",), title="Cleaning data",
                                    lesson_values={0: {"body_html": "<p>Find the duplicates first.</p>"}})
        async with tenant_session(engine, tenant) as session:
            await taxonomy.ensure_starter(session)
            skill = await session.scalar(select(Skill.id).where(Skill.code == "data-cleaning"))
            await session.execute(update(Course).where(Course.id == course.id).values(estimated_minutes=60))
            session.add(SkillTarget(skill_id=skill, course_id=course.id, level=3))
            pathway = CareerPathway(name="Data clerk", description="Keeps records clean.")
            session.add(pathway)
            await session.flush()
            session.add(PathwaySkill(pathway_id=pathway.id, skill_id=skill, level=3))
            return str(pathway.id)

    return in_tenant(settings, slug, build)


def seed_employer_org(settings, slug: str, email: str) -> str:
    """An employer member and their published job "Junior data analyst" requiring data cleaning at 3."""
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.jobs.models import Job, JobSkill
    from tajiconnect.domains.jobs.postings import employer_profile
    from tests.integration.conftest import create_member
    from tests.integration.groups.conftest import tenant_session

    async def build(engine: Any, tenant: Any) -> str:
        await create_member(engine, tenant, ["employer"], E2E_PASSWORD, email=email, name="Emma Employer")
        async with tenant_session(engine, tenant) as session:
            employer = await employer_profile(session)
            employer_id = employer.id
        async with session_scope(engine, schema=None) as session:
            job = Job(employer_id=employer_id, tenant_id=tenant.id, posted_by_id=uuid.uuid4(),
                      title="Junior data analyst", description="Clean and chart data.",
                      description_html="<p>Clean and chart data.</p>", location="Nairobi", status="published",
                      published_at=datetime.datetime.now(datetime.UTC), salary_min=40000, salary_max=60000)
            session.add(job)
            await session.flush()
            session.add(JobSkill(job_id=job.id, key="code:data-cleaning", name="Data cleaning", level=3))
            return str(job.id)

    return in_tenant(settings, slug, build)


def test_gap_to_course_to_skill_to_resume_to_application_to_interview(create_tenant, new_page, settings):
    school = create_tenant("carl", kind="company")
    company = create_tenant("care", kind="company")
    learner_email, employer_email = f"wanjiru@{school.slug}.example", f"emma@{company.slug}.example"
    pathway_id = seed_learner_org(settings, school.slug, learner_email)
    job_id = seed_employer_org(settings, company.slug, employer_email)

    # 1. The gap for the pathway, and the course that closes it: one click enrolls.
    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, school.base_url, learner_email, E2E_PASSWORD)
    learner.goto(school.url(f"/career/pathways/{pathway_id}"))
    expect(learner.locator("#gap-percent")).to_have_text("0%")
    offer = learner.locator("#offer-list li").first
    expect(offer).to_contain_text("Cleaning data")
    expect(offer).to_contain_text("Closes 3 missing levels")
    offer.get_by_role("button", name="Enroll").click()
    expect(learner.get_by_role("status")).to_contain_text("You are enrolled")
    assert learner.evaluate("document.documentElement.scrollWidth") <= 390

    # 2. Completes it; the skill appears once the evidence is recorded in the background.
    learner.locator("#offer-list").get_by_role("link", name="Continue").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Cleaning data")
    learner.get_by_role("link", name="Start").click()  # the catalog's page, then the course's outline
    expect(learner).to_have_url(school.url("/learn/courses/") + learner.url.split("/learn/courses/")[1])
    learner.get_by_role("link", name="Start").click()
    expect(learner.locator(".lesson-body")).to_have_text("Find the duplicates first.")
    learner.get_by_role("button", name="Mark as complete").click()
    expect(learner.locator("#course-done")).to_contain_text("Course completed")
    for _attempt in range(30):
        learner.goto(school.url("/skills"))
        if "Data cleaning" in learner.locator("main").inner_text():
            break
        learner.wait_for_timeout(1000)
    expect(learner.locator("#skills-profile")).to_contain_text("Completed the course Cleaning data")
    learner.goto(school.url(f"/career/pathways/{pathway_id}"))
    expect(learner.locator("#gap-percent")).to_have_text("100%")

    # 3. A résumé, edited in place.
    learner.goto(school.url("/career/resume"))
    learner.get_by_label("Headline (e.g. the role you want)").fill("Junior data analyst")
    learner.locator("#resume-details").get_by_role("button", name="Save").click()
    expect(learner.locator("#resume-details")).to_contain_text("Saved.")
    learner.get_by_text("Add experience").click()
    learner.get_by_label("Role").last.fill("Records assistant")
    learner.get_by_label("Employer").last.fill("Kahawa Co-op")
    learner.locator("#resume-experience").get_by_role("button", name="Add").click()
    expect(learner.locator("#resume-experience")).to_contain_text("Records assistant")
    assert learner.evaluate("document.documentElement.scrollWidth") <= 390

    # 4. The job of another organization: a full match; the application sends the résumé.
    learner.goto(school.url(f"/jobs/{job_id}"))
    expect(learner.locator("#match-title")).to_have_text("Your match: 100%")
    learner.get_by_label("Cover letter").fill("I clean data carefully.")
    learner.get_by_role("button", name="Send my application").click()
    expect(learner.get_by_role("status")).to_contain_text("Your application was sent")
    expect(learner.locator("#my-applications")).to_contain_text("Applied")

    # 5. The employer, in their organization, moves it to interview.
    employer = new_page()
    sign_in(employer, company.base_url, employer_email, E2E_PASSWORD)
    employer.goto(company.url(f"/employer/jobs/{job_id}/applications"))
    employer.get_by_role("link", name="Wanjirũ Ngũgĩ").click()
    expect(employer.locator("main")).to_contain_text("I clean data carefully.")
    expect(employer.get_by_role("link", name="Résumé (PDF)")).to_be_visible()
    employer.get_by_label("Move to").select_option("interview")
    employer.get_by_label("Note (for your organization only)").fill("Strong fit")
    employer.get_by_role("button", name="Save").click()
    expect(employer.locator("#application-status")).to_have_text("Interview")

    # 6. The learner sees the step, and is told.
    learner.goto(school.url("/jobs/applications"))
    expect(learner.locator("#my-applications")).to_contain_text("Interview")
    for _attempt in range(30):
        learner.goto(school.url("/notifications"))
        if "interview for Junior data analyst" in learner.locator("main").inner_text():
            break
        learner.wait_for_timeout(1000)
    expect(learner.locator("main")).to_contain_text("You are invited to interview for Junior data analyst")


def seed_request_flow(settings, slug: str, learner_email: str, manager_email: str) -> str:
    """A learner of a team led by a manager; the role "Site supervisor" requiring "Data cleaning" at 3, built only
    by "Records course", which is by assignment only. Returns the pathway's id."""
    from sqlalchemy import select, update

    from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
    from tajiconnect.domains.courses.models import Course
    from tajiconnect.domains.skills import taxonomy
    from tajiconnect.domains.skills.models import Skill, SkillTarget
    from tests.integration.conftest import create_member, set_user
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import add_group, build_course

    async def build(engine: Any, tenant: Any) -> str:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=learner_email,
                                      name="Juma Otieno")
        manager = await create_member(engine, tenant, ["manager"], E2E_PASSWORD, email=manager_email,
                                      name="Mary Wambui")
        await set_user(engine, tenant, learner.id, seat_assigned_at=datetime.datetime.now(datetime.UTC))
        await add_group(engine, tenant, members=[learner.id], leaders=[manager.id])
        course = await build_course(engine, tenant, kinds=("text",), title="Records course")
        async with tenant_session(engine, tenant) as session:
            await taxonomy.ensure_starter(session)
            skill = await session.scalar(select(Skill.id).where(Skill.code == "data-cleaning"))
            await session.execute(update(Course).where(Course.id == course.id).values(self_enroll=False))
            session.add(SkillTarget(skill_id=skill, course_id=course.id, level=3))
            pathway = CareerPathway(name="Site supervisor")
            session.add(pathway)
            await session.flush()
            session.add(PathwaySkill(pathway_id=pathway.id, skill_id=skill, level=3))
            return str(pathway.id)

    return in_tenant(settings, slug, build)


def test_ask_the_manager_who_approves_from_the_requests_page(create_tenant, new_page, settings):
    org = create_tenant("askm", kind="company")
    learner_email, manager_email = f"juma@{org.slug}.example", f"mary@{org.slug}.example"
    pathway_id = seed_request_flow(settings, org.slug, learner_email, manager_email)

    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, org.base_url, learner_email, E2E_PASSWORD)
    learner.goto(org.url(f"/career/pathways/{pathway_id}"))
    learner.locator("#offer-list li", has_text="Records course").get_by_role("button", name="Ask my manager").click()
    expect(learner.get_by_role("status")).to_contain_text("Your request was sent to your manager")
    expect(learner.locator("#offer-list")).to_contain_text("Asked: waiting for an answer")

    manager = new_page()
    sign_in(manager, org.base_url, manager_email, E2E_PASSWORD)
    manager.goto(org.url("/"))
    manager.locator("#team-requests").get_by_role("link").click()
    card = manager.locator("#request-list li", has_text="Records course")
    expect(card).to_contain_text("Juma Otieno asks to take Records course")
    card.get_by_role("button", name="Approve").click()
    expect(manager.get_by_role("status")).to_contain_text("The request was approved")

    learner.goto(org.url(f"/career/pathways/{pathway_id}"))
    expect(learner.locator("#offer-list li", has_text="Records course").get_by_role("link", name="Continue")
           ).to_be_visible()
