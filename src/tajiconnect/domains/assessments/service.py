"""Assessments' settings (quizzes and assignments) and quizzes' slots, for the course's staff.

An assessment is created with its lesson (:func:`create_for_lesson`, called by the courses service) and copied
with its course (:func:`copy_for_course`). Settings are saved with a revision check (a stale form is refused,
409), validated field by field (:class:`AssessmentError` names the ``field``) and audited. A quiz's
``max_points`` is the sum of its slots' points: a fixed question counts its slot's points (or the question's
own), a random draw counts ``draw_count`` x its slot's points (1 when not given).

An assessment the caller may not edit - another course, another organization - is "not found" (404).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Text, func, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import (
    ATTEMPT_GRADES,
    LATE_ANSWER_POLICIES,
    LATE_POLICIES,
    MAX_TIME_LIMIT_SECONDS,
    REVIEW_DETAILS,
    REVIEW_WHENS,
    SUBMISSION_TYPES,
    Assessment,
    QuizSlot,
)
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.grading.models import GradebookCategory, Rubric
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.i18n import gettext as _

SLOTS_MAX = 200
DRAW_MAX = 200
TAGS_MAX = 20
TAG_MAX = 40
CATEGORY_MAX = 200
GROUPS_MAX = 200
POINTS_MAX = Decimal(10_000)
MAX_POINTS_MAX = Decimal(100_000)
WEIGHT_MAX = Decimal(1000)
CENT = Decimal("0.01")


class AssessmentError(ValueError):
    """A refused operation: ``status`` 400 (invalid input, ``field``), 404 (not found) or 409 (state refuses)."""

    status = 400

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        if status is not None:
            self.status = status


class NotFound(AssessmentError):
    status = 404

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("No such assessment here."))


class Conflict(AssessmentError):
    status = 409


@dataclass
class Staffed:
    assessment: Assessment
    lesson: Lesson
    course: Course


# --- creation with the lesson, copies -------------------------------------------------------------------------


async def create_for_lesson(session: AsyncSession, lesson: Lesson) -> Assessment | None:
    """The settings row of a new quiz or assignment lesson (None for other kinds), in the caller's transaction."""
    if lesson.kind not in ("quiz", "assignment"):
        return None
    assessment = Assessment(course_id=lesson.course_id, lesson_id=lesson.id, kind=lesson.kind,
                            max_points=Decimal(0) if lesson.kind == "quiz" else Decimal(100))
    session.add(assessment)
    await session.flush()
    return assessment


COPIED = (
    "kind", "max_points", "passing_percent", "available_from", "available_until", "due_at", "weight",
    "counts_in_gradebook", "time_limit_seconds", "late_answer_policy", "attempts_allowed", "attempt_grade",
    "shuffle_questions", "shuffle_options", "review_when", "review_detail", "submission_types", "max_files",
    "late_policy", "late_penalty_percent", "group_submission",
)


async def copy_for_course(session: AsyncSession, new_course_id: uuid.UUID, lessons: dict[uuid.UUID, uuid.UUID]) -> None:
    """Copy the assessments (and quiz slots) of the lessons ``lessons`` maps (old id -> new id) into the new course.
    Banks, rubrics and categories belong to the old course: fixed questions and draws keep pointing at them (the
    staff of the copy re-point them); rubric, category and groups are left empty."""
    if not lessons:
        return
    sources = (await session.scalars(select(Assessment).where(Assessment.lesson_id.in_(list(lessons))))).all()
    if not sources:
        return
    slots = (await session.scalars(
        select(QuizSlot).where(QuizSlot.assessment_id.in_([a.id for a in sources])).order_by(QuizSlot.position)
    )).all()
    for source in sources:
        copy = Assessment(course_id=new_course_id, lesson_id=lessons[source.lesson_id],
                          **{name: getattr(source, name) for name in COPIED})
        copy.submission_types = list(source.submission_types)
        copy.group_ids = []
        session.add(copy)
        await session.flush()
        session.add_all(
            QuizSlot(assessment_id=copy.id, position=s.position, question_id=s.question_id, bank_id=s.bank_id,
                     category=s.category, tags=list(s.tags), draw_count=s.draw_count, points=s.points)
            for s in slots if s.assessment_id == source.id
        )
    await session.flush()


# --- reading --------------------------------------------------------------------------------------------------


async def get_staffed(session: AsyncSession, user: Any, assessment_id: Any, *, lock: bool = False) -> Staffed:
    """The assessment with its lesson and course, if ``user`` is staff of the course; else :class:`NotFound`."""
    aid = parse_uuid(assessment_id)
    if aid is None:
        raise NotFound()
    stmt = (
        select(Assessment, Lesson, Course)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(Course, Course.id == Assessment.course_id)
        .where(Assessment.id == aid, access.staff_filter(user))
    )
    if lock:
        stmt = stmt.with_for_update(of=Assessment)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound()
    return Staffed(row[0], row[1], row[2])


async def for_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> Assessment | None:
    return await session.scalar(select(Assessment).where(Assessment.lesson_id == lesson_id))


async def list_staffed(
    session: AsyncSession, user: Any, *, course_id: uuid.UUID | None, kind: str | None, page: int, per_page: int
) -> tuple[list[Staffed], int]:
    """The assessments of the courses ``user`` edits (optionally one course, one kind), in course outline order."""
    where: list[ColumnElement[bool]] = [access.staff_filter(user)]
    if course_id is not None:
        where.append(Assessment.course_id == course_id)
    if kind is not None:
        where.append(Assessment.kind == kind)
    base = (
        select(Assessment, Lesson, Course)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(Course, Course.id == Assessment.course_id)
        .where(*where)
    )
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = (await session.execute(
        base.order_by(Course.title, Course.id, Lesson.module_id, Lesson.position)
        .limit(per_page).offset((page - 1) * per_page)
    )).all()
    return [Staffed(a, lesson, c) for a, lesson, c in rows], total


# --- settings -------------------------------------------------------------------------------------------------


def _aware(value: Any, field: str) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError as exc:
            raise AssessmentError(_("Enter a date and time."), field) from exc
    if not isinstance(value, datetime.datetime):
        raise AssessmentError(_("Enter a date and time."), field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError as exc:
        raise AssessmentError(_("Enter a date and time."), field) from exc


def _int(value: Any, field: str, low: int, high: int, *, optional: bool) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise AssessmentError(_("Enter a whole number."), field)
    if isinstance(value, bool):
        raise AssessmentError(_("Enter a whole number."), field)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as exc:
        raise AssessmentError(_("Enter a whole number."), field) from exc
    if not low <= number <= high:
        raise AssessmentError(_("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}, field)
    return number


def _decimal(value: Any, field: str, high: Decimal, *, optional: bool = False) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        raise AssessmentError(_("Enter a number."), field)
    if isinstance(value, bool):
        raise AssessmentError(_("Enter a number."), field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise AssessmentError(_("Enter a number."), field) from exc
    if not number.is_finite() or not Decimal(0) <= number <= high:
        raise AssessmentError(_("Enter a number from 0 to %(high)s.") % {"high": high}, field)
    return number.quantize(CENT)


def _choice(value: Any, field: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise AssessmentError(_("This is not a valid choice."), field)
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)


SETTINGS = (
    "passing_percent", "available_from", "available_until", "weight", "counts_in_gradebook",
    "gradebook_category_id", "rubric_id",
    "time_limit_seconds", "late_answer_policy", "attempts_allowed", "attempt_grade", "shuffle_questions",
    "shuffle_options", "review_when", "review_detail",
    "due_at", "late_policy", "late_penalty_percent", "submission_types", "max_files", "group_submission",
    "group_ids", "max_points",
)
QUIZ_ONLY = frozenset({"time_limit_seconds", "late_answer_policy", "attempts_allowed", "attempt_grade",
                       "shuffle_questions", "shuffle_options", "review_when", "review_detail"})
ASSIGNMENT_ONLY = frozenset({"due_at", "late_policy", "late_penalty_percent", "submission_types", "max_files",
                             "group_submission", "group_ids", "max_points"})


async def _course_row(session: AsyncSession, model: Any, value: Any, course_id: uuid.UUID, field: str) -> Any:
    if value is None or value == "":
        return None
    row_id = parse_uuid(value)
    found = row_id is not None and await session.scalar(
        select(model.id).where(model.id == row_id, model.course_id == course_id)
    )
    if not found:
        raise AssessmentError(_("This is not a valid choice."), field)
    return row_id


async def _groups(session: AsyncSession, values: Any) -> list[uuid.UUID]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise AssessmentError(_("This is not a valid choice."), "group_ids")
    ids: list[uuid.UUID] = []
    for value in values:
        gid = parse_uuid(value)
        if gid is None:
            raise AssessmentError(_("This is not a valid choice."), "group_ids")
        if gid not in ids:
            ids.append(gid)
    if len(ids) > GROUPS_MAX:
        raise AssessmentError(_("At most %(max)d groups.") % {"max": GROUPS_MAX}, "group_ids")
    if ids:
        found = set((await session.scalars(select(Group.id).where(Group.id.in_(ids)))).all())
        if found != set(ids):
            raise AssessmentError(_("This is not a valid choice."), "group_ids")
    return ids


async def _apply(session: AsyncSession, a: Assessment, changes: dict[str, Any]) -> None:
    for name in changes:
        if name not in SETTINGS:
            raise AssessmentError(_("Unknown field."), name)
        if a.kind == "quiz" and name in ASSIGNMENT_ONLY:
            raise AssessmentError(_("This setting is for assignments."), name)
        if a.kind == "assignment" and name in QUIZ_ONLY:
            raise AssessmentError(_("This setting is for quizzes."), name)
    c = changes
    if "passing_percent" in c:
        a.passing_percent = _int(c["passing_percent"], "passing_percent", 0, 100, optional=True)
    if "available_from" in c:
        a.available_from = _aware(c["available_from"], "available_from")
    if "available_until" in c:
        a.available_until = _aware(c["available_until"], "available_until")
    if a.available_from and a.available_until and a.available_until <= a.available_from:
        raise AssessmentError(_("The end must come after the start."), "available_until")
    if "weight" in c:
        a.weight = _decimal(c["weight"], "weight", WEIGHT_MAX) or Decimal(0)
    if "counts_in_gradebook" in c:
        a.counts_in_gradebook = _bool(c["counts_in_gradebook"])
    if "gradebook_category_id" in c:
        a.gradebook_category_id = await _course_row(session, GradebookCategory, c["gradebook_category_id"],
                                                    a.course_id, "gradebook_category_id")
    if "rubric_id" in c:
        a.rubric_id = await _course_row(session, Rubric, c["rubric_id"], a.course_id, "rubric_id")
    if "time_limit_seconds" in c:
        a.time_limit_seconds = _int(c["time_limit_seconds"], "time_limit_seconds", 1, MAX_TIME_LIMIT_SECONDS,
                                    optional=True)
    if "late_answer_policy" in c:
        a.late_answer_policy = _choice(c["late_answer_policy"], "late_answer_policy", LATE_ANSWER_POLICIES)
    if "attempts_allowed" in c:
        a.attempts_allowed = _int(c["attempts_allowed"], "attempts_allowed", 1, 100, optional=True)
    if "attempt_grade" in c:
        a.attempt_grade = _choice(c["attempt_grade"], "attempt_grade", ATTEMPT_GRADES)
    if "shuffle_questions" in c:
        a.shuffle_questions = _bool(c["shuffle_questions"])
    if "shuffle_options" in c:
        a.shuffle_options = _bool(c["shuffle_options"])
    if "review_when" in c:
        a.review_when = _choice(c["review_when"], "review_when", REVIEW_WHENS)
    if "review_detail" in c:
        a.review_detail = _choice(c["review_detail"], "review_detail", REVIEW_DETAILS)
    if "due_at" in c:
        a.due_at = _aware(c["due_at"], "due_at")
    if "late_policy" in c:
        a.late_policy = _choice(c["late_policy"], "late_policy", LATE_POLICIES)
    if "late_penalty_percent" in c:
        a.late_penalty_percent = _int(c["late_penalty_percent"], "late_penalty_percent", 0, 100,
                                      optional=False) or 0
    if "submission_types" in c:
        raw = c["submission_types"]
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise AssessmentError(_("This is not a valid choice."), "submission_types")
        types = [t for t in SUBMISSION_TYPES if t in set(raw)]
        if not types or len(types) != len(set(raw)):
            raise AssessmentError(_("Choose at least one way to submit."), "submission_types")
        a.submission_types = types
    if "max_files" in c:
        a.max_files = _int(c["max_files"], "max_files", 0, 20, optional=False) or 0
    if "group_submission" in c:
        a.group_submission = _bool(c["group_submission"])
    if "group_ids" in c:
        a.group_ids = await _groups(session, c["group_ids"])
    if a.kind == "assignment" and a.group_submission and not a.group_ids:
        raise AssessmentError(_("Choose the groups that submit together."), "group_ids")
    if a.kind == "assignment" and "file" in a.submission_types and a.max_files == 0:
        raise AssessmentError(_("Allow at least one file, or submission by text only."), "max_files")
    if "max_points" in c:
        a.max_points = _decimal(c["max_points"], "max_points", MAX_POINTS_MAX) or Decimal(0)


async def update_settings(
    session: AsyncSession, acting: Acting, assessment_id: Any, changes: dict[str, Any], *, revision: int | None
) -> Staffed:
    """Save ``changes`` to the settings; ``revision`` (the one the editor loaded) must be the stored one."""
    staffed = await get_staffed(session, acting.user, assessment_id, lock=True)
    a = staffed.assessment
    if revision is not None and revision != a.revision:
        raise Conflict(
            _("Someone else saved these settings since you opened them. Reload the page to see their changes."),
            "revision",
        )
    await _apply(session, a, changes)
    a.revision += 1
    await session.flush()
    await record(session, acting.actor, "assessment.updated", target_type="assessment", target_id=a.id,
                 fields=sorted(changes))
    return staffed


# --- quiz slots -----------------------------------------------------------------------------------------------


def normalize_tags(values: Any) -> list[str]:
    if values is None or values == "":
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, Iterable):
        raise AssessmentError(_("This is not a valid choice."), "tags")
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise AssessmentError(_("This is not a valid choice."), "tags")
        tag = " ".join(value.split()).lower()
        if len(tag) > TAG_MAX or "\x00" in tag:
            raise AssessmentError(_("A tag has at most %(max)d characters.") % {"max": TAG_MAX}, "tags")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise AssessmentError(_("At most %(max)d tags.") % {"max": TAGS_MAX}, "tags")
    return tags


def pool_filter(bank_id: uuid.UUID, category: str | None, tags: Sequence[str]) -> list[ColumnElement[bool]]:
    """SQL: the questions a random draw picks from (not archived, in the category or below it, with all tags)."""
    where: list[ColumnElement[bool]] = [Question.bank_id == bank_id, Question.archived_at.is_(None)]
    if category:
        escaped = category.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(or_(Question.category == category, Question.category.like(escaped + "/%", escape="\\")))
    if tags:
        where.append(type_coerce(Question.tags, PG_ARRAY(Text)).contains(list(tags)))
    return where


async def slots_of(session: AsyncSession, assessment_id: uuid.UUID) -> list[QuizSlot]:
    return list((await session.scalars(
        select(QuizSlot).where(QuizSlot.assessment_id == assessment_id).order_by(QuizSlot.position, QuizSlot.id)
    )).all())


@dataclass
class SlotView:
    slot: QuizSlot
    question: Question | None
    bank: QuestionBank | None
    pool: int  # questions available to a draw (1 for a fixed question)
    points: Decimal  # the slot's total points


async def slot_views(session: AsyncSession, assessment_id: uuid.UUID) -> list[SlotView]:
    slots = await slots_of(session, assessment_id)
    question_ids = [s.question_id for s in slots if s.question_id]
    bank_ids = {s.bank_id for s in slots if s.bank_id}
    questions = {q.id: q for q in (await session.scalars(
        select(Question).where(Question.id.in_(question_ids)))).all()} if question_ids else {}
    banks = {b.id: b for b in (await session.scalars(
        select(QuestionBank).where(QuestionBank.id.in_(bank_ids)))).all()} if bank_ids else {}
    views = []
    for s in slots:
        if s.question_id:
            q = questions.get(s.question_id)
            points = s.points if s.points is not None else (q.points if q else Decimal(0))
            views.append(SlotView(s, q, None, 1 if q and q.archived_at is None else 0, points))
        else:
            assert s.bank_id is not None
            pool = int(await session.scalar(
                select(func.count()).select_from(Question).where(*pool_filter(s.bank_id, s.category, s.tags))
            ) or 0)
            views.append(SlotView(s, None, banks.get(s.bank_id), pool,
                                  (s.points if s.points is not None else Decimal(1)) * s.draw_count))
    return views


async def _recount(session: AsyncSession, a: Assessment) -> None:
    a.max_points = sum((v.points for v in await slot_views(session, a.id)), Decimal(0)).quantize(CENT)
    a.revision += 1
    await session.flush()


async def _quiz(session: AsyncSession, acting: Acting, assessment_id: Any) -> Staffed:
    staffed = await get_staffed(session, acting.user, assessment_id, lock=True)
    if staffed.assessment.kind != "quiz":
        raise Conflict(_("Only quizzes have questions."), "kind")
    return staffed


async def add_slot(
    session: AsyncSession,
    acting: Acting,
    assessment_id: Any,
    *,
    question_id: Any = None,
    bank_id: Any = None,
    category: Any = None,
    tags: Any = None,
    draw_count: Any = 1,
    points: Any = None,
) -> QuizSlot:
    """Add a fixed question (of a bank of the course) or a random draw from a bank of the course, at the end."""
    staffed = await _quiz(session, acting, assessment_id)
    a = staffed.assessment
    count = int(await session.scalar(select(func.count()).where(QuizSlot.assessment_id == a.id)) or 0)
    if count >= SLOTS_MAX:
        raise Conflict(_("A quiz has at most %(max)d slots.") % {"max": SLOTS_MAX}, "question_id")
    slot_points = _decimal(points, "points", POINTS_MAX, optional=True)
    if (question_id in (None, "")) == (bank_id in (None, "")):
        raise AssessmentError(_("Choose a question or a bank to draw from."), "question_id")
    slot = QuizSlot(assessment_id=a.id, position=count + 1, points=slot_points, tags=[], draw_count=1)
    if question_id not in (None, ""):
        qid = parse_uuid(question_id)
        question = qid and await session.scalar(
            select(Question).join(QuestionBank, QuestionBank.id == Question.bank_id)
            .where(Question.id == qid, QuestionBank.course_id == a.course_id, Question.archived_at.is_(None))
        )
        if not question:
            raise AssessmentError(_("No such question in this course's banks."), "question_id")
        slot.question_id = question.id
    else:
        bid = parse_uuid(bank_id)
        bank = bid and await session.scalar(
            select(QuestionBank.id).where(QuestionBank.id == bid, QuestionBank.course_id == a.course_id)
        )
        if not bank:
            raise AssessmentError(_("No such question bank in this course."), "bank_id")
        slot.bank_id = bid
        cat = "" if category is None else str(category).strip().strip("/")
        if len(cat) > CATEGORY_MAX or "\x00" in cat:
            raise AssessmentError(_("At most %(max)d characters.") % {"max": CATEGORY_MAX}, "category")
        slot.category = cat or None
        slot.tags = normalize_tags(tags)
        slot.draw_count = _int(draw_count, "draw_count", 1, DRAW_MAX, optional=False) or 1
        if slot.points is None:
            slot.points = Decimal(1)
    session.add(slot)
    await session.flush()
    await _recount(session, a)
    await record(session, acting.actor, "assessment.slot_added", target_type="assessment", target_id=a.id,
                 slot_id=str(slot.id))
    return slot


async def _slot(session: AsyncSession, acting: Acting, slot_id: Any) -> tuple[QuizSlot, Staffed]:
    sid = parse_uuid(slot_id)
    assessment_id = sid and await session.scalar(select(QuizSlot.assessment_id).where(QuizSlot.id == sid))
    if not assessment_id:
        raise NotFound(_("No such question slot here."))
    try:
        staffed = await _quiz(session, acting, assessment_id)
    except NotFound as exc:
        raise NotFound(_("No such question slot here.")) from exc
    slot = await session.get_one(QuizSlot, sid)
    return slot, staffed


async def remove_slot(session: AsyncSession, acting: Acting, slot_id: Any) -> Staffed:
    slot, staffed = await _slot(session, acting, slot_id)
    await session.delete(slot)
    await session.flush()
    await _write_positions(session, [s.id for s in await slots_of(session, staffed.assessment.id)])
    await _recount(session, staffed.assessment)
    await record(session, acting.actor, "assessment.slot_removed", target_type="assessment",
                 target_id=staffed.assessment.id, slot_id=str(slot.id))
    return staffed


async def _write_positions(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    rows = {s.id: s for s in (await session.scalars(select(QuizSlot).where(QuizSlot.id.in_(list(ids))))).all()}
    for position, sid in enumerate(ids, start=1):
        rows[sid].position = position
    await session.flush()


async def move_slot(session: AsyncSession, acting: Acting, slot_id: Any, step: int) -> Staffed:
    """Move a slot up (-1) or down (+1)."""
    slot, staffed = await _slot(session, acting, slot_id)
    ids = [s.id for s in await slots_of(session, staffed.assessment.id)]
    index = ids.index(slot.id)
    target = max(0, min(len(ids) - 1, index + (1 if step > 0 else -1)))
    ids.insert(target, ids.pop(index))
    await _write_positions(session, ids)
    staffed.assessment.revision += 1
    return staffed


async def reorder_slots(session: AsyncSession, acting: Acting, assessment_id: Any, ids: Sequence[Any]) -> Staffed:
    staffed = await _quiz(session, acting, assessment_id)
    current = [s.id for s in await slots_of(session, staffed.assessment.id)]
    wanted = [parse_uuid(i) for i in ids]
    if len(wanted) != len(current) or set(wanted) != set(current):
        raise AssessmentError(_("List every slot of the quiz once."), "order")
    await _write_positions(session, [w for w in wanted if w is not None])
    staffed.assessment.revision += 1
    return staffed


# --- publishing -----------------------------------------------------------------------------------------------


async def publish_problems(session: AsyncSession, course_id: uuid.UUID) -> list[str]:
    """What keeps the course's quizzes from being taken, one sentence each: a quiz without questions, a draw that
    asks for more questions than its bank has (after the fixed questions of the quiz are left out)."""
    rows = (await session.execute(
        select(Assessment, Lesson.title).join(Lesson, Lesson.id == Assessment.lesson_id)
        .where(Assessment.course_id == course_id, Assessment.kind == "quiz")
        .order_by(Lesson.module_id, Lesson.position)
    )).all()
    problems: list[str] = []
    for a, title in rows:
        views = await slot_views(session, a.id)
        name = {"title": title}
        if not views:
            problems.append(_("Quiz “%(title)s” has no questions.") % name)
            continue
        if any(v.slot.question_id and v.pool == 0 for v in views):
            problems.append(_("Quiz “%(title)s” has a question that no longer exists.") % name)
        if any(v.slot.bank_id and v.pool < v.slot.draw_count for v in views) or not await draws_satisfiable(
            session, views
        ):
            problems.append(_("Quiz “%(title)s” draws more questions than its banks hold.") % name)
    return problems


async def draws_satisfiable(session: AsyncSession, views: Sequence[SlotView]) -> bool:
    """Whether every draw can pick its count with no question twice in the quiz (fixed questions are taken first,
    draws in order; a greedy check, exact when draws do not overlap)."""
    taken = {v.slot.question_id for v in views if v.slot.question_id}
    for v in views:
        s = v.slot
        if s.bank_id is None:
            continue
        ids = (await session.scalars(
            select(Question.id).where(*pool_filter(s.bank_id, s.category, s.tags),
                                      Question.id.not_in(taken) if taken else true())
            .limit(s.draw_count)
        )).all()
        if len(ids) < s.draw_count:
            return False
        taken.update(ids)
    return True
