"""Taking a quiz: start or resume an attempt, autosave answers, submit, and see the results the review policy
allows.

* **Start or resume**: at most one attempt per learner and quiz is in progress; starting again resumes it (on any
  device: the attempt lives on the server). A new attempt needs the quiz open (``available_from`` /
  ``available_until``) and attempts left. Its ``layout`` is fixed at the start: the fixed questions and the random
  draws (never a question twice), shuffled as the settings say, with each question's points and the order of its
  options; its ``deadline_at`` too: ``min(start + time limit, available_until)``.
* **Answers** are saved one question at a time, checked against the question's shape. After the deadline an answer
  is refused (``late_answer_policy = refuse``, 409) or kept and marked late (``mark_late``).
* **Submit** grades what can be graded automatically (fraction x the question's points), leaves essay and code
  answers to a grader, and records the grade through :mod:`tajiconnect.domains.grading.records` - once:
  submitting again returns the same result. An attempt past its deadline is submitted automatically the next time
  it is touched (``refuse`` policy).
* Which attempt counts for the grade: ``attempt_grade`` (highest, latest or first).
"""

from __future__ import annotations

import datetime
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer
from tajiconnect.domains.assessments.service import Conflict, NotFound, pool_filter, slots_of
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.grading import records
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.progress.service import LessonView, ProgressNotFound, StageLocked, open_lesson
from tajiconnect.domains.questions.grading import ResponseInvalid, grade_response
from tajiconnect.domains.questions.models import MANUAL_KINDS, Question
from tajiconnect.i18n import gettext as _

CENT = Decimal("0.01")
_random = random.SystemRandom()


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class DeadlinePassed(Conflict):
    """The answer came after the deadline under ``refuse``: the attempt has been submitted (the caller commits
    that before answering 409)."""


@dataclass
class Taking:
    """A quiz as a learner (or staff, previewing) opens it."""

    assessment: Assessment
    view: LessonView

    @property
    def preview(self) -> bool:
        return self.view.preview


# --- opening ---------------------------------------------------------------------------------------------------


async def _open(
    session: AsyncSession, user: Any, assessment: Assessment | None, kinds: tuple[str, ...] = ("quiz",)
) -> Taking:
    if assessment is None or assessment.kind not in kinds:
        raise NotFound(_("No such quiz here."))
    try:
        view = await open_lesson(session, user, assessment.lesson_id)
    except StageLocked as exc:
        raise Conflict(str(exc)) from exc
    except ProgressNotFound as exc:
        raise NotFound(_("No such quiz here.")) from exc
    return Taking(assessment, view)


async def quiz_for_lesson(session: AsyncSession, user: Any, lesson_id: Any) -> Taking:
    lid = parse_uuid(lesson_id)
    assessment = None
    if lid is not None:
        assessment = await session.scalar(select(Assessment).where(Assessment.lesson_id == lid))
    return await _open(session, user, assessment)


async def quiz(session: AsyncSession, user: Any, assessment_id: Any) -> Taking:
    aid = parse_uuid(assessment_id)
    return await _open(session, user, await session.get(Assessment, aid) if aid is not None else None)


async def open_any(session: AsyncSession, user: Any, assessment_id: Any) -> Taking:
    """A quiz or an assignment as the caller opens it (enrolled, or staff previewing); else NotFound."""
    aid = parse_uuid(assessment_id)
    assessment = await session.get(Assessment, aid) if aid is not None else None
    return await _open(session, user, assessment, ("quiz", "assignment"))


async def attempts_of(session: AsyncSession, assessment_id: uuid.UUID, user_id: uuid.UUID) -> list[Attempt]:
    return list((await session.scalars(
        select(Attempt).where(Attempt.assessment_id == assessment_id, Attempt.user_id == user_id)
        .order_by(Attempt.number)
    )).all())


def attempts_left(assessment: Assessment, used: int) -> int | None:
    """How many more attempts the learner may start (None: no limit)."""
    if assessment.attempts_allowed is None:
        return None
    return max(0, assessment.attempts_allowed - used)


def window_state(assessment: Assessment, now: datetime.datetime) -> str:
    """``upcoming``, ``open`` or ``closed``."""
    if assessment.available_from is not None and now < assessment.available_from:
        return "upcoming"
    if assessment.available_until is not None and now >= assessment.available_until:
        return "closed"
    return "open"


# --- starting ----------------------------------------------------------------------------------------------------


async def _learner_lock(session: AsyncSession, assessment_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Serialize one learner's starts and submissions of one quiz (two tabs, two devices)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"attempt:{assessment_id}:{user_id}"})


async def _in_progress(session: AsyncSession, assessment_id: uuid.UUID, user_id: uuid.UUID) -> Attempt | None:
    return await session.scalar(
        select(Attempt).where(Attempt.assessment_id == assessment_id, Attempt.user_id == user_id,
                              Attempt.status == "in_progress").with_for_update()
    )


def expired(attempt: Attempt, now: datetime.datetime) -> bool:
    return attempt.status == "in_progress" and attempt.deadline_at is not None and now > attempt.deadline_at


async def start(session: AsyncSession, acting: Acting, taking: Taking) -> tuple[Attempt, bool]:
    """The learner's attempt in progress (resumed: ``False``), or a new one (``True``)."""
    a, user = taking.assessment, acting.user
    if taking.preview:
        raise Conflict(_("Staff preview: attempts are taken by enrolled learners."))
    now = now_utc()
    await _learner_lock(session, a.id, user.id)
    current = await _in_progress(session, a.id, user.id)
    if current is not None:
        if not (expired(current, now) and a.late_answer_policy == "refuse"):
            return current, False
        await _finish(session, acting, a, current, now)
    state = window_state(a, now)
    if state == "upcoming":
        raise Conflict(_("This quiz is not open yet."))
    if state == "closed":
        raise Conflict(_("This quiz is closed."))
    used = int(await session.scalar(
        select(func.count()).where(Attempt.assessment_id == a.id, Attempt.user_id == user.id)) or 0)
    if attempts_left(a, used) == 0:
        raise Conflict(_("You have used all your attempts at this quiz."))
    layout = await draw_layout(session, a)
    deadline = None
    if a.time_limit_seconds:
        deadline = now + datetime.timedelta(seconds=a.time_limit_seconds)
    if a.available_until is not None:
        deadline = min(deadline, a.available_until) if deadline else a.available_until
    attempt = Attempt(
        assessment_id=a.id, user_id=user.id, number=used + 1, status="in_progress", started_at=now,
        deadline_at=deadline, layout=layout, max_points=sum((Decimal(e["points"]) for e in layout), Decimal(0)),
        late=False, seconds_spent=0,
    )
    session.add(attempt)
    await session.flush()
    return attempt, True


async def draw_layout(session: AsyncSession, a: Assessment) -> list[dict[str, Any]]:
    """The questions of a new attempt: fixed questions and random draws (no question twice), with their points and
    the order of their options; shuffled per the settings."""
    slots = await slots_of(session, a.id)
    taken: set[uuid.UUID] = {s.question_id for s in slots if s.question_id}
    chosen: list[tuple[uuid.UUID, Decimal | None]] = []
    for s in slots:
        if s.question_id:
            chosen.append((s.question_id, s.points))
            continue
        assert s.bank_id is not None
        stmt = select(Question.id).where(*pool_filter(s.bank_id, s.category, s.tags))
        if taken:
            stmt = stmt.where(Question.id.not_in(taken))
        ids = (await session.scalars(stmt.order_by(func.random()).limit(s.draw_count))).all()
        if len(ids) < s.draw_count:
            raise Conflict(_("This quiz is not ready: it draws more questions than its banks hold."))
        taken.update(ids)
        chosen.extend((qid, s.points) for qid in ids)
    if not chosen:
        raise Conflict(_("This quiz has no questions yet."))
    questions = {q.id: q for q in (await session.scalars(
        select(Question).where(Question.id.in_([qid for qid, _p in chosen])))).all()}
    layout = []
    for qid, points in chosen:
        q = questions.get(qid)
        if q is None:
            continue
        layout.append({"question_id": str(qid), "points": str(points if points is not None else q.points),
                       "options": _option_order(q, a.shuffle_options)})
    if a.shuffle_questions:
        _random.shuffle(layout)
    return layout


def _option_order(q: Question, shuffle_options: bool) -> list[str]:
    data = q.data or {}
    shuffle = shuffle_options and bool(data.get("shuffle", True))
    if q.kind in ("single", "multiple"):
        order = [str(o.get("id")) for o in data.get("options") or [] if isinstance(o, dict)]
    elif q.kind == "matching":
        answers = [str(p.get("answer")) for p in data.get("pairs") or [] if isinstance(p, dict)]
        answers += [str(d) for d in data.get("distractors") or []]
        order = list(dict.fromkeys(answers))
        shuffle = True  # the choices' own order would give the pairs away
    elif q.kind == "ordering":
        order = [str(i.get("id")) for i in data.get("items") or [] if isinstance(i, dict)]
        right = list(order)
        if len(order) > 1:
            while order == right:  # never shown already in the right order
                _random.shuffle(order)
        return order
    else:
        return []
    if shuffle:
        _random.shuffle(order)
    return order


# --- an attempt --------------------------------------------------------------------------------------------------


async def get_attempt(
    session: AsyncSession, acting: Acting, attempt_id: Any, *, lock: bool = False
) -> tuple[Attempt, Taking | None]:
    """The caller's own attempt (with its quiz as they open it), or - for the course's staff - any learner's
    (``Taking`` None); anything else is "not found". An expired attempt is submitted first (``refuse``)."""
    aid = parse_uuid(attempt_id)
    attempt = await session.get(Attempt, aid) if aid is not None else None
    if attempt is None:
        raise NotFound(_("No such attempt here."))
    assessment = await session.get_one(Assessment, attempt.assessment_id)
    if attempt.user_id != acting.user.id:
        staff = await session.scalar(
            select(Course.id).where(Course.id == assessment.course_id, access.staff_filter(acting.user)))
        if not staff:
            raise NotFound(_("No such attempt here."))
        return attempt, None
    taking = await _open(session, acting.user, assessment)
    if lock or expired(attempt, now_utc()):
        await _learner_lock(session, assessment.id, acting.user.id)
        await session.refresh(attempt, with_for_update=True)
    if expired(attempt, now_utc()) and assessment.late_answer_policy == "refuse":
        await _finish(session, acting, assessment, attempt, now_utc())
    return attempt, taking


def layout_entry(attempt: Attempt, question_id: Any) -> dict[str, Any]:
    qid = parse_uuid(question_id)
    for entry in attempt.layout:
        if qid is not None and entry["question_id"] == str(qid):
            return entry
    raise NotFound(_("No such question in this attempt."))


async def save_answer(
    session: AsyncSession, acting: Acting, attempt_id: Any, question_id: Any, response: Any
) -> AttemptAnswer:
    """Save (replace) the answer to one question of the caller's attempt in progress."""
    now = now_utc()
    attempt, taking = await get_attempt(session, acting, attempt_id, lock=True)
    if taking is None:
        raise NotFound(_("No such attempt here."))
    entry = layout_entry(attempt, question_id)
    if attempt.status != "in_progress":
        if attempt.deadline_at is not None and attempt.submitted_at is not None and \
                attempt.submitted_at >= attempt.deadline_at and taking.assessment.late_answer_policy == "refuse":
            raise DeadlinePassed(_("Time is up: this attempt has been submitted."))
        raise Conflict(_("This attempt has been submitted."))
    question = await session.get(Question, uuid.UUID(entry["question_id"]))
    if question is None:
        raise NotFound(_("No such question in this attempt."))
    grade_response(question.kind, question.data or {}, response)  # ResponseInvalid when it does not fit
    late = attempt.deadline_at is not None and now > attempt.deadline_at
    if late:
        attempt.late = True  # mark_late (refuse was submitted by get_attempt)
    values = {"response": response, "saved_at": now, "late": late}
    await session.execute(
        insert(AttemptAnswer)
        .values(attempt_id=attempt.id, question_id=question.id, **values)
        .on_conflict_do_update(index_elements=["attempt_id", "question_id"], set_=values)
    )
    attempt.last_saved_at = now
    await session.flush()
    return AttemptAnswer(attempt_id=attempt.id, question_id=question.id, response=response, saved_at=now, late=late)


async def answers_of(session: AsyncSession, attempt_id: uuid.UUID) -> dict[str, AttemptAnswer]:
    rows = (await session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt_id))).all()
    return {str(r.question_id): r for r in rows}


async def questions_of(session: AsyncSession, attempt: Attempt) -> dict[str, Question]:
    ids = [uuid.UUID(e["question_id"]) for e in attempt.layout]
    rows = (await session.scalars(select(Question).where(Question.id.in_(ids)))).all() if ids else []
    return {str(q.id): q for q in rows}


async def submit(session: AsyncSession, acting: Acting, attempt_id: Any) -> Attempt:
    """Submit the caller's attempt; an attempt already submitted is returned as it is (nothing graded twice)."""
    attempt, taking = await get_attempt(session, acting, attempt_id, lock=True)
    if taking is None:
        raise NotFound(_("No such attempt here."))
    if attempt.status == "in_progress":
        await _finish(session, acting, taking.assessment, attempt, now_utc())
    return attempt


async def _finish(session: AsyncSession, acting: Acting, a: Assessment, attempt: Attempt,
                  now: datetime.datetime) -> None:
    """Grade and close an attempt in progress, then record the grade of the attempt that counts."""
    questions = await questions_of(session, attempt)
    answers = await answers_of(session, attempt.id)
    auto = Decimal(0)
    manual = False
    for entry in attempt.layout:
        q = questions.get(entry["question_id"])
        answer = answers.get(entry["question_id"])
        if q is None or answer is None:
            continue
        points = Decimal(entry["points"])
        try:
            result = grade_response(q.kind, q.data or {}, answer.response)
        except ResponseInvalid:
            result = None
        if q.kind in MANUAL_KINDS:
            answer.needs_grading = True
            answer.fraction = None
            answer.points = None
            manual = True
            continue
        fraction = result.fraction if result and result.fraction is not None else Decimal(0)
        answer.fraction = fraction.quantize(Decimal("0.0001"), ROUND_HALF_UP)
        answer.points = (fraction * points).quantize(CENT, ROUND_HALF_UP)
        auto += answer.points
    attempt.auto_points = auto.quantize(CENT, ROUND_HALF_UP)
    attempt.points = None if manual else attempt.auto_points
    attempt.status = "submitted" if manual else "graded"
    attempt.submitted_at = now
    end = min(now, attempt.deadline_at) if attempt.deadline_at else now
    attempt.seconds_spent = max(0, int((end - attempt.started_at).total_seconds()))
    if attempt.deadline_at is not None and now > attempt.deadline_at and a.late_answer_policy == "mark_late":
        attempt.late = True
    await session.flush()
    await _record(session, acting, a, attempt, manual, now)


def counting(a: Assessment, attempts: list[Attempt]) -> Attempt | None:
    """The attempt whose score is the grade (``attempt_grade``) among the finished ones."""
    done = [t for t in attempts if t.status != "in_progress"]
    if not done:
        return None
    if a.attempt_grade == "first":
        return min(done, key=lambda t: t.number)
    if a.attempt_grade == "latest":
        return max(done, key=lambda t: t.number)
    graded = [t for t in done if t.points is not None]
    pending = [t for t in done if t.points is None]
    if pending and max(pending, key=lambda t: t.number).number > max((t.number for t in graded), default=0):
        return max(pending, key=lambda t: t.number)  # a grader must look at it before it can be compared
    return max(graded, key=lambda t: (t.points, -t.number)) if graded else None


async def _record(session: AsyncSession, acting: Acting, a: Assessment, attempt: Attempt, manual: bool,
                  now: datetime.datetime) -> None:
    chosen = counting(a, await attempts_of(session, a.id, attempt.user_id))
    if chosen is None or chosen.id != attempt.id:
        return  # another attempt still counts: the grade stays as it is
    grade_row = await records.submitted(session, a, attempt.user_id, actor=acting.actor, at=now,
                                        attempt_id=attempt.id, max_points=attempt.max_points)
    if not manual and attempt.points is not None:
        await records.grade(session, a, grade_row, points=attempt.points, actor=acting.actor, automatic=True,
                            release_now=a.review_when != "release")


# --- results ----------------------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: Question
    entry: dict[str, Any]
    answer: AttemptAnswer | None
    feedback_html: list[str] = field(default_factory=list)

    @property
    def points(self) -> Decimal:
        return Decimal(self.entry["points"])


async def grade_of(session: AsyncSession, assessment_id: uuid.UUID, user_id: uuid.UUID) -> Grade | None:
    return await session.scalar(select(Grade).where(Grade.assessment_id == assessment_id, Grade.user_id == user_id))


def review_open(a: Assessment, attempt: Attempt, grade: Grade | None, now: datetime.datetime) -> bool:
    """Whether the learner may see this attempt's results now (``review_when``); never while in progress."""
    if attempt.status == "in_progress":
        return False
    if a.review_when == "submit":
        return True
    if a.review_when == "close":
        return a.available_until is None or now >= a.available_until
    if a.review_when == "release":
        return grade is not None and grade.status == "released" and grade.attempt_id == attempt.id
    return False


async def results(session: AsyncSession, attempt: Attempt) -> list[QuestionResult]:
    """Each question of the attempt with the answer and the feedback that applies (for reviews)."""
    questions = await questions_of(session, attempt)
    answers = await answers_of(session, attempt.id)
    out = []
    for entry in attempt.layout:
        q = questions.get(entry["question_id"])
        if q is None:
            continue
        answer = answers.get(entry["question_id"])
        feedback: list[str] = []
        if answer is not None and answer.response is not None:
            try:
                feedback = grade_response(q.kind, q.data or {}, answer.response).feedback_html
            except ResponseInvalid:
                feedback = []
        if q.feedback_html:
            feedback = [*feedback, q.feedback_html]
        out.append(QuestionResult(q, entry, answer, feedback))
    return out
