"""Quiz analytics: how a quiz's submitted attempts went, for its staff.

Pure statistics first (:func:`analyse`, no database), then the reading (:func:`quiz_analytics`).

* **Score distribution**: attempts' percents (points / max points) in 10 buckets of 10 points (0-10, ..., 90-100;
  100 % and above in the last, below 0 in the first).
* **Facility** of a question: the mean fraction of its points earned, over the attempts that were given it
  (a random draw gives each question to some attempts only). Unanswered counts as 0; an essay or code answer not
  graded yet is left out.
* **Discrimination index**: the upper-lower 27 % method. Attempts are ranked by their total percent; the top and
  bottom 27 % (at least one attempt each, and no overlap) form the groups; the index is the question's mean
  fraction in the upper group minus that in the lower group (-1 to 1; low or negative: the question does not
  separate strong from weak attempts). None with fewer than 4 scored attempts or when no attempt of one of the
  groups was given the question.
* **Most missed**: the questions with the lowest facility (up to :data:`MOST_MISSED`).
* **Average time**: the mean of ``submitted_at - started_at`` over the attempts.

Counted over submitted attempts (``submitted`` or ``graded``), every attempt of every learner.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.questions.models import Question
from tajiconnect.i18n import gettext as _

BUCKETS = 10
GROUP_SHARE = 0.27
MOST_MISSED = 5
MIN_FOR_DISCRIMINATION = 4
ATTEMPTS_MAX = 20_000  # read at most this many attempts (the newest); the page says when it is capped


@dataclass(frozen=True)
class AttemptStats:
    """One submitted attempt: its percent (None: not scored), seconds taken, and question id -> fraction earned
    (None: not graded yet). ``asked``: the questions it was given (unanswered ones count as 0)."""

    percent: float | None
    seconds: float | None
    fractions: Mapping[uuid.UUID, float | None]
    asked: Sequence[uuid.UUID] = ()


@dataclass(frozen=True)
class Bucket:
    low: int
    high: int
    count: int


@dataclass
class QuestionStats:
    question_id: uuid.UUID
    answered: int  # attempts that were given it and whose answer is scored
    facility: float | None
    discrimination: float | None


@dataclass
class Analysis:
    attempts: int
    scored: int
    mean_percent: float | None
    median_percent: float | None
    distribution: list[Bucket]
    questions: list[QuestionStats]
    most_missed: list[QuestionStats]
    average_seconds: float | None
    capped: bool = False


def histogram(percents: Sequence[float], buckets: int = BUCKETS) -> list[Bucket]:
    width = 100 / buckets
    counts = [0] * buckets
    for p in percents:
        index = min(buckets - 1, max(0, math.floor(p / width)))
        counts[index] += 1
    return [Bucket(round(i * width), round((i + 1) * width), c) for i, c in enumerate(counts)]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _fraction(attempt: AttemptStats, question: uuid.UUID) -> float | None:
    """The attempt's fraction on ``question``: None if not asked or not graded yet; 0 if asked, unanswered."""
    if question in attempt.fractions:
        return attempt.fractions[question]
    return 0.0 if question in attempt.asked else None


def group_size(n: int) -> int:
    return max(1, min(n // 2, round(GROUP_SHARE * n)))


def analyse(attempts: Sequence[AttemptStats], order: Sequence[uuid.UUID] = ()) -> Analysis:
    """The statistics of ``attempts`` (see the module). ``order``: questions in the order to list them (others after,
    in first-seen order)."""
    seen: dict[uuid.UUID, None] = dict.fromkeys(order)
    for a in attempts:
        seen.update(dict.fromkeys(a.asked))
        seen.update(dict.fromkeys(a.fractions))
    scored = sorted((a for a in attempts if a.percent is not None), key=lambda a: a.percent or 0.0)
    percents = [a.percent for a in scored if a.percent is not None]
    groups: tuple[list[AttemptStats], list[AttemptStats]] | None = None
    if len(scored) >= MIN_FOR_DISCRIMINATION:
        size = group_size(len(scored))
        groups = (scored[:size], scored[-size:])
    questions: list[QuestionStats] = []
    for q in seen:
        values = [f for a in attempts if (f := _fraction(a, q)) is not None]
        discrimination = None
        if groups is not None:
            low = [f for a in groups[0] if (f := _fraction(a, q)) is not None]
            high = [f for a in groups[1] if (f := _fraction(a, q)) is not None]
            if low and high:
                discrimination = round(sum(high) / len(high) - sum(low) / len(low), 4)
        facility = _mean(values)
        questions.append(QuestionStats(q, len(values), round(facility, 4) if facility is not None else None,
                                       discrimination))
    rated = [s for s in questions if s.facility is not None]
    missed = sorted(rated, key=lambda s: (s.facility, -(s.answered)))[:MOST_MISSED]
    seconds = [a.seconds for a in attempts if a.seconds is not None and a.seconds >= 0]
    mean_percent, median_percent = _mean(percents), _median(percents)
    return Analysis(
        attempts=len(attempts), scored=len(percents),
        mean_percent=round(mean_percent, 2) if mean_percent is not None else None,
        median_percent=round(median_percent, 2) if median_percent is not None else None,
        distribution=histogram(percents), questions=questions, most_missed=missed,
        average_seconds=round(sum(seconds) / len(seconds), 1) if seconds else None,
    )


# --- reading ------------------------------------------------------------------------------------------------------


class AnalyticsNotFound(ValueError):
    status = 404


@dataclass
class QuizAnalytics:
    assessment: Assessment
    course: Course
    title: str
    analysis: Analysis
    names: dict[uuid.UUID, str] = field(default_factory=dict)


async def staff_assessment(session: AsyncSession, user: Any, assessment_id: Any,
                           kinds: tuple[str, ...] = ("quiz", "assignment")) -> tuple[Assessment, Course, str]:
    """An assessment of a course ``user`` is staff of (with its course and lesson title), else not found."""
    aid = parse_uuid(assessment_id)
    row = None
    if aid is not None:
        row = (await session.execute(
            select(Assessment, Course, Lesson.title)
            .join(Course, Course.id == Assessment.course_id)
            .join(Lesson, Lesson.id == Assessment.lesson_id)
            .where(Assessment.id == aid, Assessment.kind.in_(kinds), access.staff_filter(user))
        )).first()
    if row is None:
        raise AnalyticsNotFound(_("No such assessment here."))
    return row[0], row[1], row[2]


def _points(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def attempt_stats(attempt: Attempt, answers: Sequence[tuple[uuid.UUID, Decimal | None, Decimal | None]]
                  ) -> AttemptStats:
    """An attempt row and its answers (question id, fraction, points) as :class:`AttemptStats`. An answer graded by
    hand (no ``fraction``) counts as its points over the question's points in the attempt's layout."""
    slot_points: dict[uuid.UUID, Decimal] = {}
    asked: list[uuid.UUID] = []
    for entry in attempt.layout or []:
        qid = parse_uuid(entry.get("question_id")) if isinstance(entry, dict) else None
        if qid is None:
            continue
        asked.append(qid)
        points = _points(entry.get("points"))
        if points is not None:
            slot_points[qid] = points
    fractions: dict[uuid.UUID, float | None] = {}
    for qid, fraction, points in answers:
        if fraction is not None:
            fractions[qid] = float(fraction)
        elif points is not None and slot_points.get(qid):
            fractions[qid] = float(points / slot_points[qid])
        else:
            fractions[qid] = None
    percent = None
    total = attempt.points if attempt.points is not None else attempt.auto_points
    if total is not None and attempt.max_points and attempt.max_points > 0:
        percent = float(total * 100 / attempt.max_points)
    seconds = None
    if attempt.submitted_at is not None and attempt.started_at is not None:
        seconds = (attempt.submitted_at - attempt.started_at).total_seconds()
    return AttemptStats(percent, seconds, fractions, asked)


async def quiz_analytics(session: AsyncSession, user: Any, assessment_id: Any) -> QuizAnalytics:
    """The analytics of a quiz whose course ``user`` is staff of (3 statements plus the question names)."""
    assessment, course, title = await staff_assessment(session, user, assessment_id, ("quiz",))
    attempts = list((await session.scalars(
        select(Attempt).where(Attempt.assessment_id == assessment.id, Attempt.status.in_(("submitted", "graded")))
        .order_by(Attempt.submitted_at.desc(), Attempt.id).limit(ATTEMPTS_MAX + 1)
    )).all())
    capped = len(attempts) > ATTEMPTS_MAX
    attempts = attempts[:ATTEMPTS_MAX]
    by_attempt: dict[uuid.UUID, list[tuple[uuid.UUID, Decimal | None, Decimal | None]]] = {}
    if attempts:
        rows = await session.execute(
            select(AttemptAnswer.attempt_id, AttemptAnswer.question_id, AttemptAnswer.fraction, AttemptAnswer.points)
            .where(AttemptAnswer.attempt_id.in_([a.id for a in attempts]))
        )
        for attempt_id, question_id, fraction, points in rows.all():
            by_attempt.setdefault(attempt_id, []).append((question_id, fraction, points))
    stats = [attempt_stats(a, by_attempt.get(a.id, [])) for a in attempts]
    analysis = analyse(stats)
    analysis.capped = capped
    names: dict[uuid.UUID, str] = {}
    ids = [q.question_id for q in analysis.questions]
    if ids:
        for qid, name, text in (await session.execute(
            select(Question.id, Question.name, Question.text).where(Question.id.in_(ids))
        )).all():
            label = name or " ".join((text or "").split())[:80]
            names[qid] = label or str(qid)[:8]
    return QuizAnalytics(assessment, course, title, analysis, names)
