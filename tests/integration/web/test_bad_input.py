"""Malformed input (NUL, invalid UTF-8, numbers out of range) is a 4xx with a clear message, and changes nothing."""

from __future__ import annotations

import pytest

from tests.integration.conftest import (
    audit_entries,
    bearer_for,
    csrf,
    load_user,
    post_form,
    problem_of,
    user_count,
)


@pytest.mark.parametrize("query", [b"q=a%00b", b"q=%ff%fe", b"q%00=1", b"page=1&role=%c3%28"])
async def test_bad_query_strings_are_a_400_on_pages_and_api(signed_in, client_for, org, query):
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/users?" + query.decode())
        assert page.status_code == 400, page.text
        assert "text/html" in page.headers["content-type"]
    async with client_for(org.tenant) as client:
        api = await client.get("/api/v1/users?" + query.decode(), headers=await bearer_for(client, org.admin))
        detail = problem_of(api, 400)["detail"]
        assert "NUL" in detail or "UTF-8" in detail


@pytest.mark.parametrize("page", ["9223372036854775808", "0", "-1", "99999999999999999999999"])
async def test_page_numbers_out_of_range_are_a_400(signed_in, client_for, org, page):
    async with signed_in(org.admin) as client:
        for path in ("/admin/users", "/admin/audit"):
            response = await client.get(f"{path}?page={page}")
            assert response.status_code == 400, (path, page, response.status_code)
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, org.admin)
        for path in ("/api/v1/users", "/api/v1/audit-log"):
            problem_of(await client.get(f"{path}?page={page}", headers=headers), 400)


async def test_nul_and_invalid_utf8_in_sign_in_and_reset_forms(browser, fresh_org, engine):
    async with browser(fresh_org.tenant) as client:
        token = await csrf(client)
        for path, body in (
            ("/auth/sign-in", b"email=a%00b%40x.test&password=x"),
            ("/auth/sign-in", b"email=%ff%40x.test&password=x"),
            ("/auth/forgot-password", b"email=a%00b%40x.test"),
            ("/auth/forgot-password", b"email=%ff%fe%40x.test"),
        ):
            response = await client.post(
                path, content=body + b"&_csrf_token=" + token.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 400, (path, body, response.status_code)
            assert "text/html" in response.headers["content-type"]
    assert await audit_entries(engine, fresh_org.tenant, "auth.sign_in.failure") == []


async def test_invalid_utf8_email_in_an_invitation_is_refused_not_replaced(signed_in, org, engine):
    before = await user_count(engine, org.tenant)
    async with signed_in(org.admin) as client:
        token = await csrf(client, "/admin/users/invite")
        response = await client.post(
            "/admin/users/invite", content=b"email=%ff%fe%40x.test&name=X&roles=student&_csrf_token=" + token.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400
    assert await user_count(engine, org.tenant) == before


async def test_profile_name_with_nul_or_bad_bytes_is_refused_and_the_old_name_stays(signed_in, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], name="Amina Otieno")
    before = len(await audit_entries(engine, org.tenant, "user.profile.updated"))
    async with signed_in(member) as client:
        token = await csrf(client, "/account/profile")
        for raw in (b"Nul%00Name", b"%ff%fe%28"):
            response = await client.post(
                "/account/profile",
                content=b"name=" + raw + b"&locale=en&time_zone=Africa%2FNairobi&_csrf_token=" + token.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 400
        # multipart carries the same fields; its text parts are checked too
        for raw in (b"Nul\x00Name", b"\xff\xfe("):
            response = await client.post(
                "/account/profile",
                files={"name": (None, raw), "locale": (None, b"en"), "time_zone": (None, b"Africa/Nairobi"),
                       "_csrf_token": (None, token.encode())},
            )
            assert response.status_code == 400, response.status_code
    assert (await load_user(engine, org.tenant, member.id)).name == "Amina Otieno"
    assert len(await audit_entries(engine, org.tenant, "user.profile.updated")) == before


async def test_json_with_invalid_utf8_or_nul_is_a_400_and_nothing_changes(client_for, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], name="Baraka Mwangi")
    async with client_for(org.tenant) as client:
        headers = {**await bearer_for(client, org.admin), "content-type": "application/json"}
        for body in (b'{"name": "\xff\xfe"}', b'{"name": "a\\u0000b"}', b'{"na\\u0000me": "x"}', b'{"name": '):
            response = await client.patch(f"/api/v1/users/{member.id}", content=body, headers=headers)
            problem_of(response, 400)
        for body in (b'{"email": "\xff@x.test", "password": "x"}', b'{"email": "a\\u0000@x.test", "password": "x"}'):
            response = await client.post(
                "/api/v1/auth/token", content=body, headers={"content-type": "application/json"}
            )
            problem_of(response, 400)
        response = await client.post(
            "/api/v1/users", content=b'{"email": "\xff@x.test", "roles": ["student"]}', headers=headers
        )
        problem_of(response, 400)
    assert (await load_user(engine, org.tenant, member.id)).name == "Baraka Mwangi"


async def test_a_valid_request_still_goes_through(signed_in, org, make_user, engine):
    member = await make_user(org.tenant, ["student"], name="Chausiku")
    async with signed_in(member) as client:
        response = await post_form(
            client, "/account/profile", {"name": "Chausiku Zoë Ñandú", "locale": "sw", "time_zone": "Africa/Nairobi"}
        )
        assert response.status_code == 303
    assert (await load_user(engine, org.tenant, member.id)).name == "Chausiku Zoë Ñandú"


async def test_the_error_page_explains_the_refusal_in_the_organizations_language(browser, new_org):
    org = await new_org("accsw", locale="sw")
    async with browser(org.tenant) as client:
        token = await csrf(client)
        response = await client.post(
            "/auth/sign-in", content=b"email=a%00b%40x.test&password=x&_csrf_token=" + token.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400
        assert "Fomu ina herufi NUL" in response.text
        forged = await client.post("/auth/sign-in", data={"email": "a@x.test", "password": "x", "_csrf_token": "x"})
        assert forged.status_code == 403 and "Fomu hii imepitwa na wakati" in forged.text
