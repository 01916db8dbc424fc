"""The quiz pages (``/learn/quizzes/...``) and the assessment panel of the builder (``/teach/assessments/...``)."""

from __future__ import annotations

import re
import uuid

from tajiconnect.domains.assessments.models import Assessment, Attempt, QuizSlot
from tajiconnect.domains.grading.models import Grade, Rubric
from tests.integration.conftest import post_form
from tests.integration.quizzes.conftest import (
    MATCHING,
    NUMERIC,
    ORDERING,
    SINGLE,
    TRUE_FALSE,
    build_quiz,
    enroll,
    load,
    tenant_session,
)

ALL = (("single", SINGLE, "2"), ("true_false", TRUE_FALSE, "1"), ("numeric", NUMERIC, "1"),
       ("ordering", ORDERING, "1"), ("matching", MATCHING, "2"))


async def test_a_learner_takes_a_timed_quiz_in_the_browser(signed_in, engine, academy, clock):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, questions=ALL, time_limit_seconds=600,
                            attempts_allowed=2)
    learner = academy.learners[0]
    await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    single, true_false, numeric, ordering, matching = quiz.questions
    async with signed_in(learner) as client:
        lesson = await client.get(f"/learn/courses/{quiz.course_id}/lessons/{quiz.lesson_id}")
        assert lesson.status_code == 200 and f'hx-get="/learn/quizzes/{quiz.lesson_id}"' in lesson.text
        intro = await client.get(f"/learn/quizzes/{quiz.lesson_id}", headers={"HX-Request": "true",
                                                                             "HX-Target": "quiz-panel"})
        assert intro.status_code == 200 and "<html" not in intro.text
        assert "10 min" in intro.text and "Start the quiz" in intro.text and ">2<" in intro.text

        started = await post_form(client, f"/learn/quizzes/{quiz.lesson_id}/start")
        assert started.status_code == 303
        page_url = started.headers["location"]
        page = await client.get(page_url)
        assert page.status_code == 200 and 'data-seconds-left="600"' in page.text and "quiz.js" in page.text
        assert page.text.count("<fieldset") == 5 and page.text.count("<legend>") == 5
        assert 'type="radio" name="option"' in page.text and 'name="pair-a"' in page.text
        assert 'data-move="-1"' in page.text and 'name="value" inputmode="decimal"' in page.text
        # Resuming from the intro goes back to the same attempt; the countdown is the server's.
        clock.advance(100)
        again = await post_form(client, f"/learn/quizzes/{quiz.lesson_id}/start")
        assert again.headers["location"] == page_url
        assert 'data-seconds-left="500"' in (await client.get(page_url)).text

        autosave = {"X-Quiz-Autosave": "1"}
        saved = await post_form(client, f"{page_url}/answers/{single}", {"option": "a"}, headers=autosave)
        assert saved.status_code == 200 and "Saved" in saved.text
        assert (await post_form(client, f"{page_url}/answers/{true_false}", {"value": "true"},
                                headers=autosave)).status_code == 200
        assert (await post_form(client, f"{page_url}/answers/{numeric}", {"value": "3,14"},
                                headers=autosave)).status_code == 200
        assert (await post_form(client, f"{page_url}/answers/{ordering}", {"order": ["a", "b", "c"]},
                                headers=autosave)).status_code == 200
        assert (await post_form(client, f"{page_url}/answers/{matching}", {"pair-a": "one", "pair-b": "three"},
                                headers=autosave)).status_code == 200
        bad = await post_form(client, f"{page_url}/answers/{single}", {"option": "zz"}, headers=autosave)
        assert bad.status_code == 422 and "Choose one of the options" in bad.text
        # Without JavaScript, saving an answer goes back to the question.
        plain = await post_form(client, f"{page_url}/answers/{single}", {"option": "a"})
        assert plain.status_code == 303 and plain.headers["location"].endswith(f"#q-{single}")
        reloaded = (await client.get(page_url)).text
        assert re.search(r'value="a" checked', reloaded) and 'value="3,14"' in reloaded

        done = await post_form(client, f"{page_url}/submit")
        assert done.status_code == 303 and done.headers["location"] == page_url
        review = await client.get(page_url)
        assert review.status_code == 200 and "Score: 6.00 / 7.00" in review.text and "Right" in review.text
        assert "Your answer:" in review.text and "<li>3,14</li>" in review.text and "&lt;" not in review.text
        [grade] = await load(engine, academy.tenant, Grade, user_id=learner.id)
        assert grade.status == "released" and grade.points == 6  # one pair of two wrong
        intro = await client.get(f"/learn/quizzes/{quiz.lesson_id}")
        assert "Start a new attempt" in intro.text and "6.00 / 7.00" in intro.text

        # Another learner's attempt, a wrong lesson in the path: 404.
        other = await build_quiz(engine, academy.tenant, academy.teacher.id)
        assert (await client.get(f"/learn/quizzes/{other.lesson_id}")).status_code == 404  # not enrolled
        attempt_id = page_url.rsplit("/", 1)[1]
        assert (await client.get(f"/learn/quizzes/{other.lesson_id}/attempts/{attempt_id}")).status_code == 404
    async with signed_in(academy.learners[1]) as client:
        await enroll(engine, academy.tenant, quiz.course_id, academy.learners[1].id)
        assert (await client.get(page_url)).status_code == 404


async def test_time_up_in_the_browser_submits_the_attempt(signed_in, engine, academy, clock):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, time_limit_seconds=60)
    learner = academy.learners[1]
    await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with signed_in(learner) as client:
        page_url = (await post_form(client, f"/learn/quizzes/{quiz.lesson_id}/start")).headers["location"]
        clock.advance(61)
        late = await post_form(client, f"{page_url}/answers/{quiz.questions[0]}", {"option": "a"},
                               headers={"X-Quiz-Autosave": "1"})
        assert late.status_code == 409 and "Time is up" in late.text
        [attempt] = await load(engine, academy.tenant, Attempt, user_id=learner.id)
        assert attempt.status == "graded" and attempt.points == 0
        review = await client.get(page_url)
        assert review.status_code == 200 and "Score: 0.00 / 3.00" in review.text


async def test_the_builder_panel_edits_settings_and_slots(signed_in, engine, academy):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, status="draft")
    extra = uuid.uuid4()
    async with tenant_session(engine, academy.tenant) as session:
        from decimal import Decimal

        from tajiconnect.domains.questions.models import Question

        session.add(Question(id=extra, bank_id=quiz.bank_id, kind="true_false", name="Extra one", text="Extra",
                             text_html="<p>Extra</p>", data=TRUE_FALSE, points=Decimal(3), tags=["x"]))
        session.add(Rubric(course_id=quiz.course_id, title="Essay rubric", criteria=[]))
    async with signed_in(academy.teacher) as client:
        editor = await client.get(f"/teach/courses/{quiz.course_id}/lessons/{quiz.lesson_id}")
        assert editor.status_code == 200 and f'hx-get="/teach/assessments/lesson/{quiz.lesson_id}"' in editor.text
        panel = await client.get(f"/teach/assessments/lesson/{quiz.lesson_id}",
                                 headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert panel.status_code == 200 and "<html" not in panel.text and "Quiz settings" in panel.text
        assert "Extra one" in panel.text and "3.00 points in all" in panel.text
        base = f"/teach/assessments/{quiz.assessment_id}"
        [a] = await load(engine, academy.tenant, Assessment, id=quiz.assessment_id)
        saved = await post_form(client, f"{base}/settings", {
            "revision": str(a.revision), "time_limit_minutes": "15", "attempts_allowed": "", "attempt_grade": "latest",
            "late_answer_policy": "mark_late", "review_when": "close", "review_detail": "answers",
            "shuffle_questions": "on", "available_from": "2030-01-01T08:00", "available_until": "2030-01-02T08:00",
            "passing_percent": "50", "weight": "2", "gradebook_category_id": "", "counts_in_gradebook": "on",
        }, headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert saved.status_code == 200 and "Settings saved" in saved.text
        [a] = await load(engine, academy.tenant, Assessment, id=quiz.assessment_id)
        assert (a.time_limit_seconds, a.attempts_allowed, a.attempt_grade, a.late_answer_policy) == (
            900, None, "latest", "mark_late")
        assert a.shuffle_questions and not a.shuffle_options
        assert 'value="2030-01-01T08:00"' in saved.text  # entered and shown in the teacher's time zone
        stale = await post_form(client, f"{base}/settings", {"revision": "1", "passing_percent": "10"},
                                headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert stale.status_code == 409 and "Reload" in stale.text
        invalid = await post_form(client, f"{base}/settings", {
            "revision": str(a.revision), "passing_percent": "150"},
            headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert invalid.status_code == 422 and 'aria-invalid="true"' in invalid.text

        added = await post_form(client, f"{base}/slots", {"source": "question", "question_id": str(extra)},
                                headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert added.status_code == 200 and "6.00 points in all" in added.text
        drawn = await post_form(client, f"{base}/slots", {"source": "draw", "bank_id": str(quiz.bank_id),
                                                          "draw_count": "5", "tags": "x"},
                                headers={"HX-Request": "true", "HX-Target": "assessment-panel"})
        assert drawn.status_code == 200 and "5 random questions" in drawn.text and "1 available" in drawn.text
        slots = sorted(await load(engine, academy.tenant, QuizSlot, assessment_id=quiz.assessment_id),
                       key=lambda s: s.position)
        assert len(slots) == 4
        moved = await post_form(client, f"{base}/slots/{slots[2].id}/up")
        assert moved.status_code == 303
        order = sorted(await load(engine, academy.tenant, QuizSlot, assessment_id=quiz.assessment_id),
                       key=lambda s: s.position)
        assert [s.id for s in order] == [slots[0].id, slots[2].id, slots[1].id, slots[3].id]
        removed = await post_form(client, f"{base}/slots/{slots[3].id}/remove")
        assert removed.status_code == 303
        page = await client.get(base)
        assert page.status_code == 200 and "5 random questions" not in page.text
        # Another teacher: 404.
    async with signed_in(academy.other_teacher) as client:
        assert (await client.get(base)).status_code == 404
        assert (await post_form(client, f"{base}/settings", {"passing_percent": "1"})).status_code == 404
        assert (await post_form(client, f"{base}/slots/{slots[0].id}/remove")).status_code == 404


async def test_the_assignment_panel_reads_the_course_rubrics(signed_in, engine, academy):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, status="draft")
    async with signed_in(academy.teacher) as client:
        module = quiz.module_id
        created = await post_form(client, f"/teach/courses/{quiz.course_id}/modules/{module}/lessons",
                                  {"kind": "assignment", "title": "Essay"})
        assert created.status_code in (200, 303)
        [assignment] = await load(engine, academy.tenant, Assessment, course_id=quiz.course_id, kind="assignment")
        async with tenant_session(engine, academy.tenant) as session:
            session.add(Rubric(course_id=quiz.course_id, title="Writing rubric", criteria=[]))
        panel = await client.get(f"/teach/assessments/{assignment.id}")
        assert panel.status_code == 200 and "Writing rubric" in panel.text and "Assignment settings" in panel.text
        saved = await post_form(client, f"/teach/assessments/{assignment.id}/settings", {
            "revision": str(assignment.revision), "due_at": "2030-05-01T17:00", "max_points": "20",
            "late_policy": "penalize", "late_penalty_percent": "5", "submission_types": "text", "max_files": "0"})
        assert saved.status_code == 303
        [assignment] = await load(engine, academy.tenant, Assessment, id=assignment.id)
        assert assignment.max_points == 20 and assignment.submission_types == ["text"]
