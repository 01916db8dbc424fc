"""Invitations: the admin invites, the email arrives, the link works once and only on its own organization."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from tests.integration.conftest import (
    NEW_PASSWORD,
    audit_entries,
    bearer_for,
    drain,
    load_user,
    post_form,
    session_of,
    sign_in,
    signed_in_as,
    tenant_sql,
)
from tests.support import html_of, link_in, text_of


async def invite(client, email: str, roles=("teacher",), name: str = "Amani Otieno"):
    return await post_form(client, "/admin/users/invite", {"email": email, "name": name, "roles": list(roles)})


async def invitation_link(mail_sink, run_jobs, email: str) -> str:
    await drain(run_jobs)
    msg = mail_sink.last_to(email, "You are invited")
    return urlsplit(link_in(msg, "/auth/invitation/")).path


async def test_invite_accept_and_the_link_works_once(signed_in, browser, org, engine, mail_sink, run_jobs):
    email = f"amani.{uuid.uuid4().hex[:6]}@example.org"
    async with signed_in(org.admin) as admin:
        form = await admin.get("/admin/users/invite")
        assert form.status_code == 200 and '<label for="f-email">Email</label>' in form.text
        response = await invite(admin, email, roles=("teacher", "parent"))
        assert response.status_code == 303
        user_id = response.headers["location"].split("/admin/users/")[1].split("?")[0]
        assert response.headers["location"].endswith("?notice=invited")
    invited = await load_user(engine, org.tenant, uuid.UUID(user_id))
    assert invited.status == "invited" and invited.password_hash is None
    assert invited.roles == ["teacher", "parent"]

    await drain(run_jobs)
    msg = mail_sink.last_to(email, "You are invited")
    assert org.tenant.name in msg["Subject"] and org.tenant.name in str(msg["From"])
    assert org.admin.email in text_of(msg)  # says who invited them
    url = link_in(msg, "/auth/invitation/")
    assert url.startswith(f"https://{org.tenant.slug}.taji.test/auth/invitation/")
    assert url in html_of(msg)
    path = urlsplit(url).path

    async with browser(org.tenant) as client:
        page = await client.get(path)
        assert page.status_code == 200
        assert email in page.text and 'value="Amani Otieno"' in page.text
        accepted = await post_form(
            client, path, {"name": "Amani W. Otieno", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        )
        assert accepted.status_code == 303 and accepted.headers["location"] == "/"
        assert session_of(client)
        assert await signed_in_as(client) == email

        for again in (
            await client.get(path),
            await post_form(
                client,
                path,
                {
                    "name": "Mallory",
                    "password": "another-good-passphrase",
                    "password_confirm": "another-good-passphrase",
                },
            ),
        ):
            assert again.status_code == 410
            assert "already used" in again.text
    user = await load_user(engine, org.tenant, invited.id)
    assert user.status == "active" and user.name == "Amani W. Otieno"
    assert user.email_verified_at is not None  # the link proved the address
    assert [e.subject_email for e in await audit_entries(engine, org.tenant, "user.invitation.accepted")][-1] == email
    [sent] = [e for e in await audit_entries(engine, org.tenant, "user.invited") if e.subject_email == email]
    assert sent.actor_email == org.admin.email and sent.details["roles"] == ["teacher", "parent"]
    # The new member signs in with the password they chose.
    async with browser(org.tenant) as client:
        assert (await sign_in(client, email, NEW_PASSWORD)).status_code == 303


async def test_an_expired_invitation_is_refused(signed_in, browser, org, engine, mail_sink, run_jobs):
    email = f"late.{uuid.uuid4().hex[:6]}@example.org"
    async with signed_in(org.admin) as admin:
        assert (await invite(admin, email)).status_code == 303
    path = await invitation_link(mail_sink, run_jobs, email)
    await tenant_sql(
        engine,
        org.tenant,
        "UPDATE email_tokens SET expires_at = now() - interval '1 minute' "
        "WHERE user_id = (SELECT id FROM users WHERE email = :e)",
        e=email,
    )
    async with browser(org.tenant) as client:
        page = await client.get(path)
        assert page.status_code == 410 and "expired" in page.text
        post = await post_form(
            client, path, {"name": "Late", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        )
        assert post.status_code == 410
        assert session_of(client) is None
    rows = await tenant_sql(engine, org.tenant, "SELECT status, password_hash FROM users WHERE email = :e", e=email)
    assert rows == [("invited", None)]


async def test_unknown_links_are_refused(browser, org):
    async with browser(org.tenant) as client:
        response = await client.get("/auth/invitation/" + "x" * 43)
    assert response.status_code == 410 and "not valid" in response.text


async def test_a_refused_password_keeps_the_name_and_the_link(signed_in, browser, org, mail_sink, run_jobs, engine):
    email = f"weak.{uuid.uuid4().hex[:6]}@example.org"
    async with signed_in(org.admin) as admin:
        await invite(admin, email)
    path = await invitation_link(mail_sink, run_jobs, email)
    async with browser(org.tenant) as client:
        for data, field, message in (
            (
                {"name": "Baraka", "password": "password1234", "password_confirm": "password1234"},
                "password",
                "too common",
            ),
            ({"name": "Baraka", "password": "short", "password_confirm": "short"}, "password", "at least 10"),
            (
                {"name": "Baraka", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"},
                "password_confirm",
                "not the same",
            ),
            ({"name": "  ", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, "name", "Enter your name"),
        ):
            response = await post_form(client, path, data)
            assert response.status_code == 422, data
            assert f'id="e-{field}"' in response.text and message in response.text
            if data["name"].strip():
                assert 'value="Baraka"' in response.text
            assert data["password"] not in response.text.split("<main", 1)[1]
            assert session_of(client) is None
        # Still usable: the mistakes did not spend it.
        assert (
            await post_form(
                client, path, {"name": "Baraka", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
            )
        ).status_code == 303
    [(name, status)] = await tenant_sql(engine, org.tenant, "SELECT name, status FROM users WHERE email = :e", e=email)
    assert (name, status) == ("Baraka", "active")


async def test_inviting_an_existing_member_is_a_field_error(signed_in, org, make_user):
    member = await make_user(org.tenant, ["student"], password=None, status="active")
    async with signed_in(org.admin) as admin:
        response = await invite(admin, member.email.upper(), name="Twice")
        assert response.status_code == 422
        assert 'id="e-email"' in response.text and "already a member" in response.text
        assert 'value="Twice"' in response.text
        for data, field in (
            ({"email": "not-an-email", "roles": ["teacher"]}, "email"),
            ({"email": f"n{uuid.uuid4().hex[:6]}@example.org"}, "roles"),
            ({"email": f"n{uuid.uuid4().hex[:6]}@example.org", "roles": ["superuser"]}, "roles"),
        ):
            bad = await post_form(admin, "/admin/users/invite", data)
            assert bad.status_code == 422 and f'id="e-{field}"' in bad.text, data


async def test_invitation_emails_are_limited(signed_in, fresh_org, engine, run_jobs, make_user):
    invited = await make_user(fresh_org.tenant, ["student"], password=None)
    async with signed_in(fresh_org.admin) as admin:
        # Per address: the same person gets at most 5 invitation emails an hour.
        for _ in range(5):
            response = await post_form(admin, f"/admin/users/{invited.id}/resend-invitation")
            assert response.status_code == 303
        refused = await post_form(admin, f"/admin/users/{invited.id}/resend-invitation")
        assert refused.status_code == 429 and "Too many invitations" in refused.text
        # Per sender: 20 an hour in all (5 already went out above).
        for i in range(15):
            assert (await invite(admin, f"bulk{i}@example.org")).status_code == 303, i
        limited = await invite(admin, "one-too-many@example.org", name="Extra")
        assert limited.status_code == 429
        assert "Too many invitations" in limited.text and 'value="Extra"' in limited.text
    # The refused invitation did not create an account either.
    assert (
        await tenant_sql(engine, fresh_org.tenant, "SELECT id FROM users WHERE email = 'one-too-many@example.org'")
        == []
    )
    assert len(await audit_entries(engine, fresh_org.tenant, "user.invited")) == 20
    await drain(run_jobs)


async def test_an_invitation_link_means_nothing_on_another_organization(
    signed_in, browser, org, other_org, mail_sink, run_jobs, engine
):
    email = f"cross.{uuid.uuid4().hex[:6]}@example.org"
    async with signed_in(org.admin) as admin:
        await invite(admin, email)
    path = await invitation_link(mail_sink, run_jobs, email)
    async with browser(other_org.tenant) as client:
        page = await client.get(path)
        assert page.status_code == 410 and "not valid" in page.text
        post = await post_form(client, path, {"name": "X", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
        assert post.status_code == 410 and session_of(client) is None
    # Still valid where it belongs.
    async with browser(org.tenant) as client:
        assert (await client.get(path)).status_code == 200


async def test_an_invitation_is_one_outcome(client_for, fresh_org, engine, mail_sink, run_jobs):
    """Member, link, audit entry and outbox message are committed together; the email follows once."""
    from sqlalchemy import select

    from tajiconnect.db.session import session_scope
    from tajiconnect.tasks.models import OutboxMessage
    from tajiconnect.tenancy.context import tenant_context

    org = fresh_org
    async with client_for(org.tenant) as client:
        response = await client.post(
            "/api/v1/users", json={"email": "one.outcome@example.org", "roles": ["student"]},
            headers=await bearer_for(client, org.admin),
        )
        assert response.status_code == 201
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            messages = list((await session.scalars(select(OutboxMessage))).all())
    [message] = [m for m in messages if m.kwargs.get("to") == "one.outcome@example.org"]
    assert message.task == "send_email" and message.dispatched_at is not None
    assert [e.subject_email for e in await audit_entries(engine, org.tenant, "user.invited")].count(
        "one.outcome@example.org") == 1
    await drain(run_jobs)
    assert len(mail_sink.to("one.outcome@example.org")) == 1
