"""What each report kind holds and who may ask for it ("within what they may see").

* ``completion``: one row per learner x course (status, percent, completed on). Admins: every enrollment;
  teachers: those of the courses they teach; managers and group leaders: those of the learners of the groups they
  lead (and the groups below them). Filters: ``group_id``, ``course_id``.
* ``path_status``: one row per learner x learning path. Admins: all; others: the paths they own and the learners
  of their groups. Filters: ``group_id``, ``path_id``.
* ``activity``: one row per learner active between ``date_from`` and ``date_to`` (at most :data:`MAX_DAYS` days):
  minutes spent, lessons completed and days active (``learning_days``). Admins: all; others: the learners of their
  groups and of the courses they teach. Filter: ``group_id``.
* ``seat_usage``: admins only: seats purchased and used, and the seat assignments by month.
* ``gradebook``: the course gradebook (the course's staff; see :mod:`..grading.gradebook_service`).

:func:`prepare` checks a request (raising :class:`ReportError` subclasses with the offending field) and returns its
title and clean params; :func:`source` gives the header and the one streaming SELECT of its rows.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.access import staff_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.licensing.models import License, SeatEvent
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment
from tajiconnect.domains.progress.models import LearningDay
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant

#: The longest date range of an activity report, in days.
MAX_DAYS = 366
#: Kinds people pick on the request form (the gradebook is asked for from the gradebook page).
FORM_KINDS = ("completion", "path_status", "activity", "seat_usage")
KIND_LABELS = {
    "completion": N_("Course completion"),
    "path_status": N_("Learning path status"),
    "gradebook": N_("Gradebook"),
    "seat_usage": N_("Seat usage"),
    "activity": N_("Activity"),
}


class ReportError(ValueError):
    """A refused report operation; ``status`` 409 (refused, see ``field``) or 404 (not found / not the caller's)."""

    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReportNotFound(ReportError):
    status = 404


def is_admin(user: Any) -> bool:
    return groups.is_admin(user)


def is_teacher(user: Any) -> bool:
    return user is not None and user.is_active and "teacher" in (user.roles or ())


def may_request(user: Any, kind: str) -> bool:
    """Whether ``user``'s roles allow asking for ``kind`` at all (what it then holds is scoped further)."""
    if user is None or not user.is_active:
        return False
    if is_admin(user):
        return True
    if kind == "seat_usage":
        return False
    if kind == "gradebook":
        return is_teacher(user)
    return groups.is_leader_role(user)


def kinds_for(user: Any) -> list[str]:
    return [k for k in FORM_KINDS if may_request(user, k)]


def in_my_groups(user: Any, learner_col: Any) -> Any:
    """SQL: the learner is a current member of a group ``user`` may see (always true for an admin)."""
    ids = groups.visible_group_ids(user)
    if ids is None:
        return true()
    return exists().where(GroupMembership.user_id == learner_col, GroupMembership.role == "member",
                          GroupMembership.ended_at.is_(None), GroupMembership.group_id.in_(ids))


def teaches_learner(user: Any, learner_col: Any) -> Any:
    """SQL: the learner is enrolled in a course ``user`` teaches."""
    if not is_teacher(user):
        return false()
    return exists().where(Enrollment.user_id == learner_col, Enrollment.withdrawn_at.is_(None),
                          Enrollment.course_id.in_(select(Course.id).where(staff_filter(user))))


def _member_of(group_id: uuid.UUID, learner_col: Any) -> Any:
    return exists().where(GroupMembership.user_id == learner_col, GroupMembership.group_id == group_id,
                          GroupMembership.role == "member", GroupMembership.ended_at.is_(None))


def _date(value: Any, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ReportError(_("Enter a date as YYYY-MM-DD."), field) from None


async def _visible_group(session: AsyncSession, user: Any, value: Any) -> Group:
    gid = parse_uuid(value)
    group = None
    if gid is not None:
        group = await session.scalar(select(Group).where(Group.id == gid, groups.group_scope(user)))
    if group is None:
        raise ReportNotFound(_("No such group here."), "group_id")
    return group


async def _visible_course(session: AsyncSession, user: Any, value: Any) -> Course:
    cid = parse_uuid(value)
    course = None
    if cid is not None:
        stmt = select(Course).where(Course.id == cid)
        if not is_admin(user):
            stmt = stmt.where(or_(staff_filter(user), exists().where(
                Enrollment.course_id == Course.id, Enrollment.withdrawn_at.is_(None),
                in_my_groups(user, Enrollment.user_id))))
        course = await session.scalar(stmt)
    if course is None:
        raise ReportNotFound(_("No such course here."), "course_id")
    return course


async def _visible_path(session: AsyncSession, user: Any, value: Any) -> LearningPath:
    pid = parse_uuid(value)
    path = None
    if pid is not None:
        stmt = select(LearningPath).where(LearningPath.id == pid)
        if not is_admin(user):
            stmt = stmt.where(or_(LearningPath.owner_id == user.id, exists().where(
                PathEnrollment.path_id == LearningPath.id, PathEnrollment.withdrawn_at.is_(None),
                in_my_groups(user, PathEnrollment.user_id))))
        path = await session.scalar(stmt)
    if path is None:
        raise ReportNotFound(_("No such learning path here."), "path_id")
    return path


async def prepare(session: AsyncSession, user: Any, kind: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check a request for a ``kind`` report (not the gradebook) as ``user``: its title and clean params.

    Raises :class:`ReportError` (``field`` set: refused) or :class:`ReportNotFound` (a group, course or path the
    user may not see, another organization's included).
    """
    if kind not in FORM_KINDS:
        raise ReportError(_("Choose a kind of report."), "kind")
    if not may_request(user, kind):
        raise ReportError(_("You may not ask for this kind of report."), "kind")
    clean: dict[str, Any] = {}
    parts = [_(KIND_LABELS[kind])]
    if kind in ("completion", "path_status", "activity") and params.get("group_id"):
        group = await _visible_group(session, user, params["group_id"])
        clean["group_id"] = str(group.id)
        parts.append(group.name)
    if kind == "completion" and params.get("course_id"):
        course = await _visible_course(session, user, params["course_id"])
        clean["course_id"] = str(course.id)
        parts.append(course.title)
    if kind == "path_status" and params.get("path_id"):
        path = await _visible_path(session, user, params["path_id"])
        clean["path_id"] = str(path.id)
        parts.append(path.title)
    if kind == "activity":
        start = _date(params.get("date_from"), "date_from")
        end = _date(params.get("date_to"), "date_to")
        if end < start:
            raise ReportError(_("The end date cannot be before the start date."), "date_to")
        if (end - start).days + 1 > MAX_DAYS:
            raise ReportError(_("Choose at most %(days)d days.") % {"days": MAX_DAYS}, "date_to")
        clean["date_from"], clean["date_to"] = start.isoformat(), end.isoformat()
        parts.append(_("%(start)s to %(end)s") % {"start": start.isoformat(), "end": end.isoformat()})
    return ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0], clean


Row = Sequence[Any]


@dataclass(frozen=True)
class Source:
    """A report's header, the one SELECT of its rows (streamed) and how to turn a row into cells."""

    header: list[str]
    rows: Select | None
    convert: Callable[[Row], list[Any]]
    fixed: list[list[Any]] | None = None  # small reports computed up front (seat usage)

    def count(self) -> Select | None:
        if self.rows is None:
            return None
        return select(func.count()).select_from(self.rows.order_by(None).subquery())


def _day(value: datetime.datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def _status_labels() -> dict[str, str]:
    return {"active": _("In progress"), "completed": _("Completed"), "withdrawn": _("Withdrawn")}


def _completion(user: Any, params: Mapping[str, Any]) -> Source:
    stmt = (
        select(User.name, User.email, Course.title, Enrollment.status, Enrollment.progress_percent,
               Enrollment.completed_at)
        .join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.withdrawn_at.is_(None))
    )
    if not is_admin(user):
        stmt = stmt.where(or_(staff_filter(user), in_my_groups(user, Enrollment.user_id)))
    if params.get("course_id"):
        stmt = stmt.where(Enrollment.course_id == uuid.UUID(params["course_id"]))
    if params.get("group_id"):
        stmt = stmt.where(_member_of(uuid.UUID(params["group_id"]), Enrollment.user_id))
    stmt = stmt.order_by(User.name, User.email, Course.title, Enrollment.id)
    labels = _status_labels()
    return Source(
        header=[_("Learner"), _("Email"), _("Course"), _("Status"), _("Progress %"), _("Completed on")],
        rows=stmt,
        convert=lambda r: [r[0], r[1], r[2], labels.get(r[3], r[3]), r[4], _day(r[5])],
    )


def _path_status(user: Any, params: Mapping[str, Any]) -> Source:
    stmt = (
        select(User.name, User.email, LearningPath.title, PathEnrollment.status, PathEnrollment.progress_percent,
               PathEnrollment.courses_completed, PathEnrollment.completed_at)
        .join(User, User.id == PathEnrollment.user_id)
        .join(LearningPath, LearningPath.id == PathEnrollment.path_id)
        .where(PathEnrollment.withdrawn_at.is_(None))
    )
    if not is_admin(user):
        stmt = stmt.where(or_(LearningPath.owner_id == user.id, in_my_groups(user, PathEnrollment.user_id)))
    if params.get("path_id"):
        stmt = stmt.where(PathEnrollment.path_id == uuid.UUID(params["path_id"]))
    if params.get("group_id"):
        stmt = stmt.where(_member_of(uuid.UUID(params["group_id"]), PathEnrollment.user_id))
    stmt = stmt.order_by(User.name, User.email, LearningPath.title, PathEnrollment.id)
    labels = _status_labels()
    return Source(
        header=[_("Learner"), _("Email"), _("Learning path"), _("Status"), _("Progress %"), _("Courses completed"),
                _("Completed on")],
        rows=stmt,
        convert=lambda r: [r[0], r[1], r[2], labels.get(r[3], r[3]), r[4], r[5], _day(r[6])],
    )


def _activity(user: Any, params: Mapping[str, Any]) -> Source:
    start = datetime.date.fromisoformat(params["date_from"])
    end = datetime.date.fromisoformat(params["date_to"])
    stmt = (
        select(User.name, User.email, func.sum(LearningDay.seconds_spent), func.sum(LearningDay.lessons_completed),
               func.count())
        .join(User, User.id == LearningDay.user_id)
        .where(LearningDay.day.between(start, end))
        .group_by(User.id, User.name, User.email)
    )
    if not is_admin(user):
        stmt = stmt.where(or_(in_my_groups(user, LearningDay.user_id), teaches_learner(user, LearningDay.user_id)))
    if params.get("group_id"):
        stmt = stmt.where(_member_of(uuid.UUID(params["group_id"]), LearningDay.user_id))
    stmt = stmt.order_by(User.name, User.email, User.id)
    return Source(
        header=[_("Learner"), _("Email"), _("Minutes spent"), _("Lessons completed"), _("Days active")],
        rows=stmt,
        convert=lambda r: [r[0], r[1], int(r[2] or 0) // 60, int(r[3] or 0), int(r[4] or 0)],
    )


async def _seat_usage(session: AsyncSession) -> Source:
    tenant = require_tenant()
    purchased = await session.scalar(select(License.seats).where(License.tenant_id == tenant.id))
    used = await session.scalar(select(func.count()).select_from(User).where(User.seat_assigned_at.is_not(None)))
    month = func.to_char(SeatEvent.created_at, "YYYY-MM")
    history = (await session.execute(
        select(month, SeatEvent.change, func.count())
        .group_by(month, SeatEvent.change).order_by(month, SeatEvent.change)
    )).all()
    changes = {"assigned": _("Seats assigned"), "released": _("Seats released")}
    fixed: list[list[Any]] = [["", _("Seats purchased"), purchased if purchased is not None else ""],
                              ["", _("Seats used"), int(used or 0)]]
    fixed += [[m, changes.get(c, c), int(n)] for m, c, n in history]
    return Source(header=[_("Month"), _("Item"), _("Count")], rows=None, convert=list, fixed=fixed)


async def source(session: AsyncSession, user: Any, kind: str, params: Mapping[str, Any]) -> Source:
    """The rows of a ``kind`` report as ``user`` may see them now (their roles are checked again)."""
    if not may_request(user, kind):
        raise ReportError(_("You may not ask for this kind of report."), "kind")
    if kind == "completion":
        return _completion(user, params)
    if kind == "path_status":
        return _path_status(user, params)
    if kind == "activity":
        return _activity(user, params)
    if kind == "seat_usage":
        return await _seat_usage(session)
    raise ReportError(_("Choose a kind of report."), "kind")


__all__ = ["FORM_KINDS", "KIND_LABELS", "MAX_DAYS", "ReportError", "ReportNotFound", "Source", "prepare",
           "source"]
