"""Who may do what: roles -> permissions, checked on the server in one place.

Guards (``requires_*``) protect routes; ``can`` answers for templates and services. Object lookups are scoped in
the services (a user can only ever load rows of their own tenant, and only the ones their permissions allow).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


class Permission(StrEnum):
    MANAGE_USERS = "users.manage"  # list, invite, change roles, deactivate, delete
    VIEW_AUDIT_LOG = "audit.view"
    MANAGE_SECURITY = "security.manage"  # organization-wide settings such as required 2FA
    VIEW_USERS = "users.view"  # see the member directory of the organization
    MANAGE_SEATS = "seats.manage"  # the license and its seats: see usage, assign, reclaim, reassign
    AUTHOR_COURSES = "courses.author"  # create courses and learning paths; edit those one owns or co-teaches
    MANAGE_COURSES = "courses.manage"  # edit, publish, archive every course and path of the organization
    ASSIGN_LEARNING = "learning.assign"  # assign courses/paths (admins: to anyone; others: to groups they lead)
    VIEW_PROGRESS = "progress.view"  # learners' progress (admins: everyone; others: the groups they lead)


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "org_admin": frozenset(Permission),
    "manager": frozenset({Permission.VIEW_USERS, Permission.AUTHOR_COURSES, Permission.ASSIGN_LEARNING,
                          Permission.VIEW_PROGRESS}),
    "teacher": frozenset({Permission.VIEW_USERS, Permission.AUTHOR_COURSES, Permission.ASSIGN_LEARNING,
                          Permission.VIEW_PROGRESS}),
    "student": frozenset(),
    "parent": frozenset(),
    "employer": frozenset(),
}


def permissions_of(roles: list[str] | tuple[str, ...]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def roles_with(permission: Permission) -> list[str]:
    """The roles that grant ``permission`` (to find, in SQL, the members who hold it)."""
    return sorted(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


def can(user: Any, permission: Permission) -> bool:
    return user is not None and user.is_active and permission in permissions_of(user.roles)


class TwoFactorEnrollmentRequired(PermissionDeniedException):
    """The organization requires two-step verification for one of the user's roles and it is not set up yet."""


def requires_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Signed in with a full session (or a valid bearer token), and enrolled in 2FA where required."""
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()
    auth = connection.scope.get("auth")
    if auth is not None and auth.must_enroll_2fa and not handler.opt.get("allow_unenrolled"):
        raise TwoFactorEnrollmentRequired(detail="two-step verification must be set up first")


def requires_permission(permission: Permission):
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires_user(connection, handler)
        if not can(connection.scope["user"], permission):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{permission.name.lower()}"
    return guard

