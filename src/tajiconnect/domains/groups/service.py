"""Teams and classes: the group tree, who may see and change it, and memberships kept as history.

One model, named by the tenant's kind: a ``company`` has departments (top) and teams, a ``school`` grade levels
(top) and classes. Groups nest at most :data:`MAX_LEVEL` levels below the top (depth 0-3); a top kind never sits
inside a leaf kind. Structure changes (create, move) take a per-tenant advisory lock, so two admins moving groups at
the same moment cannot build a cycle or exceed the depth between them.

Who may do what is decided here, not in templates:

* an active org admin sees and manages every group (structure and memberships);
* an active manager or teacher sees the groups they lead (a current ``leader`` membership) and their subgroups
  (:func:`group_scope`), and manages their *members* only (not their leaders, not the structure);
* anyone else sees none.

A group another tenant owns, or one the caller may not see, is "not found" (:class:`GroupNotFound`).

Memberships are never deleted by these functions: leaving ends one (``ended_at``, ``ended_by_email``), moving
ends one and starts another, so a person's and a group's history stay readable. Every change is audited with
``record(session, ...)`` in the caller's transaction.

Two helpers serve the roster import (no permission check, no audit of their own; the import audits):
:func:`find_by_name` / :func:`find_or_create_by_name` and :func:`add_members_bulk`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, any_, false, func, literal, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from uuid_utils.compat import uuid7

from tajiconnect.db.ids import parse_uuid as _uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.groups.models import KINDS_BY_TENANT, MAX_DEPTH, Group, GroupMembership
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant

MAX_LEVEL = MAX_DEPTH - 1  # depth 0 (top) .. 3
NAME_MAX = 120
DESCRIPTION_MAX = 1000
EXTERNAL_ID_MAX = 200
ROLES = ("leader", "member")
LEADER_ROLES = ("org_admin", "manager", "teacher")  # who may lead a group
MEMBER_ROLES = ("student",)  # who may be a member: learners
BULK_CHUNK = 1000
NIL = uuid.UUID(int=0)  # the uniqueness index reads a top-level group's parent as this
# Two-key advisory lock: this constant plus a hash of the tenant's schema (one lock per tenant).
STRUCTURE_LOCK = 0x6772_7073  # "grps"


class GroupError(ValueError):
    """A refused group operation; the message is for the person acting. ``field`` names the input at fault."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class GroupConflict(GroupError):
    """The request is valid but the current state refuses it (name taken, cycle, depth, subgroups, role...)."""

    status = 409


class GroupNotFound(GroupError):
    """No such group (or person) here, or not one the caller may see."""

    status = 404


class GroupForbidden(GroupError):
    """The caller sees the group but may not make this change (a leader changing the structure or leaders)."""

    status = 403


# --- words and kinds ------------------------------------------------------------------------------------------


def kinds_for(tenant_kind: str) -> tuple[str, str]:
    """(top kind, leaf kind) of a tenant kind: ``("grade", "class")`` for a school, else department/team."""
    top, leaf = KINDS_BY_TENANT.get(tenant_kind, KINDS_BY_TENANT["company"])
    return top, leaf


def tenant_kinds() -> tuple[str, str]:
    return kinds_for(require_tenant().kind)


def kind_label(kind: str) -> str:
    return {
        "department": _("Department"),
        "team": _("Team"),
        "grade": _("Grade level"),
        "class": _("Class"),
    }.get(kind, kind)


def vocabulary(tenant_kind: str | None = None) -> dict[str, str]:
    """The words pages use for groups in this tenant ("Grade levels/Classes" or "Departments/Teams")."""
    if (tenant_kind or require_tenant().kind) == "school":
        return {
            "section": _("Classes"),
            "title": _("Grade levels and classes"),
            "top": _("Grade level"),
            "tops": _("Grade levels"),
            "leaf": _("Class"),
            "leaves": _("Classes"),
            "new_top": _("New grade level"),
            "new_leaf": _("New class"),
            "none": _("There are no grade levels or classes yet."),
            "none_led": _("You do not lead any class yet."),
        }
    return {
        "section": _("Teams"),
        "title": _("Departments and teams"),
        "top": _("Department"),
        "tops": _("Departments"),
        "leaf": _("Team"),
        "leaves": _("Teams"),
        "new_top": _("New department"),
        "new_leaf": _("New team"),
        "none": _("There are no departments or teams yet."),
        "none_led": _("You do not lead any team yet."),
    }


# --- who may see what -----------------------------------------------------------------------------------------


def is_admin(user: Any) -> bool:
    return user is not None and user.is_active and "org_admin" in (user.roles or ())


def is_leader_role(user: Any) -> bool:
    return user is not None and user.is_active and bool({"manager", "teacher"} & set(user.roles or ()))


def may_use_groups(user: Any) -> bool:
    """Admins, managers and teachers have the groups pages and API (the latter two for the groups they lead)."""
    return is_admin(user) or is_leader_role(user)


def visible_group_ids(user: Any) -> Select | None:
    """The ids of the groups ``user`` may see, as a subquery; ``None`` for an admin (every group).

    A leader's groups are those of their current leader memberships plus every group below them (a recursive
    CTE, one statement).
    """
    if is_admin(user):
        return None
    if not is_leader_role(user):
        return select(Group.id).where(false())
    led = (
        select(GroupMembership.group_id.label("id"))
        .where(
            GroupMembership.user_id == user.id,
            GroupMembership.role == "leader",
            GroupMembership.ended_at.is_(None),
        )
        .cte("visible_groups", recursive=True)
    )
    below = aliased(Group)
    tree = led.union(select(below.id).where(below.parent_id == led.c.id))
    return select(tree.c.id)


def group_scope(user: Any, column: Any = None) -> ColumnElement[bool]:
    """A WHERE clause on ``column`` (``Group.id`` by default): true for the groups ``user`` may see."""
    ids = visible_group_ids(user)
    if ids is None:
        return true()
    return (column if column is not None else Group.id).in_(ids)


async def visible_groups(session: AsyncSession, user: Any, *, include_archived: bool = False) -> list[GroupNode]:
    """Every group ``user`` may see, flat, in tree order (each parent before its children), with member counts."""
    return flatten(await group_tree(session, user, include_archived=include_archived))


def require_admin(acting: Acting) -> None:
    if not is_admin(acting.user):
        raise GroupForbidden(_("Only an organization admin can change the groups themselves."))


# --- reading ------------------------------------------------------------------------------------------------------


@dataclass
class GroupNode:
    """A group with its current membership counts, its leaders' names, and (in a tree) its children."""

    group: Group
    members: int = 0
    leaders: int = 0
    leader_names: list[str] = field(default_factory=list)
    children: list[GroupNode] = field(default_factory=list)


def _counts() -> Any:
    """Per group: current members, current leaders and the leaders' names (a grouped subquery)."""
    is_member = GroupMembership.role == "member"
    is_leader = GroupMembership.role == "leader"
    return (
        select(
            GroupMembership.group_id.label("group_id"),
            func.count().filter(is_member).label("members"),
            func.count().filter(is_leader).label("leaders"),
            func.array_agg(aggregate_order_by(User.name, func.lower(User.name))).filter(is_leader).label("names"),
        )
        .join(User, User.id == GroupMembership.user_id)
        .where(GroupMembership.ended_at.is_(None))
        .group_by(GroupMembership.group_id)
        .subquery("counts")
    )


def _with_counts(*where: Any) -> Select:
    counts = _counts()
    return (
        select(
            Group,
            func.coalesce(counts.c.members, 0),
            func.coalesce(counts.c.leaders, 0),
            counts.c.names,
        )
        .outerjoin(counts, counts.c.group_id == Group.id)
        .where(*where)
    )


def _node(row: Any) -> GroupNode:
    group, members, leaders, names = row
    return GroupNode(group, int(members), int(leaders), list(names or []))


def _name_key(node: GroupNode) -> tuple[str, str]:
    return (node.group.name.casefold(), str(node.group.id))


async def group_tree(session: AsyncSession, user: Any, *, include_archived: bool = False) -> list[GroupNode]:
    """The groups ``user`` may see as a tree (roots: groups whose parent they cannot see), in one query."""
    where: list[Any] = [group_scope(user)]
    if not include_archived:
        where.append(Group.archived_at.is_(None))
    nodes = [_node(row) for row in (await session.execute(_with_counts(*where))).all()]
    by_id = {node.group.id: node for node in nodes}
    roots: list[GroupNode] = []
    for node in sorted(nodes, key=_name_key):
        parent = by_id.get(node.group.parent_id) if node.group.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def flatten(nodes: Iterable[GroupNode]) -> list[GroupNode]:
    """Tree order: each node, then its children (depth-first)."""
    out: list[GroupNode] = []
    stack = list(reversed(list(nodes)))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out




async def get_group(session: AsyncSession, user: Any, group_id: uuid.UUID | str) -> Group:
    """The group ``group_id`` if ``user`` may see it; :class:`GroupNotFound` otherwise (other tenants' ids too)."""
    key = _uuid(group_id)
    group = None
    if key is not None:
        group = await session.scalar(select(Group).where(Group.id == key, group_scope(user)))
    if group is None:
        raise GroupNotFound(_("No such group."))
    return group


async def get_node(session: AsyncSession, user: Any, group_id: uuid.UUID | str) -> GroupNode:
    """Like :func:`get_group`, with the counts."""
    key = _uuid(group_id)
    row = None
    if key is not None:
        row = (await session.execute(_with_counts(Group.id == key, group_scope(user)))).first()
    if row is None:
        raise GroupNotFound(_("No such group."))
    return _node(row)


async def ancestors(session: AsyncSession, group: Group, user: Any = None) -> list[Group]:
    """The groups above ``group``, top first (one recursive query); with ``user``, those they may see only."""
    if group.parent_id is None:
        return []
    up = select(Group.id, Group.parent_id).where(Group.id == group.parent_id).cte("ancestors", recursive=True)
    above = aliased(Group)
    up = up.union(select(above.id, above.parent_id).where(above.id == up.c.parent_id))
    where = [Group.id.in_(select(up.c.id))] + ([group_scope(user)] if user is not None else [])
    rows = await session.scalars(select(Group).where(*where).order_by(Group.depth))
    return list(rows.all())


async def children(
    session: AsyncSession, user: Any, group: Group, *, include_archived: bool = False
) -> list[GroupNode]:
    where: list[Any] = [Group.parent_id == group.id, group_scope(user)]
    if not include_archived:
        where.append(Group.archived_at.is_(None))
    rows = (await session.execute(_with_counts(*where))).all()
    return sorted((_node(row) for row in rows), key=_name_key)


async def list_groups(
    session: AsyncSession,
    user: Any,
    *,
    parent_id: uuid.UUID | None = None,
    top_level: bool = False,
    kind: str | None = None,
    q: str | None = None,
    include_archived: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[GroupNode], int]:
    """Visible groups, filtered, by name, one page (with counts), and how many match."""
    where: list[Any] = [group_scope(user)]
    if parent_id is not None:
        where.append(Group.parent_id == parent_id)
    elif top_level:
        where.append(Group.parent_id.is_(None))
    if kind:
        where.append(Group.kind == kind)
    if q and q.strip():
        where.append(func.lower(Group.name).contains(q.strip().lower(), autoescape=True))
    if not include_archived:
        where.append(Group.archived_at.is_(None))
    total = await session.scalar(select(func.count()).select_from(Group).where(*where))
    stmt = _with_counts(*where).order_by(func.lower(Group.name), Group.id)
    rows = (await session.execute(stmt.limit(per_page).offset((max(page, 1) - 1) * per_page))).all()
    return [_node(row) for row in rows], int(total or 0)


# --- structure ----------------------------------------------------------------------------------------------------


async def _lock_structure(session: AsyncSession) -> None:
    """Serialise structure changes of this tenant until the transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(STRUCTURE_LOCK, func.hashtext(func.current_schema()))))


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise GroupError(_("Enter a name."), "name")
    if len(name) > NAME_MAX:
        raise GroupError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, "name")
    return name


def _clean_text(value: str | None, limit: int, field_name: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise GroupError(_("Use at most %(n)d characters.") % {"n": limit}, field_name)
    return value or None


async def _name_taken(session: AsyncSession, name: str, parent_id: uuid.UUID | None, *, but: uuid.UUID | None) -> bool:
    stmt = select(Group.id).where(
        func.coalesce(Group.parent_id, literal(NIL)) == (parent_id or NIL), func.lower(Group.name) == name.lower()
    )
    if but is not None:
        stmt = stmt.where(Group.id != but)
    return (await session.scalar(stmt.limit(1))) is not None


def _check_kind(kind: str, parent: Group | None) -> None:
    top, leaf = tenant_kinds()
    if kind not in (top, leaf):
        raise GroupConflict(
            _("In this organization a group is a %(top)s or a %(leaf)s.")
            % {"top": kind_label(top).lower(), "leaf": kind_label(leaf).lower()},
            "kind",
        )
    if parent is not None and parent.kind == leaf and kind == top:
        words = {"top": kind_label(top).lower(), "leaf": kind_label(leaf).lower()}
        raise GroupConflict(_("A %(top)s cannot be inside a %(leaf)s.") % words, "parent_id")


async def _parent(session: AsyncSession, parent_id: uuid.UUID | str | None) -> Group | None:
    if parent_id is None or parent_id == "":
        return None
    key = _uuid(parent_id)
    parent = await session.get(Group, key, populate_existing=True) if key is not None else None
    if parent is None:
        raise GroupNotFound(_("The chosen parent group does not exist."), "parent_id")
    if parent.archived_at is not None:
        raise GroupConflict(_("The chosen parent group is archived."), "parent_id")
    return parent


def _too_deep() -> GroupConflict:
    return GroupConflict(
        _("Groups nest at most %(n)d levels below the top.") % {"n": MAX_LEVEL}, "parent_id"
    )


async def _audit(session: AsyncSession, acting: Acting, action: str, group: Group, **details: Any) -> None:
    await record(
        session, acting.actor, action, target_type="group", target_id=group.id, group=group.name, **details
    )


async def create_group(
    session: AsyncSession,
    acting: Acting,
    *,
    name: str,
    kind: str | None = None,
    parent_id: uuid.UUID | str | None = None,
    description: str | None = None,
    external_id: str | None = None,
) -> Group:
    """A new group (admins only). ``kind`` defaults to the top kind at the top, the leaf kind below."""
    require_admin(acting)
    name = _clean_name(name)
    description = _clean_text(description, DESCRIPTION_MAX, "description")
    external_id = _clean_text(external_id, EXTERNAL_ID_MAX, "external_id")
    await _lock_structure(session)
    parent = await _parent(session, parent_id)
    top, leaf = tenant_kinds()
    kind = kind or (top if parent is None else leaf)
    _check_kind(kind, parent)
    depth = 0 if parent is None else parent.depth + 1
    if depth > MAX_LEVEL:
        raise _too_deep()
    if await _name_taken(session, name, parent.id if parent else None, but=None):
        raise GroupConflict(_("Another group here already has this name."), "name")
    if external_id and await session.scalar(select(Group.id).where(Group.external_id == external_id)):
        raise GroupConflict(_("Another group already has this external id."), "external_id")
    group = Group(
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        depth=depth,
        description=description,
        external_id=external_id,
    )
    session.add(group)
    await session.flush()
    await _audit(session, acting, "group.created", group, kind=kind, parent_id=str(group.parent_id or "") or None)
    return group


async def rename_group(session: AsyncSession, acting: Acting, group_id: uuid.UUID | str, name: str) -> Group:
    require_admin(acting)
    group = await get_group(session, acting.user, group_id)
    name = _clean_name(name)
    if name == group.name:
        return group
    if await _name_taken(session, name, group.parent_id, but=group.id):
        raise GroupConflict(_("Another group here already has this name."), "name")
    before, group.name = group.name, name
    await session.flush()
    await _audit(session, acting, "group.renamed", group, before=before, after=name)
    return group


async def describe_group(
    session: AsyncSession, acting: Acting, group_id: uuid.UUID | str, description: str | None
) -> Group:
    require_admin(acting)
    group = await get_group(session, acting.user, group_id)
    description = _clean_text(description, DESCRIPTION_MAX, "description")
    if description != group.description:
        group.description = description
        await session.flush()
        await _audit(session, acting, "group.updated", group, description=description)
    return group


async def _subtree(session: AsyncSession, group_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    """``group_id`` and every group below it, as (id, depth)."""
    down = select(Group.id, Group.depth).where(Group.id == group_id).cte("subtree", recursive=True)
    below = aliased(Group)
    down = down.union(select(below.id, below.depth).where(below.parent_id == down.c.id))
    return [(row[0], int(row[1])) for row in (await session.execute(select(down.c.id, down.c.depth))).all()]


async def move_group(
    session: AsyncSession, acting: Acting, group_id: uuid.UUID | str, parent_id: uuid.UUID | str | None
) -> Group:
    """Put the group (with everything below it) under ``parent_id``, or at the top with ``None``.

    Refused: a parent inside the group itself (a cycle), a subtree that would end deeper than the limit, a top
    kind under a leaf kind, a name the new parent already has.
    """
    require_admin(acting)
    await _lock_structure(session)
    group = await get_group(session, acting.user, group_id)
    await session.refresh(group)  # as the lock holder sees it
    parent = await _parent(session, parent_id)
    new_parent_id = parent.id if parent else None
    if new_parent_id == group.parent_id:
        return group
    subtree = await _subtree(session, group.id)
    if new_parent_id is not None and new_parent_id in {gid for gid, _depth in subtree}:
        raise GroupConflict(_("A group cannot be moved inside itself or one of its subgroups."), "parent_id")
    _check_kind(group.kind, parent)
    new_depth = 0 if parent is None else parent.depth + 1
    height = max(depth for _gid, depth in subtree) - group.depth
    if new_depth + height > MAX_LEVEL:
        raise _too_deep()
    if await _name_taken(session, group.name, new_parent_id, but=group.id):
        raise GroupConflict(_("The new parent already has a group with this name."), "name")
    before = group.parent_id
    delta = new_depth - group.depth
    group.parent_id = new_parent_id
    await session.flush()
    if delta:
        await session.execute(
            update(Group)
            .where(Group.id.in_([gid for gid, _depth in subtree]))
            .values(depth=Group.depth + delta)
            .execution_options(synchronize_session="fetch")
        )
    await _audit(
        session, acting, "group.moved", group,
        before=str(before) if before else None, after=str(new_parent_id) if new_parent_id else None,
    )
    return group


async def archive_group(session: AsyncSession, acting: Acting, group_id: uuid.UUID | str) -> Group:
    """Archive the group and everything below it (kept with their history; hidden from lists by default)."""
    require_admin(acting)
    group = await get_group(session, acting.user, group_id)
    if group.archived_at is not None:
        return group
    ids = [gid for gid, _depth in await _subtree(session, group.id)]
    now = datetime.datetime.now(datetime.UTC)
    await session.execute(
        update(Group)
        .where(Group.id.in_(ids), Group.archived_at.is_(None))
        .values(archived_at=now)
        .execution_options(synchronize_session="fetch")
    )
    await _audit(session, acting, "group.archived", group, subgroups=len(ids) - 1)
    return group


async def restore_group(session: AsyncSession, acting: Acting, group_id: uuid.UUID | str) -> Group:
    """Bring an archived group (and what was archived below it) back; its parent must not be archived."""
    require_admin(acting)
    group = await get_group(session, acting.user, group_id)
    if group.archived_at is None:
        return group
    if group.parent_id is not None:
        parent = await session.get(Group, group.parent_id)
        if parent is not None and parent.archived_at is not None:
            raise GroupConflict(_("Restore the group above this one first."))
    ids = [gid for gid, _depth in await _subtree(session, group.id)]
    await session.execute(
        update(Group)
        .where(Group.id.in_(ids))
        .values(archived_at=None)
        .execution_options(synchronize_session="fetch")
    )
    await _audit(session, acting, "group.restored", group, subgroups=len(ids) - 1)
    return group


async def delete_group(session: AsyncSession, acting: Acting, group_id: uuid.UUID | str) -> None:
    """Delete a group without subgroups, and its memberships (the audit log keeps that it existed)."""
    require_admin(acting)
    group = await get_group(session, acting.user, group_id)
    if await session.scalar(select(Group.id).where(Group.parent_id == group.id).limit(1)):
        raise GroupConflict(_("This group has subgroups: move or delete them first."))
    members = await session.scalar(
        select(func.count()).select_from(GroupMembership).where(
            GroupMembership.group_id == group.id, GroupMembership.ended_at.is_(None)
        )
    )
    await _audit(session, acting, "group.deleted", group, kind=group.kind, current_members=int(members or 0))
    await session.delete(group)
    await session.flush()


# --- memberships --------------------------------------------------------------------------------------------------


def eligible_roles(role: str) -> tuple[str, ...]:
    return LEADER_ROLES if role == "leader" else MEMBER_ROLES


def _eligible(role: str) -> ColumnElement[bool]:
    """Users who may hold a membership with ``role``: the right account role, not deactivated."""
    return and_(User.status != "deactivated", or_(*(any_(User.roles) == r for r in eligible_roles(role))))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise GroupError(_("Choose leader or member."), "role")


def _may_manage(acting: Acting, role: str) -> None:
    """Leaders manage the members of their groups; leaders themselves are changed by admins only."""
    if role == "leader" and not is_admin(acting.user):
        raise GroupForbidden(_("Only an organization admin can change who leads a group."))


def _writable(group: Group) -> None:
    if group.archived_at is not None:
        raise GroupConflict(_("This group is archived: restore it to change its members."))


async def get_person(session: AsyncSession, user_id: uuid.UUID | str) -> User:
    key = _uuid(user_id)
    user = await session.get(User, key) if key is not None else None
    if user is None:
        raise GroupNotFound(_("No such person in this organization."), "user_id")
    return user


def _not_eligible(user: User, role: str) -> GroupConflict:
    if user.status == "deactivated":
        return GroupConflict(_("%(name)s is deactivated.") % {"name": user.name}, "user_id")
    if role == "leader":
        return GroupConflict(
            _("%(name)s cannot lead a group: only managers, teachers and admins can.") % {"name": user.name},
            "user_id",
        )
    return GroupConflict(_("%(name)s is not a learner: only learners can be members.") % {"name": user.name}, "user_id")


def _check_person(user: User, role: str) -> None:
    if user.status == "deactivated" or not set(eligible_roles(role)) & set(user.roles or ()):
        raise _not_eligible(user, role)


async def current_membership(
    session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> GroupMembership | None:
    """The person's current membership of the group. ``lock``: row-locked until the transaction ends, so that of two
    concurrent removals or moves the second finds it ended (and refuses) instead of ending it twice."""
    stmt = select(GroupMembership).where(
        GroupMembership.group_id == group_id,
        GroupMembership.user_id == user_id,
        GroupMembership.ended_at.is_(None),
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def _sync_learning(
    session: AsyncSession, *, group_ids: list[uuid.UUID], user_ids: list[uuid.UUID] | None
) -> None:
    """New members get what their group is assigned (courses, paths): the enrollment service, set-based."""
    from tajiconnect.domains.enrollments.service import sync_group_assignments

    await sync_group_assignments(session, group_ids=group_ids, user_ids=user_ids)


async def add_member(
    session: AsyncSession, acting: Acting, group_id: uuid.UUID | str, user_id: uuid.UUID | str, role: str = "member"
) -> GroupMembership:
    """Start a membership: a learner as ``member``, a manager/teacher/admin as ``leader`` (admins only)."""
    _check_role(role)
    group = await get_group(session, acting.user, group_id)
    _may_manage(acting, role)
    _writable(group)
    person = await get_person(session, user_id)
    _check_person(person, role)
    if await current_membership(session, group.id, person.id) is not None:
        raise GroupConflict(_("%(name)s is already in this group.") % {"name": person.name}, "user_id")
    membership = GroupMembership(group_id=group.id, user_id=person.id, role=role, added_by_email=acting.actor.email)
    session.add(membership)
    await session.flush()
    if role == "member":
        await _sync_learning(session, group_ids=[group.id], user_ids=[person.id])
    await record(
        session, acting.actor, "group.member.added", subject_email=person.email, target_type="group",
        target_id=group.id, group=group.name, role=role,
    )
    return membership


async def _end(
    session: AsyncSession, acting: Acting, group: Group, user_id: uuid.UUID | str
) -> tuple[User, GroupMembership]:
    person = await get_person(session, user_id)
    membership = await current_membership(session, group.id, person.id, lock=True)
    if membership is None:
        raise GroupNotFound(_("%(name)s is not in this group.") % {"name": person.name}, "user_id")
    _may_manage(acting, membership.role)
    membership.ended_at = datetime.datetime.now(datetime.UTC)
    membership.ended_by_email = acting.actor.email
    await session.flush()
    return person, membership


async def remove_member(
    session: AsyncSession, acting: Acting, group_id: uuid.UUID | str, user_id: uuid.UUID | str
) -> GroupMembership:
    """End a current membership (kept as history)."""
    group = await get_group(session, acting.user, group_id)
    _writable(group)
    person, membership = await _end(session, acting, group, user_id)
    await record(
        session, acting.actor, "group.member.removed", subject_email=person.email, target_type="group",
        target_id=group.id, group=group.name, role=membership.role,
    )
    return membership


async def move_member(
    session: AsyncSession,
    acting: Acting,
    group_id: uuid.UUID | str,
    user_id: uuid.UUID | str,
    to_group_id: uuid.UUID | str,
) -> GroupMembership:
    """End the person's membership here and start the same role in ``to_group_id`` (both visible to the caller)."""
    group = await get_group(session, acting.user, group_id)
    try:
        target = await get_group(session, acting.user, to_group_id)
    except GroupNotFound as exc:
        raise GroupNotFound(str(exc), "to_group_id") from exc
    if target.id == group.id:
        raise GroupConflict(_("Choose another group."), "to_group_id")
    _writable(group)
    _writable(target)
    person = await get_person(session, user_id)
    if await current_membership(session, target.id, person.id) is not None:
        raise GroupConflict(_("%(name)s is already in that group.") % {"name": person.name}, "to_group_id")
    person, ended = await _end(session, acting, group, person.id)
    membership = GroupMembership(
        group_id=target.id, user_id=person.id, role=ended.role, added_by_email=acting.actor.email
    )
    session.add(membership)
    await session.flush()
    if membership.role == "member":
        await _sync_learning(session, group_ids=[target.id], user_ids=[person.id])
    await record(
        session, acting.actor, "group.member.moved", subject_email=person.email, target_type="group",
        target_id=target.id, group=target.name, from_group=group.name, from_group_id=str(group.id), role=ended.role,
    )
    return membership


@dataclass(frozen=True)
class MemberRow:
    user: User
    membership: GroupMembership


async def list_members(
    session: AsyncSession,
    group: Group,
    *,
    role: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[MemberRow], int]:
    """Current members and leaders of ``group`` (already checked visible), by name, one page, and the total."""
    where: list[Any] = [GroupMembership.group_id == group.id, GroupMembership.ended_at.is_(None)]
    if role in ROLES:
        where.append(GroupMembership.role == role)
    if q and q.strip():
        needle = q.strip().lower()
        where.append(
            or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True))
        )
    base = select(User, GroupMembership).join(GroupMembership, GroupMembership.user_id == User.id).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(func.lower(User.name), User.email).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return [MemberRow(user, membership) for user, membership in rows.all()], int(total or 0)


async def candidates(
    session: AsyncSession, group: Group, q: str, *, role: str = "member", limit: int = 10
) -> list[User]:
    """People who could join ``group`` with ``role`` and whose name or email contains ``q`` (not already in it)."""
    needle = (q or "").strip().lower()[:100]
    if not needle:
        return []
    already = select(GroupMembership.user_id).where(
        GroupMembership.group_id == group.id, GroupMembership.ended_at.is_(None)
    )
    rows = await session.scalars(
        select(User)
        .where(
            _eligible(role),
            User.id.not_in(already),
            or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True)),
        )
        .order_by(func.lower(User.name), User.email)
        .limit(limit)
    )
    return list(rows.all())


@dataclass(frozen=True)
class HistoryRow:
    membership: GroupMembership
    user: User
    group: Group


async def _history(
    session: AsyncSession, where: Sequence[Any], page: int, per_page: int
) -> tuple[list[HistoryRow], int]:
    base = (
        select(GroupMembership, User, Group)
        .join(User, User.id == GroupMembership.user_id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(*where)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(
            func.coalesce(GroupMembership.ended_at, GroupMembership.created_at).desc(), GroupMembership.id.desc()
        )
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return [HistoryRow(m, u, g) for m, u, g in rows.all()], int(total or 0)


async def group_history(
    session: AsyncSession, group: Group, *, page: int = 1, per_page: int = 50
) -> tuple[list[HistoryRow], int]:
    """Every membership of ``group`` (already checked visible), current and ended, latest change first."""
    return await _history(session, [GroupMembership.group_id == group.id], page, per_page)


async def person_history(
    session: AsyncSession, user: Any, person_id: uuid.UUID | str, *, page: int = 1, per_page: int = 50
) -> tuple[User, list[HistoryRow], int]:
    """The person's memberships in the groups ``user`` may see, current and ended, latest change first."""
    person = await get_person(session, person_id)
    rows, total = await _history(
        session, [GroupMembership.user_id == person.id, group_scope(user, GroupMembership.group_id)], page, per_page
    )
    return person, rows, total


# --- for the roster import ----------------------------------------------------------------------------------------


async def find_by_name(session: AsyncSession, name: str, kind: str | None = None) -> Group | None:
    """The group a roster's team/class column names, without creating anything (for the import's preview).

    Case-insensitive, spaces collapsed, among groups that are not archived: a group of ``kind`` (the tenant's leaf
    kind by default: class or team) anywhere in the tree, the shallowest and oldest first when several share the
    name; else a top-level group of any kind with that name. ``None`` when neither exists (the import would create
    it at the top).
    """
    clean = " ".join((name or "").split()).lower()
    if not clean:
        return None
    kind = kind or tenant_kinds()[1]
    live = [func.lower(Group.name) == clean, Group.archived_at.is_(None)]
    found = await session.scalar(
        select(Group).where(*live, Group.kind == kind).order_by(Group.depth, Group.created_at, Group.id).limit(1)
    )
    if found is None:
        found = await session.scalar(select(Group).where(*live, Group.parent_id.is_(None)).limit(1))
    return found


async def find_or_create_by_name(session: AsyncSession, name: str, kind: str | None = None) -> tuple[Group, bool]:
    """(the group, created?): :func:`find_by_name`, else a new top-level group of ``kind`` (leaf kind by default).

    Safe under concurrent imports (``INSERT ... ON CONFLICT DO NOTHING`` on the name index, then read back).
    Raises :class:`GroupError` (``field="name"``) for an empty or too long name, :class:`GroupConflict` when an
    *archived* top-level group holds the name, or for a kind this tenant does not use. No audit entry: the import
    records its own.
    """
    found = await find_by_name(session, name, kind)
    if found is not None:
        return found, False
    clean = _clean_name(name)
    kind = kind or tenant_kinds()[1]
    _check_kind(kind, None)
    now = datetime.datetime.now(datetime.UTC)
    stmt = (
        pg_insert(Group)
        .values(id=uuid7(), name=clean, kind=kind, parent_id=None, depth=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(
            # The unique index's own expressions (models.py), so that PostgreSQL infers that index.
            index_elements=[func.coalesce(text("parent_id"), text(f"'{NIL}'::uuid")), func.lower(text("name"))]
        )
        .returning(Group.id)
    )
    new_id = await session.scalar(stmt)
    if new_id is not None:
        group = await session.get(Group, new_id)
        assert group is not None
        return group, True
    holder = await session.scalar(
        select(Group).where(Group.parent_id.is_(None), func.lower(Group.name) == clean.lower())
    )
    if holder is None or holder.archived_at is not None:
        raise GroupConflict(
            _("An archived group is called %(name)s: restore or rename it first.") % {"name": clean}, "name"
        )
    return holder, False


@dataclass(frozen=True)
class BulkAdded:
    """What :func:`add_members_bulk` did with each id it was given."""

    added: list[uuid.UUID]  # new current memberships
    already: list[uuid.UUID]  # already in the group (any role): left as they were
    refused: list[uuid.UUID]  # unknown here, deactivated, or without a role the membership needs


async def add_members_bulk(
    session: AsyncSession,
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    *,
    role: str = "member",
    added_by_email: str | None = None,
) -> BulkAdded:
    """Add many people to one group in a few statements (thousands of ids: chunks of :data:`BULK_CHUNK`).

    Eligible ids (active or invited; ``student`` for ``member``, manager/teacher/admin for ``leader``) are inserted
    with ``INSERT ... ON CONFLICT DO NOTHING`` on the current-membership index, so a repeat or a concurrent run adds
    nobody twice. No permission check and no audit entry: the caller (the roster import) does both. Raises
    :class:`GroupNotFound` for an unknown group, :class:`GroupConflict` for an archived one.
    """
    _check_role(role)
    group = await session.get(Group, group_id)
    if group is None:
        raise GroupNotFound(_("No such group."))
    _writable(group)
    wanted = list(dict.fromkeys(user_ids))
    eligible: list[uuid.UUID] = []
    for start in range(0, len(wanted), BULK_CHUNK * 5):
        chunk = wanted[start : start + BULK_CHUNK * 5]
        found = set((await session.scalars(select(User.id).where(User.id.in_(chunk), _eligible(role)))).all())
        eligible.extend(uid for uid in chunk if uid in found)
    added: set[uuid.UUID] = set()
    memberships = GroupMembership.metadata.tables[GroupMembership.__tablename__]
    now = datetime.datetime.now(datetime.UTC)
    for start in range(0, len(eligible), BULK_CHUNK):
        rows = [
            {
                "id": uuid7(),
                "group_id": group.id,
                "user_id": uid,
                "role": role,
                "added_by_email": added_by_email,
                "created_at": now,
                "updated_at": now,
            }
            for uid in eligible[start : start + BULK_CHUNK]
        ]
        stmt = (
            pg_insert(memberships)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["group_id", "user_id"], index_where=text("ended_at IS NULL"))
            .returning(memberships.c.user_id)
        )
        added.update((await session.scalars(stmt)).all())
    if added and role == "member":
        await _sync_learning(session, group_ids=[group.id], user_ids=list(added))
    eligible_set = set(eligible)
    return BulkAdded(
        added=[uid for uid in eligible if uid in added],
        already=[uid for uid in eligible if uid not in added],
        refused=[uid for uid in wanted if uid not in eligible_set],
    )


# --- the demo -----------------------------------------------------------------------------------------------------


async def seed_groups(session: AsyncSession, entries: list[dict[str, Any]], people: dict[str, User]) -> None:
    """The demo's groups from ``tenant.toml`` (``[[groups]]``: name, kind, parent, leaders, members by email),
    created or completed without duplicates (idempotent)."""
    by_name: dict[str, Group] = {}
    for entry in entries:
        parent = by_name.get(str(entry.get("parent", "")).lower()) if entry.get("parent") else None
        name = _clean_name(entry["name"])
        group = await session.scalar(
            select(Group).where(
                func.coalesce(Group.parent_id, literal(NIL)) == (parent.id if parent else NIL),
                func.lower(Group.name) == name.lower(),
            )
        )
        if group is None:
            top, leaf = tenant_kinds()
            group = Group(
                name=name,
                kind=entry.get("kind") or (top if parent is None else leaf),
                parent_id=parent.id if parent else None,
                depth=0 if parent is None else parent.depth + 1,
                description=entry.get("description"),
            )
            session.add(group)
            await session.flush()
        by_name[name.lower()] = group
        if group.archived_at is not None:
            continue
        for role, key in (("leader", "leaders"), ("member", "members")):
            ids = [people[e.strip().lower()].id for e in entry.get(key, []) if e.strip().lower() in people]
            if ids:
                await add_members_bulk(session, group.id, ids, role=role)
