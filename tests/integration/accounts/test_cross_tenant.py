"""Whatever one organization issues (session cookies, API tokens, refresh tokens, email links, ids, audit
entries) means nothing to another organization or to the apex host."""

from __future__ import annotations

import dataclasses
import os
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import BASE_DOMAIN
from tests.integration.conftest import (
    OPERATOR_COOKIE,
    SESSION_COOKIE,
    audit_entries,
    bearer,
    bearer_for,
    drain,
    load_user,
    post_form,
    session_of,
    sign_in,
    tenant_sql,
    tokens_for,
    with_cookie,
)
from tests.support import link_in


async def test_the_same_email_is_two_separate_accounts(browser, org, other_org, make_user, engine):
    email = f"same.person.{org.tenant.slug}@example.org"
    here = await make_user(org.tenant, ["teacher"], email=email, name="Here")
    there = await make_user(other_org.tenant, ["student"], email=email, name="There", password="other-org-pass-phrase")
    assert here.id != there.id
    async with browser(other_org.tenant) as client:
        assert (await sign_in(client, email)).status_code == 422  # org's password does not open other_org's account
        assert (await sign_in(client, email, "other-org-pass-phrase")).status_code == 303
    assert (await load_user(engine, org.tenant, here.id)).name == "Here"
    assert await load_user(engine, org.tenant, there.id) is None


async def test_a_session_cookie_works_only_on_its_own_host(signed_in, browser, org, other_org):
    async with signed_in(org.admin) as client:
        token = session_of(client)
        assert (await with_cookie(client, "/account/profile", token)).status_code == 200
    async with browser(other_org.tenant) as client:
        for path in ("/account/profile", "/admin/users", "/account/sessions"):
            response = await with_cookie(client, path, token)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/auth/sign-in")
        home = await with_cookie(client, "/", token)
        assert org.admin.email not in home.text and 'action="/auth/sign-out"' not in home.text
    async with browser(None) as apex:
        for name in (SESSION_COOKIE, OPERATOR_COOKIE):
            response = await with_cookie(apex, "/platform", token, name=name)
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in"
        assert (await with_cookie(apex, "/account/profile", token)).status_code == 404
    # And it still works at home: the attempts elsewhere did not end it.
    async with browser(org.tenant) as client:
        assert (await with_cookie(client, "/account/profile", token)).status_code == 200


async def test_access_and_refresh_tokens_work_only_where_issued(browser, org, other_org, make_user, engine):
    member = await make_user(org.tenant, ["org_admin"])
    # Even an account with the very same id on the other organization must not be reachable with the token.
    await tenant_sql(
        engine,
        other_org.tenant,
        "INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar, created_at, updated_at) "
        "VALUES (:id, :email, 'Doppelganger', ARRAY['org_admin']::varchar[], 'active', 'en', 'Africa/Nairobi', "
        "false, now(), now())",
        id=member.id,
        email=member.email,
    )
    async with browser(org.tenant) as client:
        tokens = await tokens_for(client, member)
    async with browser(other_org.tenant) as client:
        for path in ("/api/v1/users/me", "/api/v1/users", "/api/v1/audit-log"):
            response = await client.get(path, headers=bearer(tokens["access_token"]))
            assert response.status_code == 401, path
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401 and "unknown" in refreshed.json()["error_description"]
        logout = await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert logout.status_code == 401
    async with browser(None) as apex:
        response = await apex.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert response.status_code == 404  # the apex has no tenant API at all
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (
            await apex.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).status_code == 404
    async with browser(org.tenant) as client:
        assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 200
        assert (
            await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).status_code == 200


async def test_ids_of_one_organization_are_unknown_to_another(signed_in, org, other_org, make_user, engine):
    victim = await make_user(org.tenant, ["teacher"], password=None, status="active")
    async with signed_in(other_org.admin) as client:
        assert (await client.get(f"/admin/users/{victim.id}")).status_code == 404
        assert (await client.get(f"/admin/users/{victim.id}/delete")).status_code == 404
        for path, data in (
            (f"/admin/users/{victim.id}/roles", {"roles": ["student"]}),
            (f"/admin/users/{victim.id}/deactivate", {}),
            (f"/admin/users/{victim.id}/delete", {"confirm_email": victim.email}),
        ):
            assert (await post_form(client, path, data)).status_code == 404, path
        listing = await client.get("/admin/users", params={"q": victim.email})
        assert "0 members" in listing.text and f">{victim.email}</td>" not in listing.text
        admin = await bearer_for(client, other_org.admin)
        assert (await client.get(f"/api/v1/users/{victim.id}", headers=admin)).status_code == 404
        assert (
            await client.patch(f"/api/v1/users/{victim.id}", headers=admin, json={"roles": ["student"]})
        ).status_code == 404
        assert (await client.post(f"/api/v1/users/{victim.id}/deactivate", headers=admin)).status_code == 404
        assert (await client.delete(f"/api/v1/users/{victim.id}", headers=admin)).status_code == 404
        assert (await client.get("/api/v1/users", params={"q": victim.email}, headers=admin)).json()["total"] == 0
    user = await load_user(engine, org.tenant, victim.id)
    assert (user.roles, user.status) == (["teacher"], "active")


async def test_email_links_of_one_organization_fail_on_another(
    browser, org, other_org, make_user, mail_sink, run_jobs, engine
):
    member = await make_user(org.tenant, ["student"])
    async with browser(org.tenant) as client:
        await post_form(client, "/auth/forgot-password", {"email": member.email})
        await sign_in(client, member.email)
        await post_form(client, "/account/verify-email")
    await drain(run_jobs)
    reset = urlsplit(link_in(mail_sink.last_to(member.email, "Reset your"), "/auth/reset-password/")).path
    verify = urlsplit(link_in(mail_sink.last_to(member.email, "Confirm your email"), "/auth/verify-email/")).path
    async with browser(other_org.tenant) as client:
        assert (await client.get(reset)).status_code == 410
        assert (
            await post_form(
                client, reset, {"password": "a-brand-new-passphrase", "password_confirm": "a-brand-new-passphrase"}
            )
        ).status_code == 410
        assert (await client.get(verify)).status_code == 410
        assert (await post_form(client, verify)).status_code == 410
    async with browser(org.tenant) as client:
        assert (await client.get(reset)).status_code == 200
        assert (await client.get(verify)).status_code == 200
    assert (await load_user(engine, org.tenant, member.id)).email_verified_at is None


async def test_the_audit_log_of_one_organization_is_invisible_to_another(
    signed_in, browser, org, other_org, make_user, engine
):
    member = await make_user(org.tenant, ["student"], email=f"only-in-org.{org.tenant.slug}@example.org")
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
    assert await audit_entries(engine, org.tenant, "auth.sign_in.success")
    async with signed_in(other_org.admin) as client:
        page = await client.get("/admin/audit", params={"actor": member.email})
        assert "0 entries" in page.text and f">{member.email}</td>" not in page.text
        everything = await client.get("/admin/audit")
        assert "entries" in everything.text and member.email not in everything.text
        admin = await bearer_for(client, other_org.admin)
        api = await client.get("/api/v1/audit-log", params={"actor": member.email}, headers=admin)
        assert api.json()["total"] == 0


@pytest.mark.redis
async def test_redis_sessions_are_bound_to_their_tenant(settings, org, other_org, engine):
    from redis.asyncio import Redis

    from tajiconnect.app import create_app
    from tajiconnect.domains.accounts.crypto import token_hash
    from tajiconnect.settings import Secret

    app = create_app(dataclasses.replace(settings, redis_url=Secret(os.environ["REDIS_URL"])))

    def client_on(host: str) -> AsyncTestClient:
        client = AsyncTestClient(app=app, base_url=f"https://{host}")
        client.follow_redirects = False
        return client

    async with client_on(f"{org.tenant.slug}.{BASE_DOMAIN}") as client:
        assert type(app.state.session_store).__name__ == "RedisSessionStore"
        await sign_in(client, org.admin.email)
        token = session_of(client)
        assert (await with_cookie(client, "/account/profile", token)).status_code == 200
    key = f"taji:{org.tenant.schema}:session:{token_hash(token)}"
    redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        assert await redis.exists(key)
        assert not await redis.keys(f"taji:{other_org.tenant.schema}:session:{token_hash(token)}")
        # Not in the database store.
        assert await tenant_sql(
            engine, org.tenant, "SELECT count(*) FROM user_sessions WHERE id_hash = :h", h=token_hash(token)
        ) == [(0,)]
        async with client_on(f"{other_org.tenant.slug}.{BASE_DOMAIN}") as client:
            assert (await with_cookie(client, "/account/profile", token)).status_code == 303
        async with client_on(BASE_DOMAIN) as client:
            response = await with_cookie(client, "/platform", token, name=OPERATOR_COOKIE)
            assert response.headers["location"] == "/platform/sign-in"
        async with client_on(f"{org.tenant.slug}.{BASE_DOMAIN}") as client:
            assert (await with_cookie(client, "/account/profile", token)).status_code == 200
            client.cookies.set(SESSION_COOKIE, token, domain=f"{org.tenant.slug}.{BASE_DOMAIN}")
            assert (await post_form(client, "/auth/sign-out")).status_code == 303
        assert not await redis.exists(key)
    finally:
        await redis.aclose()
