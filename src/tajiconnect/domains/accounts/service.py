"""Account rules shared by every entry point (CLI, pages, API, provisioning).

Every function works on the session of the tenant in scope, so every lookup is confined to that tenant's
schema; permission checks happen in :mod:`policies` before these are called.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import any_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import ROLES, OrganizationSettings, User
from tajiconnect.domains.accounts.passwords import hash_password, hash_password_async, password_problem
from tajiconnect.domains.licensing import seats
from tajiconnect.i18n import _

__all__ = ["AccountError"]

PAGE_SIZE = 25
NAME_MAX = 200  # users.name is VARCHAR(200)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def normalize_email(email: str) -> str:
    try:
        # No DNS lookups (offline installs); the reserved .test domain is allowed for demos and tests.
        info = validate_email((email or "").strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise AccountError(_("Enter a valid email address."), "email") from exc
    if "." not in info.domain:
        raise AccountError(_("Enter a valid email address."), "email")
    return info.normalized.lower()


def check_password(password: str, *, email: str = "", name: str = "") -> None:
    problem = password_problem(password, user_inputs=(email, email.split("@")[0], name))
    if problem:
        raise AccountError(problem, "password")


def check_roles(roles: list[str]) -> list[str]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise AccountError(_("Unknown role: %(role)s") % {"role": sorted(unknown)[0]}, "roles")
    return [r for r in ROLES if r in roles]  # canonical order, no duplicates


def new_user(
    *, email: str, name: str, password: str | None, roles: list[str], locale: str = "en", status: str | None = None
) -> User:
    email = normalize_email(email)
    name = (name or "").strip()
    if len(name) > NAME_MAX:  # refused, never cut short silently
        raise AccountError(_("Use at most %(n)d characters.") % {"n": NAME_MAX}, "name")
    name = name or email.split("@")[0]
    if password is not None:
        check_password(password, email=email, name=name)
    now = _now()
    return User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        password_changed_at=now if password else None,
        roles=check_roles(roles),
        status=status or ("active" if password else "invited"),
        locale=locale,
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID | str) -> User | None:
    try:
        key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    return await session.get(User, key)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


@dataclass(frozen=True)
class UserQuery:
    q: str | None = None
    role: str | None = None
    status: str | None = None
    page: int = 1
    per_page: int = PAGE_SIZE


async def search_users(session: AsyncSession, query: UserQuery) -> tuple[list[User], int]:
    stmt = select(User)
    if query.q:
        # The text as typed: autoescape makes "%", "_" and the escape character match themselves, not anything.
        needle = query.q.strip().lower()
        stmt = stmt.where(
            or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True))
        )
    if query.role in ROLES:
        stmt = stmt.where(any_(User.roles) == query.role)
    if query.status in ("invited", "active", "deactivated"):
        stmt = stmt.where(User.status == query.status)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = max(1, query.page)
    rows = await session.scalars(
        stmt.order_by(func.lower(User.name), User.email).limit(query.per_page).offset((page - 1) * query.per_page)
    )
    return list(rows.all()), int(total or 0)


async def invite_user(
    session: AsyncSession, *, email: str, name: str, roles: list[str], actor_email: str | None = None
) -> User:
    """A new invited member; a learner's invitation reserves a seat (refused as a whole when none is left)."""
    email = normalize_email(email)
    if not roles:
        raise AccountError(_("Choose at least one role."), "roles")
    if await get_by_email(session, email):
        raise AccountError(_("Someone with this email is already a member."), "email")
    user = new_user(email=email, name=name, password=None, roles=roles, status="invited")
    session.add(user)
    await session.flush()
    await seats.sync(session, user, reason="invited", actor_email=actor_email)
    return user


async def other_active_admins(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(any_(User.roles) == "org_admin", User.status == "active", User.id != user_id)
    )
    return int(count or 0)


async def _guard_last_admin(session: AsyncSession, actor: User, user: User, *, removing_admin: bool) -> None:
    if not removing_admin or not user.has_role("org_admin"):
        return
    if actor.id == user.id:
        raise AccountError(_("You cannot remove your own admin access."))
    if await other_active_admins(session, user.id) == 0:
        raise AccountError(_("The organization must keep at least one active admin."))


async def set_roles(session: AsyncSession, actor: User, user: User, roles: list[str]) -> list[str]:
    roles = check_roles(roles)
    if not roles:
        raise AccountError(_("Choose at least one role."), "roles")
    await _guard_last_admin(session, actor, user, removing_admin="org_admin" not in roles)
    user.roles = roles
    await seats.sync(session, user, reason="role_changed", actor_email=actor.email)
    await session.flush()
    return roles


async def deactivate(session: AsyncSession, actor: User, user: User) -> None:
    await _guard_last_admin(session, actor, user, removing_admin=True)
    if actor.id == user.id:
        raise AccountError(_("You cannot deactivate your own account."))
    user.status = "deactivated"
    await seats.sync(session, user, reason="deactivated", actor_email=actor.email)
    await session.flush()


async def reactivate(session: AsyncSession, user: User, *, actor_email: str | None = None) -> None:
    """Back to active (or invited); a learner gets a seat again, or the reactivation is refused."""
    user.status = "active" if user.password_hash else "invited"
    await seats.sync(session, user, reason="reactivated", actor_email=actor_email)
    await session.flush()


async def delete_user(session: AsyncSession, actor: User, user: User) -> None:
    """Delete the account and everything hanging off it (sessions, tokens, links, avatar: ON DELETE CASCADE).

    Audit entries keep the email and id as text, so the history of what the account did remains.
    """
    if actor.id == user.id:
        raise AccountError(_("You cannot delete your own account."))
    await _guard_last_admin(session, actor, user, removing_admin=True)
    await seats.release(session, [user], reason="deleted", actor_email=actor.email)
    await session.delete(user)
    await session.flush()


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    check_password(password, email=user.email, name=user.name)
    user.password_hash = await hash_password_async(password)
    user.password_changed_at = _now()
    if user.status == "invited":
        user.status = "active"
    await session.flush()


async def organization_settings(session: AsyncSession) -> OrganizationSettings:
    row = await session.get(OrganizationSettings, 1)
    if row is None:
        row = OrganizationSettings(id=1, require_2fa_roles=[])
        session.add(row)
        await session.flush()
    return row


async def setting_by_kind(session: AsyncSession, column: InstrumentedAttribute[bool | None]) -> bool:
    """A yes/no organization setting (an ``OrganizationSettings`` column) whose unset value is its kind's default:
    on for companies, off for schools (learners may be minors): learners messaging each other, the job board."""
    from tajiconnect.tenancy.context import require_tenant

    value = await session.scalar(select(column).where(OrganizationSettings.id == 1))
    return require_tenant().kind == "company" if value is None else bool(value)


def two_factor_required(user: User, settings: OrganizationSettings | None) -> bool:
    required = set(settings.require_2fa_roles if settings else ())
    return bool(required & set(user.roles or ()))
