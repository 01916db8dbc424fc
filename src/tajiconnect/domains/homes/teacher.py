"""The teacher's home: my classes and courses, the grading queue, learners at risk, recent submissions.

Every part is one statement (the grading queue two, through ``grading.grader.queue``), whatever the number of
classes, courses or learners; who counts as "mine" comes from ``people/relations.py`` (the groups I currently lead,
the courses I staff, the learners of both).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import OrganizationSettings, User
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.enrollments.service import overdue_sql
from tajiconnect.domains.grading import grader
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.homes import risk
from tajiconnect.domains.people import relations

LIST_LIMIT = 12  # classes and courses shown on the home; the full lists are one click away
QUEUE_SHOWN = 5
RECENT_SHOWN = 5
AT_RISK_PER_PAGE = 20


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class ClassRow:
    id: uuid.UUID
    name: str
    learners: int
    average: int | None


@dataclass
class CourseRow:
    id: uuid.UUID
    title: str
    status: str
    learners: int
    average: int | None


@dataclass
class AtRiskRow:
    id: uuid.UUID
    name: str
    email: str
    last_activity: datetime.datetime | None
    overdue: int
    recent_average: Decimal | None
    earlier_average: Decimal | None
    rules: list[str] = field(default_factory=list)


@dataclass
class Submission:
    grade_id: uuid.UUID
    status: str
    submitted_at: datetime.datetime
    learner: str
    lesson: str
    course: str
    course_id: uuid.UUID


def _percent(value: Any) -> int | None:
    return None if value is None else round(float(value))


async def inactive_days(session: AsyncSession) -> int:
    value = await session.scalar(
        select(OrganizationSettings.at_risk_inactive_days).where(OrganizationSettings.id == 1))
    return int(value) if value else risk.DEFAULT_INACTIVE_DAYS


async def set_inactive_days(session: AsyncSession, days: int) -> int:
    """Store the organization's setting (the row is made if missing); the previous value."""
    settings = await session.get(OrganizationSettings, 1)
    if settings is None:
        settings = OrganizationSettings(id=1, require_2fa_roles=[])
        session.add(settings)
        before = risk.DEFAULT_INACTIVE_DAYS
    else:
        before = settings.at_risk_inactive_days
    settings.at_risk_inactive_days = days
    await session.flush()
    return before


async def my_classes(session: AsyncSession, teacher_id: uuid.UUID) -> tuple[list[ClassRow], int]:
    """The groups the teacher currently leads (not archived), with their learners and average course progress."""
    member = and_(GroupMembership.group_id == Group.id, GroupMembership.role == "member",
                  GroupMembership.ended_at.is_(None))
    members = select(func.count()).select_from(GroupMembership).where(member).scalar_subquery()
    average = (select(func.avg(Enrollment.progress_percent))
               .where(Enrollment.withdrawn_at.is_(None),
                      Enrollment.user_id.in_(select(GroupMembership.user_id).where(member)))
               .scalar_subquery())
    rows = (await session.execute(
        select(Group.id, Group.name, members, average, func.count().over())
        .where(Group.id.in_(relations.groups_led_by(teacher_id)), Group.archived_at.is_(None))
        .order_by(func.lower(Group.name), Group.id).limit(LIST_LIMIT)
    )).all()
    total = rows[0][4] if rows else 0
    return [ClassRow(r[0], r[1], int(r[2] or 0), _percent(r[3])) for r in rows], int(total)


async def my_courses(session: AsyncSession, teacher_id: uuid.UUID) -> tuple[list[CourseRow], int]:
    """The courses the teacher staffs (not archived), with their current learners and average progress."""
    current = and_(Enrollment.course_id == Course.id, Enrollment.withdrawn_at.is_(None))
    learners = select(func.count()).select_from(Enrollment).where(current).scalar_subquery()
    average = select(func.avg(Enrollment.progress_percent)).where(current).scalar_subquery()
    rows = (await session.execute(
        select(Course.id, Course.title, Course.status, learners, average, func.count().over())
        .where(Course.id.in_(relations.courses_taught_by(teacher_id)), Course.status != "archived")
        .order_by(func.lower(Course.title), Course.id).limit(LIST_LIMIT)
    )).all()
    total = rows[0][5] if rows else 0
    return [CourseRow(r[0], r[1], r[2], int(r[3] or 0), _percent(r[4])) for r in rows], int(total)


def at_risk_statement(teacher_id: uuid.UUID, *, now: datetime.datetime, days: int) -> Any:
    """SQL twin of :func:`risk.rules_met` over the teacher's learners: the learners meeting at least one rule, with
    what the rules read, and the total (a window count) on each row."""
    learners = relations.learners_of(teacher_id)
    # What the rules read: the courses the teacher staffs, and every course of the learners of the classes they
    # lead (a class teacher follows their class's whole learning); never another teacher's course otherwise.
    taught, followed = relations.courses_taught_by(teacher_id), relations.class_learners_of(teacher_id)

    def seen(course_id: Any, user_id: Any) -> Any:
        return or_(course_id.in_(taught), user_id.in_(followed))

    activity = (
        select(Enrollment.user_id.label("user_id"),
               func.coalesce(func.max(Enrollment.last_activity_at), func.max(Enrollment.created_at)).label("since"),
               func.max(Enrollment.last_activity_at).label("last"),
               func.count().filter(overdue_sql(Enrollment)).label("overdue"))
        .where(Enrollment.withdrawn_at.is_(None), Enrollment.user_id.in_(learners),
               seen(Enrollment.course_id, Enrollment.user_id))
        .group_by(Enrollment.user_id).subquery("activity")
    )
    graded = exists().where(Grade.assessment_id == Assessment.id, Grade.user_id == Enrollment.user_id)
    work = (
        select(Enrollment.user_id.label("user_id"), func.count().label("missing"))
        .join(Assessment, Assessment.course_id == Enrollment.course_id)
        .where(Enrollment.withdrawn_at.is_(None), Enrollment.status == "active", Enrollment.user_id.in_(learners),
               Assessment.due_at.is_not(None), Assessment.due_at < now, ~graded,
               seen(Enrollment.course_id, Enrollment.user_id))
        .group_by(Enrollment.user_id).subquery("work")
    )
    percent = Grade.score * 100 / Grade.max_points
    ranked = (
        select(Grade.user_id.label("user_id"), percent.label("percent"),
               func.row_number().over(partition_by=Grade.user_id,
                                      order_by=(Grade.released_at.desc(), Grade.id.desc())).label("n"))
        .where(Grade.status == "released", Grade.score.is_not(None), Grade.max_points > 0,
               Grade.user_id.in_(learners), seen(Grade.course_id, Grade.user_id))
        .subquery("ranked")
    )
    trend = (
        select(ranked.c.user_id,
               func.avg(ranked.c.percent).filter(ranked.c.n <= risk.RECENT).label("recent"),
               func.avg(ranked.c.percent).filter(ranked.c.n > risk.RECENT).label("earlier"))
        .group_by(ranked.c.user_id).subquery("trend")
    )
    overdue = func.coalesce(activity.c.overdue, 0) + func.coalesce(work.c.missing, 0)
    inactive = and_(activity.c.since.is_not(None), activity.c.since <= now - datetime.timedelta(days=days))
    falling = and_(trend.c.recent.is_not(None), trend.c.earlier.is_not(None),
                   trend.c.recent <= trend.c.earlier - risk.DROP_POINTS)
    return (
        select(User.id, User.name, User.email, activity.c.last, activity.c.since, overdue.label("overdue"),
               trend.c.recent, trend.c.earlier, func.count().over().label("total"))
        .select_from(User)
        .outerjoin(activity, activity.c.user_id == User.id)
        .outerjoin(work, work.c.user_id == User.id)
        .outerjoin(trend, trend.c.user_id == User.id)
        .where(User.id.in_(learners), or_(inactive, overdue > 0, falling))
        .order_by(case((falling, 0), else_=1), func.lower(User.name), User.id)
    )


async def at_risk(session: AsyncSession, teacher_id: uuid.UUID, *, now: datetime.datetime, days: int, page: int = 1,
                  per_page: int = AT_RISK_PER_PAGE) -> tuple[list[AtRiskRow], int]:
    """One page of the teacher's learners at risk, each with the rules they meet: one statement."""
    stmt = at_risk_statement(teacher_id, now=now, days=days).limit(per_page).offset((page - 1) * per_page)
    rows = (await session.execute(stmt)).all()
    found = []
    for r in rows:
        row = AtRiskRow(r[0], r[1] or r[2], r[2], r[3], int(r[5] or 0), r[6], r[7])
        row.rules = risk.rules_met(last_activity=r[3], enrolled_at=r[4], overdue=row.overdue, recent_avg=r[6],
                                   earlier_avg=r[7], now=now, days=days)
        found.append(row)
    return found, int(rows[0][8]) if rows else 0


async def recent_submissions(session: AsyncSession, user: Any, limit: int = RECENT_SHOWN) -> list[Submission]:
    """The latest work handed in to the courses the teacher staffs (any status), newest first."""
    rows = (await session.execute(
        select(Grade.id, Grade.status, Grade.submitted_at, User.name, User.email, Lesson.title, Course.title,
               Course.id)
        .join(Course, Course.id == Grade.course_id)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(User, User.id == Grade.user_id)
        .where(access.staff_filter(user), Grade.submitted_at.is_not(None))
        .order_by(Grade.submitted_at.desc(), Grade.id.desc()).limit(limit)
    )).all()
    return [Submission(r[0], r[1], r[2], r[3] or r[4], r[5], r[6], r[7]) for r in rows]


async def load(session: AsyncSession, user: Any, *, page: int = 1, now: datetime.datetime | None = None
               ) -> dict[str, Any]:
    """Everything the teacher's home shows (a fixed number of statements)."""
    now = now or now_utc()
    days = await inactive_days(session)
    classes, classes_total = await my_classes(session, user.id)
    courses, courses_total = await my_courses(session, user.id)
    queue = await grader.queue(session, user, grader.QueueFilters(), per_page=QUEUE_SHOWN)
    risky, risky_total = await at_risk(session, user.id, now=now, days=days, page=page)
    return {
        "days": days, "now": now, "classes": classes, "classes_total": classes_total, "courses": courses,
        "courses_total": courses_total, "queue": queue, "at_risk": risky, "at_risk_total": risky_total,
        "recent": await recent_submissions(session, user), "recent_count": risk.RECENT,
        "drop_points": int(risk.DROP_POINTS),
    }
