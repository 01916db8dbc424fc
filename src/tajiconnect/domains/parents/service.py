"""Parent links: who follows which learner, made by an admin, by the roster import or by a pairing code.

A link joins a member with the ``parent`` role to a member with the ``student`` role (in the tenant in scope:
every query runs in its schema, so another organization's ids simply do not exist here). Permission checks
happen in the callers (``access.py``); these functions apply the rules every entry point shares and write the
audit entry of what they changed in the caller's transaction.

Lists are read with one query each: the page of people, then the groups of the whole page, then the leaders of
those groups (never one query per row).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import (
    ARRAY,
    BindParameter,
    CursorResult,
    Select,
    Uuid,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.domains.people import relations
from tajiconnect.i18n import _

LinkSource = Literal["import", "admin", "code"]
PAGE_SIZE = 25
SEARCH_LIMIT = 10


class LinkError(AccountError):
    """A link refused (the message is for the person acting; ``field`` names the input at fault)."""


# --- what the pages and the API show --------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str
    email: str


@dataclass
class GroupInfo:
    """A group a learner is a current member of, with its current leaders (teachers or managers)."""

    id: uuid.UUID
    name: str
    kind: str
    leaders: list[Person] = field(default_factory=list)


@dataclass
class ChildView:
    id: uuid.UUID
    name: str
    email: str
    status: str
    linked_at: datetime.datetime
    source: str
    groups: list[GroupInfo] = field(default_factory=list)
    #: Who teaches the learner, by name: ``people/relations.py``'s rule (course staff and class leaders, active).
    teachers: list[Person] = field(default_factory=list)


@dataclass(frozen=True)
class ParentView:
    id: uuid.UUID
    name: str
    email: str
    status: str
    linked_at: datetime.datetime
    source: str


# --- rules ----------------------------------------------------------------------------------------------------


def check_pair(parent: User, learner: User) -> None:
    """Refuse a link that is not from a parent to a learner, or from someone to themselves."""
    if parent.id == learner.id:
        raise LinkError(_("A member cannot be linked to themselves."), "learner_id")
    if not parent.has_role("parent"):
        raise LinkError(_("%(name)s does not have the Parent role.") % {"name": parent.name}, "parent_id")
    if not learner.has_role("student"):
        raise LinkError(_("%(name)s does not have the Learner role.") % {"name": learner.name}, "learner_id")


async def is_linked(session: AsyncSession, parent_id: uuid.UUID, learner_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(ParentLink.id).where(ParentLink.parent_id == parent_id, ParentLink.learner_id == learner_id)
    )
    return found is not None


async def link(
    session: AsyncSession, parent: User, learner: User, *, source: LinkSource, actor: Actor
) -> bool:
    """Link ``parent`` to ``learner``; True when the link is new (an existing link is left as it is)."""
    check_pair(parent, learner)
    inserted = await session.execute(
        insert(ParentLink)
        .values(id=uuid7(), parent_id=parent.id, learner_id=learner.id, source=source,
                created_by_email=actor.email, created_at=_now(), updated_at=_now())
        .on_conflict_do_nothing(constraint="uq_parent_links_pair")
        .returning(ParentLink.id)
    )
    row = inserted.first()
    if row is None:
        return False
    await record(session, actor, "parent_link.created", subject_email=parent.email, target_type="user",
                 target_id=learner.id, learner_email=learner.email, source=source)
    from tajiconnect.domains.notifications import events

    await events.child_linked(session, parent, learner, row[0])
    return True


async def unlink(session: AsyncSession, parent: User, learner: User, *, actor: Actor) -> bool:
    """Remove the link; True when there was one."""
    removed = cast(
        CursorResult[Any],
        await session.execute(
            delete(ParentLink).where(ParentLink.parent_id == parent.id, ParentLink.learner_id == learner.id)
        ),
    )
    if removed.rowcount != 1:
        return False
    await record(session, actor, "parent_link.removed", subject_email=parent.email, target_type="user",
                 target_id=learner.id, learner_email=learner.email)
    return True


def _ids(values: Iterable[uuid.UUID]) -> BindParameter:
    """One array parameter (``= ANY(:ids)``), however many values: no statement grows with the input."""
    return bindparam(None, list(values), type_=ARRAY(Uuid()))


# --- reading --------------------------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _count(session: AsyncSession, stmt: Select) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


async def _linked(
    session: AsyncSession, other: Any, this: Any, this_id: uuid.UUID, page: int, per_page: int,
    condition: Any = None,
) -> tuple[list[Any], int]:
    """One page of the members at the ``other`` end of the links whose ``this`` end is ``this_id`` (and who meet
    ``condition``), by name."""
    stmt = (
        select(User.id, User.name, User.email, User.status, ParentLink.created_at, ParentLink.source)
        .join(ParentLink, other == User.id)
        .where(this == this_id)
    )
    if condition is not None:
        stmt = stmt.where(condition)
    total = await _count(session, stmt)
    rows = await session.execute(
        stmt.order_by(func.lower(User.name), User.email).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return list(rows.all()), total


async def children_of(
    session: AsyncSession, parent_id: uuid.UUID, *, page: int = 1, per_page: int = PAGE_SIZE,
    active_only: bool = False,
) -> tuple[list[ChildView], int]:
    """The learners linked to ``parent_id`` (by name), with their groups, those groups' leaders and their teachers.
    ``active_only`` (what the parent sees): a deactivated learner is nobody's child any more (the admin still sees
    the link)."""
    rows, total = await _linked(session, ParentLink.learner_id, ParentLink.parent_id, parent_id, page, per_page,
                                User.status == "active" if active_only else None)
    children = [ChildView(*row) for row in rows]
    await attach_groups(session, children)
    await attach_teachers(session, parent_id, children)
    return children, total


async def child_of(session: AsyncSession, parent_id: uuid.UUID, learner_id: uuid.UUID, *,
                   active_only: bool = False) -> ChildView | None:
    """One learner linked to ``parent_id``; None when there is no such link (whoever the learner is), or, with
    ``active_only``, when the learner is not active."""
    stmt = (
        select(User.id, User.name, User.email, User.status, ParentLink.created_at, ParentLink.source)
        .join(ParentLink, ParentLink.learner_id == User.id)
        .where(ParentLink.parent_id == parent_id, ParentLink.learner_id == learner_id)
    )
    row = (await session.execute(stmt.where(User.status == "active") if active_only else stmt)).first()
    if row is None:
        return None
    child = ChildView(*row)
    await attach_groups(session, [child])
    await attach_teachers(session, parent_id, [child])
    return child


async def attach_teachers(session: AsyncSession, parent_id: uuid.UUID, children: Sequence[ChildView]) -> None:
    """Fill each child's teachers (``relations.teachers_by_child``): one statement for all of them."""
    if not children:
        return
    by_id = {c.id: c for c in children}
    pairs = relations.teachers_by_child(parent_id).subquery()
    rows = await session.execute(
        select(pairs.c.learner_id, User.id, User.name, User.email)
        .join(User, User.id == pairs.c.teacher_id)
        .where(pairs.c.learner_id == any_(_ids(by_id)))
        .order_by(pairs.c.learner_id, func.lower(User.name), User.email)
    )
    for learner_id, user_id, name, email in rows.all():
        by_id[learner_id].teachers.append(Person(user_id, name, email))


async def attach_groups(session: AsyncSession, children: Sequence[ChildView]) -> None:
    """Fill each child's current groups (as a member) and their current leaders: two queries for the page."""
    if not children:
        return
    by_id = {c.id: c for c in children}
    rows = await session.execute(
        select(GroupMembership.user_id, Group.id, Group.name, Group.kind)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(
            GroupMembership.user_id == any_(_ids(by_id)),
            GroupMembership.role == "member",
            GroupMembership.ended_at.is_(None),
            Group.archived_at.is_(None),
        )
        .order_by(func.lower(Group.name), Group.id)
    )
    groups: dict[uuid.UUID, list[GroupInfo]] = {}
    for user_id, group_id, name, kind in rows.all():
        info = GroupInfo(group_id, name, kind)
        by_id[user_id].groups.append(info)
        groups.setdefault(group_id, []).append(info)
    if not groups:
        return
    leaders = await session.execute(
        select(GroupMembership.group_id, User.id, User.name, User.email)
        .join(User, User.id == GroupMembership.user_id)
        .where(
            GroupMembership.group_id == any_(_ids(groups)),
            GroupMembership.role == "leader",
            GroupMembership.ended_at.is_(None),
            User.status == "active",
        )
        .order_by(func.lower(User.name), User.email)
    )
    for group_id, user_id, name, email in leaders.all():
        for info in groups[group_id]:
            info.leaders.append(Person(user_id, name, email))


async def parents_of(
    session: AsyncSession, learner_id: uuid.UUID, *, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[ParentView], int]:
    """The members linked to ``learner_id`` as parents, by name."""
    rows, total = await _linked(session, ParentLink.parent_id, ParentLink.learner_id, learner_id, page, per_page)
    return [ParentView(*row) for row in rows], total


def _matching(stmt: Select, q: str | None) -> Select:
    needle = (q or "").strip().lower()[:100]
    if needle:
        stmt = stmt.where(
            or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True))
        )
    return stmt


async def link_candidates(
    session: AsyncSession, member: User, *, want: Literal["learner", "parent"], q: str | None
) -> list[User]:
    """Members who could be linked to ``member`` (learners for a parent, parents for a learner), matching
    ``q`` and not linked yet: at most ``SEARCH_LIMIT``, by name."""
    if want == "learner":
        role, already = "student", exists().where(ParentLink.parent_id == member.id, ParentLink.learner_id == User.id)
    else:
        role, already = "parent", exists().where(ParentLink.learner_id == member.id, ParentLink.parent_id == User.id)
    stmt = select(User).where(
        any_(User.roles) == role, User.status != "deactivated", User.id != member.id, ~already
    )
    stmt = _matching(stmt, q).order_by(func.lower(User.name), User.email).limit(SEARCH_LIMIT)
    return list((await session.scalars(stmt)).all())


def leads_learner(leader_id: Any, learner_id: Any) -> Any:
    """SQL: ``learner_id`` is a current member of a class ``leader_id`` currently leads (neither ended nor archived:
    ``people/relations.py``)."""
    return relations.class_learners_of(leader_id).where(GroupMembership.user_id == learner_id).exists()


async def leads(session: AsyncSession, leader_id: uuid.UUID, learner_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(leads_learner(leader_id, learner_id))))


async def learners_for(
    session: AsyncSession, actor: User, *, q: str | None, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[User], int]:
    """The learners ``actor`` may make pairing codes for: every one for an admin, the members of the groups
    they lead for a teacher or manager (by name, paginated)."""
    stmt = select(User).where(any_(User.roles) == "student", User.status != "deactivated")
    if not actor.has_role("org_admin"):
        stmt = stmt.where(leads_learner(actor.id, User.id))
    stmt = _matching(stmt, q)
    total = await _count(session, stmt)
    rows = await session.scalars(
        stmt.order_by(func.lower(User.name), User.email).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return list(rows.all()), total


__all__ = [
    "ChildView",
    "GroupInfo",
    "LinkError",
    "ParentView",
    "Person",
    "child_of",
    "children_of",
    "get_user",
    "link",
    "link_candidates",
    "parents_of",
    "unlink",
]
