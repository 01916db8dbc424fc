"""Assessments end to end, in browsers: a teacher imports a GIFT question bank, builds a timed quiz from it and an
essay assignment with a rubric in the course builder; a learner takes the quiz (answers and the time left survive a
reload), sees the result, and hands in the essay; the teacher grades it in the grader with the rubric and the
keyboard (j swaps only #submission-panel) and releases it; the learner sees the grade and it counts in their grades.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

GIFT = b"""// Two questions for the quiz.
$CATEGORY: Solar/Basics

::Sun kind::The Sun is a {
  =star#Right: a star like the others, only closer.
  ~planet#No: planets go round it.
  ~moon
}

::Panel output::A solar panel turns light into {=electricity =current}.
"""
RUBRIC = "Content | Thin = 0 | Solid = 2 | Rich = 4\nClarity | Unclear = 0 | Clear = 2"
QUIZ = "Sun check"
ESSAY = "Solar at home"
COURSE = "Solar basics"


def seed(settings, slug: str) -> str:
    """A teacher owning a draft course of one text lesson, and two learners; returns the course id."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import build_course

    async def add(engine: Any, tenant: Any) -> str:
        teacher = await create_member(engine, tenant, ["teacher"], E2E_PASSWORD, email=f"tess@{slug}.example",
                                      name="Tess Teacher")
        for key, name in (("lea", "Lea Learner"), ("ben", "Ben Banda")):
            await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"{key}@{slug}.example",
                                name=name)
        course = await build_course(engine, tenant, kinds=("text",), status="draft", owner_id=teacher.id,
                                    title=COURSE, lesson_values={0: {"body": "Light is energy.",
                                                                      "body_html": "<p>Light is energy.</p>"}})
        return str(course.id)

    return in_tenant(settings, slug, add)


def enroll_learners(settings, slug: str, course_id: str) -> None:
    import uuid

    from sqlalchemy import select

    from tajiconnect.domains.accounts.models import User
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import enroll

    async def add(engine: Any, tenant: Any) -> None:
        async with tenant_session(engine, tenant) as session:
            ids = (await session.scalars(select(User.id).where(User.roles.any("student")))).all()
        for user_id in ids:
            await enroll(engine, tenant, user_id, uuid.UUID(course_id))

    in_tenant(settings, slug, add)


def submit_essay(settings, slug: str, email: str, text: str) -> None:
    """Another learner hands in the essay (through the submissions service, as the assignment page does)."""
    from sqlalchemy import select

    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.assessments import submissions
    from tajiconnect.domains.audit.service import Acting, Actor
    from tajiconnect.domains.courses.models import Lesson
    from tests.integration.groups.conftest import tenant_session

    async def hand_in(engine: Any, tenant: Any) -> None:
        async with tenant_session(engine, tenant) as session:
            user = await session.scalar(select(User).where(User.email == email))
            lesson_id = await session.scalar(select(Lesson.id).where(Lesson.title == ESSAY))
            work = await submissions.open_work(session, user, lesson_id, lock=True)
            await submissions.submit(session, Acting(user, Actor(id=user.id, email=user.email)), work, text=text)

    in_tenant(settings, slug, hand_in)


def htmx_settled(page: Page) -> None:
    """Wait until HTMX has finished its requests, swaps and settling (its settle step moves the focus back)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def add_lesson(page: Page, title: str, kind: str):
    """In the builder: add a lesson of ``kind`` to the (only) module and open its editor; returns its outline item."""
    module = page.locator("li.module").first
    module.get_by_label("New lesson title").fill(title)
    module.get_by_label("Kind").select_option(label=kind)
    module.get_by_role("button", name="Add lesson").click()
    lesson = page.locator("li.lesson", has_text=title)
    lesson.get_by_role("link", name="Edit").click()
    expect(lesson.locator(".assessment-panel h2").first).to_be_visible()  # the panel loads itself (HTMX)
    htmx_settled(page)
    return lesson


def test_quiz_essay_grading_and_release(create_tenant, new_page, settings):
    org = create_tenant("asmt")
    course_id = seed(settings, org.slug)

    # 1. The teacher imports a question bank from a GIFT file.
    teacher = new_page()
    sign_in(teacher, org.base_url, f"tess@{org.slug}.example", E2E_PASSWORD)
    expect(teacher.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    teacher.goto(org.url(f"/teach/courses/{course_id}/banks"))
    teacher.get_by_label("Title").fill("Solar questions")
    teacher.get_by_role("button", name="Create bank").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Solar questions")
    teacher.get_by_label("File").set_input_files({"name": "solar.gift", "mimeType": "text/plain", "buffer": GIFT})
    teacher.get_by_role("button", name="Import", exact=True).click()
    expect(teacher.locator("#import-result")).to_contain_text("2 questions imported.")
    expect(teacher.locator("#question-list")).to_contain_text("Sun kind")

    # A rubric (out of 6 points) on the course's rubric page.
    teacher.goto(org.url(f"/teach/courses/{course_id}/rubrics"))
    teacher.get_by_label("Title").fill("Essay rubric")
    teacher.get_by_label("Criteria").fill(RUBRIC)
    teacher.get_by_role("button", name="Save rubric").click()
    expect(teacher.locator(".rubric-list")).to_contain_text("Essay rubric")

    # The quiz, in the course builder's assessment panel: a 5-minute limit, the right answers shown at submission,
    # one slot per question.
    teacher.goto(org.url(f"/teach/courses/{course_id}"))
    teacher.wait_for_load_state()
    quiz = add_lesson(teacher, QUIZ, "Quiz")
    panel = quiz.locator(".assessment-panel")
    panel.get_by_label("Time limit (minutes, empty: none)").fill("5")
    panel.get_by_label("They see").select_option(label="The score, the feedback and the right answers")
    panel.get_by_role("button", name="Save settings").click()
    expect(panel.get_by_role("status")).to_have_text("Settings saved")
    for name in ("Sun kind", "Panel output"):
        htmx_settled(teacher)
        choice = panel.get_by_label("Add a question").locator("option", has_text=name).get_attribute("value")
        panel.get_by_label("Add a question").select_option(choice)
        panel.get_by_role("button", name="Add the question").click()
        expect(panel.locator("ol.quiz-slots")).to_contain_text(name)
    expect(panel.locator("ol.quiz-slots > li")).to_have_count(2)
    expect(panel.get_by_label("Time limit (minutes, empty: none)")).to_have_value("5")

    # The essay assignment: text only, 12 points, graded with the rubric.
    htmx_settled(teacher)
    essay = add_lesson(teacher, ESSAY, "Assignment")
    panel = essay.locator(".assessment-panel")
    panel.get_by_role("group", name="Learners submit").get_by_label("Files").uncheck()
    panel.get_by_label("Points", exact=True).fill("12")
    panel.get_by_label("Rubric").select_option(label="Essay rubric")
    panel.get_by_role("button", name="Save settings").click()
    expect(panel.get_by_role("status")).to_have_text("Settings saved")
    expect(panel.get_by_label("Rubric")).to_have_value(re.compile(r"[0-9a-f-]{36}"))
    # With both editors open, each panel's forms change their own panel only.
    htmx_settled(teacher)
    quiz.get_by_role("link", name="Edit").click()
    quiz_panel = quiz.locator(".assessment-panel")
    expect(quiz_panel.get_by_label("Time limit (minutes, empty: none)")).to_have_value("5")
    htmx_settled(teacher)
    panel.get_by_label("Due").fill("2099-12-31T17:00")
    with teacher.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/settings")):
        panel.get_by_role("button", name="Save settings").click()
    htmx_settled(teacher)
    expect(panel.get_by_label("Due")).to_have_value("2099-12-31T17:00")
    expect(quiz_panel.get_by_role("heading", level=2).first).to_have_text("Quiz settings")
    expect(quiz_panel.get_by_label("Time limit (minutes, empty: none)")).to_have_value("5")

    teacher.get_by_role("button", name="Publish").click()
    expect(teacher.locator("#course-status")).to_have_text("Published")
    enroll_learners(settings, org.slug, course_id)

    # 2. The learner takes the timed quiz.
    learner = new_page()
    sign_in(learner, org.base_url, f"lea@{org.slug}.example", E2E_PASSWORD)
    expect(learner.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    learner.goto(org.url(f"/learn/courses/{course_id}"))
    learner.get_by_role("link", name=QUIZ).click()
    quiz_panel = learner.locator("#quiz-panel")
    expect(quiz_panel).to_contain_text("Time limit")
    quiz_panel.get_by_role("button", name="Start the quiz").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(QUIZ)
    clock = learner.locator("#quiz-countdown")
    expect(clock).to_have_text(re.compile(r"^[45]:[0-5]\d$"))
    started_with = int(clock.get_attribute("data-seconds-left"))
    assert 290 <= started_with <= 300
    deadline = learner.locator(".quiz-timer .hint").inner_text()
    attempt_url = learner.url

    sun = learner.locator("form.quiz-question", has_text="The Sun is a")
    sun.get_by_label("star").check()
    expect(sun.get_by_role("status")).to_have_text("Saved")
    output = learner.locator("form.quiz-question", has_text="A solar panel turns light into")
    output.get_by_label("Your answer").fill("heat")  # wrong: the result shows it
    expect(output.get_by_role("status")).to_have_text("Saved")  # autosaved after a pause in typing

    # A reload keeps the answers and the time left: the countdown goes on, it does not start again.
    learner.reload()
    assert learner.url == attempt_url
    expect(sun.get_by_label("star")).to_be_checked()
    expect(output.get_by_label("Your answer")).to_have_value("heat")
    left_after_reload = int(clock.get_attribute("data-seconds-left"))
    assert left_after_reload < started_with <= 300
    assert learner.locator(".quiz-timer .hint").inner_text() == deadline
    expect(clock).not_to_have_text("5:00")

    learner.once("dialog", lambda dialog: dialog.accept())
    learner.get_by_role("button", name="Submit the quiz").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(f"Attempt 1 · {QUIZ}")
    expect(learner.locator(".quiz-score")).to_have_text("Score: 1.00 / 2.00")
    expect(learner.locator(".quiz-result", has_text="The Sun is a")).to_contain_text("1.00 of 1.00 points")
    expect(learner.locator(".quiz-result", has_text="turns light into")).to_contain_text("Right answer:")

    # 3. The learner writes the essay and submits it; then another learner hands in theirs.
    learner.goto(org.url(f"/learn/courses/{course_id}"))
    learner.get_by_role("link", name=ESSAY).click()
    work = learner.locator("#assignment-panel")
    work.get_by_label("Your answer").fill("Our roof panel charges a battery that lights two rooms at night.")
    work.get_by_role("button", name="Submit", exact=True).click()
    expect(work.get_by_role("status").first).to_have_text("Submitted. Your teacher will grade it.")
    submit_essay(settings, org.slug, f"ben@{org.slug}.example", "We cook with the sun in a box lined with foil.")

    # 4. The teacher grades in the grader: the rubric, then the keyboard.
    teacher.goto(org.url("/teach/grading"))
    rows = teacher.locator("#queue-rows")
    expect(rows.get_by_role("row")).to_have_count(3)  # the header and two essays (the quiz needed no grader)
    rows.get_by_role("link", name="Lea Learner").click()
    sheet = teacher.locator("#submission-panel")
    expect(sheet.get_by_role("heading", level=2)).to_have_text("Lea Learner")
    expect(sheet.locator(".submission-text")).to_contain_text("lights two rooms")
    teacher.wait_for_load_state()
    first_url = teacher.url

    # The comment, then the rubric's levels (the total follows), then the keyboard: s goes to the score (left
    # empty, so the rubric's points count) and Ctrl+Enter saves a draft.
    sheet.get_by_label("Comment to the learner").fill("Clear, and a real example.")
    sheet.get_by_role("group", name="Content").get_by_label("Solid (2.00)").check()
    sheet.get_by_role("group", name="Clarity").get_by_label("Clear (2.00)").check()
    expect(sheet.locator("[data-rubric-total]")).to_have_text("8.00")  # 4 of the rubric's 6, scaled to 12
    teacher.keyboard.press("s")
    expect(sheet.get_by_label(re.compile(r"^Points"))).to_be_focused()
    teacher.keyboard.press("Control+Enter")
    expect(sheet.locator(".flash.success")).to_have_text("Saved. Learners see it once released.")
    expect(sheet).to_contain_text("Graded, not released")
    expect(sheet.locator("[data-rubric-total]")).to_have_text("8.00")
    htmx_settled(teacher)

    # j: the next learner. Only #submission-panel changes (what is outside it stays, marks included), the URL
    # follows.
    teacher.evaluate("""() => {
        window.__samePage = true;
        window.__heading = document.querySelector("h1");
        document.querySelector(".grader-side").dataset.mark = "kept";
    }""")
    teacher.keyboard.press("j")
    expect(sheet.get_by_role("heading", level=2)).to_have_text("Ben Banda")
    expect(teacher).not_to_have_url(first_url)
    assert teacher.evaluate("() => window.__samePage === true && document.querySelector('h1') === window.__heading")
    expect(teacher.locator(".grader-side")).to_have_attribute("data-mark", "kept")
    expect(teacher).to_have_title(re.compile("^Ben Banda"))
    htmx_settled(teacher)

    # Ben's essay by the keyboard only: a score typed, saved, then k back to Lea.
    teacher.keyboard.press("s")
    teacher.keyboard.type("9")
    teacher.keyboard.press("Control+Enter")
    expect(sheet.locator(".flash.success")).to_have_text("Saved. Learners see it once released.")
    htmx_settled(teacher)
    teacher.keyboard.press("k")
    expect(sheet.get_by_role("heading", level=2)).to_have_text("Lea Learner")
    expect(teacher).to_have_url(first_url)
    assert teacher.evaluate("() => window.__samePage === true && document.querySelector('h1') === window.__heading")
    htmx_settled(teacher)

    # r: release the item's drafts (after a confirmation); the page comes back on Lea's work.
    teacher.once("dialog", lambda dialog: dialog.accept())
    teacher.keyboard.press("r")
    expect(teacher).to_have_url(re.compile(re.escape(first_url) + r"\?released=2$"))
    expect(sheet.locator("p.muted").first).to_contain_text("Released")
    teacher.goto(org.url("/teach/grading"))
    expect(teacher.locator("#queue-counts")).to_contain_text("Waiting: 0 · Drafts: 0 · Released: 3")  # and the quiz
    teacher.get_by_label("Status").select_option(label="Released")
    teacher.get_by_role("button", name="Filter").click()
    expect(teacher.locator("#queue-rows").get_by_role("row", name=re.compile("^Ben Banda"))).to_contain_text(
        "9.00 / 12.00")

    # 5. The learner sees the released grade, its rubric and the comment, and it counts in their grades.
    learner.goto(org.url(f"/learn/courses/{course_id}"))
    learner.get_by_role("link", name=ESSAY).click()
    grade = learner.locator("#assignment-panel .released-grade")
    expect(grade.locator(".score")).to_have_text("8.00 / 12.00")
    expect(grade.get_by_role("row", name=re.compile("^Content"))).to_contain_text("Solid")
    expect(grade.get_by_role("row", name=re.compile("^Clarity"))).to_contain_text("Clear")
    expect(grade.locator(".grade-comment")).to_have_text("Clear, and a real example.")
    learner.goto(org.url(f"/learn/courses/{course_id}"))
    learner.locator("#my-grades-link").click()
    grades = learner.locator("#my-grades")
    expect(grades.get_by_role("row", name=re.compile(QUIZ))).to_contain_text("1.00 / 2.00")
    expect(grades.get_by_role("row", name=re.compile(ESSAY))).to_contain_text("8.00 / 12.00")
    expect(grades.get_by_role("row", name=re.compile(ESSAY))).to_contain_text("66.67 %")
    expect(learner.locator("#my-final")).to_contain_text("Final grade: 58.33 %")  # the mean of 50 % and 66.67 %
