"""What a parent sees of each linked child: courses and progress, released grades and feedback, upcoming and overdue
work, certificates, streak, recent activity and the child's teachers (the parent's home, a child's page, the API and
the weekly digest all read it here).

Rules:

* Only the parent's own linked children are ever read (``service.children_of`` / ``child_of`` pick them; the
  sections below are read for those ids only).
* Grades: **released** ones only (``grades.status = 'released'``, as the gradebook and the learner's own grades
  page decide); drafts and pending work are never read. Their score is ``score`` (after any late penalty).
* Work: quizzes and assignments with a due date in the courses the child is actively enrolled in, not submitted
  yet (a quiz attempt submitted or graded, an assignment submitted), due within :data:`UPCOMING_DAYS` days or
  overdue by at most :data:`OVERDUE_DAYS`; and assigned courses not completed whose own due date falls there.
* Cost: each section is ONE statement for all the children of the page (``= ANY(:ids)`` with a window function to
  keep the first few rows of each child): a fixed number of statements whatever the number of children.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Uuid, and_, any_, bindparam, exists, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment, Attempt, Submission
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.parents.service import ChildView, Person
from tajiconnect.domains.progress import rules
from tajiconnect.domains.progress.models import LearnerStats, LearningDay, LessonProgress

UPCOMING_DAYS = 14
OVERDUE_DAYS = 14
ACTIVITY_DAYS = 7


@dataclass(frozen=True)
class Limits:
    """How many rows of each section to read per child (the home shows a few, a child's page more)."""

    courses: int = 5
    grades: int = 5
    work: int = 6
    certificates: int = 3
    activity: int = 5


HOME = Limits()
DETAIL = Limits(courses=50, grades=20, work=30, certificates=20, activity=15)
#: The API's list: the counts, and enough work rows to tell overdue from upcoming.
COUNTS = Limits(courses=1, grades=1, work=1, certificates=1, activity=1)


@dataclass(frozen=True)
class CourseItem:
    course_id: uuid.UUID
    title: str
    status: str
    progress_percent: int
    due_at: datetime.datetime | None
    last_activity_at: datetime.datetime | None


@dataclass(frozen=True)
class GradeItem:
    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    title: str
    score: Decimal | None
    max_points: Decimal
    comment: str
    released_at: datetime.datetime | None

    @property
    def percent(self) -> Decimal | None:
        if self.score is None or not self.max_points:
            return None
        return (self.score * 100 / self.max_points).quantize(Decimal("1"))


@dataclass(frozen=True)
class WorkItem:
    kind: str  # quiz | assignment | course
    title: str
    course_id: uuid.UUID
    course_title: str
    due_at: datetime.datetime

    def overdue(self, now: datetime.datetime) -> bool:
        return self.due_at <= now


@dataclass(frozen=True)
class CertificateItem:
    id: uuid.UUID
    title: str
    issued_at: datetime.datetime


@dataclass(frozen=True)
class ActivityItem:
    lesson_title: str
    course_id: uuid.UUID
    course_title: str
    completed_at: datetime.datetime


@dataclass
class Stats:
    streak: int = 0
    best_streak: int = 0
    last_active_on: datetime.date | None = None
    week_seconds: int = 0
    week_lessons: int = 0

    @property
    def week_minutes(self) -> int:
        return self.week_seconds // 60


@dataclass
class Overview:
    """One child as their parent sees them; ``*_total`` count everything, the lists hold the first few."""

    child: ChildView
    courses: list[CourseItem] = field(default_factory=list)
    courses_total: int = 0
    grades: list[GradeItem] = field(default_factory=list)
    grades_total: int = 0
    work: list[WorkItem] = field(default_factory=list)
    work_total: int = 0
    overdue_total: int = 0
    certificates: list[CertificateItem] = field(default_factory=list)
    certificates_total: int = 0
    activity: list[ActivityItem] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    teachers: list[Person] = field(default_factory=list)

    def overdue(self, now: datetime.datetime) -> list[WorkItem]:
        return [w for w in self.work if w.overdue(now)]

    def upcoming(self, now: datetime.datetime) -> list[WorkItem]:
        return [w for w in self.work if not w.overdue(now)]


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _ids(values: Sequence[uuid.UUID]) -> Any:
    return bindparam(None, list(values), type_=ARRAY(Uuid()))


def _first(stmt: Any, user_column: str, order: Sequence[Any], limit: int) -> Any:
    """``stmt``'s rows, the first ``limit`` of each child by ``order``, each with its child's total (``n``)."""
    sub = stmt.add_columns(
        func.row_number().over(partition_by=stmt.selected_columns[user_column], order_by=list(order)).label("rn"),
        func.count().over(partition_by=stmt.selected_columns[user_column]).label("n"),
    ).subquery()
    return select(sub).where(sub.c.rn <= limit).order_by(sub.c[user_column], sub.c.rn)


def current_enrollment(child_ids: Any) -> Any:
    return and_(Enrollment.user_id == any_(child_ids), Enrollment.withdrawn_at.is_(None), Course.status != "draft")


async def _courses(session: AsyncSession, ids: Any, limit: int) -> dict[uuid.UUID, tuple[list[CourseItem], int]]:
    stmt = (
        select(Enrollment.user_id.label("user_id"), Course.id.label("course_id"), Course.title, Enrollment.status,
               Enrollment.progress_percent, Enrollment.due_at, Enrollment.last_activity_at)
        .join(Course, Course.id == Enrollment.course_id)
        .where(current_enrollment(ids))
    )
    order = [(Enrollment.status == "completed").asc(), Enrollment.last_activity_at.desc().nulls_last(),
             Course.title, Course.id]
    out: dict[uuid.UUID, tuple[list[CourseItem], int]] = {}
    for row in (await session.execute(_first(stmt, "user_id", order, limit))).mappings():
        items, _n = out.setdefault(row["user_id"], ([], int(row["n"])))
        items.append(CourseItem(row["course_id"], row["title"], row["status"], row["progress_percent"],
                                row["due_at"], row["last_activity_at"]))
    return out


def released_grades(ids: Any, since: datetime.datetime | None = None) -> Any:
    stmt = (
        select(Grade.user_id.label("user_id"), Grade.id.label("grade_id"), Grade.course_id.label("course_id"),
               Course.title.label("course_title"), Lesson.title.label("title"), Grade.score, Grade.max_points,
               Grade.comment, Grade.released_at)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(Course, Course.id == Grade.course_id)
        .where(Grade.user_id == any_(ids), Grade.status == "released")
    )
    if since is not None:
        stmt = stmt.where(Grade.released_at >= since)
    return stmt


async def _grades(
    session: AsyncSession, ids: Any, limit: int, *, since: datetime.datetime | None = None, offset: int = 0
) -> dict[uuid.UUID, tuple[list[GradeItem], int]]:
    stmt = released_grades(ids, since)
    order: list[Any] = [Grade.released_at.desc().nulls_last(), Grade.id.desc()]
    sub = stmt.add_columns(
        func.row_number().over(partition_by=Grade.user_id, order_by=order).label("rn"),
        func.count().over(partition_by=Grade.user_id).label("n"),
    ).subquery()
    query = select(sub).where(sub.c.rn > offset, sub.c.rn <= offset + limit).order_by(sub.c.user_id, sub.c.rn)
    out: dict[uuid.UUID, tuple[list[GradeItem], int]] = {}
    rows = (await session.execute(query)).mappings().all()
    for row in rows:
        items, _n = out.setdefault(row["user_id"], ([], int(row["n"])))
        items.append(GradeItem(row["grade_id"], row["course_id"], row["course_title"], row["title"], row["score"],
                               row["max_points"], row["comment"] or "", row["released_at"]))
    return out


def work_statement(ids: Any, start: datetime.datetime, end: datetime.datetime) -> Any:
    """Work not done with a due date in ``[start, end)``: quizzes and assignments of the child's active courses,
    and the assigned courses themselves. Columns: user_id, kind, title, course_id, course_title, due_at."""
    quiz_done = exists().where(Attempt.assessment_id == Assessment.id, Attempt.user_id == Enrollment.user_id,
                               Attempt.status.in_(("submitted", "graded")))
    work_done = exists().where(Submission.assessment_id == Assessment.id, Submission.user_id == Enrollment.user_id,
                               Submission.status == "submitted")
    active = and_(Enrollment.user_id == any_(ids), Enrollment.withdrawn_at.is_(None), Enrollment.status == "active",
                  Course.status != "draft")
    assessments = (
        select(Enrollment.user_id.label("user_id"), Assessment.kind.label("kind"), Lesson.title.label("title"),
               Course.id.label("course_id"), Course.title.label("course_title"), Assessment.due_at.label("due_at"))
        .join(Course, Course.id == Enrollment.course_id)
        .join(Assessment, Assessment.course_id == Course.id)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .where(active, Assessment.due_at >= start, Assessment.due_at < end,
               ~or_(and_(Assessment.kind == "quiz", quiz_done), and_(Assessment.kind == "assignment", work_done)))
    )
    courses = (
        select(Enrollment.user_id.label("user_id"), literal("course").label("kind"), Course.title.label("title"),
               Course.id.label("course_id"), Course.title.label("course_title"), Enrollment.due_at.label("due_at"))
        .join(Course, Course.id == Enrollment.course_id)
        .where(active, Enrollment.due_at >= start, Enrollment.due_at < end)
    )
    return union_all(assessments, courses).subquery()


async def _work(
    session: AsyncSession, ids: Any, limit: int, start: datetime.datetime, end: datetime.datetime,
    now: datetime.datetime,
) -> dict[uuid.UUID, tuple[list[WorkItem], int, int]]:
    """Each child's work due in ``[start, end)``, soonest first: the first ``limit``, the total, the overdue total."""
    work = work_statement(ids, start, end)
    sub = select(
        work,
        func.row_number().over(partition_by=work.c.user_id, order_by=[work.c.due_at, work.c.title]).label("rn"),
        func.count().over(partition_by=work.c.user_id).label("n"),
        func.count().filter(work.c.due_at <= now).over(partition_by=work.c.user_id).label("late"),
    ).subquery()
    query = select(sub).where(sub.c.rn <= limit).order_by(sub.c.user_id, sub.c.rn)
    out: dict[uuid.UUID, tuple[list[WorkItem], int, int]] = {}
    for row in (await session.execute(query)).mappings():
        items, _n, _late = out.setdefault(row["user_id"], ([], int(row["n"]), int(row["late"])))
        items.append(WorkItem(row["kind"], row["title"], row["course_id"], row["course_title"], row["due_at"]))
    return out


async def _certificates(
    session: AsyncSession, ids: Any, limit: int
) -> dict[uuid.UUID, tuple[list[CertificateItem], int]]:
    stmt = (
        select(Certificate.user_id.label("user_id"), Certificate.id.label("certificate_id"), Certificate.title,
               Certificate.issued_at)
        .where(Certificate.user_id == any_(ids), Certificate.status == "issued")
    )
    out: dict[uuid.UUID, tuple[list[CertificateItem], int]] = {}
    query = _first(stmt, "user_id", [Certificate.issued_at.desc(), Certificate.id], limit)
    for row in (await session.execute(query)).mappings():
        items, _n = out.setdefault(row["user_id"], ([], int(row["n"])))
        items.append(CertificateItem(row["certificate_id"], row["title"], row["issued_at"]))
    return out


async def _activity(session: AsyncSession, ids: Any, limit: int) -> dict[uuid.UUID, list[ActivityItem]]:
    stmt = (
        select(LessonProgress.user_id.label("user_id"), Lesson.title.label("lesson_title"),
               Course.id.label("course_id"), Course.title.label("course_title"), LessonProgress.completed_at)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Course, Course.id == LessonProgress.course_id)
        .where(LessonProgress.user_id == any_(ids), LessonProgress.completed_at.is_not(None))
    )
    out: dict[uuid.UUID, list[ActivityItem]] = {}
    query = _first(stmt, "user_id", [LessonProgress.completed_at.desc(), LessonProgress.id], limit)
    for row in (await session.execute(query)).mappings():
        out.setdefault(row["user_id"], []).append(
            ActivityItem(row["lesson_title"], row["course_id"], row["course_title"], row["completed_at"]))
    return out


async def _stats(
    session: AsyncSession, ids: Any, now: datetime.datetime, days: int = ACTIVITY_DAYS
) -> dict[uuid.UUID, Stats]:
    """Streak (as of each child's today, in their time zone) and what they learned in the last ``days`` days."""
    since = (now - datetime.timedelta(days=days)).date() - datetime.timedelta(days=1)
    week = (
        select(LearningDay.user_id, func.sum(LearningDay.seconds_spent).label("seconds"),
               func.sum(LearningDay.lessons_completed).label("lessons"), func.array_agg(LearningDay.day).label("days"))
        .where(LearningDay.user_id == any_(ids), LearningDay.day >= since)
        .group_by(LearningDay.user_id)
        .subquery()
    )
    rows = await session.execute(
        select(User.id, User.time_zone, LearnerStats.streak_days, LearnerStats.best_streak,
               LearnerStats.last_active_on, week.c.seconds, week.c.lessons)
        .outerjoin(LearnerStats, LearnerStats.user_id == User.id)
        .outerjoin(week, week.c.user_id == User.id)
        .where(User.id == any_(ids))
    )
    out: dict[uuid.UUID, Stats] = {}
    for user_id, zone, days_, best, last_on, seconds, lessons in rows.all():
        today = rules.local_day(now, zone)
        shown = rules.current(rules.Streak(days_ or 0, best or 0, last_on), today) if days_ is not None else 0
        out[user_id] = Stats(shown, best or 0, last_on, int(seconds or 0), int(lessons or 0))
    return out


async def overviews(
    session: AsyncSession, parent_id: uuid.UUID, children: Sequence[ChildView], *, limits: Limits = HOME,
    now: datetime.datetime | None = None, grades_page: int = 1,
) -> list[Overview]:
    """Each of ``children`` (already read as ``parent_id``'s) with every section: seven statements for them all."""
    if not children:
        return []
    now = now or now_utc()
    ids = _ids([c.id for c in children])
    courses = await _courses(session, ids, limits.courses)
    grades = await _grades(session, ids, limits.grades, offset=(max(grades_page, 1) - 1) * limits.grades)
    work = await _work(session, ids, limits.work, now - datetime.timedelta(days=OVERDUE_DAYS),
                       now + datetime.timedelta(days=UPCOMING_DAYS), now)
    certificates = await _certificates(session, ids, limits.certificates)
    activity = await _activity(session, ids, limits.activity)
    stats = await _stats(session, ids, now)
    out = []
    for child in children:
        view = Overview(child)
        view.courses, view.courses_total = courses.get(child.id, ([], 0))
        view.grades, view.grades_total = grades.get(child.id, ([], 0))
        view.work, view.work_total, view.overdue_total = work.get(child.id, ([], 0, 0))
        view.certificates, view.certificates_total = certificates.get(child.id, ([], 0))
        view.activity = activity.get(child.id, [])
        view.stats = stats.get(child.id, Stats())
        view.teachers = child.teachers
        out.append(view)
    return out


__all__ = ["COUNTS", "DETAIL", "HOME", "Limits", "Overview", "overviews"]
