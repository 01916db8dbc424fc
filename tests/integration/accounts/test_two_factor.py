"""Two-step verification: enrolling, the sign-in step, replayed codes, recovery codes, turning it off, and
organizations that require it for some roles."""

from __future__ import annotations

import re

from tests.integration.conftest import (
    PASSWORD,
    api_token,
    audit_entries,
    bearer,
    fresh_code,
    load_user,
    post_form,
    session_of,
    sign_in,
    sign_in_2fa,
    sign_out,
    signed_in_as,
    tenant_sql,
    tokens_for,
    with_cookie,
)
from tests.support import text_of

INVALID_CODE = "That code is not valid"


def secret_on(html: str) -> str:
    match = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', html)
    assert match, "no TOTP key on the page"
    return match.group(1)


async def test_enrolling_shows_a_key_and_a_qr_code_then_recovery_codes(
    browser, org, make_user, engine, mail_sink, run_jobs
):
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        page = await client.get("/account/two-factor")
        assert page.status_code == 200
        secret = secret_on(page.text)
        assert "<svg" in page.text
        # The key stays the same until enrollment finishes (reloading does not invalidate the scanned QR code).
        assert secret_on((await client.get("/account/two-factor")).text) == secret

        bad = await post_form(client, "/account/two-factor/enable", {"code": "000000"})
        assert bad.status_code == 422
        assert INVALID_CODE in bad.text
        assert (await load_user(engine, org.tenant, member.id)).totp_enabled_at is None

        good = await post_form(client, "/account/two-factor/enable", {"code": fresh_code(secret)})
        assert good.status_code == 200
        codes = re.findall(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", good.text)
        assert len(codes) == 10 and len(set(codes)) == 10
        # Turned on: the page now offers new codes and turning it off, and no longer shows the key.
        after = await client.get("/account/two-factor")
        assert "10 unused recovery codes" in after.text
        assert 'id="totp-secret"' not in after.text
    user = await load_user(engine, org.tenant, member.id)
    assert user.totp_enabled_at is not None and user.totp_secret == secret
    assert [e.target_id for e in await audit_entries(engine, org.tenant, "user.two_factor.enabled")][-1] == str(
        member.id
    )
    await run_jobs()
    assert (
        "Two-step verification was turned on"
        in mail_sink.last_to(member.email, "Security notice").get_body(preferencelist=("plain",)).get_content()
    )


async def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one(browser, fresh_org, make_user, engine):
    member = await make_user(fresh_org.tenant, ["teacher"], with_2fa=True)
    async with browser(fresh_org.tenant) as client:
        first = await sign_in(client, member.email, next_="/account/sessions")
        assert first.status_code == 303
        assert first.headers["location"] == "/auth/two-factor?next=/account/sessions"
        pending = session_of(client)
        assert pending
        # Password accepted, second factor pending: not signed in yet.
        assert await signed_in_as(client) is None
        page = await client.get("/auth/two-factor?next=/account/sessions")
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
        assert 'name="next" value="/account/sessions"' in page.text

        wrong = await post_form(client, "/auth/two-factor", {"code": "123456", "next": "/account/sessions"})
        assert wrong.status_code == 422 and INVALID_CODE in wrong.text
        right = await post_form(
            client, "/auth/two-factor", {"code": fresh_code(member.totp_secret), "next": "/account/sessions"}
        )
        assert right.status_code == 303
        assert right.headers["location"] == "/account/sessions"
        full = session_of(client)
        assert full and full != pending  # rotated again once fully signed in
        assert await signed_in_as(client) == member.email
        # The pending token was ended, not promoted.
        assert (await with_cookie(client, "/account/profile", pending)).status_code == 303
    [failure] = await audit_entries(engine, fresh_org.tenant, "auth.two_factor.failure")
    assert failure.subject_email == member.email and failure.ip == "testclient"


async def test_the_two_factor_step_needs_a_pending_sign_in(browser, org):
    async with browser(org.tenant) as client:
        assert (await client.get("/auth/two-factor")).headers["location"] == "/auth/sign-in"
        response = await post_form(client, "/auth/two-factor", {"code": "123456"})
        assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in"


async def test_a_code_is_never_accepted_twice_and_recovery_codes_work_once(
    browser, fresh_org, make_user, engine, mail_sink, run_jobs
):
    member = await make_user(fresh_org.tenant, ["student"], with_2fa=True)
    async with browser(fresh_org.tenant) as client:
        code = fresh_code(member.totp_secret)
        assert (await sign_in_2fa(client, member, code)).status_code == 303
        await sign_out(client)

        replay = await sign_in_2fa(client, member, code)
        assert replay.status_code == 422 and INVALID_CODE in replay.text

        recovery = member.recovery_codes[3]
        ok = await post_form(client, "/auth/two-factor", {"code": recovery.upper()})
        assert ok.status_code == 303
        assert await signed_in_as(client) == member.email
        page = await client.get("/account/two-factor")
        assert "9 unused recovery codes" in page.text
        await sign_out(client)

        again = await sign_in_2fa(client, member, recovery)
        assert again.status_code == 422
        assert session_of(client) is not None and await signed_in_as(client) is None
        await run_jobs()
    [used] = await audit_entries(engine, fresh_org.tenant, "auth.recovery_code.used")
    assert used.subject_email == member.email
    notice = mail_sink.last_to(member.email, "Security notice")
    assert "A recovery code was used to sign in" in text_of(notice)


async def test_turning_off_needs_the_password_and_a_fresh_code(browser, fresh_org, make_user, engine):
    member = await make_user(fresh_org.tenant, ["student"], with_2fa=True)
    async with browser(fresh_org.tenant) as client:
        assert (await sign_in_2fa(client, member, fresh_code(member.totp_secret, -1))).status_code == 303
        for data in (
            {"password": "not-my-password-at-all", "code": fresh_code(member.totp_secret)},
            {"password": PASSWORD, "code": "000000"},
            {"password": PASSWORD},
        ):
            response = await post_form(client, "/account/two-factor/disable", data)
            assert response.headers["location"] == "/account/two-factor?notice=disable_failed"
            assert (await load_user(engine, fresh_org.tenant, member.id)).totp_enabled_at is not None
        off = await post_form(
            client, "/account/two-factor/disable", {"password": PASSWORD, "code": fresh_code(member.totp_secret)}
        )
        assert off.headers["location"] == "/account/two-factor?notice=two_factor_disabled"
    user = await load_user(engine, fresh_org.tenant, member.id)
    assert user.totp_enabled_at is None and user.totp_secret is None
    remaining = await audit_entries(engine, fresh_org.tenant, "user.two_factor.disabled")
    assert len(remaining) == 1
    # Signing in is now a single step.
    async with browser(fresh_org.tenant) as client:
        response = await sign_in(client, member.email)
        assert response.headers["location"] == "/"


async def test_api_tokens_need_the_code_when_two_factor_is_on(browser, fresh_org, make_user):
    member = await make_user(fresh_org.tenant, ["teacher"], with_2fa=True)
    async with browser(fresh_org.tenant) as client:
        missing = await api_token(client, member.email, PASSWORD)
        assert missing.status_code == 401 and missing.json()["error"] == "totp_required"
        wrong = await api_token(client, member.email, PASSWORD, "000000")
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"
        code = fresh_code(member.totp_secret)
        tokens = await tokens_for(client, member, code)
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.json()["two_factor_enabled"] is True
        replay = await api_token(client, member.email, PASSWORD, code)
        assert replay.status_code == 401


async def test_an_organization_can_require_two_factor_for_a_role(signed_in, browser, fresh_org, make_user, engine):
    teacher = await make_user(fresh_org.tenant, ["teacher"])
    student = await make_user(fresh_org.tenant, ["student"])
    async with signed_in(fresh_org.admin) as admin:
        page = await admin.get("/admin/security")
        assert page.status_code == 200 and 'value="teacher"' in page.text
        saved = await post_form(admin, "/admin/security", {"require_2fa_roles": ["teacher", "org_admin"]})
        assert saved.headers["location"] == "/admin/security?notice=saved"
        # The admin is now required too, at once, on every guarded page until enrolled.
        for path in ("/", "/admin/users", "/admin/audit", "/admin/security"):
            response = await admin.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/account/two-factor?notice=required"
        setup = await admin.get("/account/two-factor?notice=required")
        assert "requires two-step verification for your role" in setup.text
        enabled = await post_form(admin, "/account/two-factor/enable", {"code": fresh_code(secret_on(setup.text))})
        assert enabled.status_code == 200
        assert (await admin.get("/admin/users")).status_code == 200
    [entry] = await audit_entries(engine, fresh_org.tenant, "org.security.updated")
    assert entry.details["require_2fa_roles"] == ["org_admin", "teacher"]

    async with browser(fresh_org.tenant) as client:
        assert (await sign_in(client, teacher.email)).status_code == 303
        forced = await client.get("/admin/users")
        assert forced.headers["location"] == "/account/two-factor?notice=required"
        # Pages needed to enroll stay open.
        assert (await client.get("/account/profile")).status_code == 200
        assert (await client.get("/account/two-factor")).status_code == 200
        # The API refuses to issue tokens until the member has enrolled...
        refused = await api_token(client, teacher.email)
        assert refused.status_code == 403
        assert refused.json()["error"] == "two_factor_enrollment_required"
        # ...but members of roles that are not required are not affected.
        assert (await api_token(client, student.email)).status_code == 200


async def test_required_two_factor_blocks_existing_api_tokens_and_turning_it_off(browser, fresh_org, make_user, engine):
    teacher = await make_user(fresh_org.tenant, ["teacher"])
    enrolled = await make_user(fresh_org.tenant, ["teacher"], with_2fa=True)
    async with browser(fresh_org.tenant) as client:
        tokens = await tokens_for(client, teacher)
        assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 200
        await tenant_sql(
            engine, fresh_org.tenant, "UPDATE organization_settings SET require_2fa_roles = ARRAY['teacher']::varchar[]"
        )
        blocked = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert blocked.status_code == 403
        assert blocked.headers["content-type"].startswith("application/problem+json")

        assert (await sign_in_2fa(client, enrolled, fresh_code(enrolled.totp_secret, -1))).status_code == 303
        refused = await post_form(
            client, "/account/two-factor/disable", {"password": PASSWORD, "code": fresh_code(enrolled.totp_secret)}
        )
        assert refused.headers["location"] == "/account/two-factor?notice=required_by_org"
    assert (await load_user(engine, fresh_org.tenant, enrolled.id)).totp_enabled_at is not None


async def test_the_page_asked_for_survives_the_two_factor_step(browser, fresh_org, make_user):
    member = await make_user(fresh_org.tenant, ["student"], with_2fa=True)
    wanted = "/account/sessions?tab=all&sort=recent"
    async with browser(fresh_org.tenant) as client:
        first = await sign_in(client, member.email, member.password, next_=wanted)
        assert first.status_code == 303
        step = await client.get(first.headers["location"])
        assert f'name="next" value="{wanted.replace("&", "&amp;")}"' in step.text
        done = await post_form(client, "/auth/two-factor", {"code": fresh_code(member.totp_secret), "next": wanted})
        assert done.status_code == 303 and done.headers["location"] == wanted
