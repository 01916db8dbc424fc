"""Helpers for the quizzes tests: a published course with a quiz lesson, a bank of questions of each kind, an
enrolled learner, and a clock the attempts service reads."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.domains.assessments import attempts
from tajiconnect.domains.assessments.models import Assessment, QuizSlot
from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.tenancy.context import TenantRef
from tests.integration.courses.conftest import academy, enroll, make_academy, tenant_session  # noqa: F401

SINGLE = {"options": [{"id": "a", "html": "Nairobi", "fraction": "1", "feedback_html": "<p>Right</p>"},
                      {"id": "b", "html": "Mombasa", "fraction": "0", "feedback_html": "<p>The coast</p>"}]}
MULTIPLE = {"options": [{"id": "a", "html": "2", "fraction": "0.5"}, {"id": "b", "html": "3", "fraction": "0.5"},
                        {"id": "c", "html": "4", "fraction": "-0.5"}]}
TRUE_FALSE = {"answer": True, "feedback_true_html": "", "feedback_false_html": ""}
NUMERIC = {"answers": [{"value": "3.14", "tolerance": "0.01", "fraction": "1"}]}
ESSAY = {"min_words": None, "max_words": None, "template": ""}
ORDERING = {"items": [{"id": "a", "html": "One"}, {"id": "b", "html": "Two"}, {"id": "c", "html": "Three"}]}
MATCHING = {"pairs": [{"id": "a", "prompt_html": "1", "answer": "one"}, {"id": "b", "prompt_html": "2",
                                                                        "answer": "two"}], "distractors": ["three"]}
SHORT = {"answers": [{"text": "Kilimanjaro", "match": "ci", "fraction": "1"}]}


@dataclass
class Quiz:
    course_id: uuid.UUID
    module_id: uuid.UUID
    lesson_id: uuid.UUID
    assessment_id: uuid.UUID
    bank_id: uuid.UUID
    questions: list[uuid.UUID] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"/api/v1/assessments/{self.assessment_id}"


async def build_quiz(
    engine: AsyncEngine,
    tenant: TenantRef,
    owner_id: uuid.UUID,
    *,
    questions: tuple[tuple[str, dict[str, Any], str], ...] = (("single", SINGLE, "2"), ("true_false", TRUE_FALSE,
                                                                                        "1")),
    status: str = "published",
    with_text_lesson: bool = False,
    **settings: Any,
) -> Quiz:
    """A course owned by ``owner_id`` with one quiz lesson whose slots are ``questions`` (kind, data, points), in a
    bank of the course; ``settings`` set on the assessment."""
    async with tenant_session(engine, tenant) as session:
        course = Course(title=f"Quiz course {uuid.uuid4().hex[:6]}", status=status, owner_id=owner_id)
        session.add(course)
        await session.flush()
        module = CourseModule(course_id=course.id, title="Module", position=1)
        session.add(module)
        await session.flush()
        if with_text_lesson:
            session.add(Lesson(course_id=course.id, module_id=module.id, title="Read", kind="text", position=1,
                               body="Read", body_html="<p>Read</p>"))
        lesson = Lesson(course_id=course.id, module_id=module.id, title="Quiz", kind="quiz", position=2,
                        body="Answer everything", body_html="<p>Answer everything</p>")
        session.add(lesson)
        bank = QuestionBank(course_id=course.id, title="Bank")
        session.add(bank)
        await session.flush()
        assessment = Assessment(course_id=course.id, lesson_id=lesson.id, kind="quiz", **settings)
        session.add(assessment)
        await session.flush()
        quiz = Quiz(course.id, module.id, lesson.id, assessment.id, bank.id)
        total = Decimal(0)
        for position, (kind, data, points) in enumerate(questions, start=1):
            q = Question(bank_id=bank.id, kind=kind, text=f"Q{position}", text_html=f"<p>Question {position}</p>",
                         data=data, points=Decimal(points), position=position, category="", tags=[])
            session.add(q)
            await session.flush()
            session.add(QuizSlot(assessment_id=assessment.id, position=position, question_id=q.id, tags=[]))
            quiz.questions.append(q.id)
            total += Decimal(points)
        assessment.max_points = total
        return quiz


async def add_questions(engine: AsyncEngine, tenant: TenantRef, bank_id: uuid.UUID, count: int, *,
                        category: str = "", tags: tuple[str, ...] = ()) -> list[uuid.UUID]:
    async with tenant_session(engine, tenant) as session:
        rows = [Question(bank_id=bank_id, kind="true_false", text="T", text_html="<p>T</p>", data=TRUE_FALSE,
                         points=Decimal(1), category=category, tags=list(tags), position=100 + i)
                for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]


async def load(engine: AsyncEngine, tenant: TenantRef, model: Any, **where: Any) -> list[Any]:
    async with tenant_session(engine, tenant) as session:
        stmt = select(model).filter_by(**where)
        return list((await session.scalars(stmt)).all())


class Clock:
    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The attempts service's clock, starting at the real now (so rows' own timestamps agree)."""
    fixed = Clock(datetime.datetime.now(datetime.UTC))
    monkeypatch.setattr(attempts, "now_utc", fixed)
    return fixed
