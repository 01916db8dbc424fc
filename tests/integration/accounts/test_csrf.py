"""Every form POST needs the CSRF token (cookie + form field or header); without it nothing happens."""

from __future__ import annotations

from tests.integration.conftest import (
    PASSWORD,
    audit_entries,
    csrf,
    load_user,
    post_form,
    session_of,
)


async def test_sign_in_without_the_token_is_refused(browser, org, engine):
    before = len(await audit_entries(engine, org.tenant, "auth.sign_in.success"))
    async with browser(org.tenant) as client:
        await csrf(client)  # the cookie is there, the form field is not
        response = await client.post("/auth/sign-in", data={"email": org.admin.email, "password": PASSWORD})
        assert response.status_code == 403
        assert session_of(client) is None
    assert len(await audit_entries(engine, org.tenant, "auth.sign_in.success")) == before


async def test_sign_in_with_a_token_of_another_browser_is_refused(browser, org):
    async with browser(org.tenant) as other:
        foreign = await csrf(other)
    async with browser(org.tenant) as client:
        await csrf(client)
        response = await client.post(
            "/auth/sign-in", data={"email": org.admin.email, "password": PASSWORD, "_csrf_token": foreign}
        )
        assert response.status_code == 403
        assert session_of(client) is None


async def test_sign_in_with_a_forged_token_and_cookie_is_refused(browser, org):
    forged = "a" * 128
    async with browser(org.tenant) as client:
        client.cookies.set("csrftoken", forged, domain=f"{org.tenant.slug}.taji.test")
        response = await client.post(
            "/auth/sign-in", data={"email": org.admin.email, "password": PASSWORD, "_csrf_token": forged}
        )
        assert response.status_code == 403


async def test_admin_action_without_the_token_changes_nothing(signed_in, org, make_user, engine):
    target = await make_user(org.tenant, ["teacher"], password=None, status="active")
    async with signed_in(org.admin) as client:
        for path, data in (
            (f"/admin/users/{target.id}/deactivate", {}),
            (f"/admin/users/{target.id}/roles", {"roles": ["org_admin"]}),
            (f"/admin/users/{target.id}/delete", {"confirm_email": target.email}),
        ):
            response = await client.post(path, data=data)
            assert response.status_code == 403, path
            assert "Access denied" in response.text
        # The same request with the token goes through: the token was the only thing missing.
        ok = await post_form(client, f"/admin/users/{target.id}/deactivate")
        assert ok.status_code == 303
    user = await load_user(engine, org.tenant, target.id)
    assert user.roles == ["teacher"]
    assert user.status == "deactivated"
    changed = [e.target_id for e in await audit_entries(engine, org.tenant, "user.roles.changed")]
    assert str(target.id) not in changed


async def test_the_token_is_also_accepted_in_the_header(browser, org):
    async with browser(org.tenant) as client:
        token = await csrf(client)
        response = await client.post(
            "/auth/sign-in", data={"email": org.admin.email, "password": PASSWORD}, headers={"x-csrftoken": token}
        )
        assert response.status_code == 303


async def test_paths_that_merely_contain_an_excluded_word_are_checked(signed_in, browser, org, make_user):
    """Exclusions are exact: '/health' or 'schema' inside a path switches nothing off."""
    async with browser(org.tenant) as client:
        await csrf(client)
        response = await client.post("/auth/invitation/healthXYZ", data={"password": "x"})
        assert response.status_code == 403
    async with signed_in(org.admin) as client:
        response = await client.post("/account/sessions/schema-x/revoke")
        assert response.status_code == 403


async def test_a_pair_minted_on_one_tenant_is_refused_on_another(browser, org, other_org):
    async with browser(org.tenant) as client:
        token = await csrf(client)
    async with browser(other_org.tenant) as client:
        client.cookies.set("csrftoken", token, domain=f"{other_org.tenant.slug}.taji.test")
        response = await client.post(
            "/auth/sign-in", data={"email": other_org.admin.email, "password": PASSWORD, "_csrf_token": token}
        )
        assert response.status_code == 403
        assert session_of(client) is None
        # A GET on this host replaces the foreign cookie with one of its own, which then works.
        own = await csrf(client)
        assert own != token
        response = await client.post(
            "/auth/sign-in", data={"email": other_org.admin.email, "password": PASSWORD, "_csrf_token": own}
        )
        assert response.status_code == 303
