"""Small helpers shared by several test modules (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pyotp
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import new_user
from tajiconnect.tenancy.context import TenantRef, tenant_context


async def add_user(engine: AsyncEngine, tenant: TenantRef, email: str, *, name: str = "Test User") -> uuid.UUID:
    """Create an active student in ``tenant`` through the ORM; return its id."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            user = new_user(email=email, name=name, password=None, roles=["student"], status="active")
            session.add(user)
            await session.flush()
            return user.id


async def user_emails(engine: AsyncEngine, tenant: TenantRef) -> set[str]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return set((await session.scalars(select(User.email))).all())


async def public_scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """One value from a query run with no tenant in scope (public schema)."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await session.scalar(text(sql), params)


async def schema_exists(engine: AsyncEngine, schema: str) -> bool:
    return bool(
        await public_scalar(engine, "SELECT count(*) FROM pg_namespace WHERE nspname = :s", s=schema)
    )


async def registry_has(engine: AsyncEngine, slug: str) -> bool:
    return bool(await public_scalar(engine, "SELECT count(*) FROM public.tenants WHERE slug = :s", s=slug))


# --- operators' second factor ---------------------------------------------------------------------------------
# Every operator signs in with a password and then a TOTP code, enrolling the first time. The test process keeps
# each operator's key (read from the enrollment page, as a person types it into an app) and recovery codes, and
# answers with pyotp. A code is accepted once (the server stores its step), so a code is never reused here
# either: the current step, then the next one, then a recovery code.

OPERATOR_KEYS: dict[str, str] = {}  # email -> TOTP key
OPERATOR_RECOVERY: dict[str, list[str]] = {}  # email -> recovery codes not used yet
_operator_steps: dict[str, int] = {}  # email -> the last step answered


def operator_code(email: str) -> str:
    """A second-factor answer for operator ``email`` that was never given before."""
    totp = pyotp.TOTP(OPERATOR_KEYS[email])
    current = int(time.time() // totp.interval)
    for step in (current, current + 1):  # never the previous step: it may pass out of the window in flight
        if step > _operator_steps.get(email, -1):
            _operator_steps[email] = step
            return totp.generate_otp(step)
    return OPERATOR_RECOVERY[email].pop()


def remember_operator_key(email: str, page_html: str) -> str:
    """The key shown on the enrollment page (``#totp-secret``), remembered for :func:`operator_code`."""
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page_html)
    assert match, "no TOTP key on the enrollment page"
    OPERATOR_KEYS[email.lower()] = match.group(1)
    _operator_steps.pop(email.lower(), None)
    return match.group(1)


def remember_recovery_codes(email: str, codes: list[str]) -> None:
    OPERATOR_RECOVERY[email.lower()] = list(codes)


async def sign_in_operator(client: Any, email: str, password: str) -> Any:
    """Sign ``client`` (on the apex host) in as operator ``email``: the password, then the second factor, enrolled
    the first time. Returns the last answer: a 303 to ``/platform``, or (just enrolled) the recovery codes page."""
    from tests.integration.conftest import csrf

    token = await csrf(client, "/platform/sign-in")
    response = await client.post("/platform/sign-in", data={"email": email, "password": password, "_csrf_token": token})
    return await complete_operator_sign_in(client, email, response)


async def complete_operator_sign_in(client: Any, email: str, response: Any) -> Any:
    """After the password's answer ``response`` (a 303 to ``/platform/2fa`` or ``/platform/2fa/setup``): the second
    factor, enrolled the first time. Returns what :func:`sign_in_operator` does."""
    assert response.status_code == 303, response.text
    email = email.strip().lower()
    if response.headers["location"] == "/platform/2fa/setup":
        return await enroll_operator(client, email)
    assert response.headers["location"] == "/platform/2fa", response.headers["location"]
    response = await client.post(
        "/platform/2fa", data={"code": operator_code(email), "_csrf_token": client.cookies.get("csrftoken")}
    )
    assert response.status_code == 303 and response.headers["location"] == "/platform", response.text
    return response


async def enroll_operator(client: Any, email: str) -> Any:
    """On the enrollment page of a pending session: read the key, answer with a code, keep the recovery codes.
    Returns the recovery codes page."""
    email = email.strip().lower()
    page = await client.get("/platform/2fa/setup")
    remember_operator_key(email, page.text)
    response = await client.post(
        "/platform/2fa/setup", data={"code": operator_code(email), "_csrf_token": client.cookies.get("csrftoken")}
    )
    assert response.status_code == 200, response.text
    remember_recovery_codes(email, recovery_codes_in(response.text))
    return response


def recovery_codes_in(html: str) -> list[str]:
    return re.findall(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", html)


async def operator_session_stages(settings: Any, engine: AsyncEngine, operator_id: uuid.UUID) -> list[str]:
    """The stages of all an operator's sessions, pending ones included, in the store the app uses with
    ``settings``: Redis when it has a ``redis_url``, the public table otherwise."""
    from tajiconnect.domains.accounts.sessions import RedisSessionStore
    from tajiconnect.platform.models import OperatorSession

    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url.get())
        try:
            records = await RedisSessionStore(redis, namespace="platform")._records(operator_id)
        finally:
            await redis.aclose()
        return sorted(record.stage for _digest, record in records)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            stages = await session.scalars(select(OperatorSession.stage).where(OperatorSession.user_id == operator_id))
            return sorted(stages)
