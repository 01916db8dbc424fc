"""Member administration by org admins: access rules, list and filters, roles, deactivate, delete, last admin."""

from __future__ import annotations

import re

import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts import service
from tajiconnect.domains.accounts.service import AccountError, new_user
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import (
    audit_entries,
    bearer,
    bearer_for,
    load_user,
    post_form,
    session_of,
    sign_in,
    tenant_sql,
    tokens_for,
    with_cookie,
)

ADMIN_PAGES = ("/admin/users", "/admin/users/invite", "/admin/security", "/admin/audit")
HTMX = {"HX-Request": "true", "HX-Target": "users-results"}


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="admin-user-([0-9a-f-]+)">', html)


def names(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/users/[0-9a-f-]+">([^<]+)</a>', html)


@pytest.fixture(scope="module")
async def crowd(new_org, engine):
    """An organization with 30 members of known names, roles and statuses (plus its admin, named "admin")."""
    org = await new_org("accl")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            for i in range(30):
                role = ("teacher", "student", "parent")[i % 3]
                status = "deactivated" if i % 10 == 9 else ("invited" if i % 10 == 8 else "active")
                session.add(
                    new_user(
                        email=f"member{i:02d}@crowd.example",
                        name=f"Member {i:02d}",
                        password=None,
                        roles=[role],
                        status=status,
                    )
                )
    return org


@pytest.mark.parametrize("roles", [["teacher"], ["manager", "parent"]])
async def test_members_without_admin_rights_get_403(browser, org, make_user, engine, roles):
    member = await make_user(org.tenant, roles)
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        for path in (*ADMIN_PAGES, f"/admin/users/{org.admin.id}"):
            response = await client.get(path)
            assert response.status_code == 403, path
            assert "Access denied" in response.text
        refused = await post_form(client, f"/admin/users/{org.admin.id}/deactivate")
        assert refused.status_code == 403
        token = (await tokens_for(client, member))["access_token"]
        for path in ("/api/v1/users", f"/api/v1/users/{org.admin.id}", "/api/v1/audit-log"):
            api = await client.get(path, headers=bearer(token))
            assert api.status_code == 403, path
            assert api.headers["content-type"].startswith("application/problem+json")
            assert api.json()["status"] == 403
        assert (await client.post(f"/api/v1/users/{org.admin.id}/deactivate", headers=bearer(token))).status_code == 403
    assert (await load_user(engine, org.tenant, org.admin.id)).status == "active"


async def test_anonymous_visitors_are_sent_to_sign_in_and_api_callers_get_401(browser, org):
    async with browser(org.tenant) as client:
        for path in ADMIN_PAGES:
            response = await client.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == f"/auth/sign-in?next={path}"
        with_query = await client.get("/admin/users?q=ann&role=teacher")
        assert with_query.headers["location"] == "/auth/sign-in?next=/admin/users%3Fq%3Dann%26role%3Dteacher"
        htmx = await client.get("/admin/users", headers={"HX-Request": "true"})
        assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/auth/sign-in?next=")
        for path in ("/api/v1/users", "/api/v1/users/me", "/api/v1/audit-log"):
            api = await client.get(path)
            assert api.status_code == 401
            assert api.headers["content-type"].startswith("application/problem+json")
            assert api.json()["title"] == "Please sign in"


async def test_list_pages_of_25_sorted_by_name(signed_in, crowd):
    async with signed_in(crowd.admin) as client:
        first = await client.get("/admin/users")
        second = await client.get("/admin/users?page=2")
        beyond = await client.get("/admin/users?page=9")
    assert "31 members" in first.text and "Page 1 of 2" in first.text
    assert len(row_ids(first.text)) == 25 and len(row_ids(second.text)) == 6
    assert set(row_ids(first.text)).isdisjoint(row_ids(second.text))
    assert names(first.text)[:3] == ["admin", "Member 00", "Member 01"]
    assert names(second.text) == [f"Member {i}" for i in range(24, 30)]
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text
    assert row_ids(beyond.text) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=member1", [f"Member {i}" for i in range(10, 20)]),
        ("q=MEMBER 2", [f"Member {i}" for i in range(20, 30)]),
        ("q=crowd.example&role=parent", [f"Member {i:02d}" for i in range(2, 30, 3)]),
        ("status=deactivated", ["Member 09", "Member 19", "Member 29"]),
        ("status=invited&role=teacher", ["Member 18"]),
        ("role=org_admin", ["admin"]),
        ("q=nobody-like-this", []),
    ],
)
async def test_search_and_filters(signed_in, crowd, query, expected):
    async with signed_in(crowd.admin) as client:
        response = await client.get(f"/admin/users?{query}")
    assert response.status_code == 200
    assert names(response.text) == expected
    if not expected:
        assert "No member matches these filters." in response.text


async def test_htmx_filter_returns_only_the_results(signed_in, crowd):
    async with signed_in(crowd.admin) as client:
        partial = await client.get("/admin/users?role=parent", headers=HTMX)
        full = await client.get("/admin/users?role=parent")
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<form" not in partial.text
    assert "10 members" in partial.text and len(row_ids(partial.text)) == 10
    assert "<html" in full.text and 'id="users-results"' in full.text
    assert row_ids(full.text) == row_ids(partial.text)


async def test_api_list_with_filters_and_pages(browser, crowd):
    async with browser(crowd.tenant) as client:
        admin = await bearer_for(client, crowd.admin)
        page = await client.get("/api/v1/users?role=teacher&per_page=4&page=3", headers=admin)
        assert page.status_code == 200
        body = page.json()
        assert body["total"] == 10 and body["page"] == 3 and body["per_page"] == 4
        assert [u["name"] for u in body["items"]] == ["Member 24", "Member 27"]
        assert set(body["items"][0]) >= {"id", "email", "roles", "status", "two_factor_enabled"}
        assert "password_hash" not in body["items"][0] and "totp_secret" not in body["items"][0]
        searched = await client.get("/api/v1/users?q=member0&status=active", headers=admin)
        assert searched.json()["total"] == 8
        for bad in ("role=king", "status=sleeping", "per_page=101", "page=0", "page=x"):
            response = await client.get(f"/api/v1/users?{bad}", headers=admin)
            assert response.status_code == 400, bad
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_change_roles(signed_in, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], password=None, status="active")
    async with signed_in(org.admin) as client:
        detail = await client.get(f"/admin/users/{member.id}")
        assert detail.status_code == 200 and member.email in detail.text
        response = await post_form(client, f"/admin/users/{member.id}/roles", {"roles": ["teacher", "manager"]})
        assert response.headers["location"] == f"/admin/users/{member.id}?notice=roles_saved"
        assert (await load_user(engine, org.tenant, member.id)).roles == ["manager", "teacher"]
        for roles in ([], ["wizard"]):
            refused = await post_form(client, f"/admin/users/{member.id}/roles", {"roles": roles})
            assert refused.status_code == 409, roles
    assert (await load_user(engine, org.tenant, member.id)).roles == ["manager", "teacher"]
    [entry] = [
        e for e in await audit_entries(engine, org.tenant, "user.roles.changed") if e.target_id == str(member.id)
    ]
    assert entry.actor_email == org.admin.email and entry.subject_email == member.email
    assert entry.details == {"before": ["student"], "after": ["manager", "teacher"]}


async def test_admins_cannot_lock_themselves_out(browser, fresh_org, engine):
    admin = fresh_org.admin
    async with browser(fresh_org.tenant) as client:
        await sign_in(client, admin.email)
        for path, data, message in (
            (f"/admin/users/{admin.id}/roles", {"roles": ["teacher"]}, "cannot remove your own admin access"),
            (f"/admin/users/{admin.id}/deactivate", {}, "cannot remove your own admin access"),
            (f"/admin/users/{admin.id}/delete", {"confirm_email": admin.email}, "cannot delete your own account"),
        ):
            response = await post_form(client, path, data)
            assert response.status_code == 409, path
            assert message in response.text
        token = (await tokens_for(client, admin))["access_token"]
        api = await client.patch(f"/api/v1/users/{admin.id}", json={"roles": ["teacher"]}, headers=bearer(token))
        assert api.status_code == 409
        assert (await client.post(f"/api/v1/users/{admin.id}/deactivate", headers=bearer(token))).status_code == 409
        assert (await client.delete(f"/api/v1/users/{admin.id}", headers=bearer(token))).status_code == 409
    user = await load_user(engine, fresh_org.tenant, admin.id)
    assert (user.roles, user.status) == (["org_admin"], "active")


async def test_the_last_active_admin_is_kept(fresh_org, make_user, engine):
    """Only reachable through the services (an admin acting on the web is always another active admin)."""
    retired = await make_user(fresh_org.tenant, ["org_admin"], password=None, status="deactivated")
    teacher = await make_user(fresh_org.tenant, ["teacher"], password=None, status="active")
    with tenant_context(fresh_org.tenant):
        async with session_scope(engine) as session:
            actor = await service.get_user(session, teacher.id)
            last = await service.get_user(session, fresh_org.admin.id)
            for attempt in (
                lambda: service.set_roles(session, actor, last, ["teacher"]),
                lambda: service.deactivate(session, actor, last),
                lambda: service.delete_user(session, actor, last),
            ):
                with pytest.raises(AccountError, match="at least one active admin"):
                    await attempt()
            # A deactivated admin does not count; once another admin is active, the change is allowed.
            other = await service.get_user(session, retired.id)
            await service.reactivate(session, other)
            assert other.status == "invited"
            other.status = "active"
            await service.set_roles(session, actor, last, ["teacher"])
            assert last.roles == ["teacher"]


async def test_deactivation_ends_sessions_and_tokens_at_once(signed_in, browser, org, make_user, engine):
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant) as victim:
        await sign_in(victim, member.email)
        phone = session_of(victim)
        victim.cookies.clear()
        await sign_in(victim, member.email)
        laptop = session_of(victim)
        tokens = await tokens_for(victim, member)
    async with signed_in(org.admin) as admin:
        response = await post_form(admin, f"/admin/users/{member.id}/deactivate")
        assert response.headers["location"] == f"/admin/users/{member.id}?notice=deactivated"
        assert "Deactivated" in (await admin.get(f"/admin/users/{member.id}")).text
    assert await tenant_sql(
        engine, org.tenant, "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NULL", u=member.id
    ) == [(0,)]
    async with browser(org.tenant) as victim:
        assert (await with_cookie(victim, "/account/profile", phone)).status_code == 303
        assert (await victim.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 401
        assert (await sign_in(victim, member.email)).status_code == 422

    async with signed_in(org.admin) as admin:
        response = await post_form(admin, f"/admin/users/{member.id}/reactivate")
        assert response.headers["location"] == f"/admin/users/{member.id}?notice=reactivated"
    # What deactivation ended stays ended: the untouched laptop session and the tokens do not come back.
    async with browser(org.tenant) as victim:
        assert (await with_cookie(victim, "/account/profile", laptop)).status_code == 303
        assert (await victim.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 401
        refresh = await victim.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401
        assert (await sign_in(victim, member.email)).status_code == 303
    for action in ("user.deactivated", "user.reactivated"):
        [entry] = [e for e in await audit_entries(engine, org.tenant, action) if e.target_id == str(member.id)]
        assert entry.actor_id == org.admin.id and entry.subject_email == member.email and entry.ip == "testclient"


async def test_delete_states_the_consequences_and_needs_the_email(signed_in, browser, org, make_user, engine):
    member = await make_user(org.tenant, ["parent"])
    async with browser(org.tenant) as victim:
        await sign_in(victim, member.email)
        cookie = session_of(victim)
        await tokens_for(victim, member)
    await tenant_sql(
        engine,
        org.tenant,
        "INSERT INTO email_tokens (id, user_id, purpose, token_hash, expires_at, created_at, updated_at) "
        "VALUES (gen_random_uuid(), :u, 'verify_email', md5(random()::text), now() + interval '1 day', "
        "now(), now())",
        u=member.id,
    )
    async with signed_in(org.admin) as admin:
        page = await admin.get(f"/admin/users/{member.id}/delete")
        assert page.status_code == 200
        for consequence in (
            "cannot be undone",
            "signs it out on every device and revokes its API tokens",
            "keeps the audit log entries",
            "deactivate it instead",
        ):
            assert consequence in page.text
        assert f"Type {member.email} to confirm" in page.text
        wrong = await post_form(admin, f"/admin/users/{member.id}/delete", {"confirm_email": "someone@else.example"})
        assert wrong.status_code == 422 and 'id="e-confirm_email"' in wrong.text
        assert await load_user(engine, org.tenant, member.id) is not None
        done = await post_form(admin, f"/admin/users/{member.id}/delete", {"confirm_email": member.email.upper()})
        assert done.headers["location"] == "/admin/users?notice=deleted"
        assert (await admin.get(f"/admin/users/{member.id}")).status_code == 404
    assert await load_user(engine, org.tenant, member.id) is None
    for table in ("user_sessions", "refresh_tokens", "email_tokens", "recovery_codes", "user_avatars"):
        assert await tenant_sql(
            engine, org.tenant, f"SELECT count(*) FROM {table} WHERE user_id = :u", u=member.id
        ) == [(0,)], table
    async with browser(org.tenant) as victim:
        assert (await with_cookie(victim, "/account/profile", cookie)).status_code == 303
    [entry] = [e for e in await audit_entries(engine, org.tenant, "user.deleted") if e.target_id == str(member.id)]
    assert entry.subject_email == member.email and entry.actor_email == org.admin.email
    # What the member did stays on record.
    assert any(e.actor_id == member.id for e in await audit_entries(engine, org.tenant, "auth.sign_in.success"))


@pytest.mark.parametrize("user_id", ["0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "not-a-uuid", "1"])
async def test_unknown_members_are_404(signed_in, org, user_id):
    async with signed_in(org.admin) as client:
        assert (await client.get(f"/admin/users/{user_id}")).status_code == 404
        assert (await client.get(f"/admin/users/{user_id}/delete")).status_code == 404
        assert (await post_form(client, f"/admin/users/{user_id}/deactivate")).status_code == 404


async def test_resending_an_invitation_only_for_invited_members(signed_in, org, make_user):
    active = await make_user(org.tenant, ["student"])
    async with signed_in(org.admin) as client:
        response = await post_form(client, f"/admin/users/{active.id}/resend-invitation")
    assert response.headers["location"] == f"/admin/users/{active.id}"


async def test_admin_pages_render_for_admins(signed_in, org):
    async with signed_in(org.admin) as client:
        for path in ADMIN_PAGES:
            response = await client.get(path)
            assert response.status_code == 200, path
