"""The demo school gets a question bank imported from GIFT, a timed quiz drawing from it, an essay assignment with a
rubric, a quiz already taken and two essays waiting in the teacher's grading queue: through the product's own
services, once."""

from __future__ import annotations

from sqlalchemy import func, select

from tajiconnect.demo import DEMO_SLUG, seed_demo
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment, Attempt, QuizSlot, Submission
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.grading.models import Grade, Rubric
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.tenancy.service import load_tenant
from tests.integration.groups.conftest import tenant_session


async def test_the_demo_school_has_a_bank_a_quiz_an_assignment_and_work_to_grade(engine, settings):
    await seed_demo(engine)
    await seed_demo(engine)  # a second run changes nothing
    tenant = await load_tenant(engine, DEMO_SLUG)
    async with tenant_session(engine, tenant) as session:
        banks = (await session.scalars(select(QuestionBank))).all()
        kinds = set((await session.scalars(select(Question.kind))).all())
        quiz = await session.scalar(select(Assessment).where(Assessment.kind == "quiz"))
        assignment = await session.scalar(select(Assessment).where(Assessment.kind == "assignment"))
        slots = (await session.scalars(select(QuizSlot))).all()
        rubric = await session.scalar(select(Rubric))
        attempts = (await session.scalars(select(Attempt))).all()
        submitted = await session.scalar(select(func.count()).select_from(Submission)
                                         .where(Submission.status == "submitted"))
        grades = (await session.scalars(select(Grade))).all()
        course = await session.scalar(select(Course).where(Course.title == "Solar energy basics"))
        lessons = (await session.scalars(select(Lesson.kind).where(Lesson.course_id == course.id))).all()
        faith = await session.scalar(select(User).where(User.email == "student2@demo.tajiconnect.test"))
        faiths = await session.scalar(select(Enrollment).where(Enrollment.user_id == faith.id,
                                                               Enrollment.course_id == course.id))
    assert len(banks) == 1 and banks[0].course_id == course.id
    assert {"single", "multiple", "true_false", "short", "numeric", "matching", "essay"} <= kinds
    assert quiz.time_limit_seconds == 600 and quiz.passing_percent == 60 and quiz.attempts_allowed == 2
    assert sorted((s.category, s.draw_count) for s in slots) == [("Solar/How it works", 3), ("Solar/Parts", 2)]
    assert {s.bank_id for s in slots} == {banks[0].id}
    assert assignment.rubric_id == rubric.id and assignment.late_policy == "penalize"
    assert assignment.due_at is not None and assignment.max_points == 20
    assert {"quiz", "assignment"} <= set(lessons)
    # Faith took the quiz (all right but one, graded at submission) and handed in her essay; so did Brian.
    assert len(attempts) == 1 and attempts[0].user_id == faith.id and attempts[0].status in ("submitted", "graded")
    assert 0 < attempts[0].points < attempts[0].max_points
    assert submitted == 2
    assert [(g.user_id, g.status, g.score) for g in grades if g.assessment_id == quiz.id] == [
        (faith.id, "released", attempts[0].points)]
    assert sum(1 for g in grades if g.assessment_id == assignment.id and g.status == "pending") == 2
    # Her progress counts the quiz and the assignment among the course's lessons.
    assert faiths.progress_percent < 100
