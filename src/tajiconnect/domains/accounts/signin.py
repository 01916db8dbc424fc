"""Checking credentials, with throttling and an audit trail, the same for pages and the API.

Failures are limited per account (the email typed, whether or not it exists) and per address: at most
``MAX_FAILURES`` in ``WINDOW``. Throttled, unknown email, wrong password and inactive account all look the same
from outside except for the throttled case, which says "try later" whatever the email.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.notices import security_notice
from tajiconnect.domains.accounts.passwords import hash_password_async, needs_rehash, verify_password_async
from tajiconnect.domains.accounts.service import get_by_email, organization_settings, two_factor_required
from tajiconnect.domains.accounts.totp import spend_second_factor
from tajiconnect.domains.audit.models import AuditEntry, AuditModel
from tajiconnect.domains.audit.service import Actor, count_recent, record

MAX_FAILURES = 10
WINDOW = datetime.timedelta(minutes=15)
EMAIL_LIMIT = 5  # reset / invitation emails per address (and per account) per hour
EMAIL_WINDOW = datetime.timedelta(hours=1)

FAILURE_ACTIONS = ("auth.sign_in.failure", "auth.two_factor.failure")


class Outcome(Enum):
    OK = "ok"
    NEEDS_SECOND_FACTOR = "needs_second_factor"
    INVALID = "invalid"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class SignInResult:
    outcome: Outcome
    user: User | None = None
    must_enroll_2fa: bool = False


async def is_throttled(
    session: AsyncSession,
    email: str | None,
    ip: str | None,
    *,
    actions: tuple[str, ...] = FAILURE_ACTIONS,
    model: AuditModel = AuditEntry,
) -> bool:
    """``MAX_FAILURES`` of ``actions`` in ``WINDOW`` for this account or this address (members' log by default)."""
    counts = await count_recent(session, actions, within=WINDOW, email=email, ip=ip, model=model)
    return max(counts) >= MAX_FAILURES


async def check_credentials(
    engine: AsyncEngine, session: AsyncSession, email: str, password: str, actor: Actor, *, channel: str
) -> SignInResult:
    email = (email or "").strip().lower()[:320]
    if await is_throttled(session, email, actor.ip):
        await verify_password_async(None, password)  # same cost as a real check
        await record(engine, actor, "auth.sign_in.throttled", subject_email=email, channel=channel)
        return SignInResult(Outcome.THROTTLED)
    user = await get_by_email(session, email) if email else None
    valid = await verify_password_async(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        reason = "no_account" if user is None else ("inactive" if valid else "bad_password")
        await record(engine, actor, "auth.sign_in.failure", subject_email=email, channel=channel, reason=reason)
        return SignInResult(Outcome.INVALID)
    if needs_rehash(user.password_hash or ""):
        user.password_hash = await hash_password_async(password)
    must_enroll = not user.totp_enabled and two_factor_required(user, await organization_settings(session))
    if user.totp_enabled:
        return SignInResult(Outcome.NEEDS_SECOND_FACTOR, user)
    return SignInResult(Outcome.OK, user, must_enroll_2fa=must_enroll)


async def check_second_factor(
    engine: AsyncEngine, session: AsyncSession, user: User, code: str, actor: Actor, *, channel: str
) -> Outcome:
    """A TOTP code (never accepted twice) or an unused recovery code (spent on use, and the owner told)."""
    from tajiconnect.domains.accounts.models import RecoveryCode

    if await is_throttled(session, user.email, actor.ip):
        await record(engine, actor, "auth.sign_in.throttled", subject_email=user.email, channel=channel)
        return Outcome.THROTTLED
    factor = await spend_second_factor(session, user, code, owner=RecoveryCode.user_id)
    if factor == "recovery":
        await record(session, actor, "auth.recovery_code.used", subject_email=user.email,
                     target_type="user", target_id=user.id)
        await security_notice(session, user, "recovery_code_used")
    if factor is not None:
        return Outcome.OK
    await record(engine, actor, "auth.two_factor.failure", subject_email=user.email, channel=channel)
    return Outcome.INVALID


async def email_send_allowed(session: AsyncSession, action: str, email: str, ip: str | None) -> bool:
    """Whether another reset/invitation email may go to ``email`` (per address and per requester limits)."""
    by_email, by_ip = await count_recent(session, (action,), within=EMAIL_WINDOW, email=email, ip=ip)
    return by_email < EMAIL_LIMIT and by_ip < EMAIL_LIMIT * 4
