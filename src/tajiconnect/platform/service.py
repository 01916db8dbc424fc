"""Operators: creation (CLI), sign-in with throttling and an audit trail in ``platform_audit_log``."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.passwords import hash_password_async, verify_password_async
from tajiconnect.domains.accounts.service import check_password, normalize_email
from tajiconnect.domains.accounts.signin import is_throttled
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.platform.models import PlatformOperator
from tajiconnect.tenancy.context import tenant_context


class OperatorError(ValueError):
    pass


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
    if await is_throttled(
        session, email, actor.ip, actions=("platform.sign_in.failure",), model=PlatformAuditEntry
    ):
        await verify_password_async(None, password)
        await record(engine, actor, "platform.sign_in.throttled", subject_email=email, model=PlatformAuditEntry)
        return "throttled", None
    operator = await session.scalar(select(PlatformOperator).where(PlatformOperator.email == email))
    valid = await verify_password_async(operator.password_hash if operator else None, password)
    if not valid or operator is None or not operator.is_active:
        await record(engine, actor, "platform.sign_in.failure", subject_email=email, model=PlatformAuditEntry)
        return "invalid", None
    operator.last_sign_in_at = datetime.datetime.now(datetime.UTC)
    await record(
        engine,
        Actor(id=operator.id, email=operator.email, ip=actor.ip, user_agent=actor.user_agent),
        "platform.sign_in.success",
        subject_email=email,
        model=PlatformAuditEntry,
    )
    return "ok", operator
