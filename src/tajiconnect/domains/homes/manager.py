"""The manager's home: the team's mandatory training and learning paths, the overdue people, the seats the team
uses, and the throttled "nudge".

"The team" is what ``/teach/progress`` shows a manager: the current members of the groups they lead and of every
group below them (``enrollments.service.learner_scope``; admins: everyone). Mandatory training is the current
assignments with a due date given to those groups or people. An overdue person is a current enrollment (a course's,
or a path's) made by such an assignment whose due date passed and that is not completed; the course enrollments a
path made are counted under the path.

A nudge reminds one overdue learner of one assignment through ``notify()`` (category ``nudge``), at most once per
learner and assignment per :data:`NUDGE_EVERY` (the ``nudges`` row's upsert decides, see ``models.py``), and is
audited (``learning.nudged``).
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment, LearningAssignment
from tajiconnect.domains.enrollments.service import learner_scope, overdue_sql
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.homes.models import Nudge
from tajiconnect.domains.notifications.service import notify
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _

NUDGE_EVERY = datetime.timedelta(hours=24)
LIST_LIMIT = 20
OVERDUE_PER_PAGE = 25
CSV_CHUNK = 1000
KINDS = ("course", "path")


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class NudgeError(Exception):
    def __init__(self, message: str, status: int, next_at: datetime.datetime | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.next_at = next_at


@dataclass
class Training:
    assignment_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    title: str
    target: str
    target_is_group: bool
    due_at: datetime.datetime
    people: int
    completed: int
    overdue: int

    @property
    def percent(self) -> int:
        return round(100 * self.completed / self.people) if self.people else 0


@dataclass
class PathRow:
    id: uuid.UUID
    title: str
    people: int
    completed: int
    average: int
    overdue: int


@dataclass
class Overdue:
    kind: str
    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    assignment_id: uuid.UUID
    subject_id: uuid.UUID
    name: str
    email: str
    title: str
    due_at: datetime.datetime
    percent: int
    last_nudged_at: datetime.datetime | None

    def next_nudge_at(self) -> datetime.datetime | None:
        return self.last_nudged_at + NUDGE_EVERY if self.last_nudged_at is not None else None

    def may_nudge(self, now: datetime.datetime) -> bool:
        following = self.next_nudge_at()
        return following is None or following <= now


@dataclass
class Seats:
    learners: int
    holding: int


def _team(user: Any) -> tuple[Any, Any]:
    """(the team's group ids, the team's learner ids) as subqueries; ``None`` each for an admin (everyone)."""
    visible = groups.visible_group_ids(user)
    return visible, learner_scope(user, visible)


def _in(column: Any, ids: Any) -> Any:
    return true() if ids is None else column.in_(ids)


async def training(session: AsyncSession, user: Any) -> tuple[list[Training], int]:
    """The team's current assignments with a due date (soonest first), with people, completed and overdue."""
    visible, learners = _team(user)
    a = LearningAssignment

    def counted(model: Any, extra: Any = None) -> Any:
        where = [model.assignment_id == a.id, model.withdrawn_at.is_(None), _in(model.user_id, learners)]
        if model is Enrollment:
            where.append(Enrollment.source != "path")
        if extra is not None:
            where.append(extra)
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    def both(extra_course: Any = None, extra_path: Any = None) -> Any:
        return case((a.course_id.is_not(None), counted(Enrollment, extra_course)),
                    else_=counted(PathEnrollment, extra_path))

    rows = (await session.execute(
        select(a.id, a.course_id, a.path_id, func.coalesce(Course.title, LearningPath.title),
               func.coalesce(Group.name, User.name, User.email), a.group_id.is_not(None), a.due_at,
               both(), both(Enrollment.status == "completed", PathEnrollment.status == "completed"),
               both(overdue_sql(Enrollment), overdue_sql(PathEnrollment)), func.count().over())
        .outerjoin(Course, Course.id == a.course_id)
        .outerjoin(LearningPath, LearningPath.id == a.path_id)
        .outerjoin(Group, Group.id == a.group_id)
        .outerjoin(User, User.id == a.user_id)
        .where(a.ended_at.is_(None), a.due_at.is_not(None),
               true() if visible is None else or_(a.group_id.in_(visible), a.user_id.in_(learners)))
        .order_by(a.due_at, a.id).limit(LIST_LIMIT)
    )).all()
    found = [Training(r[0], "course" if r[1] else "path", r[1] or r[2], r[3] or "", r[4] or "", bool(r[5]), r[6],
                      int(r[7] or 0), int(r[8] or 0), int(r[9] or 0)) for r in rows]
    return found, int(rows[0][10]) if rows else 0


async def paths(session: AsyncSession, user: Any) -> tuple[list[PathRow], int]:
    """The learning paths the team is on, with people, completed, average progress and overdue."""
    _visible, learners = _team(user)
    pe = PathEnrollment
    rows = (await session.execute(
        select(LearningPath.id, LearningPath.title, func.count(), func.count().filter(pe.status == "completed"),
               func.avg(pe.progress_percent), func.count().filter(overdue_sql(pe)), func.count().over())
        .join(LearningPath, LearningPath.id == pe.path_id)
        .where(pe.withdrawn_at.is_(None), _in(pe.user_id, learners))
        .group_by(LearningPath.id, LearningPath.title)
        .order_by(func.lower(LearningPath.title), LearningPath.id).limit(LIST_LIMIT)
    )).all()
    found = [PathRow(r[0], r[1], int(r[2]), int(r[3]), round(float(r[4] or 0)), int(r[5])) for r in rows]
    return found, int(rows[0][6]) if rows else 0


async def seats(session: AsyncSession, user: Any) -> Seats:
    """The team's active or invited learners, and how many of them hold a seat (one statement)."""
    _visible, learners = _team(user)
    where = [_in(User.id, learners), User.roles.contains(["student"]), User.status.in_(("active", "invited"))]
    row = (await session.execute(
        select(func.count(), func.count().filter(User.seat_assigned_at.is_not(None))).where(*where)
    )).one()
    return Seats(int(row[0]), int(row[1]))


def overdue_statement(user: Any) -> Any:
    """The team's overdue people (assigned work only: a nudge names its assignment), soonest due first."""
    _visible, learners = _team(user)
    courses = (
        select(literal("course").label("kind"), Enrollment.id.label("enrollment_id"), Enrollment.user_id,
               Enrollment.assignment_id, Course.id.label("subject_id"), Course.title, Enrollment.due_at,
               Enrollment.progress_percent)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.withdrawn_at.is_(None), overdue_sql(Enrollment), Enrollment.assignment_id.is_not(None),
               Enrollment.source != "path", _in(Enrollment.user_id, learners))
    )
    in_paths = (
        select(literal("path").label("kind"), PathEnrollment.id.label("enrollment_id"), PathEnrollment.user_id,
               PathEnrollment.assignment_id, LearningPath.id.label("subject_id"), LearningPath.title,
               PathEnrollment.due_at, PathEnrollment.progress_percent)
        .join(LearningPath, LearningPath.id == PathEnrollment.path_id)
        .where(PathEnrollment.withdrawn_at.is_(None), overdue_sql(PathEnrollment),
               PathEnrollment.assignment_id.is_not(None), _in(PathEnrollment.user_id, learners))
    )
    both = union_all(courses, in_paths).subquery("overdue")
    return (
        select(both.c.kind, both.c.enrollment_id, both.c.user_id, both.c.assignment_id, both.c.subject_id,
               User.name, User.email, both.c.title, both.c.due_at, both.c.progress_percent, Nudge.last_sent_at,
               func.count().over())
        .join(User, User.id == both.c.user_id)
        .outerjoin(Nudge, and_(Nudge.assignment_id == both.c.assignment_id, Nudge.learner_id == both.c.user_id))
        .where(User.status == "active")
        .order_by(both.c.due_at, func.lower(User.name), both.c.enrollment_id)
    )


def _overdue(r: Any) -> Overdue:
    return Overdue(r[0], r[1], r[2], r[3], r[4], r[5] or r[6], r[6], r[7], r[8], int(r[9] or 0), r[10])


async def overdue(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = OVERDUE_PER_PAGE
                  ) -> tuple[list[Overdue], int]:
    rows = (await session.execute(overdue_statement(user).limit(per_page).offset((page - 1) * per_page))).all()
    return [_overdue(r) for r in rows], int(rows[0][11]) if rows else 0


async def find_overdue(session: AsyncSession, user: Any, kind: str, enrollment_id: Any) -> Overdue:
    """One overdue row of the caller's team, by its enrollment; 404 when it is not theirs, 409 when not overdue."""
    key = parse_uuid(enrollment_id)
    if kind not in KINDS or key is None:
        raise NudgeError(_("No such overdue work in your team."), 404)
    sub = overdue_statement(user).order_by(None).subquery()
    row = (await session.execute(
        select(*sub.c).where(sub.c.enrollment_id == key, sub.c.kind == kind))).first()
    if row is None:
        raise NudgeError(_("No such overdue work in your team."), 404)
    return _overdue(row)


async def nudge(session: AsyncSession, acting: Acting, kind: str, enrollment_id: Any,
                now: datetime.datetime | None = None) -> Overdue:
    """Remind one overdue learner of one assignment (see the module): 404 outside the team, 409 when throttled
    (``next_at`` says when the next is possible)."""
    now = now or now_utc()
    item = await find_overdue(session, acting.user, kind, enrollment_id)
    statement = (
        insert(Nudge)
        .values(id=uuid.uuid4(), assignment_id=item.assignment_id, learner_id=item.learner_id, last_sent_at=now,
                sent_count=1, last_sent_by_email=acting.actor.email, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=["assignment_id", "learner_id"],
            set_={"last_sent_at": now, "sent_count": Nudge.sent_count + 1,
                  "last_sent_by_email": acting.actor.email, "updated_at": now},
            where=Nudge.last_sent_at <= now - NUDGE_EVERY,
        )
        .returning(Nudge.sent_count)
    )
    count = (await session.execute(statement)).scalar_one_or_none()
    if count is None:
        last = await session.scalar(select(Nudge.last_sent_at).where(
            Nudge.assignment_id == item.assignment_id, Nudge.learner_id == item.learner_id))
        following = (last or now) + NUDGE_EVERY
        raise NudgeError(_("This learner was reminded less than 24 hours ago: the next reminder is possible from "
                           "%(when)s.") % {"when": following.strftime("%Y-%m-%d %H:%M UTC")}, 409, following)
    learner = await session.get(User, item.learner_id)
    assert learner is not None
    link = f"/learn/courses/{item.subject_id}" if kind == "course" else f"/paths/{item.subject_id}"
    await notify(
        session, learner, "nudge", key=f"nudge:{item.assignment_id}:{item.learner_id}:{count}",
        title=N_("Reminder: %(title)s is overdue"),
        body=N_("It was due %(due)s. %(manager)s asks you to complete it."),
        params={"title": item.title, "due": item.due_at.strftime("%Y-%m-%d"),
                "manager": acting.user.name or acting.user.email},
        link=link, data={"assignment_id": str(item.assignment_id), "kind": kind},
    )
    await record(session, acting.actor, "learning.nudged", subject_email=item.email, target_type=kind,
                 target_id=item.subject_id, assignment_id=str(item.assignment_id), count=count)
    item.last_nudged_at = now
    return item


CSV_COLUMNS = ("learner", "email", "kind", "subject", "due_at", "percent", "last_nudged_at")


def _safe(value: str) -> str:
    """No spreadsheet formula from a name or title (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def csv_chunks(engine: AsyncEngine, schema: str, user: Any) -> AsyncIterator[bytes]:
    """The overdue list as CSV, header first, :data:`CSV_CHUNK` rows per round trip, in one read transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    stmt = overdue_statement(user)
    async with session_scope(engine, schema=schema) as session:
        offset = 0
        while True:
            rows = [_overdue(r) for r in (await session.execute(stmt.limit(CSV_CHUNK).offset(offset))).all()]
            if not rows:
                break
            buffer.seek(0)
            buffer.truncate()
            for r in rows:
                writer.writerow([_safe(r.name), _safe(r.email), r.kind, _safe(r.title), r.due_at.isoformat(),
                                 r.percent, r.last_nudged_at.isoformat() if r.last_nudged_at else ""])
            yield buffer.getvalue().encode()
            offset += CSV_CHUNK


async def load(session: AsyncSession, user: Any, *, page: int = 1, now: datetime.datetime | None = None
               ) -> dict[str, Any]:
    """Everything the manager's home shows (a fixed number of statements)."""
    trainings, trainings_total = await training(session, user)
    path_rows, paths_total = await paths(session, user)
    rows, total = await overdue(session, user, page=page)
    return {
        "now": now or now_utc(), "training": trainings, "training_total": trainings_total, "paths": path_rows,
        "paths_total": paths_total, "overdue": rows, "overdue_total": total, "seats": await seats(session, user),
    }
