"""The relations between members that decide who sees and may write to whom.

* A learner's **teachers**: the staff (owner and co-teachers) of the courses the learner is enrolled in (not
  withdrawn; the course not archived), and the current leaders of the groups (not archived) the learner is
  currently a member of.
* A learner's **classmates**: the other learners currently in the learner's groups (not archived), and the other
  learners taking a course the learner is taking now (both enrollments active: finishing a course does not keep
  everyone who ever took it in touch).
* A teacher's **learners**: the learners enrolled in the courses the teacher staffs (not archived), and the
  learners currently in the groups (not archived) the teacher currently leads. A learner is a member with the
  ``student`` role: the teachers of a department its leader leads are not the leader's learners.
* A parent's **children**: the active learners linked to the parent (``parent_links``); ``teachers_by_child``
  pairs each child with each of their teachers (the parent's home).
* A class's **members** and leaders, a course's enrolled **learners** and its **staff** (the audiences of live
  classes).

Each rule is a SELECT of user ids, to use as a subquery (``User.id.in_(...)``) so that a page or a list filters in
the database, one statement whatever the numbers; the ``is_*`` helpers answer one pair at once. Only active
members count where a person is listed; a deactivated account is nobody's teacher or classmate.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, Uuid, and_, func, literal, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.parents.models import ParentLink

#: A membership that has not ended, in a group that is not archived.
CURRENT = and_(
    GroupMembership.ended_at.is_(None),
    GroupMembership.group_id.in_(select(Group.id).where(Group.archived_at.is_(None))),
)
#: A course that is not archived.
LIVE_COURSE = Course.status != "archived"
#: A member who learns.
LEARNER = User.roles.contains(["student"])


def courses_taught_by(teacher_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the courses (not archived) ``teacher_id`` staffs (owner or co-teacher)."""
    return select(Course.id).where(
        or_(Course.owner_id == teacher_id, Course.teacher_ids.any(teacher_id)), LIVE_COURSE  # type: ignore[arg-type]
    )


def groups_led_by(leader_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the groups ``leader_id`` currently leads."""
    return select(GroupMembership.group_id).where(
        GroupMembership.user_id == leader_id, GroupMembership.role == "leader", CURRENT
    )


def _active(ids: Select[tuple[uuid.UUID]], *where: Any) -> Select[tuple[uuid.UUID]]:
    sub = ids.subquery()
    column = next(iter(sub.c))
    return select(User.id).where(User.id.in_(select(column)), User.status == "active", *where)


def _teachers(learners: Select[tuple[uuid.UUID]]) -> Select[tuple[uuid.UUID]]:
    """Ids of the active members who teach any of ``learners`` (course staff of their enrollments, their groups'
    leaders)."""
    enrolled = select(Enrollment.course_id).where(Enrollment.user_id.in_(learners), Enrollment.withdrawn_at.is_(None))
    owners = select(Course.owner_id.label("id")).where(
        Course.id.in_(enrolled), Course.owner_id.is_not(None), LIVE_COURSE)
    co_teachers = select(func.unnest(Course.teacher_ids).label("id")).where(Course.id.in_(enrolled), LIVE_COURSE)
    member_of = select(GroupMembership.group_id).where(
        GroupMembership.user_id.in_(learners), GroupMembership.role == "member", CURRENT
    )
    leaders = select(GroupMembership.user_id.label("id")).where(
        GroupMembership.group_id.in_(member_of), GroupMembership.role == "leader", CURRENT
    )
    return _active(union(owners, co_teachers, leaders))  # type: ignore[arg-type]


def teachers_of(learner_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active members who teach ``learner_id``."""
    return _teachers(select(literal(learner_id, Uuid)))


def classmates_of(learner_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active learners who share a current group or a course with ``learner_id`` (never themselves)."""
    member_of = select(GroupMembership.group_id).where(
        GroupMembership.user_id == learner_id, GroupMembership.role == "member", CURRENT
    )
    in_groups = select(GroupMembership.user_id.label("id")).where(
        GroupMembership.group_id.in_(member_of), GroupMembership.role == "member", CURRENT
    )
    taking = select(Enrollment.course_id).where(
        Enrollment.user_id == learner_id, Enrollment.status == "active",
        Enrollment.course_id.in_(select(Course.id).where(LIVE_COURSE)),
    )
    in_courses = select(Enrollment.user_id.label("id")).where(
        Enrollment.course_id.in_(taking), Enrollment.status == "active"
    )
    return _active(union(in_groups, in_courses), User.id != learner_id, LEARNER)  # type: ignore[arg-type]


def class_learners_of(leader_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the current members (not leaders) of the groups ``leader_id`` currently leads, whatever their status:
    whose whole learning a class teacher follows."""
    return select(GroupMembership.user_id).where(
        GroupMembership.group_id.in_(groups_led_by(leader_id)), GroupMembership.role == "member", CURRENT
    )


def learners_of(teacher_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active learners ``teacher_id`` teaches (enrolled in a course they staff, members of a group they
    lead)."""
    enrolled = select(Enrollment.user_id.label("id")).where(
        Enrollment.course_id.in_(courses_taught_by(teacher_id)), Enrollment.withdrawn_at.is_(None)
    )
    return _active(union(enrolled, class_learners_of(teacher_id)), LEARNER)  # type: ignore[arg-type]


def members_of_group(group_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active current members (not leaders) of the group ``group_id``: a class's learners."""
    return _active(select(GroupMembership.user_id).where(
        GroupMembership.group_id == group_id, GroupMembership.role == "member", CURRENT))


def learners_in_course(course_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active learners enrolled (not withdrawn) in the course ``course_id``."""
    return _active(select(Enrollment.user_id).where(
        Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None)))


def staff_of_course(course_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active staff (owner and co-teachers) of the course ``course_id``."""
    owner = select(Course.owner_id.label("id")).where(Course.id == course_id, Course.owner_id.is_not(None))
    co_teachers = select(func.unnest(Course.teacher_ids).label("id")).where(Course.id == course_id)
    return _active(union(owner, co_teachers))  # type: ignore[arg-type]


def leaders_of_group(group_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active current leaders of the group ``group_id``."""
    return _active(select(GroupMembership.user_id).where(
        GroupMembership.group_id == group_id, GroupMembership.role == "leader", CURRENT))


def children_of(parent_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active learners linked to ``parent_id``."""
    return _active(select(ParentLink.learner_id).where(ParentLink.parent_id == parent_id))


def parents_of(learner_ids: Select[tuple[uuid.UUID]]) -> Select[tuple[uuid.UUID]]:
    """Ids of the active parents linked to any of ``learner_ids`` (a SELECT of ids)."""
    return _active(select(ParentLink.parent_id).where(ParentLink.learner_id.in_(learner_ids)))


def teachers_of_children(parent_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the active members who teach any of ``parent_id``'s children."""
    return _teachers(children_of(parent_id))


def teachers_by_child(parent_id: uuid.UUID) -> Select[tuple[uuid.UUID, uuid.UUID]]:
    """Pairs ``(learner_id, teacher_id)``: each of ``parent_id``'s active children with each active member who
    teaches them (the same rule as :func:`teachers_of`, for all the children in one statement)."""
    child = select(ParentLink.learner_id).where(ParentLink.parent_id == parent_id)
    current = (Enrollment.user_id.in_(child), Enrollment.withdrawn_at.is_(None), LIVE_COURSE)
    owners = (select(Enrollment.user_id.label("learner_id"), Course.owner_id.label("teacher_id"))
              .join(Course, Course.id == Enrollment.course_id).where(*current, Course.owner_id.is_not(None)))
    co_teachers = (select(Enrollment.user_id.label("learner_id"), func.unnest(Course.teacher_ids).label("teacher_id"))
                   .join(Course, Course.id == Enrollment.course_id).where(*current))
    member = GroupMembership.__table__.alias("member")
    lead = GroupMembership.__table__.alias("lead")
    leaders = (select(member.c.user_id.label("learner_id"), lead.c.user_id.label("teacher_id"))
               .join(lead, lead.c.group_id == member.c.group_id)
               .where(member.c.user_id.in_(child), member.c.role == "member", member.c.ended_at.is_(None),
                      lead.c.role == "leader", lead.c.ended_at.is_(None),
                      member.c.group_id.in_(select(Group.id).where(Group.archived_at.is_(None)))))
    pairs = union(owners, co_teachers, leaders).subquery()
    learner, teacher = User.__table__.alias("learner"), User.__table__.alias("teacher")
    return (
        select(pairs.c.learner_id, pairs.c.teacher_id)
        .join(learner, and_(learner.c.id == pairs.c.learner_id, learner.c.status == "active"))
        .join(teacher, and_(teacher.c.id == pairs.c.teacher_id, teacher.c.status == "active"))
    )


async def _holds(session: AsyncSession, ids: Select[tuple[uuid.UUID]], user_id: uuid.UUID) -> bool:
    sub = ids.subquery()
    column = next(iter(sub.c))
    return bool(await session.scalar(select(literal(True)).where(select(column).where(column == user_id).exists())))


async def is_teacher_of(session: AsyncSession, teacher_id: uuid.UUID, learner_id: uuid.UUID) -> bool:
    return await _holds(session, teachers_of(learner_id), teacher_id)


async def is_classmate_of(session: AsyncSession, one: uuid.UUID, other: uuid.UUID) -> bool:
    return await _holds(session, classmates_of(one), other)


async def is_parent_of(session: AsyncSession, parent_id: uuid.UUID, learner_id: uuid.UUID) -> bool:
    return await _holds(session, children_of(parent_id), learner_id)


async def teaches_a_child_of(session: AsyncSession, teacher_id: uuid.UUID, parent_id: uuid.UUID) -> bool:
    return await _holds(session, teachers_of_children(parent_id), teacher_id)
