"""The demo's question bank, quiz and essay assignment, from ``tenants/demo/assessments.toml``.

Made once, after the courses, through the services a teacher and learners use: the bank is imported from a GIFT
file, the quiz draws from it, the assignment has a rubric, a learner has taken the quiz and two have handed in
their essays, which wait in the teacher's grading queue. When the tenant already has a question bank, nothing is
changed.
"""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments import attempts as quiz_attempts
from tajiconnect.domains.assessments import service as assessments
from tajiconnect.domains.assessments import submissions
from tajiconnect.domains.audit.service import Acting, Actor
from tajiconnect.domains.courses import service as courses
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.grading import rubrics
from tajiconnect.domains.questions import service as questions
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.tenancy.branding import TENANTS_DIR

DEMO_ACTOR = Actor(email="demo-setup")


def assessments_definition(slug: str, tenants_dir: Path = TENANTS_DIR) -> dict[str, Any]:
    path = tenants_dir / slug / "assessments.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def right_answer(question: Question) -> Any:
    """A response that earns the question's full points (the demo's learner knows the course)."""
    data = question.data
    if question.kind == "single":
        return {"option": max(data["options"], key=lambda o: float(o["fraction"]))["id"]}
    if question.kind == "multiple":
        return {"options": [o["id"] for o in data["options"] if float(o["fraction"]) > 0]}
    if question.kind == "true_false":
        return {"value": bool(data["answer"])}
    if question.kind == "short":
        return {"text": max(data["answers"], key=lambda a: float(a["fraction"]))["text"].replace("*", "")}
    if question.kind == "numeric":
        best = max(data["answers"], key=lambda a: float(a["fraction"]))
        return {"value": best["value"] if "value" in best else best["min"]}
    if question.kind == "matching":
        return {"pairs": {p["id"]: p["answer"] for p in data["pairs"]}}
    if question.kind == "ordering":
        return {"order": [item["id"] for item in data["items"]]}
    return {"text": "I am not sure."}


def wrong_answer(question: Question) -> Any:
    if question.kind in ("single", "multiple"):
        worst = min(question.data["options"], key=lambda o: float(o["fraction"]))["id"]
        return {"option": worst} if question.kind == "single" else {"options": [worst]}
    if question.kind == "true_false":
        return {"value": not question.data["answer"]}
    if question.kind == "numeric":
        return {"value": "-999999"}
    if question.kind == "matching":
        pairs = question.data["pairs"]
        answers = [p["answer"] for p in pairs]
        return {"pairs": {p["id"]: answers[(n + 1) % len(answers)] for n, p in enumerate(pairs)}}
    if question.kind == "ordering":
        return {"order": [item["id"] for item in reversed(question.data["items"])]}
    return {"text": "I do not know."}


async def seed_assessments(
    session: AsyncSession, spec: dict[str, Any], people: dict[str, User], files_dir: Path,
    *, now: datetime.datetime | None = None,
) -> bool:
    """Create the demo's assessments in the tenant in scope; False when it already has a question bank."""
    if not spec or await session.scalar(select(func.count()).select_from(QuestionBank)):
        return False
    now = now or datetime.datetime.now(datetime.UTC)
    course = await session.scalar(select(Course).where(Course.title == spec["bank"]["course"]))
    if course is None or course.owner_id is None:
        return False
    owner = await session.get(User, course.owner_id)
    teacher = Acting(owner, DEMO_ACTOR)

    bank = await questions.create_bank(session, teacher, course.id, title=spec["bank"]["title"])
    gift = (files_dir / spec["bank"]["file"]).read_bytes()
    await questions.import_questions(session, teacher, bank.id, gift, filename=spec["bank"]["file"],
                                     mode="all_or_nothing")
    module = await courses.add_module(session, teacher, course.id, title=spec["module"]["title"])

    quiz_spec = spec["quiz"]
    quiz_lesson = await courses.add_lesson(session, teacher, module.id, kind="quiz", title=quiz_spec["title"],
                                           body=quiz_spec.get("body", ""), estimated_minutes=quiz_spec.get("minutes"))
    quiz = await assessments.for_lesson(session, quiz_lesson.id)
    assert quiz is not None
    await assessments.update_settings(session, teacher, quiz.id, {
        "time_limit_seconds": quiz_spec.get("time_limit_seconds"),
        "passing_percent": quiz_spec.get("passing_percent"),
        "attempts_allowed": quiz_spec.get("attempts_allowed"),
    }, revision=None)
    for draw in quiz_spec.get("draws", []):
        await assessments.add_slot(session, teacher, quiz.id, bank_id=bank.id, category=draw.get("category"),
                                   draw_count=draw.get("count", 1))

    work_spec = spec["assignment"]
    work_lesson = await courses.add_lesson(session, teacher, module.id, kind="assignment", title=work_spec["title"],
                                           body=work_spec.get("body", "").strip(),
                                           estimated_minutes=work_spec.get("minutes"))
    assignment = await assessments.for_lesson(session, work_lesson.id)
    assert assignment is not None
    rubric_spec = work_spec.get("rubric")
    changes: dict[str, Any] = {
        "due_at": now + datetime.timedelta(days=int(work_spec.get("due_in_days", 7))),
        "late_policy": work_spec.get("late_policy", "accept"),
        "late_penalty_percent": work_spec.get("late_penalty_percent", 10),
        "max_points": work_spec.get("max_points", 100),
    }
    if rubric_spec:
        rubric = await rubrics.create_rubric(session, teacher, course.id, title=rubric_spec["title"],
                                             criteria=rubric_spec["criteria"])
        changes["rubric_id"] = str(rubric.id)
    await assessments.update_settings(session, teacher, assignment.id, changes, revision=None)

    for entry in spec.get("submissions", []):
        learner = people[entry["learner"]]
        work = await submissions.open_work(session, learner, work_lesson.id, lock=True)
        await submissions.submit(session, Acting(learner, DEMO_ACTOR), work, text=entry["text"].strip())

    for entry in spec.get("quiz_attempts", []):
        learner = people[entry["learner"]]
        acting = Acting(learner, DEMO_ACTOR)
        taking = await quiz_attempts.quiz_for_lesson(session, learner, quiz_lesson.id)
        attempt, _created = await quiz_attempts.start(session, acting, taking)
        ids = [entry_["question_id"] for entry_ in attempt.layout]
        by_id = {str(q.id): q for q in (await session.scalars(select(Question).where(Question.id.in_(ids)))).all()}
        for n, question_id in enumerate(ids):
            question = by_id[str(question_id)]
            answer = right_answer(question) if n < len(ids) - 1 else wrong_answer(question)
            await quiz_attempts.save_answer(session, acting, attempt.id, question_id, answer)
        await quiz_attempts.submit(session, acting, attempt.id)
    return True
