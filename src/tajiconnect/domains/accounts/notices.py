"""Emails to account holders, deferred through the outbox so they go out exactly when the change commits:
single-use links (invitation, verification, reset) and security notices (something sensitive changed or was
used)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.mail.tasks import send_email
from tajiconnect.settings import Settings
from tajiconnect.tasks.outbox import defer
from tajiconnect.tenancy.urls import tenant_url

#: events with a message in templates/email/_notices.txt
EVENTS = (
    "password_changed", "password_reset", "two_factor_enabled", "two_factor_disabled",
    "recovery_codes_regenerated", "signed_out_everywhere", "recovery_code_used",
)


async def security_notice(session: AsyncSession, user: User, event: str) -> None:
    """Mail the notice once ``session``'s transaction (the change it is about) commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown security event {event!r}")
    await defer(session, send_email, to=user.email, template="security_notice", locale=user.locale,
                context={"user_name": user.name, "event": event})


async def send_link_email(
    session: AsyncSession, settings: Settings, user: User, template: str, token: str, path: str, **context: Any
) -> None:
    """Mail ``user`` the link ``<tenant's canonical URL><path>/<token>`` once ``session`` commits."""
    await defer(
        session,
        send_email,
        to=user.email,
        template=template,
        locale=user.locale,
        context={"user_name": user.name, "link": tenant_url(f"{path}/{token}", settings=settings), **context},
    )


async def invite_first_admin(
    session: AsyncSession, settings: Settings, email: str, inviter: str = "TajiConnect"
) -> str:
    """Issue the new organization's first admin an invitation link and defer its email, in ``session``'s transaction
    (the tenant in scope); return the link. Used by ``tajiconnect tenants create`` and by self-service sign-up."""
    from tajiconnect.domains.accounts.service import AccountError, get_by_email
    from tajiconnect.domains.accounts.tokens import issue_link

    user = await get_by_email(session, email)
    if user is None:
        raise AccountError(f"no member with email {email}")
    token = await issue_link(session, user, "invite")
    await send_link_email(session, settings, user, "invite", token, "/auth/invitation", inviter=inviter)
    return tenant_url(f"/auth/invitation/{token}", settings=settings)
