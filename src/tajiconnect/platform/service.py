"""Operators: creation (CLI), sign-in with throttling and an audit trail in ``platform_audit_log``, and the second
factor every operator has (TOTP with recovery codes, as members' own: :mod:`tajiconnect.domains.accounts.totp`)."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.passwords import hash_password_async, verify_password_async
from tajiconnect.domains.accounts.service import check_password, normalize_email
from tajiconnect.domains.accounts.signin import Outcome, is_throttled
from tajiconnect.domains.accounts.totp import spend_second_factor
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.platform.models import OperatorRecoveryCode, OperatorSession, PlatformOperator
from tajiconnect.tenancy.context import tenant_context

#: Failures that count towards an operator's (and an address's) sign-in throttle: wrong passwords and wrong codes.
FAILURE_ACTIONS = ("platform.sign_in.failure", "platform.mfa.failure")


class OperatorError(ValueError):
    pass


def operator_actor(operator: PlatformOperator, actor: Actor) -> Actor:
    """``actor`` (address, browser) as ``operator``."""
    return Actor(id=operator.id, email=operator.email, ip=actor.ip, user_agent=actor.user_agent)


async def create_operator(engine: AsyncEngine, *, email: str, name: str, password: str) -> PlatformOperator:
    email = normalize_email(email)
    check_password(password, email=email, name=name)
    try:
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                operator = PlatformOperator(
                    email=email, name=name.strip() or email, password_hash=await hash_password_async(password)
                )
                session.add(operator)
                await session.flush()
                return operator
    except IntegrityError as exc:
        raise OperatorError(f"an operator with email {email!r} already exists") from exc


async def authenticate(
    engine: AsyncEngine, session: AsyncSession, email: str, password: str, actor: Actor
) -> tuple[str, PlatformOperator | None]:
    """("ok" | "invalid" | "throttled", operator)."""
    email = (email or "").strip().lower()[:320]
    if await is_throttled(session, email, actor.ip, actions=FAILURE_ACTIONS, model=PlatformAuditEntry):
        await verify_password_async(None, password)
        await record(engine, actor, "platform.sign_in.throttled", subject_email=email, model=PlatformAuditEntry)
        return "throttled", None
    operator = await session.scalar(select(PlatformOperator).where(PlatformOperator.email == email))
    valid = await verify_password_async(operator.password_hash if operator else None, password)
    if not valid or operator is None or not operator.is_active:
        await record(engine, actor, "platform.sign_in.failure", subject_email=email, model=PlatformAuditEntry)
        return "invalid", None
    operator.last_sign_in_at = datetime.datetime.now(datetime.UTC)
    await record(engine, operator_actor(operator, actor), "platform.sign_in.success", subject_email=email,
                 model=PlatformAuditEntry)
    return "ok", operator


async def check_second_factor(
    engine: AsyncEngine, session: AsyncSession, operator: PlatformOperator, code: str, actor: Actor
) -> Outcome:
    """An operator's TOTP code (never accepted twice) or unused recovery code (spent), throttled with the
    password failures; every outcome is in the platform's audit log."""
    if await is_throttled(session, operator.email, actor.ip, actions=FAILURE_ACTIONS, model=PlatformAuditEntry):
        await record(engine, actor, "platform.mfa.throttled", subject_email=operator.email, model=PlatformAuditEntry)
        return Outcome.THROTTLED
    factor = await spend_second_factor(session, operator, code, owner=OperatorRecoveryCode.operator_id)
    if factor is None:
        await record(engine, actor, "platform.mfa.failure", subject_email=operator.email, model=PlatformAuditEntry)
        return Outcome.INVALID
    await record(session, operator_actor(operator, actor), "platform.mfa.success", subject_email=operator.email,
                 model=PlatformAuditEntry, factor=factor)
    return Outcome.OK


async def reset_second_factor(engine: AsyncEngine, email: str, actor: Actor, *,
                              redis_url: str | None) -> PlatformOperator:
    """Clear ``email``'s TOTP secret and recovery codes and end its sessions (the rows, and those kept in Redis:
    ``redis_url`` is the app's ``REDIS_URL``, None without one): the operator enrolls again at the next sign-in.
    The reset is committed before the Redis sessions are ended: a Redis failure raises ``SessionsLeftError``."""
    email = (email or "").strip().lower()
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            operator = await session.scalar(select(PlatformOperator).where(PlatformOperator.email == email))
            if operator is None:
                raise OperatorError(f"no operator with email {email!r}")
            operator.totp_secret = None
            operator.totp_enabled_at = None
            operator.totp_last_step = None
            await session.execute(delete(OperatorRecoveryCode).where(OperatorRecoveryCode.operator_id == operator.id))
            await session.execute(delete(OperatorSession).where(OperatorSession.user_id == operator.id))
            await record(session, actor, "platform.mfa.reset", subject_email=email, target_type="operator",
                         target_id=operator.id, model=PlatformAuditEntry)
    if redis_url:
        try:
            await end_sessions_in_redis(redis_url, operator.id)
        except Exception as exc:  # redis.exceptions.RedisError and OSError: the store is out of reach
            raise SessionsLeftError(
                f"two-step verification reset for {email}, but its sessions kept in Redis could not be ended "
                f"({type(exc).__name__}): run the command again once Redis is reachable"
            ) from exc
    return operator


class SessionsLeftError(OperatorError):
    """The reset is done; the operator's sessions in Redis could not be ended."""


async def end_sessions_in_redis(redis_url: str, operator_id: Any) -> int:
    """End an operator's sessions kept in Redis (the store the app uses when ``REDIS_URL`` is set)."""
    from redis.asyncio import Redis

    from tajiconnect.domains.accounts.sessions import RedisSessionStore

    redis = Redis.from_url(redis_url)
    try:
        return await RedisSessionStore(redis, namespace="platform").delete_for_user(operator_id)
    finally:
        await redis.aclose()
