"""Signing in and out through the pages: errors, cookies, rotation, redirects, deactivated accounts, throttling."""

from __future__ import annotations

import datetime
import re
from http.cookies import SimpleCookie

import pytest

from tests.integration.conftest import (
    PASSWORD,
    SESSION_COOKIE,
    audit_entries,
    seed_audit,
    session_of,
    sign_in,
    sign_out,
    signed_in_as,
    with_cookie,
)

GENERIC_ERROR = "That email and password do not match an active account."
TOO_MANY = "Too many attempts"


def set_cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


async def test_sign_in_page_has_labelled_fields_and_a_csrf_token(browser, org):
    async with browser(org.tenant) as client:
        response = await client.get("/auth/sign-in")
    assert response.status_code == 200
    html = response.text
    assert '<label for="f-email">Email</label>' in html
    assert '<label for="f-password">Password</label>' in html
    assert 'id="f-email" name="email" type="email"' in html
    assert 'autocomplete="current-password"' in html
    assert re.search(r'name="_csrf_token" value="[0-9a-f]{64,}"', html)
    assert org.tenant.name in html
    assert 'href="/auth/forgot-password"' in html


async def test_wrong_password_and_unknown_email_get_the_same_answer(browser, fresh_org):
    async with browser(fresh_org.tenant) as client:
        wrong = await sign_in(client, fresh_org.admin.email, "not-the-password-at-all")
        unknown = await sign_in(client, "nobody-here@example.org", "not-the-password-at-all")
        assert session_of(client) is None
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert GENERIC_ERROR in response.text
        assert 'role="alert"' in response.text
        assert "not-the-password-at-all" not in response.text  # passwords are never echoed
    # Nothing but the email typed differs between the two pages.
    strip = lambda r, email: re.sub(r'value="[0-9a-f]{64,}"', "", r.text).replace(email, "EMAIL")  # noqa: E731
    assert strip(wrong, fresh_org.admin.email) == strip(unknown, "nobody-here@example.org")
    # The email typed is kept in the form.
    assert f'value="{fresh_org.admin.email}"' in wrong.text


async def test_success_sets_a_host_only_secure_session_cookie(browser, org):
    async with browser(org.tenant) as client:
        response = await sign_in(client, org.admin.email)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        header = set_cookie_header(response, SESSION_COOKIE)
        assert await signed_in_as(client) == org.admin.email
    cookie = SimpleCookie()
    cookie.load(header)
    morsel = cookie[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"]  # host-only: never sent to another tenant's host
    assert len(morsel.value) >= 40


async def test_the_session_token_is_rotated_at_sign_in(browser, org):
    async with browser(org.tenant) as client:
        # A value planted before sign-in (session fixation) is not adopted...
        client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain=f"{org.tenant.slug}.taji.test")
        await sign_in(client, org.admin.email)
        first = session_of(client)
        assert first and first != "planted-by-an-attacker"
        # ...and signing in again gives a new token and ends the old one.
        await sign_in(client, org.admin.email)
        second = session_of(client)
        assert second and second != first
        assert await signed_in_as(client) == org.admin.email
        assert (await with_cookie(client, "/account/profile", first)).status_code == 303
        assert (await with_cookie(client, "/account/profile", second)).status_code == 200


async def test_sign_out_ends_the_server_session(browser, org, engine):
    async with browser(org.tenant) as client:
        await sign_in(client, org.admin.email)
        token = session_of(client)
        response = await sign_out(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/sign-in?notice=signed_out"
        assert session_of(client) is None
        # Replaying the old cookie does not work: the session is gone on the server, not just in the browser.
        replay = await with_cookie(client, "/account/profile", token)
        assert replay.status_code == 303
        assert replay.headers["location"].startswith("/auth/sign-in")
    assert (await audit_entries(engine, org.tenant, "auth.sign_out"))[-1].actor_email == org.admin.email


async def test_next_is_followed_for_local_paths(browser, org):
    async with browser(org.tenant) as client:
        page = await client.get("/auth/sign-in?next=/account/sessions")
        assert 'name="next" value="/account/sessions"' in page.text
        response = await sign_in(client, org.admin.email, next_="/account/sessions")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sessions"


EVIL_TARGETS = ["//evil.example/phish", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"]


async def test_next_never_leaves_the_site_after_signing_in(browser, org):
    async with browser(org.tenant) as client:
        for target in EVIL_TARGETS:
            page = await client.get("/auth/sign-in", params={"next": target})
            assert 'name="next" value="/"' in page.text, target
        response = await sign_in(client, org.admin.email, next_="//evil.example/phish")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("target", EVIL_TARGETS)
async def test_next_never_leaves_the_site_when_signed_in(signed_in, org, target):
    async with signed_in(org.admin) as client:
        response = await client.get("/auth/sign-in", params={"next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_signed_in_users_visiting_sign_in_go_to_next(signed_in, org):
    async with signed_in(org.admin) as client:
        response = await client.get("/auth/sign-in?next=/account/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/profile"


async def test_deactivated_and_invited_members_cannot_sign_in(browser, fresh_org, make_user, engine):
    gone = await make_user(fresh_org.tenant, ["teacher"], status="deactivated")
    invited = await make_user(fresh_org.tenant, ["student"], password=None)
    async with browser(fresh_org.tenant) as client:
        for member, password in ((gone, PASSWORD), (invited, "")):
            response = await sign_in(client, member.email, password)
            assert response.status_code == 422
            assert GENERIC_ERROR in response.text
            assert session_of(client) is None
    reasons = [e.details["reason"] for e in await audit_entries(engine, fresh_org.tenant, "auth.sign_in.failure")]
    assert reasons == ["inactive", "bad_password"]


async def test_audit_records_failures_and_successes_with_the_address(browser, fresh_org, engine):
    async with browser(fresh_org.tenant, user_agent="AuditBrowser/1.0") as client:
        await sign_in(client, fresh_org.admin.email.upper(), "wrong-password-here")
        await sign_in(client, "ghost@example.org", "wrong-password-here")
        await sign_in(client, fresh_org.admin.email)
    failures = await audit_entries(engine, fresh_org.tenant, "auth.sign_in.failure")
    assert [(e.subject_email, e.details["reason"]) for e in failures] == [
        (fresh_org.admin.email, "bad_password"),
        ("ghost@example.org", "no_account"),
    ]
    assert all(e.ip == "testclient" and e.actor_id is None for e in failures)
    assert all(e.details["channel"] == "web" for e in failures)
    [success] = await audit_entries(engine, fresh_org.tenant, "auth.sign_in.success")
    assert success.actor_id == fresh_org.admin.id
    assert success.actor_email == success.subject_email == fresh_org.admin.email
    assert success.ip == "testclient"
    assert success.user_agent == "AuditBrowser/1.0"
    assert success.occurred_at > datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)


async def test_ten_failures_block_even_the_right_password(browser, fresh_org, engine):
    async with browser(fresh_org.tenant) as client:
        for attempt in range(10):
            response = await sign_in(client, fresh_org.admin.email, f"wrong-password-{attempt}")
            assert response.status_code == 422, attempt
        blocked = await sign_in(client, fresh_org.admin.email, PASSWORD)
        assert blocked.status_code == 429
        assert TOO_MANY in blocked.text
        assert GENERIC_ERROR not in blocked.text
        assert session_of(client) is None
    assert len(await audit_entries(engine, fresh_org.tenant, "auth.sign_in.throttled")) == 1
    assert await audit_entries(engine, fresh_org.tenant, "auth.sign_in.success") == []


async def test_an_unknown_email_is_throttled_the_same_way(browser, fresh_org, engine):
    # Ten failures for an email with no account, from another address: this address is not the reason.
    await seed_audit(
        engine, fresh_org.tenant, "auth.sign_in.failure", 10, email="ghost@example.org", ip="198.51.100.20"
    )
    async with browser(fresh_org.tenant) as client:
        unknown = await sign_in(client, "ghost@example.org", "whatever-password")
        await seed_audit(
            engine, fresh_org.tenant, "auth.sign_in.failure", 10, email=fresh_org.admin.email, ip="198.51.100.21"
        )
        known = await sign_in(client, fresh_org.admin.email, PASSWORD)
        other = await sign_in(client, "someone-else@example.org", "whatever-password")
    assert unknown.status_code == known.status_code == 429
    assert TOO_MANY in unknown.text and TOO_MANY in known.text
    # This address and other emails are not blocked by someone else's failures.
    assert other.status_code == 422


async def test_failures_from_one_address_block_every_email_from_it(browser, fresh_org, engine):
    await seed_audit(engine, fresh_org.tenant, "auth.sign_in.failure", 10, email=None, ip="testclient")
    async with browser(fresh_org.tenant) as client:
        response = await sign_in(client, fresh_org.admin.email, PASSWORD)
    assert response.status_code == 429


async def test_failures_older_than_fifteen_minutes_do_not_count(browser, fresh_org, engine):
    await seed_audit(
        engine,
        fresh_org.tenant,
        "auth.sign_in.failure",
        12,
        email=fresh_org.admin.email,
        ip="testclient",
        ago=datetime.timedelta(minutes=16),
    )
    await seed_audit(
        engine,
        fresh_org.tenant,
        "auth.sign_in.failure",
        9,
        email=fresh_org.admin.email,
        ip="testclient",
        ago=datetime.timedelta(minutes=10),
    )
    async with browser(fresh_org.tenant) as client:
        response = await sign_in(client, fresh_org.admin.email, PASSWORD)
    assert response.status_code == 303
