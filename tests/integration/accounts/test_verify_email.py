"""Email verification: sent from the profile, confirmed by a POST (a GET has no effect), single use."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.integration.conftest import (
    audit_entries,
    drain,
    load_user,
    post_form,
    set_user,
    sign_in,
    tenant_sql,
)
from tests.support import link_in


async def request_link(client, mail_sink, run_jobs, email: str) -> str:
    response = await post_form(client, "/account/verify-email")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/profile?notice=verification_sent"
    await drain(run_jobs)
    msg = mail_sink.last_to(email, "Confirm your email address")
    return urlsplit(link_in(msg, "/auth/verify-email/")).path


async def test_verify_from_the_profile(browser, org, make_user, mail_sink, run_jobs, engine):
    member = await make_user(org.tenant, ["parent"])
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        profile = await client.get("/account/profile")
        assert "is not confirmed yet" in profile.text and 'action="/account/verify-email"' in profile.text
        path = await request_link(client, mail_sink, run_jobs, member.email)

        # Opening the link (as mail scanners do) changes nothing: it shows a button.
        for _ in range(2):
            page = await client.get(path)
            assert page.status_code == 200
            assert f'action="{path}"' in page.text and "Confirm my email" in page.text
        assert (await load_user(engine, org.tenant, member.id)).email_verified_at is None

        confirmed = await post_form(client, path)
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == "/account/profile?notice=email_verified"
        assert (await load_user(engine, org.tenant, member.id)).email_verified_at is not None
        assert "is not confirmed yet" not in (await client.get("/account/profile")).text

        for again in (await client.get(path), await post_form(client, path)):
            assert again.status_code == 410 and "already used" in again.text
    [entry] = [
        e for e in await audit_entries(engine, org.tenant, "user.email.verified") if e.target_id == str(member.id)
    ]
    assert entry.subject_email == member.email


async def test_confirming_works_without_being_signed_in(browser, org, make_user, mail_sink, run_jobs):
    member = await make_user(org.tenant, ["parent"])
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        path = await request_link(client, mail_sink, run_jobs, member.email)
    async with browser(org.tenant) as other:
        response = await post_form(other, path)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?notice=email_verified"


async def test_resending_cancels_the_previous_link(browser, org, make_user, mail_sink, run_jobs):
    member = await make_user(org.tenant, ["parent"])
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        first = await request_link(client, mail_sink, run_jobs, member.email)
        second = await request_link(client, mail_sink, run_jobs, member.email)
        assert first != second
        assert (await client.get(first)).status_code == 410
        assert (await client.get(second)).status_code == 200


async def test_expired_links_are_refused(browser, org, make_user, mail_sink, run_jobs, engine):
    member = await make_user(org.tenant, ["parent"])
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        path = await request_link(client, mail_sink, run_jobs, member.email)
        await tenant_sql(
            engine, org.tenant, "UPDATE email_tokens SET expires_at = now() WHERE user_id = :u", u=member.id
        )
        response = await post_form(client, path)
        assert response.status_code == 410 and "expired" in response.text
    assert (await load_user(engine, org.tenant, member.id)).email_verified_at is None


async def test_no_link_for_an_already_verified_address(browser, org, make_user, mail_sink, run_jobs, engine):
    import datetime

    member = await make_user(org.tenant, ["parent"])
    await set_user(engine, org.tenant, member.id, email_verified_at=datetime.datetime.now(datetime.UTC))
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        response = await post_form(client, "/account/verify-email")
        assert response.status_code == 303
    await drain(run_jobs)
    assert mail_sink.to(member.email) == []


async def test_the_verification_page_needs_a_signed_in_user(browser, org):
    async with browser(org.tenant) as client:
        response = await post_form(client, "/account/verify-email")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/sign-in?next=")
