"""Who may write to whom (checked when a conversation starts and again on every message):

* admins (``org_admin``) with anyone, both ways;
* staff (teachers, managers, admins) among themselves;
* a learner and their teachers (``people/relations.py``), both ways;
* a parent and their children's teachers, both ways;
* a learner and their classmates, only when the organization allows learner-to-learner messages
  (:func:`learners_may_talk`);
* nobody with a deactivated member, nobody with themselves.

A group conversation (a class): its current leaders and members read it; leaders write, learners write only when
learner-to-learner messages are allowed; a leader of the group or an admin starts it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import OrganizationSettings, User
from tajiconnect.domains.accounts.service import setting_by_kind
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.people import relations

STAFF = ("teacher", "manager", "org_admin")


def is_admin(user: Any) -> bool:
    return user.has_role("org_admin")


def is_staff(user: Any) -> bool:
    return any(user.has_role(r) for r in STAFF)


async def learners_may_talk(session: AsyncSession) -> bool:
    """The organization's setting, else on for companies and off for schools."""
    return await setting_by_kind(session, OrganizationSettings.learner_messages)


async def may_write(session: AsyncSession, sender: User, recipient: User) -> bool:
    """Whether ``sender`` may write to ``recipient`` in a direct conversation (see the module)."""
    if sender.id == recipient.id or not sender.is_active or not recipient.is_active:
        return False
    if is_admin(sender) or is_admin(recipient):
        return True
    if is_staff(sender) and is_staff(recipient):
        return True
    for teacher, other in ((sender, recipient), (recipient, sender)):
        if not is_staff(teacher):
            continue
        if other.has_role("student") and await relations.is_teacher_of(session, teacher.id, other.id):
            return True
        if other.has_role("parent") and await relations.teaches_a_child_of(session, teacher.id, other.id):
            return True
    if sender.has_role("student") and recipient.has_role("student") and await learners_may_talk(session):
        return await relations.is_classmate_of(session, sender.id, recipient.id)
    return False


def reachable_ids(user: User, *, learners_talk: bool) -> Select[tuple[uuid.UUID]] | None:
    """Ids of the members ``user`` may start a conversation with, as a SELECT (None: everyone, for admins).
    The same rules as :func:`may_write`, for the recipient picker."""
    if is_admin(user):
        return None
    parts: list[Select[Any]] = [select(User.id).where(User.roles.overlap(["org_admin"]))]
    if is_staff(user):
        parts += [select(User.id).where(User.roles.overlap(list(STAFF))), relations.learners_of(user.id),
                  relations.parents_of(relations.learners_of(user.id))]
    if user.has_role("student"):
        parts.append(relations.teachers_of(user.id))
        if learners_talk:
            parts.append(relations.classmates_of(user.id))
    if user.has_role("parent"):
        parts.append(relations.teachers_of_children(user.id))
    return union(*parts)  # type: ignore[return-value]


def group_member_ids(group_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """The current leaders and members of a group (a class conversation's members)."""
    return select(GroupMembership.user_id).where(
        GroupMembership.group_id == group_id, GroupMembership.ended_at.is_(None)
    )


async def group_role(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """``leader``, ``member`` or None: the user's current role in the group (leader wins)."""
    roles = set((await session.scalars(select(GroupMembership.role).where(
        GroupMembership.group_id == group_id, GroupMembership.user_id == user_id, GroupMembership.ended_at.is_(None)
    ))).all())
    return "leader" if "leader" in roles else ("member" if roles else None)
