"""Forgot / reset password: no account enumeration, single-use expiring links, every session and token ended."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.integration.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    audit_entries,
    bearer,
    drain,
    post_form,
    session_of,
    sign_in,
    signed_in_as,
    tenant_sql,
    tokens_for,
    with_cookie,
)
from tests.support import text_of

SENT = "If an account uses that address, we sent it a link"


async def forgot(client, email: str):
    return await post_form(client, "/auth/forgot-password", {"email": email})


async def reset_path(mail_sink, run_jobs, email: str) -> str:
    await drain(run_jobs)
    msg = mail_sink.last_to(email, "Reset your")
    match = [w for w in text_of(msg).split() if "/auth/reset-password/" in w]
    assert match, text_of(msg)
    return urlsplit(match[0]).path


async def test_the_answer_is_the_same_for_existing_and_unknown_emails(
    browser, fresh_org, mail_sink, run_jobs, make_user
):
    member = await make_user(fresh_org.tenant, ["student"])
    unknown = f"nobody.{fresh_org.tenant.slug}@example.org"
    async with browser(fresh_org.tenant) as client:
        page = await client.get("/auth/forgot-password")
        assert page.status_code == 200 and '<label for="f-email">Email</label>' in page.text
        known_answer = await forgot(client, member.email)
        unknown_answer = await forgot(client, unknown)
    assert known_answer.status_code == unknown_answer.status_code == 200
    assert SENT in known_answer.text and SENT in unknown_answer.text
    assert known_answer.text.replace(member.email, "") == unknown_answer.text.replace(unknown, "")
    await drain(run_jobs)
    msg = mail_sink.last_to(member.email, "Reset your")
    assert fresh_org.tenant.name in msg["Subject"]
    assert "/auth/reset-password/" in text_of(msg)
    assert mail_sink.to(unknown) == []


async def test_forgot_password_needs_an_email(browser, org):
    async with browser(org.tenant) as client:
        response = await forgot(client, "not an email")
    assert response.status_code == 422 and 'id="e-email"' in response.text


async def test_reset_ends_every_session_and_token_and_the_link_works_once(
    browser, fresh_org, make_user, mail_sink, run_jobs, engine
):
    member = await make_user(fresh_org.tenant, ["teacher"])
    async with browser(fresh_org.tenant) as other_device:
        await sign_in(other_device, member.email)
        old_session = session_of(other_device)
        tokens = await tokens_for(other_device, member)

    async with browser(fresh_org.tenant) as client:
        await forgot(client, member.email)
        path = await reset_path(mail_sink, run_jobs, member.email)
        page = await client.get(path)
        assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
        mismatch = await post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": "different-words-x"})
        assert mismatch.status_code == 422 and "not the same" in mismatch.text
        weak = await post_form(client, path, {"password": "password1234", "password_confirm": "password1234"})
        assert weak.status_code == 422 and "too common" in weak.text
        # The old password still works after refused attempts (nothing was changed).
        assert (await tokens_for(client, member))["access_token"]

        done = await post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
        assert done.status_code == 303
        assert done.headers["location"] == "/auth/sign-in?notice=password_reset"
        again = await client.get(path)
        assert again.status_code == 410 and "already used" in again.text
        reuse = await post_form(
            client, path, {"password": "yet-another-fine-passphrase", "password_confirm": "yet-another-fine-passphrase"}
        )
        assert reuse.status_code == 410

        # Every browser session and every API token of the account is gone.
        assert (await with_cookie(client, "/account/profile", old_session)).status_code == 303
        assert (await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))).status_code == 401
        refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401 and refresh.json()["error"] == "invalid_grant"

        # The old password no longer works; the new one does.
        client.cookies.clear()
        assert (await sign_in(client, member.email, PASSWORD)).status_code == 422
        assert (await sign_in(client, member.email, NEW_PASSWORD)).status_code == 303
        assert await signed_in_as(client) == member.email
    live = await tenant_sql(
        engine,
        fresh_org.tenant,
        "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NULL",
        u=member.id,
    )
    assert live == [(0,)]
    [completed] = await audit_entries(engine, fresh_org.tenant, "auth.password_reset.completed")
    assert completed.subject_email == member.email
    await drain(run_jobs)
    notice = mail_sink.last_to(member.email, "Security notice")
    assert "reset with an email link" in text_of(notice)


async def test_an_expired_reset_link_is_refused(browser, fresh_org, make_user, mail_sink, run_jobs, engine):
    member = await make_user(fresh_org.tenant, ["student"])
    async with browser(fresh_org.tenant) as client:
        await forgot(client, member.email)
        path = await reset_path(mail_sink, run_jobs, member.email)
        await tenant_sql(
            engine,
            fresh_org.tenant,
            "UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u",
            u=member.id,
        )
        assert (await client.get(path)).status_code == 410
        response = await post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
        assert response.status_code == 410 and "expired" in response.text
        assert (await sign_in(client, member.email, PASSWORD)).status_code == 303


async def test_reset_links_live_an_hour(browser, fresh_org, make_user, run_jobs, engine):
    member = await make_user(fresh_org.tenant, ["student"])
    async with browser(fresh_org.tenant) as client:
        await forgot(client, member.email)
    [(seconds,)] = await tenant_sql(
        engine,
        fresh_org.tenant,
        "SELECT extract(epoch FROM expires_at - created_at) FROM email_tokens WHERE user_id = :u "
        "AND purpose = 'reset_password'",
        u=member.id,
    )
    assert 3590 <= float(seconds) <= 3610
    await drain(run_jobs)


async def test_reset_requests_are_limited_per_email(browser, fresh_org, make_user, mail_sink, run_jobs, engine):
    member = await make_user(fresh_org.tenant, ["student"])
    async with browser(fresh_org.tenant) as client:
        answers = [await forgot(client, member.email) for _ in range(7)]
        assert all(a.status_code == 200 and SENT in a.text for a in answers)
        await drain(run_jobs)
        assert len([m for m in mail_sink.to(member.email) if "Reset your" in str(m["Subject"])]) == 5
        # Each new link cancels the previous ones: of the five sent, exactly one still works. (Mail can arrive
        # out of order, so which email carries it is not asserted; the token rows are checked below.)
        paths = [
            urlsplit(w).path
            for m in mail_sink.to(member.email)
            for w in text_of(m).split()
            if "/auth/reset-password/" in w
        ]
        statuses = [(await client.get(path)).status_code for path in paths]
        assert sorted(statuses) == [200, 410, 410, 410, 410]
    [(unused, newest_unused)] = await tenant_sql(
        engine,
        fresh_org.tenant,
        "SELECT count(*) FILTER (WHERE used_at IS NULL), "
        "count(*) FILTER (WHERE used_at IS NULL AND created_at = "
        "(SELECT max(created_at) FROM email_tokens WHERE purpose = 'reset_password')) "
        "FROM email_tokens WHERE purpose = 'reset_password'",
    )
    assert (unused, newest_unused) == (1, 1)  # the one link that works is the newest issued
    assert len(await audit_entries(engine, fresh_org.tenant, "auth.password_reset.throttled")) == 2


async def test_deactivated_accounts_get_no_reset_link(browser, fresh_org, make_user, mail_sink, run_jobs):
    member = await make_user(fresh_org.tenant, ["student"], status="deactivated")
    async with browser(fresh_org.tenant) as client:
        answer = await forgot(client, member.email)
    assert SENT in answer.text
    await drain(run_jobs)
    assert mail_sink.to(member.email) == []
