"""Operators' two-step sign-in: the password alone opens nothing; enrollment is forced; codes are single-use and
throttled; recovery codes work once; new codes from the Security page; the reset command's service; and neither a
pending session nor a member's session is an operator's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import delete, func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.signin import MAX_FAILURES
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import SYSTEM
from tajiconnect.platform.models import OperatorRecoveryCode, PlatformOperator
from tajiconnect.platform.service import OperatorError, create_operator, reset_second_factor
from tajiconnect.tenancy.context import tenant_context
from tests.conftest import BASE_DOMAIN
from tests.helpers import (
    OPERATOR_KEYS,
    OPERATOR_RECOVERY,
    complete_operator_sign_in,
    enroll_operator,
    operator_code,
    operator_session_stages,
    public_scalar,
    recovery_codes_in,
    sign_in_operator,
)
from tests.integration.accounts.test_platform import platform_entries
from tests.integration.conftest import OPERATOR_COOKIE, SESSION_COOKIE, csrf, post_form, session_of, with_cookie

PASSWORD = "harbour-lantern-quartz-ninety"
INVALID = "That code is not valid."


@pytest.fixture
async def operator(engine):
    """A new operator (not enrolled); its failure entries are removed afterwards, since the whole test platform
    shares one address ("testclient") and its throttle."""
    op = await create_operator(engine, email=f"mfa.{uuid.uuid4().hex[:8]}@taji.example", name="Mfa", password=PASSWORD)
    yield op
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(delete(PlatformAuditEntry).where(PlatformAuditEntry.subject_email == op.email))


async def password_step(client: Any, email: str, password: str = PASSWORD) -> Any:
    token = await csrf(client, "/platform/sign-in")
    return await client.post("/platform/sign-in", data={"email": email, "password": password, "_csrf_token": token})


async def public_operator(engine, operator_id) -> PlatformOperator:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            op = await session.get(PlatformOperator, operator_id)
            assert op is not None
            session.expunge(op)
            return op


async def public_count(engine, model: Any, *where: Any) -> int:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def submit_code(client: Any, code: str, path: str = "/platform/2fa") -> Any:
    return await post_form(client, path, {"code": code})


async def test_the_password_alone_reaches_no_operator_page(browser, operator, org, engine, settings):
    async with browser(None) as client:
        response = await password_step(client, operator.email)
        assert response.status_code == 303 and response.headers["location"] == "/platform/2fa/setup"
        pending = client.cookies.get(OPERATOR_COOKIE)
        assert pending
        for path in ("/platform", "/platform/tasks", f"/platform/tenants/{org.tenant.slug}", "/platform/security"):
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/platform/2fa", path
            assert 'action="/platform/sign-out"' not in response.text
        # An action is refused too: the organization stays active.
        response = await post_form(client, f"/platform/tenants/{org.tenant.slug}/suspend", {})
        assert response.status_code == 303 and response.headers["location"] == "/platform/2fa"
        response = await post_form(client, "/platform/security/recovery-codes", {"password": PASSWORD})
        assert response.status_code == 303 and response.headers["location"] == "/platform/2fa"
        # The 2FA page of an operator who has none sends to the enrollment.
        assert (await client.get("/platform/2fa")).headers["location"] == "/platform/2fa/setup"
    assert await public_scalar(engine, "SELECT status FROM tenants WHERE id = :id", id=org.tenant.id) == "active"
    # The pending session is in the store (the table, or Redis when the app keeps sessions there) at stage "mfa".
    assert await operator_session_stages(settings, engine, operator.id) == ["mfa"]


async def test_enrollment_is_forced_then_shows_recovery_codes_once(browser, operator, engine):
    async with browser(None) as client:
        await password_step(client, operator.email)
        pending = client.cookies.get(OPERATOR_COOKIE)
        page = await client.get("/platform/2fa/setup")
        assert page.status_code == 200
        assert "<svg" in page.text and 'id="totp-secret"' in page.text
        again = await client.get("/platform/2fa/setup")  # a reload shows the same key
        key = (await public_operator(engine, operator.id)).totp_secret
        assert key and key in page.text and key in again.text

        wrong = await submit_code(client, "000000" if pyotp.TOTP(key).now() != "000000" else "111111",
                                  "/platform/2fa/setup")
        assert wrong.status_code == 422 and "That code is not valid" in wrong.text and key in wrong.text
        assert not (await public_operator(engine, operator.id)).totp_enabled
        assert (await client.get("/platform")).status_code == 303

        response = await enroll_operator(client, operator.email)
        codes = OPERATOR_RECOVERY[operator.email]
        assert len(codes) == 10 and all(code in response.text for code in codes)
        full = client.cookies.get(OPERATOR_COOKIE)
        assert full != pending  # a brand-new token at stage full; the pending one is gone
        assert (await with_cookie(client, "/platform", pending, name=OPERATOR_COOKIE)).status_code == 303
        assert (await client.get("/platform")).status_code == 200
        assert (await client.get("/platform/2fa/setup")).headers["location"] == "/platform"
    op = await public_operator(engine, operator.id)
    assert op.totp_enabled and op.totp_secret == OPERATOR_KEYS[operator.email]
    stored = await public_count(engine, OperatorRecoveryCode, OperatorRecoveryCode.operator_id == operator.id)
    assert stored == 10
    [enabled] = await platform_entries(engine, "platform.mfa.enabled", operator.email)
    assert enabled.actor_id == operator.id and enabled.ip == "testclient"


async def test_the_second_factor_wrong_replayed_and_recovery_codes(browser, operator, engine):
    async with browser(None) as client:
        await sign_in_operator(client, operator.email, PASSWORD)  # enrolled
    async with browser(None) as client:
        response = await password_step(client, operator.email.upper())
        assert response.headers["location"] == "/platform/2fa"
        page = await client.get("/platform/2fa")
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
        assert 'action="/platform/2fa"' in page.text and 'action="/platform/sign-out"' in page.text
        assert 'name="next"' not in page.text and "/auth/" not in page.text

        wrong = await submit_code(client, "12345")
        assert wrong.status_code == 422 and INVALID in wrong.text and 'aria-invalid="true"' in wrong.text
        assert (await client.get("/platform")).status_code == 303

        code = operator_code(operator.email)
        ok = await submit_code(client, code)
        assert ok.status_code == 303 and ok.headers["location"] == "/platform"
        assert (await client.get("/platform")).status_code == 200

    async with browser(None) as client:  # the same code again: refused (its time step was used)
        await password_step(client, operator.email)
        replay = await submit_code(client, code)
        assert replay.status_code == 422 and INVALID in replay.text
        assert (await client.get("/platform")).status_code == 303

        recovery = OPERATOR_RECOVERY[operator.email].pop()
        used = await submit_code(client, recovery.upper())
        assert used.status_code == 303 and used.headers["location"] == "/platform"
    async with browser(None) as client:  # a recovery code works once
        await password_step(client, operator.email)
        assert (await submit_code(client, recovery)).status_code == 422
    assert await public_count(engine, OperatorRecoveryCode, OperatorRecoveryCode.operator_id == operator.id,
                              OperatorRecoveryCode.used_at.is_not(None)) == 1
    assert len(await platform_entries(engine, "platform.mfa.failure", operator.email)) == 3
    successes = await platform_entries(engine, "platform.mfa.success", operator.email)
    assert sorted(e.details["factor"] for e in successes) == ["recovery", "totp"]
    assert all(e.actor_id == operator.id for e in successes)


async def test_codes_are_throttled_with_the_password_failures(browser, operator, engine):
    """``MAX_FAILURES`` wrong passwords or codes in the window (9 seeded from elsewhere, 1 here) stop the codes,
    even the right one, and the password step; all on record."""
    async with browser(None) as client:
        await sign_in_operator(client, operator.email, PASSWORD)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            session.add_all(
                PlatformAuditEntry(action=action, subject_email=operator.email, ip="198.51.100.77")
                for action in ["platform.sign_in.failure"] * 4 + ["platform.mfa.failure"] * (MAX_FAILURES - 5)
            )
    async with browser(None) as client:
        await password_step(client, operator.email)
        assert (await submit_code(client, "99999x")).status_code == 422  # the tenth failure
        throttled = await submit_code(client, operator_code(operator.email))  # even the right code
        assert throttled.status_code == 429 and "Too many attempts" in throttled.text
        assert (await client.get("/platform")).status_code == 303
        client.cookies.clear()
        response = await password_step(client, operator.email)  # the password step counts code failures too
        assert response.status_code == 429 and client.cookies.get(OPERATOR_COOKIE) is None
    assert len(await platform_entries(engine, "platform.mfa.failure", operator.email)) == MAX_FAILURES - 4
    assert len(await platform_entries(engine, "platform.mfa.throttled", operator.email)) == 1
    assert len(await platform_entries(engine, "platform.sign_in.throttled", operator.email)) == 1


async def test_new_recovery_codes_from_the_security_page(browser, operator, engine):
    async with browser(None) as client:
        await sign_in_operator(client, operator.email, PASSWORD)
        old = list(OPERATOR_RECOVERY[operator.email])
        page = await client.get("/platform/security")
        assert page.status_code == 200 and "10 unused recovery codes" in page.text
        assert '<a href="/platform/security">Security</a>' in page.text  # in the operators' navigation

        wrong = await post_form(client, "/platform/security/recovery-codes", {"password": "not-it"})
        assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text
        made = await post_form(client, "/platform/security/recovery-codes", {"password": PASSWORD})
        assert made.status_code == 200 and 'href="/platform/security"' in made.text
        new = recovery_codes_in(made.text)
        assert len(new) == 10 and not set(new) & set(old)
    async with browser(None) as client:  # the old codes stopped working; a new one works
        await password_step(client, operator.email)
        assert (await submit_code(client, old[0])).status_code == 422
        assert (await submit_code(client, new[0])).status_code == 303
    [entry] = await platform_entries(engine, "platform.mfa.codes_regenerated", operator.email)
    assert entry.actor_id == operator.id


async def test_reset_sends_the_operator_back_to_enrollment(browser, operator, engine, settings):
    async with browser(None) as client:
        await sign_in_operator(client, operator.email, PASSWORD)
        signed_in = client.cookies.get(OPERATOR_COOKIE)
    assert await operator_session_stages(settings, engine, operator.id) == ["full"]
    redis_url = settings.redis_url.get() if settings.redis_url else None
    reset = await reset_second_factor(engine, operator.email.upper(), SYSTEM, redis_url=redis_url)
    assert await operator_session_stages(settings, engine, operator.id) == []
    assert reset.id == operator.id
    op = await public_operator(engine, operator.id)
    assert op.totp_secret is None and not op.totp_enabled and op.totp_last_step is None
    assert await public_count(engine, OperatorRecoveryCode, OperatorRecoveryCode.operator_id == operator.id) == 0
    [entry] = await platform_entries(engine, "platform.mfa.reset", operator.email)
    assert entry.actor_email == "system" and entry.target_id == str(operator.id)
    async with browser(None) as client:
        # Its sessions ended; the next sign-in enrolls again, with a new key.
        assert (await with_cookie(client, "/platform", signed_in, name=OPERATOR_COOKIE)).status_code == 303
        old_key = OPERATOR_KEYS[operator.email]
        response = await password_step(client, operator.email)
        assert response.headers["location"] == "/platform/2fa/setup"
        await complete_operator_sign_in(client, operator.email, response)
        assert OPERATOR_KEYS[operator.email] != old_key
        assert (await client.get("/platform")).status_code == 200
    with pytest.raises(OperatorError, match="no operator with email"):
        await reset_second_factor(engine, "nobody@taji.example", SYSTEM, redis_url=None)


async def test_a_reset_with_redis_out_of_reach_says_the_sessions_were_not_ended(operator, engine):
    from tajiconnect.platform.service import SessionsLeftError

    with pytest.raises(SessionsLeftError, match="could not be ended"):
        await reset_second_factor(engine, operator.email, SYSTEM, redis_url="redis://127.0.0.1:1/0")
    op = await public_operator(engine, operator.id)  # the reset itself is done
    assert op.totp_secret is None and not op.totp_enabled


async def test_a_pending_session_ends_with_sign_out_and_a_deactivated_operator(browser, operator, engine):
    async with browser(None) as client:
        await password_step(client, operator.email)
        pending = client.cookies.get(OPERATOR_COOKIE)
        response = await post_form(client, "/platform/sign-out", {})
        assert response.headers["location"] == "/platform/sign-in"
        assert (await with_cookie(client, "/platform/2fa/setup", pending, name=OPERATOR_COOKIE)).headers[
            "location"] == "/platform/sign-in"
        client.cookies.clear()
        await password_step(client, operator.email)
        with tenant_context(None):
            async with session_scope(engine, schema=None) as session:
                op = await session.get(PlatformOperator, operator.id)
                assert op is not None
                op.status = "deactivated"
        assert (await client.get("/platform/2fa/setup")).headers["location"] == "/platform/sign-in"
        assert (await client.get("/platform/2fa/setup")).headers["location"] == "/platform/sign-in"


async def test_member_sessions_are_no_operator_sessions(browser, signed_in, make_user, org, engine, operator):
    """A member's session (full, or waiting for its own second factor) means nothing on the apex, and an
    operator's pending session means nothing on a tenant's host; the 2FA pages do not exist there."""
    member = await make_user(org.tenant, ("org_admin",), with_2fa=True)
    async with browser(org.tenant) as client:
        token = await csrf(client)
        first = await client.post("/auth/sign-in", data={"email": member.email, "password": member.password,
                                                         "_csrf_token": token})
        assert first.headers["location"].startswith("/auth/two-factor")
        member_pending = session_of(client)
        for path in ("/platform/2fa", "/platform/2fa/setup", "/platform/security"):
            assert (await client.get(path)).status_code == 404, path
        assert (await post_form(client, "/platform/2fa", {"code": "123456"})).status_code == 404
    async with signed_in(org.admin) as client:
        member_full = session_of(client)
    async with browser(None) as apex:
        for token in (member_pending, member_full):
            for name in (OPERATOR_COOKIE, SESSION_COOKIE):
                for path in ("/platform", "/platform/2fa", "/platform/2fa/setup", "/platform/tasks"):
                    response = await with_cookie(apex, path, token, name=name)
                    assert response.status_code == 303, (name, path)
                    assert response.headers["location"] == "/platform/sign-in", (name, path)
        await password_step(apex, operator.email)
        operator_pending = apex.cookies.get(OPERATOR_COOKIE)
    async with browser(org.tenant) as client:
        for name in (OPERATOR_COOKIE, SESSION_COOKIE):
            response = await with_cookie(client, "/account/profile", operator_pending, name=name)
            assert response.status_code == 303 and response.headers["location"].startswith("/auth/sign-in")


async def test_the_same_code_sent_twice_at_once_is_accepted_once(operator, settings, monkeypatch):
    """Two requests with the same code meet right before the check (each waits up to 1 s for the other, on an app
    served on the test's own loop, as a real server would): the operator's row is locked by the first, so the
    second checks after the first committed, against the stored step, and is refused."""
    from tajiconnect.platform import service
    from tests.integration.seats.test_seat_limits import served

    arrived: list[int] = []
    real = service.spend_second_factor

    async def meet_then_spend(*args: Any, **kwargs: Any) -> Any:
        arrived.append(1)
        for _ in range(20):
            if len(arrived) >= 2:
                break
            await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    async with served(settings) as app:
        async with live_apex(app) as client:
            await sign_in_operator(client, operator.email, PASSWORD)
        async with live_apex(app) as one, live_apex(app) as two:
            for client in (one, two):
                assert (await password_step(client, operator.email)).headers["location"] == "/platform/2fa"
            code = operator_code(operator.email)
            monkeypatch.setattr(service, "spend_second_factor", meet_then_spend)
            answers = await asyncio.gather(submit_code(one, code), submit_code(two, code))
    assert sorted(a.status_code for a in answers) == [303, 422]


@asynccontextmanager
async def live_apex(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{BASE_DOMAIN}") as client:
        yield client
