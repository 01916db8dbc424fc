"""The grader: the queue of work awaiting a grade across the courses a teacher staffs, and grading one item.

* Queue: grades ``pending`` (and, on request, ``draft`` or ``released``) of assessments of courses the caller staffs
  (``courses.access.staff_filter``), filtered by course, assessment, the learner's current group and status;
  oldest submitted first; counts per status and the oldest waiting.
* An item is a grade id. Grading an assignment: points (0..max) and/or a rubric (the chosen levels' points, scaled
  to the assessment's ``max_points``, see ``rubrics.py``) and a comment. Grading a quiz attempt with essay/code
  answers: points per manual answer (0..the question's points in the attempt) plus the automatic part. Saved as a
  draft through ``records.grade`` (a stale ``revision`` is refused, 409); ``release`` makes an assessment's drafts
  visible together. Every change stays in ``grade_events`` (shown in the grader).
* Next/previous learner: the neighbours in the same assessment's queue order (submitted time, then id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer, Submission
from tajiconnect.domains.assessments.submissions import files_of, late_penalty
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.grading import records, rubrics
from tajiconnect.domains.grading.models import GRADE_STATUSES, Grade, GradeEvent, Rubric
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.questions.models import Question
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _

CENT = Decimal("0.01")
COMMENT_MAX = 10_000
REASON_MAX = 1000


class GraderError(ValueError):
    def __init__(self, message: str, status: int = 400, field: str | None = None, revision: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.revision = revision


# --- the queue ------------------------------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    course_id: uuid.UUID | None = None
    assessment_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ("pending",)


@dataclass
class QueueItem:
    grade: Grade
    learner_name: str
    learner_email: str
    assessment: Assessment
    lesson_title: str
    course_title: str


@dataclass
class Queue:
    items: list[QueueItem]
    total: int
    #: Grades per status under the filters other than status.
    counts: dict[str, int]
    oldest_pending: Any


def _conditions(user: Any, f: QueueFilters) -> list[Any]:
    where: list[Any] = [access.staff_filter(user), Grade.submitted_at.is_not(None)]
    if f.course_id is not None:
        where.append(Grade.course_id == f.course_id)
    if f.assessment_id is not None:
        where.append(Grade.assessment_id == f.assessment_id)
    if f.group_id is not None:
        where.append(select(GroupMembership.id).where(
            GroupMembership.user_id == Grade.user_id, GroupMembership.group_id == f.group_id,
            GroupMembership.ended_at.is_(None)).exists())
    return where


async def queue(session: AsyncSession, user: Any, f: QueueFilters, *, page: int = 1, per_page: int = 25) -> Queue:
    """One page of the queue (oldest submitted first), with the counts: three statements."""
    where = _conditions(user, f)
    statuses = [s for s in f.statuses if s in GRADE_STATUSES] or ["pending"]
    stmt = (
        select(Grade, User.name, User.email, Assessment, Lesson.title, Course.title)
        .join(Course, Course.id == Grade.course_id)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(User, User.id == Grade.user_id)
        .where(*where, Grade.status.in_(statuses))
        .order_by(Grade.submitted_at, Grade.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    items = [QueueItem(g, name or email, email, a, lt, ct) for g, name, email, a, lt, ct in
             (await session.execute(stmt)).all()]
    counted = (await session.execute(
        select(Grade.status, func.count(), func.min(Grade.submitted_at))
        .join(Course, Course.id == Grade.course_id).where(*where).group_by(Grade.status)
    )).all()
    counts = {status: 0 for status in GRADE_STATUSES}
    oldest = None
    for status, n, first in counted:
        counts[status] = n
        if status == "pending":
            oldest = first
    return Queue(items, sum(counts[s] for s in statuses), counts, oldest)


# --- one item -------------------------------------------------------------------------------------------------------


@dataclass
class ManualAnswer:
    answer: AttemptAnswer
    question: Question
    max_points: Decimal


@dataclass
class Item:
    grade: Grade
    assessment: Assessment
    lesson: Lesson
    course: Course
    learner: User
    submission: Submission | None
    rubric: Rubric | None
    files: list[StoredFile] = field(default_factory=list)
    attempt: Attempt | None = None
    answers: list[ManualAnswer] = field(default_factory=list)
    events: list[GradeEvent] = field(default_factory=list)
    previous_id: uuid.UUID | None = None
    next_id: uuid.UUID | None = None

    @property
    def penalty_percent(self) -> int:
        return late_penalty(self.assessment, self.submission.late_days) if self.submission is not None else 0

    @property
    def rubric_max(self) -> Decimal | None:
        return rubrics.rubric_max(self.rubric.criteria) if self.rubric is not None else None


async def load(session: AsyncSession, user: Any, grade_id: Any, *, lock: bool = False, details: bool = True) -> Item:
    """The grade ``grade_id`` with what grading it needs, for its course's staff (404 otherwise): one statement
    (its neighbours in the queue included), plus one each for files, quiz answers and the history when
    ``details``."""
    key = parse_uuid(grade_id)
    if key is None:
        raise GraderError(_("No such work to grade here."), status=404)
    previous, following = _neighbours()
    stmt = (
        select(Grade, Assessment, Lesson, Course, User, Submission, Rubric, previous, following)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(Course, Course.id == Grade.course_id)
        .join(User, User.id == Grade.user_id)
        .outerjoin(Submission, Submission.id == Grade.submission_id)
        .outerjoin(Rubric, Rubric.id == Assessment.rubric_id)
        .where(Grade.id == key, access.staff_filter(user))
    )
    if lock:
        stmt = stmt.with_for_update(of=Grade)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise GraderError(_("No such work to grade here."), status=404)
    item = Item(*row[:7])
    item.previous_id, item.next_id = row[7], row[8]
    if item.assessment.kind == "quiz" and item.grade.attempt_id is not None:
        item.attempt = await session.get(Attempt, item.grade.attempt_id)
        item.answers = await manual_answers(session, item.attempt) if item.attempt else []
    if not details:
        return item
    if item.submission is not None:
        item.files = await files_of(session, item.submission.file_ids)
    item.events = list((await session.scalars(
        select(GradeEvent).where(GradeEvent.grade_id == item.grade.id).order_by(GradeEvent.created_at.desc())
        .limit(50))).all())
    return item


async def manual_answers(session: AsyncSession, attempt: Attempt) -> list[ManualAnswer]:
    """The attempt's essay and code answers (those a person grades), in the attempt's order, with their points."""
    points = {str(slot.get("question_id")): Decimal(str(slot.get("points") or 0)) for slot in attempt.layout or []}
    order = list(points)
    rows = (await session.execute(
        select(AttemptAnswer, Question).join(Question, Question.id == AttemptAnswer.question_id)
        .where(AttemptAnswer.attempt_id == attempt.id,
               or_(AttemptAnswer.needs_grading.is_(True), AttemptAnswer.fraction.is_(None)))
    )).all()
    found = [ManualAnswer(a, q, points.get(str(q.id), Decimal(0))) for a, q in rows]
    return sorted(found, key=lambda m: order.index(str(m.question.id)) if str(m.question.id) in order else 1_000)


def _neighbours() -> tuple[Any, Any]:
    """SQL: the previous and next grade of the same assessment as ``Grade`` in queue order (submitted time, then
    id), as scalar subqueries correlated to it."""
    other = aliased(Grade)
    here, at = tuple_(other.submitted_at, other.id), tuple_(Grade.submitted_at, Grade.id)
    same = and_(other.assessment_id == Grade.assessment_id, other.submitted_at.is_not(None))
    before = (select(other.id).where(same, here < at).order_by(other.submitted_at.desc(), other.id.desc())
              .limit(1).correlate(Grade).scalar_subquery())
    after = (select(other.id).where(same, here > at).order_by(other.submitted_at, other.id)
             .limit(1).correlate(Grade).scalar_subquery())
    return before, after


# --- grading --------------------------------------------------------------------------------------------------------


def _bounded(value: Decimal, maximum: Decimal, field_name: str) -> Decimal:
    if not value.is_finite() or value < 0 or value > maximum:
        raise GraderError(_("Points must be between 0 and %(max)s.") % {"max": maximum}, field=field_name)
    return value.quantize(CENT, ROUND_HALF_UP)


async def save(
    session: AsyncSession,
    acting: Acting,
    grade_id: Any,
    *,
    revision: int,
    points: Decimal | None = None,
    rubric_scores: dict[str, str] | None = None,
    answer_points: dict[str, Decimal] | None = None,
    answer_comments: dict[str, str] | None = None,
    comment: str | None = None,
    reason: str = "",
    release_now: bool = False,
) -> Item:
    """Grade one item (a draft unless ``release_now``); 409 when ``revision`` is not the grade's current one."""
    item = await load(session, acting.user, grade_id, lock=True, details=False)
    grade = item.grade
    if revision != grade.revision:
        raise GraderError(_("Someone changed this grade meanwhile: reload to see it."), status=409,
                          field="revision", revision=grade.revision)
    if comment is not None and len(comment) > COMMENT_MAX:
        raise GraderError(_("The comment is too long."), field="comment")
    if item.assessment.kind == "quiz":
        total = await _grade_answers(session, item, answer_points or {}, answer_comments or {})
    else:
        total = _assignment_points(item, points, rubric_scores)
    await records.grade(
        session, item.assessment, grade, points=total, actor=acting.actor,
        penalty_percent=item.penalty_percent if item.assessment.kind == "assignment" else None,
        rubric_scores=rubric_scores if item.rubric is not None else None, comment=comment,
        release_now=release_now, reason=reason[:REASON_MAX],
    )
    await record(session, acting.actor, "grading.graded", target_type="grade", target_id=str(grade.id),
                 points=str(total), released=grade.status == "released")
    return await load(session, acting.user, grade.id)


def _assignment_points(item: Item, points: Decimal | None, rubric_scores: dict[str, str] | None) -> Decimal:
    maximum = item.grade.max_points
    if rubric_scores is not None and item.rubric is None:
        raise GraderError(_("This assignment has no rubric."), field="rubric")
    if points is not None:
        return _bounded(points, maximum, "points")
    if rubric_scores:
        assert item.rubric is not None
        try:
            return rubrics.score(item.rubric.criteria, rubric_scores, maximum)
        except rubrics.RubricError as exc:
            raise GraderError(str(exc), field="rubric") from exc
    raise GraderError(_("Give points or choose the rubric's levels."), field="points")


async def _grade_answers(session: AsyncSession, item: Item, given: dict[str, Decimal],
                         comments: dict[str, str]) -> Decimal:
    attempt = item.attempt
    if attempt is None:
        raise GraderError(_("This quiz grade has no attempt to grade."), status=409)
    manual = {str(m.question.id): m for m in item.answers}
    unknown = (set(given) | set(comments)) - set(manual)
    if unknown:
        raise GraderError(_("An answer given points is not one to grade by hand."), field="answers")
    for question_id, m in manual.items():
        if question_id in given:
            m.answer.points = _bounded(given[question_id], m.max_points, f"answers.{question_id}")
            m.answer.needs_grading = False
        if question_id in comments:
            m.answer.comment = comments[question_id][:COMMENT_MAX]
        if m.answer.points is None:
            raise GraderError(_("Give points to every answer graded by hand."), field=f"answers.{question_id}")
    await session.flush()
    total = await session.scalar(select(func.coalesce(func.sum(AttemptAnswer.points), 0)).where(
        AttemptAnswer.attempt_id == attempt.id))
    attempt.points = Decimal(total or 0).quantize(CENT)
    attempt.status = "graded"
    await session.flush()
    return max(attempt.points, Decimal(0)) if attempt.points is not None else Decimal(0)


async def release(session: AsyncSession, acting: Acting, assessment_id: Any) -> int:
    """Release every draft grade of the assessment (its course's staff only; 404 otherwise)."""
    key = parse_uuid(assessment_id)
    assessment = None if key is None else await session.scalar(
        select(Assessment).join(Course, Course.id == Assessment.course_id)
        .where(Assessment.id == key, access.staff_filter(acting.user)))
    if assessment is None:
        raise GraderError(_("No such assessment here."), status=404)
    drafts = list((await session.scalars(select(Grade).where(
        Grade.assessment_id == assessment.id, Grade.status == "draft").order_by(Grade.id).with_for_update())).all())
    released = await records.release(session, assessment, drafts, actor=acting.actor)
    await record(session, acting.actor, "grading.released", target_type="assessment", target_id=str(assessment.id),
                 count=released)
    return released
