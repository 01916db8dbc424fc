"""Helpers for the accounts HTTP tests: organizations with a signed-up admin, members, forms with CSRF tokens.

Hashing with the real argon2id parameters costs a fraction of a second, so members get a genuine argon2id hash
computed once per password and reused (``cached_hash``). Tests that record sign-in failures (which throttle a
whole address per tenant) use ``fresh_org``; the others share ``org``.
"""

from __future__ import annotations

import datetime
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.passwords import hash_password
from tajiconnect.domains.accounts.service import new_user
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.conftest import ADMIN_PASSWORD, host_of

PASSWORD = ADMIN_PASSWORD
NEW_PASSWORD = "lemon-tractor-violin-harbour"
SESSION_COOKIE = "__Host-taji_session"
OPERATOR_COOKIE = "__Host-taji_operator"
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')

_hashes: dict[str, str] = {}
_sessions: dict[uuid.UUID, str] = {}  # member id -> a live session token (see ``signed_in``)
_access: dict[uuid.UUID, str] = {}  # member id -> a live access token (see ``bearer_for``)


def cached_hash(password: str) -> str:
    if password not in _hashes:
        _hashes[password] = hash_password(password)
    return _hashes[password]


@dataclass
class Member:
    id: uuid.UUID
    email: str
    password: str | None
    roles: list[str]
    tenant: TenantRef
    totp_secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)


@dataclass
class Org:
    tenant: TenantRef
    admin: Member


# --- database helpers -----------------------------------------------------------------------------------------


async def create_member(
    engine: AsyncEngine,
    tenant: TenantRef,
    roles: list[str] | tuple[str, ...] = ("student",),
    password: str | None = PASSWORD,
    *,
    email: str | None = None,
    name: str | None = None,
    status: str | None = None,
    with_2fa: bool = False,
) -> Member:
    """A member created through ``new_user`` in the tenant (password hash: real argon2id, cached)."""
    email = email or f"m{uuid.uuid4().hex[:10]}@example.org"
    secret = totp.new_secret() if with_2fa else None
    codes = totp.new_recovery_codes() if with_2fa else []
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            user = new_user(email=email, name=name or email.split("@")[0], password=None, roles=list(roles))
            if password is not None:
                user.password_hash = cached_hash(password)
                user.password_changed_at = datetime.datetime.now(datetime.UTC)
                user.status = "active"
            if status:
                user.status = status
            if with_2fa:
                from tajiconnect.domains.accounts.models import RecoveryCode

                user.totp_secret = secret
                user.totp_enabled_at = datetime.datetime.now(datetime.UTC)
            session.add(user)
            await session.flush()
            if with_2fa:
                session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.recovery_hash(c)) for c in codes)
            return Member(user.id, user.email, password, list(user.roles), tenant, secret, codes)


async def tenant_sql(engine: AsyncEngine, tenant: TenantRef, sql: str, **params: Any) -> list[Any]:
    """Run ``sql`` in the tenant's schema; rows (if any)."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            result = await session.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []


async def load_user(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID) -> User | None:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await session.get(User, user_id)


async def user_count(engine: AsyncEngine, tenant: TenantRef) -> int:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def set_user(engine: AsyncEngine, tenant: TenantRef, user_id: uuid.UUID, **values: Any) -> None:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            await session.execute(update(User).where(User.id == user_id).values(**values))


async def audit_entries(engine: AsyncEngine, tenant: TenantRef, action: str | None = None) -> list[AuditEntry]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            stmt = select(AuditEntry).order_by(AuditEntry.occurred_at)
            if action:
                stmt = stmt.where(AuditEntry.action == action)
            return list((await session.scalars(stmt)).all())


async def seed_audit(
    engine: AsyncEngine,
    tenant: TenantRef,
    action: str,
    count: int,
    *,
    email: str | None,
    ip: str | None,
    ago: datetime.timedelta = datetime.timedelta(0),
) -> None:
    """``count`` entries as if they had happened ``ago`` (for throttling from other addresses or in the past)."""
    when = datetime.datetime.now(datetime.UTC) - ago
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            session.add_all(
                AuditEntry(action=action, subject_email=email, ip=ip, occurred_at=when) for _ in range(count)
            )


# --- HTTP helpers ---------------------------------------------------------------------------------------------


def csrf_from(html: str) -> str | None:
    match = CSRF_INPUT.search(html)
    return match.group(1) if match else None


async def csrf(client: Any, path: str = "/auth/sign-in") -> str:
    """GET ``path`` and return the CSRF token of its form (the same value as the ``csrftoken`` cookie)."""
    response = await client.get(path)
    token = csrf_from(response.text) or client.cookies.get("csrftoken")
    assert token, f"no CSRF token on {path} ({response.status_code})"
    return token


async def post_form(
    client: Any,
    path: str,
    data: dict[str, Any] | None = None,
    *,
    files: Any = None,
    headers: dict[str, str] | None = None,
    as_session: str | None = None,
) -> Any:
    """POST a form with the CSRF token a browser would send (fetching a page first if there is no cookie yet).

    ``as_session`` sends that session token instead of the client's own (another person on the same page).
    """
    token = client.cookies.get("csrftoken") or await csrf(client)
    if as_session is not None:
        headers = {**(headers or {}), "cookie": f"csrftoken={token}; {SESSION_COOKIE}={as_session}"}
    return await client.post(path, data={**(data or {}), "_csrf_token": token}, files=files, headers=headers)


async def sign_in(client: Any, email: str, password: str | None = PASSWORD, next_: str | None = None) -> Any:
    token = await csrf(client, "/auth/sign-in")
    data = {"email": email, "password": password or "", "_csrf_token": token}
    if next_ is not None:
        data["next"] = next_
    return await client.post("/auth/sign-in", data=data)


async def sign_in_2fa(client: Any, member: Member, code: str) -> Any:
    first = await sign_in(client, member.email, member.password)
    assert first.status_code == 303 and first.headers["location"].startswith("/auth/two-factor"), first.text
    return await post_form(client, "/auth/two-factor", {"code": code})


async def sign_out(client: Any) -> Any:
    return await post_form(client, "/auth/sign-out")


def session_of(client: Any) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


async def signed_in_as(client: Any) -> str | None:
    """The email of the signed-in user according to the server (via the API-free profile page), or None."""
    response = await client.get("/account/profile")
    if response.status_code != 200:
        return None
    match = re.search(r"<strong>[^<]*:</strong> ([^<\s]+)", response.text)
    return match.group(1) if match else None


async def with_cookie(client: Any, path: str, token: str, name: str = SESSION_COOKIE) -> Any:
    """GET ``path`` sending exactly this session cookie (what a stolen or replayed cookie would do).

    An explicit Cookie header replaces the client's cookie jar for this request; the jar itself is kept.
    """
    return await client.get(path, headers={"cookie": f"{name}={token}"})


async def api_token(client: Any, email: str, password: str | None = PASSWORD, totp_code: str | None = None) -> Any:
    body: dict[str, Any] = {"email": email, "password": password}
    if totp_code is not None:
        body["totp_code"] = totp_code
    return await client.post("/api/v1/auth/token", json=body)


async def tokens_for(client: Any, member: Member, totp_code: str | None = None) -> dict[str, Any]:
    response = await api_token(client, member.email, member.password, totp_code)
    assert response.status_code == 200, response.text
    return response.json()


def problem_of(response: Any, status: int) -> dict:
    """The RFC 9457 problem body of ``response``, which must have ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def bearer_for(client: Any, member: Member) -> dict[str, str]:
    """An Authorization header for ``member``, reusing a still valid access token (each sign-in costs a hash)."""
    token = _access.get(member.id)
    if token is None or (await client.get("/api/v1/users/me", headers=bearer(token))).status_code != 200:
        token = _access[member.id] = (await tokens_for(client, member))["access_token"]
    return bearer(token)


def fresh_code(secret: str, steps: int = 0) -> str:
    """The TOTP code ``steps`` steps from now, never within a second of a step boundary (no flaky edges)."""
    remaining = 30 - time.time() % 30
    if remaining < 1.5:
        time.sleep(remaining + 0.1)
    return totp.code_for(secret, at=time.time() + steps * 30)


async def statements(client: Any, path: str, method: str = "GET", **kwargs: Any) -> int:
    """Statements one request to ``path`` runs: the fewest of three (the host-to-tenant cache is refreshed every
    few seconds, which adds a lookup to one request now and then). For "no statement per row" tests."""
    counts = []
    for _ in range(3):
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)  # noqa: B023 (used before the loop moves on)

        sync_engine = client.app.state.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            assert (await client.request(method, path, **kwargs)).status_code == 200
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
        counts.append(len(seen))
    return min(counts)


async def drain(run_jobs: Any) -> int:
    total = 0
    while done := await run_jobs():
        total += done
    return total


# --- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def new_org(engine, make_tenant) -> Callable[..., Any]:
    """``await new_org()``: a fresh tenant whose first admin (``admin@<slug>.example``) can sign in."""

    async def make(prefix: str = "acc", **kwargs: Any) -> Org:
        tenant = await make_tenant(prefix, admin_password=None, **kwargs)
        email = f"admin@{tenant.slug}.example"
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                admin = await session.scalar(select(User).where(User.email == email))
                admin.password_hash = cached_hash(PASSWORD)
                admin.status = "active"
                admin_id = admin.id
        return Org(tenant, Member(admin_id, email, PASSWORD, ["org_admin"], tenant))

    return make


@pytest.fixture(scope="session")
async def org(new_org) -> Org:
    """An organization shared by tests that do not throttle or change organization-wide settings."""
    return await new_org("accs")


@pytest.fixture(scope="session")
async def other_org(new_org) -> Org:
    return await new_org("acco")


@pytest.fixture
async def fresh_org(new_org) -> Org:
    return await new_org("accf")


@pytest.fixture(scope="session")
def make_user(engine) -> Callable[..., Any]:
    """``await make_user(tenant, roles, password)`` -> Member (``with_2fa=True`` enrolls it in TOTP)."""

    async def make(
        tenant: TenantRef,
        roles: list[str] | tuple[str, ...] = ("student",),
        password: str | None = PASSWORD,
        **kwargs: Any,
    ) -> Member:
        return await create_member(engine, tenant, roles, password, **kwargs)

    return make


@pytest.fixture
def browser(client_for) -> Callable[..., Any]:
    """``async with browser(tenant) as client``: a test client that does not follow redirects."""

    @asynccontextmanager
    async def open_browser(target: Any = None, user_agent: str | None = None) -> AsyncIterator[Any]:
        async with client_for(target) as client:
            client.follow_redirects = False
            if user_agent:
                client.headers["user-agent"] = user_agent
            yield client

    return open_browser


@pytest.fixture
def signed_in(browser) -> Callable[..., Any]:
    """``async with signed_in(member) as client``: a browser signed in as ``member``.

    The session is reused across tests while it stays valid (checked on each use), so that tests which merely
    act as an admin do not pay for a password hash each time. Tests about signing in itself use ``sign_in``.
    """

    @asynccontextmanager
    async def open_signed_in(member: Member, user_agent: str | None = None) -> AsyncIterator[Any]:
        async with browser(member.tenant, user_agent) as client:
            token = _sessions.get(member.id)
            if token is None or (await with_cookie(client, "/account/profile", token)).status_code != 200:
                client.cookies.clear()
                response = await sign_in(client, member.email, member.password)
                assert response.status_code == 303, response.text
                token = _sessions[member.id] = session_of(client)
            client.cookies.set(SESSION_COOKIE, token, domain=host_of(member.tenant))
            yield client

    return open_signed_in
