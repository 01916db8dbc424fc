"""Platform operators: a separate population in the public schema that signs in on the apex host only."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import delete, select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.platform.models import PlatformOperator
from tajiconnect.platform.service import OperatorError, create_operator
from tajiconnect.tenancy.context import tenant_context
from tests.helpers import complete_operator_sign_in, sign_in_operator
from tests.integration.conftest import (
    OPERATOR_COOKIE,
    PASSWORD,
    SESSION_COOKIE,
    csrf,
    session_of,
    with_cookie,
)

OPERATOR_PASSWORD = "quiet-meadow-copper-lantern"
NO_MATCH = "That email and password do not match an active operator."


@pytest.fixture(scope="module")
async def operator(engine):
    return await create_operator(
        engine, email=f"Ops.{uuid.uuid4().hex[:6]}@Taji.example", name="Ops", password=OPERATOR_PASSWORD
    )


async def operator_sign_in(client, email: str, password: str = OPERATOR_PASSWORD):
    token = await csrf(client, "/platform/sign-in")
    return await client.post("/platform/sign-in", data={"email": email, "password": password, "_csrf_token": token})


async def platform_entries(engine, action: str, email: str) -> list[PlatformAuditEntry]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            rows = await session.scalars(
                select(PlatformAuditEntry).where(
                    PlatformAuditEntry.action == action, PlatformAuditEntry.subject_email == email
                )
            )
            return list(rows.all())


async def seed_platform_failures(engine, count: int, *, email: str | None, ip: str) -> list[uuid.UUID]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            rows = [
                PlatformAuditEntry(action="platform.sign_in.failure", subject_email=email, ip=ip) for _ in range(count)
            ]
            session.add_all(rows)
            await session.flush()
            return [r.id for r in rows]


async def delete_platform_entries(engine, ids: list[uuid.UUID]) -> None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(delete(PlatformAuditEntry).where(PlatformAuditEntry.id.in_(ids)))


async def test_operators_are_stored_normalized_and_unique(operator, engine):
    assert operator.email == operator.email.lower()
    assert operator.password_hash.startswith("$argon2id$")
    with pytest.raises(OperatorError):
        await create_operator(engine, email=operator.email.upper(), name="Twin", password=OPERATOR_PASSWORD)


async def test_the_platform_area_needs_an_operator(browser):
    async with browser(None) as client:
        response = await client.get("/platform")
        assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in"
        page = await client.get("/platform/sign-in")
        assert page.status_code == 200 and "Operator sign-in" in page.text
        assert '<label for="f-password">Password</label>' in page.text


async def test_an_operator_signs_in_on_the_apex_and_sees_the_tenants(browser, operator, org, other_org, engine):
    async with browser(None) as client:
        response = await operator_sign_in(client, operator.email.upper())
        assert response.status_code == 303 and response.headers["location"].startswith("/platform/2fa")
        response = await complete_operator_sign_in(client, operator.email, response)  # the second factor
        header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(OPERATOR_COOKIE))
        morsel = SimpleCookie(header)[OPERATOR_COOKIE]
        assert morsel["secure"] and morsel["httponly"] and morsel["samesite"].lower() == "lax"
        assert not morsel["domain"] and morsel["path"] == "/"
        token = morsel.value

        home = await client.get("/platform")
        assert home.status_code == 200
        assert 'action="/platform/sign-out"' in home.text  # the layout sees the signed-in operator
        for tenant in (org.tenant, other_org.tenant):
            assert f'<a href="/platform/tenants/{tenant.slug}">{tenant.name}</a>' in home.text
        for page in ("0", "9223372036854775808"):  # out of range: the error page, never a database error
            refused = await client.get(f"/platform?page={page}")
            assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")

        signed_out = await client.post("/platform/sign-out", data={"_csrf_token": client.cookies.get("csrftoken")})
        assert signed_out.headers["location"] == "/platform/sign-in"
        assert (await with_cookie(client, "/platform", token, name=OPERATOR_COOKIE)).status_code == 303
    [success] = await platform_entries(engine, "platform.sign_in.success", operator.email)
    assert success.actor_id == operator.id and success.ip == "testclient"
    # Nothing about operators lands in a tenant's log.
    from tests.integration.conftest import audit_entries

    assert await audit_entries(engine, org.tenant, "platform.sign_in.success") == []


async def test_operator_pages_do_not_exist_on_tenant_hosts(browser, org, operator):
    async with browser(org.tenant) as client:
        assert (await client.get("/platform/sign-in")).status_code == 404
        assert (await client.get("/platform")).status_code == 404
        token = await csrf(client)
        response = await client.post(
            "/platform/sign-in", data={"email": operator.email, "password": OPERATOR_PASSWORD, "_csrf_token": token}
        )
        assert response.status_code == 404
        assert client.cookies.get(OPERATOR_COOKIE) is None


async def test_tenant_sessions_and_operator_sessions_do_not_mix(browser, signed_in, org, operator):
    async with signed_in(org.admin) as client:
        tenant_token = session_of(client)
    async with browser(None) as client:
        for name in (OPERATOR_COOKIE, SESSION_COOKIE):
            response = await with_cookie(client, "/platform", tenant_token, name=name)
            assert response.status_code == 303, name
        client.cookies.clear()
        await sign_in_operator(client, operator.email, OPERATOR_PASSWORD)
        operator_token = client.cookies.get(OPERATOR_COOKIE)
        assert (await with_cookie(client, "/platform", operator_token, name=OPERATOR_COOKIE)).status_code == 200
    async with browser(org.tenant) as client:
        for name in (OPERATOR_COOKIE, SESSION_COOKIE):
            assert (await with_cookie(client, "/account/profile", operator_token, name=name)).status_code == 303


async def test_wrong_password_unknown_email_and_deactivated_operators_are_refused(browser, operator, engine):
    retired = await create_operator(
        engine, email=f"retired.{uuid.uuid4().hex[:6]}@taji.example", name="Retired", password=OPERATOR_PASSWORD
    )
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(
                update(PlatformOperator).where(PlatformOperator.id == retired.id).values(status="deactivated")
            )
    async with browser(None) as client:
        for email, password in (
            (operator.email, "not-the-operator-password"),
            ("nobody@taji.example", PASSWORD),
            (retired.email, OPERATOR_PASSWORD),
        ):
            response = await operator_sign_in(client, email, password)
            assert response.status_code == 422, email
            assert NO_MATCH in response.text
            assert client.cookies.get(OPERATOR_COOKIE) is None
    assert len(await platform_entries(engine, "platform.sign_in.failure", operator.email)) == 1


async def test_operator_sign_in_is_throttled_per_account(browser, engine):
    target = await create_operator(
        engine, email=f"target.{uuid.uuid4().hex[:6]}@taji.example", name="Target", password=OPERATOR_PASSWORD
    )
    await seed_platform_failures(engine, 10, email=target.email, ip="198.51.100.40")
    async with browser(None) as client:
        response = await operator_sign_in(client, target.email)
        assert response.status_code == 429 and "Too many attempts" in response.text
        assert client.cookies.get(OPERATOR_COOKIE) is None
    assert len(await platform_entries(engine, "platform.sign_in.throttled", target.email)) == 1


async def test_operator_sign_in_is_throttled_per_address(browser, operator, engine):
    seeded = await seed_platform_failures(engine, 10, email=None, ip="testclient")
    try:
        async with browser(None) as client:
            response = await operator_sign_in(client, operator.email)
            assert response.status_code == 429
    finally:
        await delete_platform_entries(engine, seeded)  # the whole platform shares this address in tests
