"""Who may see and change parent links, for the pages and the API alike.

* A parent sees their own linked learners only; an admin (``users.manage``) sees and changes anyone's links.
* A learner sees who is linked to them and makes pairing codes for themselves.
* A teacher or manager makes pairing codes for the learners of the groups they currently lead; an admin for any
  learner.
* A parent redeems codes.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, can, requires_user
from tajiconnect.domains.parents import service

LEADER_ROLES = ("teacher", "manager")
CODE_MAKER_ROLES = ("org_admin", "student", *LEADER_ROLES)


def has_any_role(user: User | None, roles: tuple[str, ...]) -> bool:
    return user is not None and user.is_active and any(user.has_role(r) for r in roles)


def requires_role(*roles: str):
    """A guard: signed in (``requires_user``) with one of ``roles``; 403 otherwise."""

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires_user(connection, handler)
        if not has_any_role(connection.scope["user"], roles):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{'_or_'.join(roles)}"
    return guard


def is_parent_only(user: User | None) -> bool:
    """A member whose only role is ``parent``: ``/`` is the parent's home."""
    roles = set(user.roles or ()) if user is not None else set()
    return roles == {"parent"}


def is_admin(user: User | None) -> bool:
    return can(user, Permission.MANAGE_USERS)


def may_read_children_of(user: User | None, parent_id: object) -> bool:
    """An admin reads anyone's children; a parent only their own."""
    if user is None:
        return False
    return is_admin(user) or (user.id == parent_id and user.has_role("parent"))


async def may_issue_code_for(session: AsyncSession, actor: User, learner: User) -> bool:
    """A learner for themselves, an admin for anyone, a teacher or manager for the learners they lead."""
    if actor.id == learner.id:
        return actor.has_role("student")
    if is_admin(actor):
        return True
    if has_any_role(actor, LEADER_ROLES):
        return await service.leads(session, actor.id, learner.id)
    return False
