"""Enrollment: who is in which course and path, and why.

* **Self-enrollment** (:func:`enroll_self`): a published course the member finds in the catalog
  (``courses.access.catalog_filter``), open to self-enrollment, whose prerequisites they completed (one
  ``learning_completions`` row per prerequisite course; otherwise the refusal names the missing courses). A learner
  (``student`` role) must hold a seat (``users.seat_assigned_at``).
* **Assignment** (:func:`assign`): a course or a path given to learners or to whole teams/classes, with an
  optional due date. Admins assign to anyone and any group; managers and teachers (``learning.assign``) only to the
  groups they lead (and those below them, ``groups.service.visible_group_ids``) and to the learners in them. A
  current assignment to a group enrolls its current members, and :func:`sync_group_assignments` enrolls people who
  join later (it runs after every membership change: groups service, roster import).
* **Ending** an assignment (:func:`end_assignment`) stops enrolling newcomers; enrollments stay with their progress.
* **Withdrawing** (:func:`withdraw`) keeps the row (``withdrawn_at``, status ``withdrawn``); enrolling again later
  adds a new row, so the history reads as it happened.
* **Paths**: a path enrollment plus one course enrollment per course of the path (source ``path``).

Everything that enrolls many people is one set-based statement (``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
on the partial unique indexes), so a repeat, a concurrent run or a 10,000-row import never enrolls anyone twice.
Staff actions are audited in the caller's transaction.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from tajiconnect.db.ids import parse_uuid as _uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.courses.access import catalog_filter, is_staff, manages_all, open_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment, LearningAssignment
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.groups.service import Acting  # who acts: the member and the audit actor
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.i18n import _

MAX_TARGETS = 1000  # ids in one assignment request (users or groups)

# A time-ordered UUID (version 7) made by PostgreSQL, for the set-based inserts (the ORM makes them in Python).
UUID7_SQL = (
    "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), "
    "52, 1), 53, 1), 'hex')::uuid"
)


class EnrollmentError(ValueError):
    """A refused enrollment operation; the message is for the person acting, ``field`` names the input at fault."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EnrollmentNotFound(EnrollmentError):
    """No such course, path, group, person or enrollment here, or not one the caller may see (404)."""

    status = 404


class EnrollmentForbidden(EnrollmentError):
    """The caller sees it but may not do this (403)."""

    status = 403


class EnrollmentConflict(EnrollmentError):
    """Valid, but the current state refuses it: not open to self-enrollment, prerequisites missing, no seat (409).
    ``missing`` lists the titles of missing prerequisite courses, when that is the reason."""

    status = 409

    def __init__(self, message: str, field: str | None = None, missing: Sequence[str] = ()) -> None:
        super().__init__(message, field)
        self.missing = list(missing)




async def find_one(session: AsyncSession, model: Any, key: Any, *where: Any, message: str) -> Any:
    """The row of ``model`` with id ``key`` that also meets ``where`` (the caller's scope), else
    :class:`EnrollmentNotFound` with ``message`` (a malformed id, another tenant's, or one out of scope alike)."""
    ident = _uuid(key)
    found = None
    if ident is not None:
        found = await session.scalar(select(model).where(model.id == ident, *where))
    if found is None:
        raise EnrollmentNotFound(message)
    return found


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def is_overdue(due_at: datetime.datetime | None, status: str, at: datetime.datetime | None = None) -> bool:
    """Due date passed and not completed (a withdrawn enrollment is not overdue: nobody expects it any more)."""
    if due_at is None or status in ("completed", "withdrawn"):
        return False
    return due_at < (at or now())


def overdue_sql(model: Any) -> ColumnElement[bool]:
    """SQL twin of :func:`is_overdue` on ``Enrollment`` or ``PathEnrollment``."""
    return and_(model.due_at.is_not(None), model.due_at < text("now()"), model.status == "active")


# --- who may see and assign -------------------------------------------------------------------------------------


def may_assign(user: Any) -> bool:
    return can(user, Permission.ASSIGN_LEARNING)


def learner_scope(user: Any, visible: Select | None = None) -> Select | None:
    """The ids of the learners ``user`` follows as staff: current members of the groups they lead (and those below
    them; ``visible``: that subquery, when the caller already has it). ``None`` for an admin (everyone)."""
    if groups.is_admin(user):
        return None
    visible = visible if visible is not None else groups.visible_group_ids(user)
    if visible is None:  # pragma: no cover - admins handled above
        return None
    return select(GroupMembership.user_id).where(
        GroupMembership.ended_at.is_(None), GroupMembership.role == "member", GroupMembership.group_id.in_(visible)
    )


def in_learner_scope(user: Any, column: Any) -> ColumnElement[bool]:
    scope = learner_scope(user)
    return true() if scope is None else column.in_(scope)


# --- reading ------------------------------------------------------------------------------------------------------


async def findable_course(session: AsyncSession, user: Any, course_id: uuid.UUID | str) -> Course:
    """A course the member finds in the catalog (or edits); other tenants' ids and hidden courses are not found."""
    course: Course = await find_one(session, Course, course_id, catalog_filter(user), message=_("No such course."))
    return course


async def visible_course(session: AsyncSession, user: Any, course_id: uuid.UUID | str) -> Course:
    """A course the member finds in the catalog, teaches, or opens (enrolled, hidden courses included)."""
    course: Course = await find_one(
        session, Course, course_id, or_(catalog_filter(user), open_filter(user)), message=_("No such course.")
    )
    return course


async def current_enrollment(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID) -> Enrollment | None:
    return await session.scalar(
        select(Enrollment).where(
            Enrollment.user_id == user_id, Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None)
        )
    )


async def completed_course_ids(
    session: AsyncSession, user_id: uuid.UUID, course_ids: Iterable[uuid.UUID] | None = None
) -> set[uuid.UUID]:
    """The courses ``user_id`` completed (a ``learning_completions`` row each), among ``course_ids`` if given."""
    stmt = select(LearningCompletion.course_id).where(
        LearningCompletion.user_id == user_id, LearningCompletion.course_id.is_not(None)
    )
    if course_ids is not None:
        ids = list(course_ids)
        if not ids:
            return set()
        stmt = stmt.where(LearningCompletion.course_id.in_(ids))
    return {cid for cid in (await session.scalars(stmt)).all() if cid is not None}


async def missing_prerequisites(session: AsyncSession, user_id: uuid.UUID, course: Course) -> list[Course]:
    """The prerequisite courses of ``course`` that ``user_id`` has not completed, by title."""
    wanted = list(course.prerequisite_ids or [])
    if not wanted:
        return []
    done = await completed_course_ids(session, user_id, wanted)
    missing = [cid for cid in wanted if cid not in done]
    if not missing:
        return []
    rows = await session.scalars(select(Course).where(Course.id.in_(missing)).order_by(Course.title))
    return list(rows.all())


def missing_message(titles: Sequence[str]) -> str:
    return _("Complete these courses first: %(courses)s.") % {"courses": ", ".join(titles)}


def needs_seat(user: Any) -> bool:
    """A learner without a seat may not start learning."""
    return "student" in (user.roles or ()) and getattr(user, "seat_assigned_at", None) is None


# --- self-enrollment ------------------------------------------------------------------------------------------------


async def self_enroll_refusal(session: AsyncSession, user: Any, course: Course) -> EnrollmentConflict | None:
    """Why ``user`` may not enroll themself in ``course`` now, or ``None``."""
    if course.status != "published":
        return EnrollmentConflict(_("This course is not open for enrollment."))
    if not course.self_enroll:
        return EnrollmentConflict(_("This course is by assignment only: ask your manager or teacher."))
    missing = await missing_prerequisites(session, user.id, course)
    if missing:
        titles = [c.title for c in missing]
        return EnrollmentConflict(missing_message(titles), "prerequisites", missing=titles)
    if needs_seat(user):
        return EnrollmentConflict(_("You do not have a seat yet: ask an administrator of your organization."))
    return None


async def enroll_self(session: AsyncSession, acting: Acting, course_id: uuid.UUID | str) -> tuple[Enrollment, bool]:
    """Enroll the member in a course (see the module docstring). Returns the enrollment and whether it is new;
    a member already enrolled gets their current enrollment back."""
    user = acting.user
    course = await findable_course(session, user, course_id)
    existing = await current_enrollment(session, user.id, course.id)
    if existing is not None:
        return existing, False
    refusal = await self_enroll_refusal(session, user, course)
    if refusal is not None:
        raise refusal
    enrollment = Enrollment(course_id=course.id, user_id=user.id, source="self", enrolled_by_email=user.email)
    session.add(enrollment)
    await session.flush()
    return enrollment, True


# --- assignment -----------------------------------------------------------------------------------------------------


@dataclass
class Assigned:
    """What :func:`assign` did: the current assignments (new or already there) and how many people it enrolled."""

    assignments: list[LearningAssignment] = field(default_factory=list)
    enrolled: int = 0


async def assignable_course(session: AsyncSession, user: Any, course_id: uuid.UUID | str) -> Course:
    """A published course the caller may hand out: one they find in the catalog or teach (admins: any)."""
    course = await findable_course(session, user, course_id)
    if course.status != "published":
        raise EnrollmentConflict(_("Only a published course can be assigned."))
    return course


async def _check_groups(session: AsyncSession, user: Any, group_ids: Sequence[uuid.UUID]) -> list[Group]:
    if not group_ids:
        return []
    found = list(
        (await session.scalars(select(Group).where(Group.id.in_(group_ids), groups.group_scope(user)))).all()
    )
    if len(found) != len(set(group_ids)):
        raise EnrollmentNotFound(_("No such group, or not one you lead."), "team_ids")
    if any(g.archived_at is not None for g in found):
        raise EnrollmentConflict(_("An archived group cannot be given learning."), "team_ids")
    return found


async def _check_users(session: AsyncSession, user: Any, user_ids: Sequence[uuid.UUID]) -> list[User]:
    if not user_ids:
        return []
    stmt = select(User).where(User.id.in_(user_ids), in_learner_scope(user, User.id))
    found = list((await session.scalars(stmt)).all())
    if len(found) != len(set(user_ids)):
        raise EnrollmentNotFound(_("No such person, or not a learner in a group you lead."), "user_ids")
    if any(u.status == "deactivated" for u in found):
        raise EnrollmentConflict(_("A deactivated member cannot be given learning."), "user_ids")
    return found


def _ids(values: Iterable[uuid.UUID | str] | None, field_name: str) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for value in values or ():
        key = _uuid(value)
        if key is None:
            raise EnrollmentNotFound(_("No such group or person."), field_name)
        out.append(key)
    out = list(dict.fromkeys(out))
    if len(out) > MAX_TARGETS:
        raise EnrollmentError(_("Assign to at most %(n)d at once.") % {"n": MAX_TARGETS}, field_name)
    return out


async def _upsert_assignments(
    session: AsyncSession,
    acting: Acting,
    *,
    course_id: uuid.UUID | None,
    path_id: uuid.UUID | None,
    targets: list[tuple[str, uuid.UUID]],
    due_at: datetime.datetime | None,
) -> list[LearningAssignment]:
    """One current assignment per target (``group``/``user``, id): new ones inserted, existing ones get the new due
    date when one is given. One statement each way."""
    if not targets:
        return []
    rows = [
        {"group_id": tid if kind == "group" else None, "user_id": tid if kind == "user" else None}
        for kind, tid in targets
    ]
    params: dict[str, Any] = {
        "course_id": course_id, "path_id": path_id, "due_at": due_at, "by": acting.actor.email,
        "group_ids": [r["group_id"] for r in rows], "user_ids": [r["user_id"] for r in rows],
    }
    insert = text(
        f"""
        INSERT INTO learning_assignments (id, course_id, path_id, group_id, user_id, due_at, assigned_by_email,
                                          created_at, updated_at)
        SELECT {UUID7_SQL}, :course_id, :path_id, t.group_id, t.user_id, :due_at, :by, now(), now()
        FROM unnest(CAST(:group_ids AS uuid[]), CAST(:user_ids AS uuid[])) AS t(group_id, user_id)
        ON CONFLICT (coalesce(course_id, path_id), coalesce(group_id, user_id)) WHERE ended_at IS NULL
        DO UPDATE SET due_at = coalesce(EXCLUDED.due_at, learning_assignments.due_at), updated_at = now()
        RETURNING id
        """
    ).bindparams(
        bindparam("group_ids", type_=ARRAY(Uuid)), bindparam("user_ids", type_=ARRAY(Uuid)),
        bindparam("course_id", type_=Uuid), bindparam("path_id", type_=Uuid),
    )
    ids = list((await session.scalars(insert, params)).all())
    found = await session.scalars(
        select(LearningAssignment).where(LearningAssignment.id.in_(ids)).execution_options(populate_existing=True)
    )
    return list(found.all())


async def assign(
    session: AsyncSession,
    acting: Acting,
    *,
    course_id: uuid.UUID | str | None = None,
    path_id: uuid.UUID | str | None = None,
    user_ids: Iterable[uuid.UUID | str] | None = None,
    group_ids: Iterable[uuid.UUID | str] | None = None,
    due_at: datetime.datetime | None = None,
) -> Assigned:
    """Assign a course or a path to learners and/or groups (see the module docstring) and enroll them now."""
    user = acting.user
    if not may_assign(user):
        raise EnrollmentForbidden(_("You may not assign learning."))
    users = _ids(user_ids, "user_ids")
    teams = _ids(group_ids, "team_ids")
    if not users and not teams:
        raise EnrollmentError(_("Choose at least one group or person."), "team_ids")
    if due_at is not None and due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=datetime.UTC)
    subject_course: Course | None = None
    subject_path: LearningPath | None = None
    if course_id is not None:
        subject_course = await assignable_course(session, user, course_id)
    else:
        from tajiconnect.domains.paths import service as paths

        subject_path = await paths.assignable_path(session, user, path_id)
    found_groups = await _check_groups(session, user, teams)
    found_users = await _check_users(session, user, users)
    targets = [("group", g.id) for g in found_groups] + [("user", u.id) for u in found_users]
    assignments = await _upsert_assignments(
        session, acting,
        course_id=subject_course.id if subject_course else None,
        path_id=subject_path.id if subject_path else None,
        targets=targets, due_at=due_at,
    )
    ids = [a.id for a in assignments]
    enrolled = await _enroll_assigned(session, assignment_ids=ids)
    subject = subject_course or subject_path
    assert subject is not None
    for a in assignments:
        target_name = next((g.name for g in found_groups if g.id == a.group_id), None) or next(
            (u.email for u in found_users if u.id == a.user_id), None
        )
        await record(
            session, acting.actor, "learning.assigned", target_type="course" if subject_course else "path",
            target_id=subject.id, title=subject.title, assignment_id=str(a.id),
            to=target_name, to_type="group" if a.group_id else "user",
            due_at=a.due_at.isoformat() if a.due_at else None,
        )
    return Assigned(assignments=assignments, enrolled=enrolled)


# --- the set-based enrollment statements -----------------------------------------------------------------------

_ENROLL_COLUMNS = (
    "id, course_id, user_id, source, assignment_id, path_id, enrolled_by_email, due_at, status, progress_percent, "
    "lessons_completed, seconds_spent, created_at, updated_at"
)
_ON_CONFLICT_COURSE = "ON CONFLICT (course_id, user_id) WHERE withdrawn_at IS NULL DO NOTHING"
_ON_CONFLICT_PATH = "ON CONFLICT (path_id, user_id) WHERE withdrawn_at IS NULL DO NOTHING"


def _filters(
    *, assignment_ids: Sequence[uuid.UUID] | None, group_ids: Sequence[uuid.UUID] | None,
    user_ids: Sequence[uuid.UUID] | None, learner: str,
) -> tuple[str, dict[str, Any]]:
    """Extra WHERE conditions (on ``a``: the assignment, ``learner``: the learner's id column) and their params."""
    where, params = [], {}
    if assignment_ids is not None:
        where.append("a.id = ANY(:assignment_ids)")
        params["assignment_ids"] = list(assignment_ids)
    if group_ids is not None:
        where.append("a.group_id = ANY(:group_ids)")
        params["group_ids"] = list(group_ids)
    if user_ids is not None:
        where.append(f"{learner} = ANY(:user_ids)")
        params["user_ids"] = list(user_ids)
    return "".join(f" AND {w}" for w in where), params


def _typed(stmt: Any, params: dict[str, Any]) -> Any:
    return stmt.bindparams(*(bindparam(k, type_=ARRAY(Uuid)) for k in params))


# One row per (assignment, learner) with what an enrollment takes from its assignment; ``{user}`` is the learner.
_COLUMNS = """a.id AS assignment_id, a.course_id, a.path_id, a.due_at, a.assigned_by_email, {user} AS user_id,
           CASE WHEN a.group_id IS NULL THEN 'assigned' ELSE 'group' END AS source"""
_LEARNER = "coalesce(m.user_id, a.user_id)"


def _reached_but_not_yet(subject: str, table: str, extra_reach: str, extra_done: str) -> str:
    """SQL: the (assignment, learner) rows current assignments of ``subject`` (``course``/``path``) reach (a group's
    current members, learners, not deactivated; or the one learner), EXCEPT those the assignment already enrolled
    once in ``table`` (even if withdrawn since: an assignment never re-enrolls someone withdrawn).

    A set difference rather than a correlated ``NOT EXISTS``: PostgreSQL runs it with a hash whatever its row
    estimates say (rows written moments ago in the same transaction, by an import, have no statistics yet)."""
    only_direct = " AND e.path_id IS NULL" if table == "enrollments" else ""
    return f"""
        SELECT {_COLUMNS.format(user=_LEARNER)}
        FROM learning_assignments a
        LEFT JOIN group_memberships m ON m.group_id = a.group_id AND m.ended_at IS NULL AND m.role = 'member'
        JOIN users u ON u.id = {_LEARNER} AND u.status <> 'deactivated'
        WHERE a.ended_at IS NULL AND a.{subject}_id IS NOT NULL AND (a.group_id IS NULL OR m.user_id IS NOT NULL)
              {extra_reach}
        EXCEPT
        SELECT {_COLUMNS.format(user="e.user_id")}
        FROM {table} e JOIN learning_assignments a ON a.id = e.assignment_id
        WHERE a.ended_at IS NULL AND a.{subject}_id IS NOT NULL{only_direct} {extra_done}
    """


async def _enroll_assigned(
    session: AsyncSession,
    *,
    assignment_ids: Sequence[uuid.UUID] | None = None,
    group_ids: Sequence[uuid.UUID] | None = None,
    user_ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """Enroll everyone the chosen current assignments reach (courses directly; paths: the path and its courses).
    Three statements whatever the number of people. Returns the number of new enrollments (courses and paths)."""
    reach, params = _filters(assignment_ids=assignment_ids, group_ids=group_ids, user_ids=user_ids, learner=_LEARNER)
    done, _same = _filters(assignment_ids=assignment_ids, group_ids=group_ids, user_ids=user_ids, learner="e.user_id")
    courses = _typed(text(f"""
        INSERT INTO enrollments ({_ENROLL_COLUMNS})
        SELECT DISTINCT ON (t.course_id, t.user_id) {UUID7_SQL}, t.course_id, t.user_id, t.source, t.assignment_id,
               NULL, t.assigned_by_email, t.due_at, 'active', 0, 0, 0, now(), now()
        FROM ({_reached_but_not_yet("course", "enrollments", reach, done)}) t
        JOIN courses c ON c.id = t.course_id AND c.status = 'published'
        ORDER BY t.course_id, t.user_id, t.due_at NULLS LAST
        {_ON_CONFLICT_COURSE}
        RETURNING id, user_id, course_id
    """), params)
    new_courses = [(r[0], r[1], r[2]) for r in (await session.execute(courses, params)).all()]
    added = len(new_courses)
    paths = _typed(text(f"""
        INSERT INTO path_enrollments (id, path_id, user_id, source, assignment_id, enrolled_by_email, due_at, status,
                                      progress_percent, courses_completed, created_at, updated_at)
        SELECT DISTINCT ON (t.path_id, t.user_id) {UUID7_SQL}, t.path_id, t.user_id, t.source, t.assignment_id,
               t.assigned_by_email, t.due_at, 'active', 0, 0, now(), now()
        FROM ({_reached_but_not_yet("path", "path_enrollments", reach, done)}) t
        JOIN learning_paths p ON p.id = t.path_id AND p.status = 'published'
        ORDER BY t.path_id, t.user_id, t.due_at NULLS LAST
        {_ON_CONFLICT_PATH}
        RETURNING id, user_id, path_id
    """), params)
    new_path_rows = [(r[0], r[1], r[2]) for r in (await session.execute(paths, params)).all()]
    new_paths = [r[0] for r in new_path_rows]
    added += len(new_paths)
    from tajiconnect.domains.notifications import events

    await events.enrolled(session, new_courses, new_path_rows)
    if new_paths:
        await enroll_path_courses(session, path_enrollment_ids=new_paths)
    return int(added)


async def enroll_path_courses(session: AsyncSession, *, path_enrollment_ids: Sequence[uuid.UUID]) -> int:
    """A course enrollment (source ``path``) in every published course of each current path enrollment given, for
    courses the learner is not already in. One statement."""
    stmt = text(f"""
        INSERT INTO enrollments ({_ENROLL_COLUMNS})
        SELECT DISTINCT ON (course_id, pe.user_id) {UUID7_SQL}, course_id, pe.user_id, 'path', pe.assignment_id,
               pe.path_id, pe.enrolled_by_email, pe.due_at, 'active', 0, 0, 0, now(), now()
        FROM path_enrollments pe
        JOIN path_stages s ON s.path_id = pe.path_id
        CROSS JOIN LATERAL unnest(s.course_ids) AS course_id
        JOIN courses c ON c.id = course_id AND c.status = 'published'
        WHERE pe.id = ANY(:ids) AND pe.withdrawn_at IS NULL
        ORDER BY course_id, pe.user_id
        {_ON_CONFLICT_COURSE}
        RETURNING id
    """).bindparams(bindparam("ids", type_=ARRAY(Uuid)))
    return len((await session.scalars(stmt, {"ids": list(path_enrollment_ids)})).all())


async def sync_group_assignments(
    session: AsyncSession,
    *,
    group_ids: Iterable[uuid.UUID] | None = None,
    user_ids: Iterable[uuid.UUID] | None = None,
) -> int:
    """Enroll the current members of groups in what their groups are currently assigned (courses and paths).

    Call it after any membership change, with the groups and/or people concerned (``None``: no restriction). It is
    set-based (three statements whatever the number of people) and idempotent: a repeat, or a concurrent run,
    enrolls nobody twice, and nobody an assignment already enrolled once (withdrawn since) is enrolled again by it.
    Returns the number of new enrollments."""
    groups_list = None if group_ids is None else list(dict.fromkeys(group_ids))
    users_list = None if user_ids is None else list(dict.fromkeys(user_ids))
    if groups_list == [] or users_list == []:
        return 0
    return await _enroll_assigned(session, group_ids=groups_list, user_ids=users_list)


# --- ending, withdrawing --------------------------------------------------------------------------------------------


def assignment_scope(user: Any) -> ColumnElement[bool]:
    """SQL: the assignments ``user`` may see and end: admins all; leaders those to their groups and learners."""
    if groups.is_admin(user):
        return true()
    if not may_assign(user):
        return false()
    visible = groups.visible_group_ids(user)
    learners = learner_scope(user, visible)
    if visible is None or learners is None:  # pragma: no cover - admins handled above
        return true()
    # One CTE for both halves (the same object: SQLAlchemy renders it once).
    return or_(LearningAssignment.group_id.in_(visible), LearningAssignment.user_id.in_(learners))


async def get_assignment(session: AsyncSession, user: Any, assignment_id: uuid.UUID | str) -> LearningAssignment:
    found: LearningAssignment = await find_one(
        session, LearningAssignment, assignment_id, assignment_scope(user), message=_("No such assignment.")
    )
    return found


async def end_assignment(
    session: AsyncSession, acting: Acting, assignment_id: uuid.UUID | str
) -> LearningAssignment:
    """Stop an assignment: nobody new is enrolled by it; enrollments it made stay, with their progress."""
    assignment = await get_assignment(session, acting.user, assignment_id)
    if assignment.ended_at is not None:
        raise EnrollmentConflict(_("This assignment has already ended."))
    assignment.ended_at = now()
    assignment.ended_by_email = acting.actor.email
    await session.flush()
    await record(
        session, acting.actor, "learning.assignment.ended", target_type="course" if assignment.course_id else "path",
        target_id=assignment.course_id or assignment.path_id, assignment_id=str(assignment.id),
    )
    return assignment


def enrollment_scope(user: Any) -> ColumnElement[bool]:
    """SQL: the enrollments ``user`` may see: their own, their learners' (groups they lead), every one of the
    courses they teach; admins all."""
    if user is None or not user.is_active:
        return false()
    if manages_all(user) or groups.is_admin(user):
        return true()
    own = Enrollment.user_id == user.id
    if not (may_assign(user) or can(user, Permission.VIEW_PROGRESS)):
        return own
    from tajiconnect.domains.courses.access import staff_filter

    teaches = Enrollment.course_id.in_(select(Course.id).where(staff_filter(user)))
    return or_(own, in_learner_scope(user, Enrollment.user_id), teaches)


async def get_enrollment(session: AsyncSession, user: Any, enrollment_id: uuid.UUID | str) -> Enrollment:
    found: Enrollment = await find_one(
        session, Enrollment, enrollment_id, enrollment_scope(user), message=_("No such enrollment.")
    )
    return found


async def withdraw(session: AsyncSession, acting: Acting, enrollment_id: uuid.UUID | str) -> Enrollment:
    """Withdraw an enrollment (kept as history). A learner withdraws themself from what they chose (source
    ``self``); staff withdraw the learners they follow (audited)."""
    enrollment = await get_enrollment(session, acting.user, enrollment_id)
    return await _withdraw(session, acting, enrollment)


async def withdraw_from_course(session: AsyncSession, acting: Acting, course_id: uuid.UUID | str) -> Enrollment:
    """The member withdraws from their current enrollment in a course."""
    key = _uuid(course_id)
    enrollment = await current_enrollment(session, acting.user.id, key) if key else None
    if enrollment is None:
        raise EnrollmentNotFound(_("You are not enrolled in this course."))
    return await _withdraw(session, acting, enrollment)


async def _withdraw(session: AsyncSession, acting: Acting, enrollment: Enrollment) -> Enrollment:
    if enrollment.withdrawn_at is not None:
        raise EnrollmentConflict(_("This enrollment was already withdrawn."))
    own = enrollment.user_id == acting.user.id
    staff = may_assign(acting.user) or manages_all(acting.user)
    if not own and not staff:
        raise EnrollmentForbidden(_("You may not withdraw other people."))
    if own and not staff and enrollment.source != "self":
        raise EnrollmentForbidden(_("This course was assigned to you: ask your manager or teacher to withdraw you."))
    await session.refresh(enrollment, with_for_update=True)
    if enrollment.withdrawn_at is not None:
        raise EnrollmentConflict(_("This enrollment was already withdrawn."))
    enrollment.withdrawn_at = now()
    enrollment.withdrawn_by_email = acting.actor.email
    enrollment.status = "withdrawn"
    await session.flush()
    if not own:
        person = await session.get(User, enrollment.user_id)
        await record(
            session, acting.actor, "enrollment.withdrawn", subject_email=person.email if person else None,
            target_type="course", target_id=enrollment.course_id, enrollment_id=str(enrollment.id),
        )
    return enrollment


# --- lists ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentRow:
    enrollment: Enrollment
    user: User


async def list_enrollments(
    session: AsyncSession,
    user: Any,
    course: Course,
    *,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[EnrollmentRow], int]:
    """Enrollments in ``course`` the caller may see (history included unless ``status`` narrows it), newest first,
    with their learners (one query for the rows, one for the count)."""
    where: list[Any] = [Enrollment.course_id == course.id, enrollment_scope(user)]
    if not is_staff(user, course) and not groups.is_admin(user) and not may_assign(user):
        where.append(Enrollment.user_id == user.id)
    if status:
        where.append(Enrollment.status == status)
    if q:
        needle = q.strip().lower()
        where.append(or_(User.email.contains(needle, autoescape=True),
                         func.lower(User.name).contains(needle, autoescape=True)))
    base = select(Enrollment, User).join(User, User.id == Enrollment.user_id).where(*where)

    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = await session.execute(
        base.order_by(Enrollment.created_at.desc(), Enrollment.id).limit(per_page).offset((page - 1) * per_page)
    )
    return [EnrollmentRow(e, u) for e, u in rows.all()], total


async def list_assignments(
    session: AsyncSession,
    user: Any,
    *,
    course_id: uuid.UUID | None = None,
    path_id: uuid.UUID | None = None,
    current: bool = True,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[tuple[LearningAssignment, str | None]], int]:
    """Assignments the caller may see, with their target's name (group name or learner email)."""
    where: list[Any] = [assignment_scope(user)]
    if course_id is not None:
        where.append(LearningAssignment.course_id == course_id)
    if path_id is not None:
        where.append(LearningAssignment.path_id == path_id)
    if current:
        where.append(LearningAssignment.ended_at.is_(None))
    target = func.coalesce(Group.name, User.email).label("target")
    base = (
        select(LearningAssignment, target)
        .outerjoin(Group, Group.id == LearningAssignment.group_id)
        .outerjoin(User, User.id == LearningAssignment.user_id)
        .where(*where)
    )
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = await session.execute(
        base.order_by(LearningAssignment.created_at.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return [(a, t) for a, t in rows.all()], total


async def path_enrollment_of(session: AsyncSession, user_id: uuid.UUID, path_id: uuid.UUID) -> PathEnrollment | None:
    return await session.scalar(
        select(PathEnrollment).where(
            PathEnrollment.user_id == user_id, PathEnrollment.path_id == path_id, PathEnrollment.withdrawn_at.is_(None)
        )
    )
