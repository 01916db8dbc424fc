"""``/api/v1/assessments``, ``/api/v1/quiz-slots``, ``/api/v1/attempts``: settings, slots, taking a quiz (time
limits, late policies, attempts, windows, resuming elsewhere, idempotent submission), review policies, progress,
and ids of other courses, learners and organizations."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import select

from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer, QuizSlot
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.grading.models import Grade, GradebookCategory, GradeEvent, Rubric
from tajiconnect.domains.progress.models import LessonProgress
from tests.integration.conftest import bearer, bearer_for, problem_of, tokens_for
from tests.integration.quizzes.conftest import (
    ESSAY,
    MATCHING,
    MULTIPLE,
    NUMERIC,
    ORDERING,
    SHORT,
    SINGLE,
    add_questions,
    build_quiz,
    enroll,
    load,
    tenant_session,
)


async def start(client, headers, quiz, status=201):
    response = await client.post(f"{quiz.url}/attempts", headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def answer(client, headers, attempt, question_id, response):
    return await client.put(f"/api/v1/attempts/{attempt['id']}/answers/{question_id}", headers=headers,
                            json=response)


async def test_authoring_settings_slots_publish_and_copy(browser, engine, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course = (await client.post("/api/v1/courses", headers=teacher, json={"title": "Geo"})).json()
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", headers=teacher,
                                    json={"title": "M"})).json()
        created = await client.post("/api/v1/assessments", headers=teacher, json={
            "module_id": module["id"], "kind": "quiz", "title": "Capitals", "instructions": "Answer **all**",
            "time_limit_seconds": 600, "attempts_allowed": 2, "review_when": "release"})
        assert created.status_code == 201, created.text
        quiz = created.json()
        assert (quiz["kind"], quiz["time_limit_seconds"], quiz["attempts_allowed"]) == ("quiz", 600, 2)
        assert "<strong>all</strong>" in quiz["instructions_html"] and quiz["max_points"] == "0.00"
        # A lesson of kind quiz made through the lessons API gets its assessment too.
        lesson = (await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=teacher,
                                    json={"title": "Essay", "kind": "assignment"})).json()
        [assignment] = await load(engine, academy.tenant, Assessment, lesson_id=uuid.UUID(lesson["id"]))
        assert assignment.kind == "assignment" and assignment.max_points == 100

        url = f"/api/v1/assessments/{quiz['id']}"
        patched = await client.patch(url, headers=teacher, json={"passing_percent": 60, "revision": quiz["revision"],
                                                                 "title": "Capital cities"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["passing_percent"] == 60 and patched.json()["title"] == "Capital cities"
        stale = problem_of(await client.patch(url, headers=teacher, json={"passing_percent": 1, "revision": 1}), 409)
        assert stale["field"] == "revision"
        assert problem_of(await client.patch(url, headers=teacher, json={"due_at": "2030-01-01T00:00:00Z"}),
                          409)["field"] == "due_at"  # an assignment's setting
        window = problem_of(await client.patch(url, headers=teacher, json={
            "available_from": "2030-01-02T00:00:00Z", "available_until": "2030-01-01T00:00:00Z"}), 409)
        assert window["field"] == "available_until"
        problem_of(await client.patch(url, headers=teacher, json={"time_limit_seconds": 0}), 400)
        problem_of(await client.patch(url, headers=teacher, json={"review_when": "sometimes"}), 400)

        # Rubric and category: only of the same course.
        other = await build_quiz(engine, academy.tenant, academy.teacher.id)
        async with tenant_session(engine, academy.tenant) as session:
            mine_cat = GradebookCategory(course_id=uuid.UUID(course["id"]), name="Quizzes")
            their_rubric = Rubric(course_id=other.course_id, title="R", criteria=[])
            mine_rubric = Rubric(course_id=uuid.UUID(course["id"]), title="R", criteria=[])
            session.add_all([mine_cat, their_rubric, mine_rubric])
            await session.flush()
            ids = (str(mine_cat.id), str(their_rubric.id), str(mine_rubric.id))
        assert (await client.patch(f"/api/v1/assessments/{assignment.id}", headers=teacher, json={
            "gradebook_category_id": ids[0], "rubric_id": ids[2], "max_points": "20", "late_policy": "penalize",
            "late_penalty_percent": 5, "submission_types": ["text"]})).status_code == 200
        assert problem_of(await client.patch(f"/api/v1/assessments/{assignment.id}", headers=teacher,
                                             json={"rubric_id": ids[1]}), 409)["field"] == "rubric_id"
        assert problem_of(await client.patch(f"/api/v1/assessments/{assignment.id}", headers=teacher,
                                             json={"time_limit_seconds": 60}), 409)["field"] == "time_limit_seconds"

        # Publishing refuses a quiz without questions.
        assert (await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=teacher,
                                  json={"title": "Read", "kind": "text", "body": "x"})).status_code == 201
        refused = problem_of(await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher), 409)
        assert any("Capital cities" in p and "no questions" in p for p in refused["problems"])

        # Slots: a question of another course's bank is refused; fixed + draw; points add up.
        async with tenant_session(engine, academy.tenant) as session:
            from tajiconnect.domains.questions.models import QuestionBank

            bank = QuestionBank(course_id=uuid.UUID(course["id"]), title="Mine")
            session.add(bank)
            await session.flush()
            bank_id = bank.id
        [fixed, *_rest] = await add_questions(engine, academy.tenant, bank_id, 3, category="geo/africa",
                                              tags=("capitals",))
        foreign = problem_of(await client.post(f"{url}/slots", headers=teacher,
                                               json={"question_id": str(other.questions[0])}), 409)
        assert foreign["field"] == "question_id"
        problem_of(await client.post(f"{url}/slots", headers=teacher, json={"bank_id": str(other.bank_id)}), 409)
        problem_of(await client.post(f"{url}/slots", headers=teacher, json={}), 409)
        problem_of(await client.post(f"{url}/slots", headers=teacher, json={"draw_count": 0}), 400)
        one = await client.post(f"{url}/slots", headers=teacher, json={"question_id": str(fixed), "points": "2"})
        assert one.status_code == 201, one.text
        draw = await client.post(f"{url}/slots", headers=teacher, json={
            "bank_id": str(bank_id), "category": "geo", "tags": ["Capitals"], "draw_count": 3})
        assert draw.status_code == 201 and draw.json()["pool"] == 3 and draw.json()["total_points"] == "3"
        listed = (await client.get(f"{url}/slots", headers=teacher)).json()
        assert [s["position"] for s in listed["items"]] == [1, 2] and listed["max_points"] == "5.00"
        # 3 drawn + the fixed one from a pool of 3: not satisfiable.
        refused = problem_of(await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher), 409)
        assert any("draws more questions" in p for p in refused["problems"])
        assert (await client.delete(f"/api/v1/quiz-slots/{draw.json()['id']}", headers=teacher)).status_code == 204
        assert (await client.get(f"{url}/slots", headers=teacher)).json()["max_points"] == "2.00"
        assert (await client.post(f"/api/v1/courses/{course['id']}/publish", headers=teacher)).status_code == 200

        # A copy of the course copies the assessments and the slots.
        copy = (await client.post(f"/api/v1/courses/{course['id']}/duplicate", headers=teacher)).json()
        copied = (await client.get(f"/api/v1/assessments?course_id={copy['id']}", headers=teacher)).json()
        assert sorted(i["kind"] for i in copied["items"]) == ["assignment", "quiz"]
        copied_quiz = next(i for i in copied["items"] if i["kind"] == "quiz")
        assert copied_quiz["time_limit_seconds"] == 600 and copied_quiz["id"] != quiz["id"]
        assert len((await client.get(f"/api/v1/assessments/{copied_quiz['id']}/slots",
                                     headers=teacher)).json()["items"]) == 1

        # Other staff and learners: 404 on the staff operations.
        for member in (academy.other_teacher, academy.learners[0]):
            someone = await bearer_for(client, member)
            problem_of(await client.patch(url, headers=someone, json={"passing_percent": 1}), 404)
            problem_of(await client.get(f"{url}/slots", headers=someone), 404)
            problem_of(await client.delete(f"/api/v1/quiz-slots/{one.json()['id']}", headers=someone), 404)
        assert (await client.delete(f"/api/v1/assessments/{assignment.id}", headers=teacher)).status_code == 204
        assert await load(engine, academy.tenant, Assessment, id=assignment.id) == []


async def test_taking_a_quiz_grades_it_once_and_completes_the_lesson(browser, engine, academy):
    learner = academy.learners[0]
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, with_text_lesson=True, passing_percent=50,
                            questions=(("single", SINGLE, "2"), ("multiple", MULTIPLE, "2"), ("numeric", NUMERIC, "1"),
                                       ("ordering", ORDERING, "1"), ("matching", MATCHING, "2"),
                                       ("short", SHORT, "1")))
    await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    single, multiple, numeric, ordering, matching, short = quiz.questions
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        attempt = await start(client, me, quiz)
        assert attempt["status"] == "in_progress" and attempt["deadline_at"] is None
        assert attempt["max_points"] == "9.00" and len(attempt["questions"]) == 6
        shown = {q["id"]: q for q in attempt["questions"]}
        assert {c["id"] for c in shown[str(single)]["choices"]} == {"a", "b"}
        assert "fraction" not in str(shown[str(single)])  # no answers leak
        assert [c["id"] for c in shown[str(ordering)]["choices"]] != ["a", "b", "c"]  # never already in order
        assert sorted(shown[str(matching)]["answers"]) == ["one", "three", "two"]

        for qid, response in ((single, {"option": "a"}), (multiple, {"options": ["a", "c"]}),
                              (numeric, {"value": "3.141"}), (ordering, {"order": ["a", "c", "b"]}),
                              (matching, {"pairs": {"a": "one", "b": "two"}}), (short, {"text": " kilimanjaro "})):
            saved = await answer(client, me, attempt, qid, response)
            assert saved.status_code == 200, saved.text
        # Answers that do not fit the question are 409, malformed ones 400; a question not in the attempt is 404.
        assert problem_of(await answer(client, me, attempt, single, {"option": "z"}), 409)["field"] == "response"
        problem_of(await answer(client, me, attempt, single, {"text": "a"}), 409)
        problem_of(await answer(client, me, attempt, multiple, {"options": ["a", "a"]}), 409)
        problem_of(await answer(client, me, attempt, numeric, {"value": "NaN"}), 409)
        problem_of(await answer(client, me, attempt, numeric, {"value": "1e999999"}), 409)
        problem_of(await answer(client, me, attempt, numeric, {"value": 3.14}), 400)
        problem_of(await answer(client, me, attempt, numeric, {"response": {"value": "1"}}), 400)
        problem_of(await answer(client, me, attempt, uuid.uuid4(), {"option": "a"}), 404)
        problem_of(await answer(client, me, attempt, "not-an-id", {"option": "a"}), 404)

        # Another device (another sign-in of the same learner) resumes the same attempt, answers kept.
        other_device = bearer((await tokens_for(client, learner))["access_token"])
        again = await start(client, other_device, quiz, status=200)
        assert again["id"] == attempt["id"]
        assert {q["id"]: q["response"] for q in again["questions"]}[str(single)] == {"option": "a"}
        assert [q["id"] for q in again["questions"]] == [q["id"] for q in attempt["questions"]]

        submitted = await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me)
        assert submitted.status_code == 200, submitted.text
        result = submitted.json()
        # single 2 + multiple 0 + numeric 1 + ordering 1/3 + matching 2 + short 1
        assert result["status"] == "graded" and result["points"] == "6.33" and result["review_open"]
        by_id = {q["id"]: q for q in result["questions"]}
        assert by_id[str(single)]["feedback_html"] == ["<p>Right</p>"] and by_id[str(single)]["correct"] is True
        assert by_id[str(multiple)]["earned"] == "0.00"
        twice = await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=other_device)
        assert twice.status_code == 200 and twice.json()["points"] == "6.33"
        problem_of(await answer(client, me, attempt, single, {"option": "b"}), 409)  # submitted

        [grade] = await load(engine, academy.tenant, Grade, user_id=learner.id)
        assert (grade.status, str(grade.points), grade.max_points) == ("released", "6.33", 9)
        events = await load(engine, academy.tenant, GradeEvent, grade_id=grade.id)
        assert sorted(e.action for e in events) == ["auto_graded", "released", "submitted"]
        [progress] = await load(engine, academy.tenant, LessonProgress, user_id=learner.id)
        assert progress.lesson_id == quiz.lesson_id and progress.completed_by == "grade"
        [enrollment] = await load(engine, academy.tenant, Enrollment, user_id=learner.id, course_id=quiz.course_id)
        assert enrollment.progress_percent == 50  # the quiz of two lessons (the text one not done)

        results = (await client.get(f"{quiz.url}/results", headers=me)).json()
        assert results["total"] == 1 and results["grade"] == "6.33" and results["attempts_left"] == 0
        assert results["items"][0]["counts"] is True
        refused = problem_of(await client.post(f"{quiz.url}/attempts", headers=me), 409)
        assert "all your attempts" in refused["detail"]
        # Staff see every attempt; the learner may read their quiz's settings.
        teacher = await bearer_for(client, academy.teacher)
        staff = (await client.get(f"{quiz.url}/results", headers=teacher)).json()
        assert staff["total"] == 1 and staff["items"][0]["points"] == "6.33"
        assert (await client.get(f"/api/v1/attempts/{attempt['id']}", headers=teacher)).status_code == 200
        assert (await client.get(quiz.url, headers=me)).json()["attempts_allowed"] == 1


async def test_the_time_limit_is_enforced_by_the_server(browser, engine, academy, clock):
    refuse = await build_quiz(engine, academy.tenant, academy.teacher.id, time_limit_seconds=60)
    late = await build_quiz(engine, academy.tenant, academy.teacher.id, time_limit_seconds=60,
                            late_answer_policy="mark_late")
    learner = academy.learners[1]
    for quiz in (refuse, late):
        await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        attempt = await start(client, me, refuse)
        deadline = datetime.datetime.fromisoformat(attempt["deadline_at"])
        assert abs((deadline - clock.now).total_seconds() - 60) < 1 and attempt["seconds_left"] == 60
        assert (await answer(client, me, attempt, refuse.questions[0], {"option": "a"})).status_code == 200
        clock.advance(30)
        assert (await start(client, me, refuse, status=200))["seconds_left"] == 30  # the deadline stays
        clock.advance(31)
        refused = problem_of(await answer(client, me, attempt, refuse.questions[1], {"value": True}), 409)
        assert "Time is up" in refused["detail"]
        [row] = await load(engine, academy.tenant, Attempt, id=uuid.UUID(attempt["id"]))
        assert row.status == "graded" and row.points == 2 and row.seconds_spent == 60  # submitted, first answer kept

        kept = await start(client, me, late)
        assert (await answer(client, me, kept, late.questions[0], {"option": "a"})).json()["late"] is False
        clock.advance(61)
        seen = (await client.get(f"/api/v1/attempts/{kept['id']}", headers=me)).json()
        assert seen["status"] == "in_progress" and seen["seconds_left"] == 0  # mark_late: not submitted on read
        saved = await answer(client, me, kept, late.questions[1], {"value": True})
        assert saved.status_code == 200 and saved.json()["late"] is True
        done = (await client.post(f"/api/v1/attempts/{kept['id']}/submit", headers=me)).json()
        assert done["late"] is True and done["points"] == "3.00"
        answers = await load(engine, academy.tenant, AttemptAnswer, attempt_id=uuid.UUID(kept["id"]))
        assert sorted(a.late for a in answers) == [False, True]


async def test_an_expired_attempt_is_submitted_when_next_touched(browser, engine, academy, clock):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id, time_limit_seconds=30, attempts_allowed=2,
                            attempt_grade="highest")
    learner = academy.learners[2]
    await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        first = await start(client, me, quiz)
        await answer(client, me, first, quiz.questions[1], {"value": True})
        clock.advance(45)
        second = await start(client, me, quiz)  # the first was submitted, a second starts
        assert second["id"] != first["id"] and second["number"] == 2
        assert (await client.get(f"/api/v1/attempts/{first['id']}", headers=me)).json()["points"] == "1.00"
        await answer(client, me, second, quiz.questions[0], {"option": "a"})
        best = (await client.post(f"/api/v1/attempts/{second['id']}/submit", headers=me)).json()
        assert best["points"] == "2.00"
        [grade] = await load(engine, academy.tenant, Grade, user_id=learner.id, assessment_id=quiz.assessment_id)
        assert grade.points == 2 and str(grade.attempt_id) == second["id"]


async def test_highest_keeps_the_better_attempt_and_first_keeps_the_first(browser, engine, academy):
    highest = await build_quiz(engine, academy.tenant, academy.teacher.id, attempts_allowed=5)
    first = await build_quiz(engine, academy.tenant, academy.teacher.id, attempts_allowed=5,
                             attempt_grade="first")
    learner = academy.learners[0]
    for quiz in (highest, first):
        await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        for quiz in (highest, first):
            good = await start(client, me, quiz)
            await answer(client, me, good, quiz.questions[0], {"option": "a"})
            await client.post(f"/api/v1/attempts/{good['id']}/submit", headers=me)
            worse = await start(client, me, quiz)
            assert worse["number"] == 2
            await client.post(f"/api/v1/attempts/{worse['id']}/submit", headers=me)
            [grade] = await load(engine, academy.tenant, Grade, user_id=learner.id, assessment_id=quiz.assessment_id)
            assert grade.points == 2 and str(grade.attempt_id) == good["id"]
            events = await load(engine, academy.tenant, GradeEvent, grade_id=grade.id)
            assert len([e for e in events if e.action == "auto_graded"]) == 1


async def test_window_and_staff_preview(browser, engine, academy):
    now = datetime.datetime.now(datetime.UTC)
    upcoming = await build_quiz(engine, academy.tenant, academy.teacher.id,
                                available_from=now + datetime.timedelta(days=1))
    closed = await build_quiz(engine, academy.tenant, academy.teacher.id,
                              available_from=now - datetime.timedelta(days=2),
                              available_until=now - datetime.timedelta(days=1))
    closing = await build_quiz(engine, academy.tenant, academy.teacher.id, time_limit_seconds=3600,
                               available_until=now + datetime.timedelta(minutes=10))
    learner = academy.learners[1]
    for quiz in (upcoming, closed, closing):
        await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        assert "not open yet" in problem_of(await client.post(f"{upcoming.url}/attempts", headers=me), 409)["detail"]
        assert "closed" in problem_of(await client.post(f"{closed.url}/attempts", headers=me), 409)["detail"]
        attempt = await start(client, me, closing)
        assert 590 <= attempt["seconds_left"] <= 600  # the window closes before the time limit ends
        teacher = await bearer_for(client, academy.teacher)
        assert "preview" in problem_of(await client.post(f"{closing.url}/attempts", headers=teacher),
                                       409)["detail"]


async def test_review_policies_and_manual_questions(browser, engine, academy):
    released = await build_quiz(engine, academy.tenant, academy.teacher.id, review_when="release")
    never = await build_quiz(engine, academy.tenant, academy.teacher.id, review_when="never")
    scores = await build_quiz(engine, academy.tenant, academy.teacher.id, review_detail="score")
    essay = await build_quiz(engine, academy.tenant, academy.teacher.id,
                             questions=(("single", SINGLE, "2"), ("essay", ESSAY, "5")))
    learner = academy.learners[2]
    for quiz in (released, never, scores, essay):
        await enroll(engine, academy.tenant, quiz.course_id, learner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, learner)
        for quiz in (released, never, scores):
            attempt = await start(client, me, quiz)
            await answer(client, me, attempt, quiz.questions[0], {"option": "a"})
            done = (await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me)).json()
            if quiz is scores:
                assert done["points"] == "2.00" and all(q["earned"] is None and q["feedback_html"] == []
                                                        for q in done["questions"])
            else:
                assert done["review_open"] is False and done["points"] is None
                assert all(q["earned"] is None for q in done["questions"])
        [draft] = await load(engine, academy.tenant, Grade, user_id=learner.id, assessment_id=released.assessment_id)
        assert draft.status == "draft" and draft.points == 2
        assert await load(engine, academy.tenant, LessonProgress, user_id=learner.id,
                          lesson_id=released.lesson_id) == []

        attempt = await start(client, me, essay)
        await answer(client, me, attempt, essay.questions[0], {"option": "a"})
        problem_of(await answer(client, me, attempt, essay.questions[1], {"text": "x" * 50_001}), 400)
        problem_of(await answer(client, me, attempt, essay.questions[0], {"text": "x"}), 409)
        await answer(client, me, attempt, essay.questions[1], {"text": "My essay"})
        done = (await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me)).json()
        assert done["status"] == "submitted" and done["points"] is None
        [row] = await load(engine, academy.tenant, Attempt, id=uuid.UUID(attempt["id"]))
        assert row.auto_points == 2 and row.points is None
        [pending] = await load(engine, academy.tenant, Grade, user_id=learner.id, assessment_id=essay.assessment_id)
        assert pending.status == "pending" and pending.points is None
        async with tenant_session(engine, academy.tenant) as session:
            flags = (await session.execute(select(AttemptAnswer.question_id, AttemptAnswer.needs_grading).where(
                AttemptAnswer.attempt_id == row.id))).all()
        assert dict(flags) == {essay.questions[0]: False, essay.questions[1]: True}


async def test_other_learners_courses_and_organizations_get_404(browser, engine, academy, make_academy):
    quiz = await build_quiz(engine, academy.tenant, academy.teacher.id)
    other_quiz = await build_quiz(engine, academy.tenant, academy.teacher.id)
    owner, stranger = academy.learners[0], academy.learners[1]
    await enroll(engine, academy.tenant, quiz.course_id, owner.id)
    await enroll(engine, academy.tenant, other_quiz.course_id, owner.id)
    async with browser(academy.tenant) as client:
        me = await bearer_for(client, owner)
        attempt = await start(client, me, quiz)
        # A question of another quiz in this attempt's path: 404.
        problem_of(await answer(client, me, attempt, other_quiz.questions[0], {"option": "a"}), 404)
        # Another learner (not enrolled): the quiz and the attempt are 404.
        them = await bearer_for(client, stranger)
        problem_of(await client.post(f"{quiz.url}/attempts", headers=them), 404)
        problem_of(await client.get(quiz.url, headers=them), 404)
        problem_of(await client.get(f"{quiz.url}/results", headers=them), 404)
        problem_of(await client.get(f"/api/v1/attempts/{attempt['id']}", headers=them), 404)
        problem_of(await answer(client, them, attempt, quiz.questions[0], {"option": "a"}), 404)
        problem_of(await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=them), 404)
        # Enrolled too, they still cannot touch the first learner's attempt.
        await enroll(engine, academy.tenant, quiz.course_id, stranger.id)
        problem_of(await client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=them), 404)
    elsewhere = await make_academy("qzx", learners=1)
    async with browser(elsewhere.tenant) as client:
        admin = await bearer_for(client, elsewhere.admin)
        for method, path, body in (
            ("GET", quiz.url, None),
            ("PATCH", quiz.url, {"passing_percent": 1}),
            ("DELETE", quiz.url, None),
            ("GET", f"{quiz.url}/slots", None),
            ("POST", f"{quiz.url}/slots", {"question_id": str(quiz.questions[0])}),
            ("POST", f"{quiz.url}/attempts", None),
            ("GET", f"{quiz.url}/results", None),
            ("GET", f"/api/v1/attempts/{attempt['id']}", None),
            ("PUT", f"/api/v1/attempts/{attempt['id']}/answers/{quiz.questions[0]}", {"option": "a"}),
            ("POST", f"/api/v1/attempts/{attempt['id']}/submit", None),
        ):
            problem_of(await client.request(method, path, headers=admin, json=body), 404)
    async with tenant_session(engine, academy.tenant) as session:
        slot_id = await session.scalar(select(QuizSlot.id).where(QuizSlot.assessment_id == quiz.assessment_id))
    async with browser(elsewhere.tenant) as client:
        admin = await bearer_for(client, elsewhere.admin)
        problem_of(await client.delete(f"/api/v1/quiz-slots/{slot_id}", headers=admin), 404)
