"""The API's tokens (OAuth 2 token responses, rotating refresh tokens with reuse detection) and users API."""

from __future__ import annotations

import datetime
import uuid

import jwt
import pytest

from tests.integration.conftest import (
    PASSWORD,
    api_token,
    audit_entries,
    bearer,
    load_user,
    problem_of,
    tenant_sql,
    tokens_for,
)


async def refresh(client, token: str):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def me(client, access: str):
    return await client.get("/api/v1/users/me", headers=bearer(access))


async def test_token_response_is_an_oauth2_token_response(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["teacher", "parent"])
    async with browser(org.tenant) as client:
        response = await api_token(client, member.email.upper(), PASSWORD)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["sub"] == str(member.id) and claims["tid"] == str(org.tenant.id)
        assert claims["exp"] - claims["iat"] == 900
        mine = await me(client, body["access_token"])
    assert mine.status_code == 200
    assert mine.json()["email"] == member.email
    assert mine.json()["roles"] == ["teacher", "parent"]
    assert mine.json()["permissions"] == ["courses.author", "learning.assign", "progress.view", "users.view"]
    [(stored,)] = await tenant_sql(
        engine, org.tenant, "SELECT token_hash FROM refresh_tokens WHERE user_id = :u", u=member.id
    )
    assert body["refresh_token"] not in stored  # only a hash is kept
    entries = [e for e in await audit_entries(engine, org.tenant, "auth.sign_in.success") if e.actor_id == member.id]
    assert entries[-1].details == {"channel": "api"}


async def test_wrong_credentials_get_invalid_grant(browser, fresh_org, engine):
    async with browser(fresh_org.tenant) as client:
        for email, password in ((fresh_org.admin.email, "wrong-password-entirely"), ("nobody@example.org", PASSWORD)):
            body = problem_of(await api_token(client, email, password), 401)
            assert body["error"] == "invalid_grant"
            assert body["error_description"] == "invalid credentials"
    failures = await audit_entries(engine, fresh_org.tenant, "auth.sign_in.failure")
    assert [e.details["channel"] for e in failures] == ["api", "api"]


async def test_api_sign_in_failures_are_throttled_too(browser, fresh_org, engine):
    from tests.integration.conftest import seed_audit

    await seed_audit(
        engine, fresh_org.tenant, "auth.sign_in.failure", 10, email=fresh_org.admin.email, ip="198.51.100.30"
    )
    async with browser(fresh_org.tenant) as client:
        body = problem_of(await api_token(client, fresh_org.admin.email, PASSWORD), 429)
    assert body["error"] == "slow_down"


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"email": "a@b.example"}',
        b'{"email": 1, "password": []}',
        b"[]",
        b'{"email": "a@b.example", "password": "x", "admin": true}',
    ],
)
async def test_malformed_bodies_are_400_problems(browser, org, content):
    async with browser(org.tenant) as client:
        response = await client.post(
            "/api/v1/auth/token", content=content, headers={"content-type": "application/json"}
        )
        problem_of(response, 400)
        problem_of(
            await client.post("/api/v1/auth/refresh", content=content, headers={"content-type": "application/json"}),
            400,
        )


async def test_refresh_rotates_and_reuse_revokes_the_family(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["student"])
    async with browser(org.tenant) as client:
        first = await tokens_for(client, member)
        other_device = await tokens_for(client, member)  # another sign-in: another family

        rotated = await refresh(client, first["refresh_token"])
        assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
        second = rotated.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert (await me(client, second["access_token"])).status_code == 200

        third = (await refresh(client, second["refresh_token"])).json()
        # Presenting a spent refresh token again: someone has a copy. The whole family is revoked.
        reused = await refresh(client, first["refresh_token"])
        body = problem_of(reused, 401)
        assert body["error"] == "invalid_grant" and "reused" in body["error_description"]
        assert problem_of(await refresh(client, third["refresh_token"]), 401)["error"] == "invalid_grant"
        for access in (first["access_token"], second["access_token"], third["access_token"]):
            assert (await me(client, access)).status_code == 401
        # The other sign-in is untouched.
        assert (await me(client, other_device["access_token"])).status_code == 200
        assert (await refresh(client, other_device["refresh_token"])).status_code == 200
    [entry] = await audit_entries(engine, org.tenant, "auth.refresh_token.reused")
    assert entry.ip == "testclient"


async def test_unknown_and_expired_refresh_tokens_are_refused(browser, org, make_user, engine):
    member = await make_user(org.tenant, ["student"])
    async with browser(org.tenant) as client:
        assert problem_of(await refresh(client, "made-up-token"), 401)["error"] == "invalid_grant"
        tokens = await tokens_for(client, member)
        await tenant_sql(
            engine,
            org.tenant,
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u",
            u=member.id,
        )
        assert "expired" in problem_of(await refresh(client, tokens["refresh_token"]), 401)["error_description"]


async def test_logout_revokes_the_family(browser, org, make_user):
    member = await make_user(org.tenant, ["student"])
    async with browser(org.tenant) as client:
        by_refresh = await tokens_for(client, member)
        response = await client.post("/api/v1/auth/logout", json={"refresh_token": by_refresh["refresh_token"]})
        assert response.status_code == 204
        assert (await me(client, by_refresh["access_token"])).status_code == 401
        assert (await refresh(client, by_refresh["refresh_token"])).status_code == 401

        # A refresh token that names no live sign-in: the bearer access token sent along names it instead.
        by_access = await tokens_for(client, member)
        response = await client.post(
            "/api/v1/auth/logout", json={"refresh_token": "spent-or-lost"}, headers=bearer(by_access["access_token"])
        )
        assert response.status_code == 204
        assert (await me(client, by_access["access_token"])).status_code == 401
        assert (await refresh(client, by_access["refresh_token"])).status_code == 401

        problem_of(await client.post("/api/v1/auth/logout", json={"refresh_token": "made-up"}), 401)


async def test_logout_requires_its_body(browser, org, make_user):
    member = await make_user(org.tenant, ["student"])
    async with browser(org.tenant) as client:
        tokens = await tokens_for(client, member)
        for content in (b"", b"{}", b"null", b'{"refresh_token": null}', b'{"refresh_token": "x", "all": true}'):
            response = await client.post(
                "/api/v1/auth/logout",
                content=content,
                headers={**bearer(tokens["access_token"]), "content-type": "application/json"},
            )
            problem_of(response, 400)
        assert (await me(client, tokens["access_token"])).status_code == 200  # nothing was revoked


async def test_bad_bearer_tokens_are_401(browser, org, make_user, settings):
    member = await make_user(org.tenant, ["student"])
    secret = settings.secret_key.get()
    now = datetime.datetime.now(datetime.UTC)
    claims = {
        "iss": f"tajiconnect:{org.tenant.slug}",
        "aud": "tajiconnect-api",
        "sub": str(member.id),
        "tid": str(org.tenant.id),
        "fam": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
    }
    expired = jwt.encode({**claims, "exp": int((now - datetime.timedelta(minutes=1)).timestamp())}, secret)
    wrong_key = jwt.encode(
        {**claims, "exp": int((now + datetime.timedelta(minutes=5)).timestamp())},
        "a-different-key-of-at-least-32-bytes!",
    )
    unsigned = jwt.encode(
        {**claims, "exp": int((now + datetime.timedelta(minutes=5)).timestamp())}, None, algorithm="none"
    )
    async with browser(org.tenant) as client:
        valid = (await tokens_for(client, member))["access_token"]
        for header in (
            f"Bearer {expired}",
            f"Bearer {wrong_key}",
            f"Bearer {unsigned}",
            "Bearer garbage",
            "Bearer ",
            f"Basic {valid}",
            valid,
            f"Bearer {valid[:-4]}AAAA",
        ):
            response = await client.get("/api/v1/users/me", headers={"authorization": header})
            problem_of(response, 401)
        # Session cookies do not authenticate the API.
        assert (await client.get("/api/v1/users/me")).status_code == 401


async def test_users_api_crud(browser, fresh_org, engine, run_jobs):
    async with browser(fresh_org.tenant) as client:
        admin = bearer((await tokens_for(client, fresh_org.admin))["access_token"])
        created = await client.post(
            "/api/v1/users", headers=admin, json={"email": "Zawadi@Example.org", "roles": ["teacher"], "name": "Zawadi"}
        )
        assert created.status_code == 201
        user = created.json()
        assert user["email"] == "zawadi@example.org" and user["status"] == "invited" and user["roles"] == ["teacher"]
        user_id = user["id"]

        duplicate = await client.post(
            "/api/v1/users", headers=admin, json={"email": "zawadi@example.org", "roles": ["student"]}
        )
        assert problem_of(duplicate, 409)["field"] == "email"
        unknown_role = problem_of(
            await client.post("/api/v1/users", headers=admin, json={"email": "x@example.org", "roles": ["king"]}), 400
        )
        assert [(e["key"], e["source"]) for e in unknown_role["errors"]] == [("roles[0]", "body")]
        assert problem_of(
            await client.post("/api/v1/users", headers=admin, json={"email": "not-an-email", "roles": ["student"]}), 400
        )["field"] == "email"
        too_long = {"email": "y@example.org", "name": "n" * 201, "roles": ["student"]}
        refused = problem_of(await client.post("/api/v1/users", headers=admin, json=too_long), 400)
        assert refused["errors"][0]["key"] == "name"
        problem_of(await client.post("/api/v1/users", headers=admin, json={"email": "y@example.org", "roles": []}), 400)

        fetched = await client.get(f"/api/v1/users/{user_id}", headers=admin)
        assert fetched.status_code == 200 and fetched.json()["name"] == "Zawadi"

        patched = await client.patch(
            f"/api/v1/users/{user_id}", headers=admin, json={"roles": ["manager", "teacher"], "name": "Zawadi M."}
        )
        assert patched.status_code == 200
        assert patched.json()["roles"] == ["manager", "teacher"] and patched.json()["name"] == "Zawadi M."
        problem_of(await client.patch(f"/api/v1/users/{user_id}", headers=admin, json={"roles": ["king"]}), 400)
        problem_of(await client.patch(f"/api/v1/users/{user_id}", headers=admin, json={"name": " "}), 400)
        problem_of(await client.patch(f"/api/v1/users/{user_id}", headers=admin, json={"email": "a@b.example"}), 400)

        deactivated = await client.post(f"/api/v1/users/{user_id}/deactivate", headers=admin)
        assert deactivated.status_code == 200 and deactivated.json()["status"] == "deactivated"
        reactivated = await client.post(f"/api/v1/users/{user_id}/reactivate", headers=admin)
        assert reactivated.status_code == 200 and reactivated.json()["status"] == "invited"  # never set a password

        deleted = await client.delete(f"/api/v1/users/{user_id}", headers=admin)
        assert deleted.status_code == 204 and deleted.content == b""
        for method, path in (
            ("GET", f"/api/v1/users/{user_id}"),
            ("PATCH", f"/api/v1/users/{user_id}"),
            ("DELETE", f"/api/v1/users/{user_id}"),
            ("POST", f"/api/v1/users/{user_id}/deactivate"),
            ("GET", f"/api/v1/users/{uuid.uuid4()}"),
            ("GET", "/api/v1/users/not-a-uuid"),
        ):
            kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
            response = await client.request(method, path, headers=admin, **kwargs)
            problem_of(response, 404)
    assert await load_user(engine, fresh_org.tenant, uuid.UUID(user_id)) is None
    actions = [
        e.action for e in await audit_entries(engine, fresh_org.tenant) if e.subject_email == "zawadi@example.org"
    ]
    assert actions == [
        "user.invited", "user.renamed", "user.roles.changed", "user.deactivated", "user.reactivated", "user.deleted"
    ]
    await run_jobs()
