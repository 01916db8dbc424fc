"""An employer posts a job with the form (skills picked from the taxonomy), submits it for review; an operator
approves it on a 390 px phone; a learner of another organization finds it; a teacher reviews a résumé."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import test_operator_console as console
from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in
from tests.e2e.test_operator_console import no_horizontal_scroll, operator_on_a_phone

pytestmark = pytest.mark.e2e

operator_email = console.operator_email  # the console tests' operator fixture, for this module


def members(settings, slug: str, people: list[tuple[str, str, str]]) -> None:
    from tests.integration.conftest import create_member

    async def add(engine: Any, tenant: Any) -> None:
        for email, name, role in people:
            await create_member(engine, tenant, [role], E2E_PASSWORD, email=email, name=name)

    in_tenant(settings, slug, add)


def test_post_review_find_and_a_resume_review(e2e_server, create_tenant, new_page, settings, operator_email):
    company = create_tenant("hire", kind="company")
    learners = create_tenant("seek", kind="company")
    employer_email = f"eve@{company.slug}.example"
    learner_email, teacher_email = f"leo@{learners.slug}.example", f"tina@{learners.slug}.example"
    members(settings, company.slug, [(employer_email, "Eve Employer", "employer")])
    members(settings, learners.slug, [(learner_email, "Léo Mbarga", "student"),
                                      (teacher_email, "Tina Teacher", "teacher")])

    # 1. The employer writes the job; a refused value keeps what was typed; submitted, it waits for review.
    employer = new_page()
    sign_in(employer, company.base_url, employer_email, E2E_PASSWORD)
    employer.locator("header").get_by_role("link", name="Hiring").click()
    employer.get_by_role("link", name="Post a job").click()
    employer.get_by_label("Title").fill("Warehouse clerk")
    employer.get_by_label("Description (Markdown)").fill("Count **stock** and keep records.")
    employer.get_by_label("Place").fill("Douala")
    employer.get_by_label("Minimum").fill("90000")
    employer.get_by_label("Maximum").fill("80000")
    employer.get_by_label("Currency").fill("XAF")
    employer.get_by_label("Skill 1", exact=True).fill("Stores and inventory control")
    employer.get_by_role("button", name="Save").click()
    expect(employer.locator("#form-error")).to_contain_text("The minimum is above the maximum.")
    expect(employer.get_by_label("Title")).to_have_value("Warehouse clerk")
    employer.get_by_label("Maximum").fill("120000")
    employer.get_by_role("button", name="Save").click()
    expect(employer.locator("#job-status")).to_have_text("Draft")
    employer.get_by_role("button", name="Submit for publishing").click()
    expect(employer.locator("#job-status")).to_have_text("Waiting for review")

    # 2. An operator approves it on a phone.
    apex = f"http://localhost:{e2e_server.port}"
    operator = operator_on_a_phone(new_page, apex, operator_email)
    operator.locator("header").get_by_role("link", name="Jobs").click()
    card = operator.locator("#review-queue li", has_text="Warehouse clerk")
    expect(card).to_contain_text("Stores and inventory control")
    no_horizontal_scroll(operator)
    card.get_by_role("button", name="Approve").click()
    expect(operator.get_by_role("status")).to_contain_text("Saved.")

    # 3. A learner of another organization finds it; a teacher of theirs reviews their résumé.
    learner = new_page()
    learner.set_viewport_size({"width": 390, "height": 844})
    sign_in(learner, learners.base_url, learner_email, E2E_PASSWORD)
    learner.goto(learners.url("/jobs"))
    learner.get_by_label("Words").fill("warehouse")
    learner.get_by_role("button", name="Search").click()
    result = learner.locator("#job-list li", has_text="Warehouse clerk")
    expect(result).to_contain_text("90,000\u2013120,000 XAF per month")
    no_horizontal_scroll(learner)
    learner.goto(learners.url("/career/resume"))
    learner.get_by_label("Their email").fill(teacher_email)
    learner.get_by_role("button", name="Ask for a review").click()
    expect(learner.get_by_role("status")).to_contain_text("Your request was sent")

    teacher = new_page()
    sign_in(teacher, learners.base_url, teacher_email, E2E_PASSWORD)
    teacher.goto(learners.url("/career/reviews"))
    teacher.get_by_role("link", name="Léo Mbarga").click()
    teacher.get_by_label("About").select_option("summary")
    teacher.get_by_label("Comment", exact=True).fill("Add two lines about yourself.")
    teacher.get_by_role("button", name="Send").click()
    expect(teacher.locator("#comments")).to_contain_text("Add two lines about yourself.")
    learner.goto(learners.url("/career/resume#reviews"))
    expect(learner.locator("#reviews")).to_contain_text("Add two lines about yourself.")
