"""Helpers for the assignments and grader tests: an assignment lesson with its assessment row (written straight to
the models: creating it with the lesson is another helper's), attachment uploads, quiz attempts with essay answers,
and a clock for the submissions service."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.domains.assessments import submissions
from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.grading import records
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tenancy.context import TenantRef
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import Built, Clock, build_course, enroll

NOW = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@dataclass
class Task:
    course: Built
    assessment_id: uuid.UUID

    @property
    def lesson_id(self) -> uuid.UUID:
        return self.course.lessons[0]

    @property
    def page(self) -> str:
        return f"/learn/assignments/{self.lesson_id}"

    @property
    def api(self) -> str:
        return f"/api/v1/assessments/{self.assessment_id}/submission"


async def make_assignment(engine: AsyncEngine, tenant: TenantRef, owner_id: uuid.UUID | None, *,
                          learners: tuple[uuid.UUID, ...] = (), kind: str = "assignment",
                          **values: Any) -> Task:
    """A published course whose one lesson is an assignment (or quiz), its assessment, ``learners`` enrolled."""
    course = await build_course(engine, tenant, kinds=(kind,), per_module=1, owner_id=owner_id,
                                lesson_values={0: {"body_html": "<p>Write an essay about rivers.</p>"}})
    async with tenant_session(engine, tenant) as session:
        assessment = Assessment(course_id=course.id, lesson_id=course.lessons[0], kind=kind, **values)
        session.add(assessment)
        await session.flush()
        assessment_id = assessment.id
    for learner in learners:
        await enroll(engine, tenant, learner, course.id)
    return Task(course, assessment_id)


async def attachment(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, *, name: str = "essay.pdf",
                     purpose: str = "attachment") -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        file = StoredFile(purpose=purpose, status="ready", backend="local", key=f"tenants/{tenant.id}/files/"
                          f"{uuid.uuid4()}/original", original_name=name, content_type="application/pdf", size=10,
                          uploaded_by_id=user_id, ready_at=NOW)
        session.add(file)
        await session.flush()
        return file.id


async def make_group(engine: AsyncEngine, tenant: TenantRef, members: list[uuid.UUID]) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        group = Group(name=f"Team {uuid.uuid4().hex[:6]}", kind="team")
        session.add(group)
        await session.flush()
        session.add_all(GroupMembership(group_id=group.id, user_id=m, role="member") for m in members)
        return group.id


async def essay_attempt(engine: AsyncEngine, tenant: TenantRef, task: Task, learner_id: uuid.UUID) -> uuid.UUID:
    """A submitted attempt of the quiz ``task``: one single-choice answer graded automatically (2 of 2 points) and
    one essay awaiting a grader (out of 8); its grade is ``pending``. The grade's id."""
    async with tenant_session(engine, tenant) as session:
        bank = QuestionBank(course_id=task.course.id, title="Bank")
        session.add(bank)
        await session.flush()
        auto = Question(bank_id=bank.id, kind="single", text="Pick", text_html="<p>Pick</p>",
                        data={"options": [{"id": "a", "html": "A", "fraction": "1", "feedback_html": ""}]},
                        points=Decimal(2))
        essay = Question(bank_id=bank.id, kind="essay", text="Explain", text_html="<p>Explain rivers</p>",
                         data={"min_words": None, "max_words": None, "template": ""}, points=Decimal(8))
        code = Question(bank_id=bank.id, kind="code", text="Code", text_html="<p>Write code</p>",
                        data={"language": "python", "template": ""}, points=Decimal(5))
        session.add_all([auto, essay, code])
        await session.flush()
        attempt = Attempt(assessment_id=task.assessment_id, user_id=learner_id, number=1, status="submitted",
                          started_at=NOW, submitted_at=NOW, max_points=Decimal(15), auto_points=Decimal(2),
                          layout=[{"question_id": str(auto.id), "points": "2"},
                                  {"question_id": str(essay.id), "points": "8"},
                                  {"question_id": str(code.id), "points": "5"}])
        session.add(attempt)
        await session.flush()
        session.add_all([
            AttemptAnswer(attempt_id=attempt.id, question_id=auto.id, response={"option": "a"},
                          fraction=Decimal(1), points=Decimal(2)),
            AttemptAnswer(attempt_id=attempt.id, question_id=essay.id, response={"text": "Rivers flow."},
                          needs_grading=True),
            AttemptAnswer(attempt_id=attempt.id, question_id=code.id,
                          response={"text": "print('<b>hi</b>')"}, needs_grading=True),
        ])
        await session.flush()
        assessment = await session.get(Assessment, task.assessment_id)
        assert assessment is not None
        grade = await records.submitted(session, assessment, learner_id, actor=Actor(id=learner_id), at=NOW,
                                        attempt_id=attempt.id, max_points=Decimal(15))
        return grade.id


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(NOW)
    monkeypatch.setattr(submissions, "now_utc", fixed)
    return fixed
