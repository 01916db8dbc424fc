"""Member administration: each privileged action with all its effects and its audit entry, in one place.

Pages (``pages_admin.py``) and the API (``api.py``) call these and only translate the outcome (a redirect or a
template; JSON or a problem body). Refusals raise :class:`AccountError` (the message is for the admin);
:class:`InvitationLimitedError` when the invitation-email limit is reached.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts import service
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.notices import send_link_email
from tajiconnect.domains.accounts.signin import email_send_allowed
from tajiconnect.domains.accounts.tokens import issue_link, revoke_all_for_user
from tajiconnect.domains.audit.service import record


class InvitationLimitedError(Exception):
    """Too many invitation emails went to this address (or from this admin) recently."""


async def target(db_session: AsyncSession, user_id: str) -> User:
    """A member of the tenant in scope by id; 404 for anything else (other tenants' ids do not exist here)."""
    user = await service.get_user(db_session, user_id)
    if user is None:
        raise NotFoundException(detail="no such user")
    return user


async def acting_admin(request: Request, db_session: AsyncSession) -> User:
    actor = await service.get_user(db_session, request.scope["user"].id)
    if actor is None:
        raise PermissionDeniedException()
    return actor


async def _audit(
    request: Request, db_session: AsyncSession, action: str, email: str, user_id: Any, **details: Any
) -> None:
    """The action's audit entry, in the action's own transaction (it exists exactly when the action does)."""
    await record(
        db_session, actor_of(request), action, subject_email=email, target_type="user", target_id=user_id, **details
    )


async def end_all_access(request: Request, db_session: AsyncSession, user: User) -> None:
    """Sign the user out everywhere: commit (API token families revoked), then end the browser sessions."""
    await revoke_all_for_user(db_session, user.id)
    await db_session.commit()
    await request.app.state.session_store.delete_for_user(user.id)


async def send_invitation(request: Request, db_session: AsyncSession, user: User) -> None:
    """Issue an invitation link and defer its email, within the invitation-email limits (one transaction)."""
    actor = actor_of(request)
    if not await email_send_allowed(db_session, "user.invited", user.email, actor.ip):
        raise InvitationLimitedError()
    token = await issue_link(db_session, user, "invite")
    await _audit(request, db_session, "user.invited", user.email, user.id, roles=user.roles)
    await send_link_email(db_session, request.app.state.settings, user, "invite", token, "/auth/invitation",
                          inviter=actor.email or "")
    from tajiconnect.domains.notifications import events

    await events.invited(db_session, user)


async def invite_member(request: Request, db_session: AsyncSession, *, email: str, name: str, roles: list[str]) -> User:
    """The member, their invitation link, its email (outbox) and the audit entry: one outcome, one commit."""
    user = await service.invite_user(db_session, email=email, name=name, roles=roles,
                                     actor_email=actor_of(request).email)
    await send_invitation(request, db_session, user)
    return user


async def change_roles(request: Request, db_session: AsyncSession, user: User, roles: list[str]) -> list[str]:
    before = list(user.roles)
    roles = await service.set_roles(db_session, await acting_admin(request, db_session), user, roles)
    await _audit(request, db_session, "user.roles.changed", user.email, user.id, before=before, after=roles)
    return roles


async def deactivate_member(request: Request, db_session: AsyncSession, user: User) -> None:
    await service.deactivate(db_session, await acting_admin(request, db_session), user)
    await _audit(request, db_session, "user.deactivated", user.email, user.id)
    await end_all_access(request, db_session, user)


async def rename_member(request: Request, db_session: AsyncSession, user: User, name: str) -> None:
    name = name.strip()
    if not name or len(name) > 200:
        raise service.AccountError("name must be 1-200 characters", "name")
    if name != user.name:
        before, user.name = user.name, name
        await _audit(request, db_session, "user.renamed", user.email, user.id, before=before, after=name)


async def reactivate_member(request: Request, db_session: AsyncSession, user: User) -> None:
    await service.reactivate(db_session, user, actor_email=actor_of(request).email)
    await _audit(request, db_session, "user.reactivated", user.email, user.id)


async def delete_member(request: Request, db_session: AsyncSession, user: User) -> None:
    from tajiconnect.domains.storage.models import StoredFile

    email, user_id, picture_id = user.email, user.id, user.avatar_file_id
    await service.delete_user(db_session, await acting_admin(request, db_session), user)
    picture = await db_session.get(StoredFile, picture_id) if picture_id else None
    if picture is not None:  # the picture's file goes with the account
        await request.app.state.storage.delete(db_session, picture)
    await _audit(request, db_session, "user.deleted", email, user_id)
    await db_session.commit()
    await request.app.state.session_store.delete_for_user(user_id)
