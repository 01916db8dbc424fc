"""Course Q&A end to end: a learner on a 390 px phone asks a question in the course's discussions; the teacher
answers and accepts the answer in place (HTMX, no reload); the learner's bell lights up (the reply notified them
through the server's worker) and the question shows as answered."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
COURSE = "Plant biology"
QUESTION = "Why are leaves green?"


def seed(settings, slug: str) -> str:
    """A published course owned by a teacher, a learner enrolled in it; the course's id."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import build_course, enroll

    async def add(engine: Any, tenant: Any) -> str:
        teacher = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=f"tessa@{slug}.example",
                                      name="Tessa Teacher")
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"amina@{slug}.example",
                                      name="Amina Learner")
        course = await build_course(engine, tenant, kinds=("text",), title=COURSE, owner_id=teacher.id)
        await enroll(engine, tenant, learner.id, course.id)
        return str(course.id)

    return in_tenant(settings, slug, add)


def test_a_learner_asks_the_teacher_answers_and_accepts(create_tenant, new_page, settings):
    org = create_tenant("qa", kind="school")
    course_id = seed(settings, org.slug)

    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, org.base_url, f"amina@{org.slug}.example", E2E_PASSWORD)
    expect(learner.locator("#bell")).to_be_visible()
    learner.goto(org.url(f"/courses/{course_id}"))
    learner.get_by_role("link", name="Discussions and questions").click()
    learner.get_by_role("link", name="Ask a question").click()
    main = learner.locator("main")
    main.get_by_label("Title").fill(QUESTION)
    main.get_by_label("Text (Markdown)").fill("Is it the **chlorophyll**?")
    main.get_by_role("button", name="Post").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(QUESTION)
    expect(main.locator("strong", has_text="chlorophyll")).to_be_visible()
    thread_url = learner.url
    assert learner.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")

    teacher = new_page()
    sign_in(teacher, org.base_url, f"tessa@{org.slug}.example", E2E_PASSWORD)
    teacher.goto(org.url(f"/courses/{course_id}/discussions/"))
    teacher.get_by_role("link", name=QUESTION).click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text(QUESTION)
    teacher.evaluate("() => { window.__stayed = true; }")  # survives only if the page is never reloaded
    teacher.get_by_label("Your reply (Markdown)").fill("Yes: chlorophyll reflects green light.")
    teacher.get_by_role("button", name="Post the reply").click()
    answer = teacher.locator("#discussion-posts > li").nth(1)
    expect(answer).to_contain_text("chlorophyll reflects green light")
    answer.get_by_role("button", name="Accept as the answer").click()
    expect(answer.locator(".accepted-badge")).to_have_text("Accepted answer")
    expect(teacher.get_by_role("button", name="Unmark as the answer")).to_be_visible()
    assert teacher.evaluate("() => window.__stayed === true")

    # The learner was told (the reply notified the thread's author through the worker), and sees the answer.
    expect(learner.locator("#bell-count")).to_have_attribute("data-count", "1", timeout=30_000)
    learner.goto(thread_url)
    expect(learner.locator("#discussion-posts .accepted-badge")).to_have_text("Accepted answer")
    expect(learner.locator("#discussion-posts")).to_contain_text("chlorophyll reflects green light")
    learner.goto(org.url(f"/courses/{course_id}/discussions/"))
    expect(learner.locator("main")).to_contain_text("Answered")
