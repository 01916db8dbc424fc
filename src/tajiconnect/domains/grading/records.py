"""Recording grades: the one place that writes ``grades`` and ``grade_events`` and completes an assessment's lesson
when its grade is released. Quizzes (automatic grading at submission), assignments (a submission awaiting a
grader), the grader and the gradebook all go through here, so a grade's history is always complete.

* :func:`submitted`: work arrived: the grade row exists (one per assessment and learner) and is ``pending`` (in
  the grading queue) unless the caller already knows the points (a quiz graded automatically).
* :func:`grade`: a grader (or the automatic grading) gives points: ``draft``, or ``released`` at once.
* :func:`release`: drafts become visible together; the lesson of each learner whose grade passes is completed
  (``complete_lesson(by="grade")``), which counts toward the course's progress.

Every change adds a ``grade_events`` row with the points before and after and who made it (the regrading trail).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.grading.models import Grade, GradeEvent

CENT = Decimal("0.01")


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def after_penalty(points: Decimal | None, penalty_percent: int) -> Decimal | None:
    """Points less a late penalty of ``penalty_percent`` (0-100), rounded to the cent; never below zero unless the
    points themselves are (negative marks)."""
    if points is None:
        return None
    penalty = max(0, min(100, penalty_percent))
    if points <= 0 or penalty == 0:
        return points.quantize(CENT, ROUND_HALF_UP)
    return (points * (100 - penalty) / 100).quantize(CENT, ROUND_HALF_UP)


def passes(grade: Grade, assessment: Assessment) -> bool:
    """A released grade completes the lesson when it reaches the passing percent (any grade, without one)."""
    if grade.score is None:
        return False
    if assessment.passing_percent is None:
        return True
    if grade.max_points <= 0:
        return True
    return grade.score * 100 >= assessment.passing_percent * grade.max_points


def _event(grade: Grade, action: str, actor: Actor, before: Decimal | None, reason: str = "") -> GradeEvent:
    return GradeEvent(grade_id=grade.id, action=action, actor_id=actor.id, actor_email=actor.email,
                      points_before=before, points_after=grade.points, reason=reason[:1000])


async def submitted(
    session: AsyncSession,
    assessment: Assessment,
    user_id: uuid.UUID,
    *,
    actor: Actor,
    at: datetime.datetime,
    attempt_id: uuid.UUID | None = None,
    submission_id: uuid.UUID | None = None,
    max_points: Decimal | None = None,
) -> Grade:
    """The learner's grade row for ``assessment``, created or brought back to ``pending`` (awaiting a grader) with
    the new work's ids; locked for the rest of the transaction. Points already given stay until regraded."""
    values = {
        "assessment_id": assessment.id, "user_id": user_id, "course_id": assessment.course_id,
        "attempt_id": attempt_id, "submission_id": submission_id, "status": "pending", "submitted_at": at,
        "max_points": max_points if max_points is not None else assessment.max_points,
    }
    stmt = (
        insert(Grade)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_update(
            index_elements=["assessment_id", "user_id"],
            set_={"attempt_id": attempt_id, "submission_id": submission_id, "status": "pending",
                  "submitted_at": at, "max_points": values["max_points"], "revision": Grade.revision + 1,
                  "updated_at": now_utc()},
        )
        .returning(Grade.id)
    )
    grade_id = (await session.execute(stmt)).scalar_one()
    grade = (
        await session.execute(
            select(Grade).where(Grade.id == grade_id).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one()
    session.add(_event(grade, "submitted", actor, grade.points))
    return grade


async def grade(
    session: AsyncSession,
    assessment: Assessment,
    grade_row: Grade,
    *,
    points: Decimal,
    actor: Actor,
    penalty_percent: int | None = None,
    rubric_scores: dict[str, str] | None = None,
    comment: str | None = None,
    release_now: bool = False,
    reason: str = "",
    automatic: bool = False,
) -> Grade:
    """Give ``points`` (out of the grade's ``max_points``): ``draft``, or ``released`` with ``release_now``. A grade
    that had points is ``regraded`` (the event keeps the old points and the reason)."""
    before = grade_row.points
    action = "auto_graded" if automatic else ("regraded" if before is not None else "graded")
    grade_row.points = points.quantize(CENT, ROUND_HALF_UP)
    if penalty_percent is not None:
        grade_row.penalty_percent = penalty_percent
    grade_row.score = after_penalty(grade_row.points, grade_row.penalty_percent)
    if rubric_scores is not None:
        grade_row.rubric_scores = dict(rubric_scores)
    if comment is not None:
        grade_row.comment = comment
    grade_row.graded_by_id = None if automatic else actor.id
    grade_row.graded_at = now_utc()
    grade_row.revision += 1
    was_released = grade_row.status == "released"
    grade_row.status = "released" if (release_now or was_released) else "draft"
    session.add(_event(grade_row, action, actor, before, reason))
    await session.flush()
    if grade_row.status == "released" and not was_released:
        grade_row.released_at = grade_row.graded_at
        session.add(_event(grade_row, "released", actor, grade_row.points))
        await _complete_lessons(session, assessment, [grade_row])
        await _tell_released(session, assessment, [grade_row])
    elif was_released:
        await _complete_lessons(session, assessment, [grade_row])  # a regrade may now pass
        await _record_skills(session, assessment, [grade_row])
    return grade_row


async def release(session: AsyncSession, assessment: Assessment, grades: Sequence[Grade], *, actor: Actor) -> int:
    """Release the given ``draft`` grades together (others are left as they are); how many were released."""
    now = now_utc()
    released = [g for g in grades if g.status == "draft" and g.points is not None]
    for g in released:
        g.status = "released"
        g.released_at = now
        g.revision += 1
        session.add(_event(g, "released", actor, g.points))
    await session.flush()
    await _complete_lessons(session, assessment, released)
    await _tell_released(session, assessment, released)
    return len(released)


async def _tell_released(session: AsyncSession, assessment: Assessment, grades: Sequence[Grade]) -> None:
    """Notify each learner of their released grade (once per grade: domains/notifications/events.py), and record
    the skills the assessment builds (docs/skills.md)."""
    from tajiconnect.domains.courses.models import Lesson
    from tajiconnect.domains.notifications import events

    if grades:
        lesson = await session.get(Lesson, assessment.lesson_id)
        await events.graded(session, grades, lesson.title if lesson else "")
        await _record_skills(session, assessment, grades)


async def _record_skills(session: AsyncSession, assessment: Assessment, grades: Sequence[Grade]) -> None:
    """Defer the skill evidence of the passing released grades, when the assessment builds a skill; a released
    grade that no longer passes (a regrade) takes its evidence away."""
    from tajiconnect.domains.skills import evidence

    released = [g for g in grades if g.status == "released"]
    if not released or not await evidence.builds_skills(session, assessment_id=assessment.id):
        return
    await evidence.forget_assessment(session, assessment.id, [g.user_id for g in released if not passes(g, assessment)])
    await evidence.defer_for(session, [g.user_id for g in released if passes(g, assessment)])


async def _complete_lessons(session: AsyncSession, assessment: Assessment, grades: Sequence[Grade]) -> None:
    """Complete the assessment's lesson for each learner whose released grade passes (idempotent: completing a
    completed lesson changes nothing)."""
    from tajiconnect.domains.progress.service import ProgressError, complete_lesson

    passing = [g.user_id for g in grades if g.status == "released" and passes(g, assessment)]
    if not passing:
        return
    users = (await session.execute(select(User).where(User.id.in_(passing)))).scalars().all()
    for user in users:
        try:
            await complete_lesson(session, user, assessment.lesson_id, by="grade")
        except ProgressError:
            continue  # no longer enrolled (withdrawn) or the course is locked by a path: the grade still stands
