"""Quiz analytics and the similarity check through HTTP: the numbers, staff only, other tenants 404, passages
escaped, the check stores and updates pairs."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from sqlalchemy import select

from tajiconnect.domains.assessments.models import Attempt, AttemptAnswer, Submission
from tajiconnect.domains.grading.models import SimilarityMatch
from tajiconnect.domains.questions.models import Question, QuestionBank
from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.gradebook.conftest import NOW, graded_course
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import enroll

P1 = ("Solar panels turn sunlight into electricity through the photovoltaic effect, and the current they make "
      "is direct current that a charge controller feeds into the battery bank <script>alert(1)</script>.")
P2 = ("Rainwater harvesting collects runoff from roofs into tanks, where it settles and can be filtered before "
      "people drink it or use it to water the vegetable garden in the dry season.")
P3 = ("Markets in the old town open before sunrise; traders bring mangoes, cassava and dried fish from the coast "
      "and bargain loudly with shopkeepers until the midday heat sends everyone home.")


async def quiz_with_attempts(engine, tenant, owner_id, learners):
    course = await graded_course(engine, tenant, owner_id=owner_id, kinds=("quiz",))
    quiz = course.items[0]
    async with tenant_session(engine, tenant) as session:
        bank = QuestionBank(course_id=course.id, title="Bank")
        session.add(bank)
        await session.flush()
        questions = [Question(bank_id=bank.id, kind="single", name=f"Q{n + 1}", text=f"Question {n + 1}")
                     for n in range(3)]
        session.add_all(questions)
        await session.flush()
        # Q1 everyone right; Q2 right for the strong only; Q3 an essay graded by hand (2 of 4 points) for some.
        plan = [(Decimal(1), Decimal(1), Decimal(4)), (Decimal(1), Decimal(1), Decimal(2)),
                (Decimal(1), Decimal(0), None), (Decimal(1), Decimal(0), Decimal(0))]
        for n, (learner, (f1, f2, essay)) in enumerate(zip(learners, plan, strict=True)):
            layout = [{"question_id": str(q.id), "points": p} for q, p in zip(questions, ("1", "1", "4"), strict=True)]
            points = f1 + f2 + (essay or 0)
            attempt = Attempt(assessment_id=quiz, user_id=learner.id, number=1, status="graded", started_at=NOW,
                              submitted_at=NOW + datetime.timedelta(minutes=2 * (n + 1)), layout=layout,
                              points=points, max_points=Decimal(6))
            session.add(attempt)
            await session.flush()
            session.add(AttemptAnswer(attempt_id=attempt.id, question_id=questions[0].id, response={"option": "a"},
                                      fraction=f1, points=f1))
            session.add(AttemptAnswer(attempt_id=attempt.id, question_id=questions[1].id, response={"option": "b"},
                                      fraction=f2, points=f2))
            session.add(AttemptAnswer(attempt_id=attempt.id, question_id=questions[2].id, response={"text": "x"},
                                      fraction=None, points=essay, needs_grading=essay is None))
        session.add(Attempt(assessment_id=quiz, user_id=learners[0].id, number=2, status="in_progress",
                            started_at=NOW, layout=[], max_points=Decimal(6)))  # not counted
    return course, quiz, questions


async def test_quiz_analytics(org, other_org, make_user, engine, client_for, signed_in):
    teacher = await make_user(org.tenant, ["teacher"])
    learners = [await make_user(org.tenant) for _ in range(4)]
    course, quiz, questions = await quiz_with_attempts(engine, org.tenant, teacher.id, learners)
    async with client_for(org.tenant) as client:
        answer = await client.get(f"/api/v1/assessments/{quiz}/analytics", headers=await bearer_for(client, teacher))
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["attempts"] == 4 and data["scored"] == 4 and data["average_seconds"] == 300.0
        # percents: 6/6, 4/6, 1/6 (essay not graded yet: points 1), 1/6
        assert [b["count"] for b in data["distribution"]] == [0, 2, 0, 0, 0, 0, 1, 0, 0, 1]
        stats = {q["name"]: q for q in data["questions"]}
        assert stats["Q1"]["facility"] == 1.0 and stats["Q1"]["discrimination"] == 0.0
        assert stats["Q2"]["facility"] == 0.5 and stats["Q2"]["discrimination"] == 1.0
        assert stats["Q3"]["answered"] == 3 and stats["Q3"]["facility"] == 0.5  # (1 + 0.5 + 0) / 3
        assert data["most_missed"][0] in (str(questions[1].id), str(questions[2].id))
        stranger = await bearer_for(client, await make_user(org.tenant, ["teacher"]))
        problem_of(await client.get(f"/api/v1/assessments/{quiz}/analytics", headers=stranger), 404)
        problem_of(await client.get(f"/api/v1/assessments/{uuid.uuid4()}/analytics", headers=stranger), 404)
        problem_of(await client.get(f"/api/v1/assessments/{quiz}/similarity",
                                    headers=await bearer_for(client, teacher)), 404)  # a quiz, not an assignment
    async with client_for(other_org.tenant) as client:
        problem_of(await client.get(f"/api/v1/assessments/{quiz}/analytics",
                                    headers=await bearer_for(client, other_org.admin)), 404)
    async with signed_in(teacher) as browser:
        page = await browser.get(f"/teach/assessments/{quiz}/analytics")
        assert page.status_code == 200
        assert "Q2" in page.text and "5:00" in page.text and "<meter" in page.text
    async with signed_in(learners[0]) as browser:
        assert (await browser.get(f"/teach/assessments/{quiz}/analytics")).status_code == 403
    assert course


async def test_similarity_check(org, other_org, make_user, engine, client_for, signed_in):
    teacher = await make_user(org.tenant, ["teacher"])
    learners = [await make_user(org.tenant, name=f"Writer {n}") for n in range(4)]
    course = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("assignment",))
    assignment = course.items[0]
    texts = [P1 + "\n\n" + P2, P2 + "\n\n" + P1.upper(), P3, ""]  # 0 and 1: reordered copy; 2 unrelated; 3 empty
    async with tenant_session(engine, org.tenant) as session:
        subs = []
        for learner, text in zip(learners, texts, strict=True):
            await session.flush()
            row = Submission(assessment_id=assignment, user_id=learner.id, text=text, status="submitted",
                             submitted_at=NOW, version=1)
            session.add(row)
            subs.append(row)
        session.add(Submission(assessment_id=assignment, user_id=teacher.id, text=P1 + P2, status="draft"))
        await session.flush()
        sub_ids = [s.id for s in subs]
    for learner in learners:
        await enroll(engine, org.tenant, learner.id, course.id)
    page = f"/teach/assessments/{assignment}/similarity"
    async with signed_in(teacher) as browser:
        assert "No pair flagged" in (await browser.get(page)).text
        refused = await post_form(browser, f"{page}/check", {"threshold": "0"})
        assert refused.status_code == 422 and "from 1 to 100" in refused.text
        checked = await post_form(browser, f"{page}/check", {"threshold": "30"})
        assert checked.status_code == 303
        html = (await browser.get(page)).text
        assert "Writer 0" in html and "Writer 1" in html and "Writer 2" not in html
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # passages are escaped
    async with tenant_session(engine, org.tenant) as session:
        stored = list((await session.scalars(select(SimilarityMatch))).all())
    mine = [m for m in stored if m.assessment_id == assignment]
    assert len(mine) == 1 and {mine[0].submission_a_id, mine[0].submission_b_id} == set(sub_ids[:2])
    assert mine[0].submission_a_id < mine[0].submission_b_id and 30 <= mine[0].score < 100
    async with client_for(org.tenant) as client:
        data = (await client.get(f"/api/v1/assessments/{assignment}/similarity",
                                 headers=await bearer_for(client, teacher))).json()
        assert data["total"] == 1 and data["items"][0]["passages"][0]["a"]
        problem_of(await client.get(f"/api/v1/assessments/{assignment}/similarity",
                                    headers=await bearer_for(client, learners[0])), 403)
    async with client_for(other_org.tenant) as client:
        problem_of(await client.get(f"/api/v1/assessments/{assignment}/similarity",
                                    headers=await bearer_for(client, other_org.admin)), 404)
    # A resubmission that no longer copies: the pair goes at the next check (and the update keeps one row per pair).
    async with tenant_session(engine, org.tenant) as session:
        row = await session.get(Submission, sub_ids[1])
        assert row is not None
        row.text = P3 + " and then some words of my own to make it different from the rest of the class"
    async with signed_in(teacher) as browser:
        assert (await post_form(browser, f"{page}/check", {"threshold": "90"})).status_code == 303
        assert "No pair flagged" not in (await browser.get(page)).text  # 1 vs 2 now share P3 entirely
    async with tenant_session(engine, org.tenant) as session:
        pairs = {(m.submission_a_id, m.submission_b_id)
                 for m in (await session.scalars(select(SimilarityMatch).where(
                     SimilarityMatch.assessment_id == assignment))).all()}
    assert pairs == {tuple(sorted((sub_ids[1], sub_ids[2])))}
    assert len(await audit_entries(engine, org.tenant, "similarity.checked")) >= 2
    stranger = await make_user(org.tenant, ["teacher"])
    async with signed_in(stranger) as browser:
        assert (await browser.get(page)).status_code == 404
        assert (await post_form(browser, f"{page}/check", {"threshold": "30"})).status_code == 404
