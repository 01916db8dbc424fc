"""Roles -> permissions and the guards that enforce them (the one place where permissions are decided)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.accounts.policies import (
    ROLE_PERMISSIONS,
    Permission,
    TwoFactorEnrollmentRequired,
    can,
    permissions_of,
    requires_permission,
    requires_user,
)


def user(*roles: str, status: str = "active") -> User:
    return User(email="someone@example.org", name="Someone", roles=list(roles), status=status)


def connection(user_obj=None, *, must_enroll: bool = False):
    auth = SimpleNamespace(must_enroll_2fa=must_enroll) if user_obj is not None else None
    return SimpleNamespace(scope={"user": user_obj, "auth": auth})


def handler(**opt):
    return SimpleNamespace(opt=opt)


def test_every_role_has_a_permission_entry():
    assert set(ROLE_PERMISSIONS) == set(ROLES)


def test_org_admin_has_every_permission():
    assert permissions_of(["org_admin"]) == frozenset(Permission)


@pytest.mark.parametrize("role", ["manager", "teacher"])
def test_staff_roles_may_view_but_not_manage_users(role):
    granted = permissions_of([role])
    assert Permission.VIEW_USERS in granted
    assert Permission.MANAGE_USERS not in granted
    assert Permission.VIEW_AUDIT_LOG not in granted
    assert Permission.MANAGE_SECURITY not in granted
    # They build and assign learning and follow their groups' progress, but edit only their own courses.
    assert {Permission.AUTHOR_COURSES, Permission.ASSIGN_LEARNING, Permission.VIEW_PROGRESS} <= granted
    assert Permission.MANAGE_COURSES not in granted


@pytest.mark.parametrize("role", ["student", "parent", "employer"])
def test_members_without_staff_roles_have_no_permission(role):
    assert permissions_of([role]) == frozenset()


def test_permissions_of_several_roles_is_the_union():
    assert permissions_of(["student", "teacher"]) == permissions_of(["teacher"])
    assert permissions_of(["teacher", "org_admin"]) == frozenset(Permission)


def test_unknown_roles_grant_nothing():
    assert permissions_of(["superuser", "root"]) == frozenset()


def test_can_follows_the_roles():
    assert can(user("org_admin"), Permission.MANAGE_USERS)
    assert not can(user("teacher"), Permission.MANAGE_USERS)
    assert can(user("teacher"), Permission.VIEW_USERS)


@pytest.mark.parametrize("status", ["deactivated", "invited"])
def test_can_is_false_for_accounts_that_are_not_active(status):
    assert not can(user("org_admin", status=status), Permission.MANAGE_USERS)
    assert not can(user("org_admin", status=status), Permission.VIEW_AUDIT_LOG)


def test_can_is_false_for_nobody():
    assert not can(None, Permission.VIEW_USERS)


def test_requires_user_refuses_anonymous_callers():
    with pytest.raises(NotAuthorizedException):
        requires_user(connection(None), handler())


def test_requires_user_lets_a_signed_in_user_through():
    requires_user(connection(user("student")), handler())


def test_requires_user_sends_unenrolled_users_to_two_factor_setup():
    with pytest.raises(TwoFactorEnrollmentRequired):
        requires_user(connection(user("teacher"), must_enroll=True), handler())
    # ...except on the pages that let them enroll (profile, two-step setup, sessions).
    requires_user(connection(user("teacher"), must_enroll=True), handler(allow_unenrolled=True))


def test_two_factor_enrollment_required_is_a_403():
    assert issubclass(TwoFactorEnrollmentRequired, PermissionDeniedException)
    assert TwoFactorEnrollmentRequired().status_code == 403


def test_requires_permission_refuses_anonymous_with_401():
    guard = requires_permission(Permission.MANAGE_USERS)
    with pytest.raises(NotAuthorizedException):
        guard(connection(None), handler())


def test_requires_permission_refuses_users_without_it_with_403():
    guard = requires_permission(Permission.MANAGE_USERS)
    with pytest.raises(PermissionDeniedException) as info:
        guard(connection(user("teacher", "parent")), handler())
    assert not isinstance(info.value, TwoFactorEnrollmentRequired)


def test_requires_permission_refuses_deactivated_admins():
    guard = requires_permission(Permission.VIEW_AUDIT_LOG)
    with pytest.raises(PermissionDeniedException):
        guard(connection(user("org_admin", status="deactivated")), handler())


def test_requires_permission_lets_the_permitted_through():
    requires_permission(Permission.MANAGE_USERS)(connection(user("org_admin")), handler())
    requires_permission(Permission.VIEW_USERS)(connection(user("manager")), handler())


def test_requires_permission_checks_enrollment_before_the_permission():
    guard = requires_permission(Permission.MANAGE_USERS)
    with pytest.raises(TwoFactorEnrollmentRequired):
        guard(connection(user("org_admin"), must_enroll=True), handler())


def test_guards_have_readable_names():
    assert requires_permission(Permission.MANAGE_USERS).__name__ == "requires_manage_users"
