"""Who may see and who may edit a course: the rules every course, catalog, lesson and progress query shares.

* **Edit** (the builder, publish, duplicate, see its learners): members with ``courses.manage`` (admins), and the
  course's owner and co-teachers when they may author courses.
* **Find** in the catalog: a published course whose visibility is ``tenant``, or ``groups`` with one of the
  member's current groups among ``visible_group_ids``. ``hidden`` courses are never listed.
* **Open** (course page, lessons, media): its staff always (drafts included, for the preview); anyone else only
  while enrolled in a published or archived course (archived: enrolled learners keep what they had).

Rules that need the database are SQL expressions, so lists filter in one query and never load to check.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, any_, exists, false, or_, true

from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import GroupMembership


def manages_all(user: Any) -> bool:
    """Admins (``courses.manage``) edit every course and path."""
    return can(user, Permission.MANAGE_COURSES)


def is_staff(user: Any, course: Course) -> bool:
    """The course's owner or a co-teacher (who may author), or an admin: may edit it and see its learners."""
    if user is None or not user.is_active:
        return False
    if manages_all(user):
        return True
    return can(user, Permission.AUTHOR_COURSES) and (user.id == course.owner_id or user.id in course.teacher_ids)


def staff_filter(user: Any) -> ColumnElement[bool]:
    """SQL: the courses ``user`` may edit (see :func:`is_staff`)."""
    if user is None or not user.is_active:
        return false()
    if manages_all(user):
        return true()
    if not can(user, Permission.AUTHOR_COURSES):
        return false()
    return or_(Course.owner_id == user.id, user.id == any_(Course.teacher_ids))


def catalog_filter(user: Any) -> ColumnElement[bool]:
    """SQL: the courses ``user`` finds in the catalog (published and visible to them), plus those they edit."""
    if user is None or not user.is_active:
        return false()
    in_my_groups = _visible_through_groups(user.id)
    visible = and_(
        Course.status == "published",
        or_(Course.visibility == "tenant", and_(Course.visibility == "groups", in_my_groups)),
    )
    return or_(visible, staff_filter(user))


def _visible_through_groups(user_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(
        GroupMembership.user_id == user_id,
        GroupMembership.ended_at.is_(None),
        GroupMembership.group_id == any_(Course.visible_group_ids),
    )


def enrolled_filter(user_id: uuid.UUID) -> ColumnElement[bool]:
    """SQL: ``user_id`` holds a current enrollment in the course."""
    return exists().where(
        Enrollment.course_id == Course.id, Enrollment.user_id == user_id, Enrollment.withdrawn_at.is_(None)
    )


def open_filter(user: Any) -> ColumnElement[bool]:
    """SQL: the courses whose content ``user`` may open (see the module's docstring)."""
    if user is None or not user.is_active:
        return false()
    as_learner = and_(Course.status.in_(("published", "archived")), enrolled_filter(user.id))
    return or_(staff_filter(user), as_learner)
