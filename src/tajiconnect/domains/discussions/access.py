"""Who may read, write and moderate a course's discussions.

* **Read and write**: whoever may open the course (``courses.access.open_filter``): its staff (owner, co-teachers)
  and admins always, and learners while enrolled (not withdrawn) in a published or archived course. Parents have
  no access (they follow their children through their own pages), nor has anyone else; another organization's ids
  are simply not found.
* **Moderate** (pin, lock, hide, restore, the moderation queue): the course's staff and admins
  (``courses.access.is_staff`` / ``staff_filter``).
* **Mention**: the course's members, meaning its staff (owner, co-teachers) and its enrolled (not withdrawn)
  learners, active accounts only.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, roles_with
from tajiconnect.domains.courses.access import is_staff, open_filter, staff_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment

__all__ = ["course_member_filter", "may_moderate", "moderate_filter", "read_filter", "reader_filter"]


def read_filter(user: Any) -> ColumnElement[bool]:
    """SQL on ``Course``: the courses whose discussions ``user`` reads and writes in."""
    return open_filter(user)


def moderate_filter(user: Any) -> ColumnElement[bool]:
    """SQL on ``Course``: the courses whose discussions ``user`` moderates."""
    return staff_filter(user)


def may_moderate(user: Any, course: Course) -> bool:
    return is_staff(user, course)


def _enrolled(course_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    return select(Enrollment.user_id).where(Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None))


def course_member_filter(course: Course) -> ColumnElement[bool]:
    """SQL on ``User``: the course's active members (staff and enrolled learners): who may be mentioned."""
    staff = [i for i in (course.owner_id, *course.teacher_ids) if i is not None]
    return (User.status == "active") & or_(User.id.in_(_enrolled(course.id)), User.id.in_(staff))


def reader_filter(course: Course) -> ColumnElement[bool]:
    """SQL on ``User``: the active members who may read the course's discussions now, by the very permissions
    :func:`read_filter` checks: its staff while they may author courses, whoever manages every course, and its
    enrolled learners while the course is open to them. Who may be notified of a reply."""
    staff = [i for i in (course.owner_id, *course.teacher_ids) if i is not None]
    learners_may = course.status in ("published", "archived")
    readers = [User.id.in_(staff) & User.roles.overlap(roles_with(Permission.AUTHOR_COURSES)),
               User.roles.overlap(roles_with(Permission.MANAGE_COURSES))]
    if learners_may:
        readers.append(User.id.in_(_enrolled(course.id)))
    return (User.status == "active") & or_(*readers)
