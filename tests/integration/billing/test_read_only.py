"""Read-only mode: past due beyond the grace period (or a trial ended, cancelled, suspended), a tenant can read,
sign in and pay, and every other write is refused (a 403 page saying why, or a 403 problem body on the API);
within the grace period only a banner warns; once restored, writes work at once. Other tenants are unaffected."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing.models import License
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tests.integration.conftest import bearer, post_form, problem_of, sign_in, tokens_for


@pytest.fixture(scope="module")
def app(billing_settings, migrated):
    from tajiconnect.app import create_app

    return create_app(billing_settings)


async def set_billing_state(engine: Any, tenant: Any, **values: Any) -> None:
    """Change the license as Stripe's confirmed state would, then drop the host cache (as reconcile does)."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(update(License).where(License.tenant_id == tenant.id).values(**values))
    invalidate_tenant_cache()


def days_ago(days: int) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)


async def group_names(engine: Any, tenant: Any) -> list[str]:
    from tajiconnect.domains.groups.models import Group

    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.scalars(select(Group.name))).all())


async def test_past_due_beyond_grace_refuses_writes_but_reads_signs_in_and_pays(
    signed_in, browser, new_org, make_user, engine, localstripe
):
    org = await new_org("rop")
    other = await new_org("roq")
    learner = await make_user(org.tenant, ["student"])
    await set_billing_state(engine, org.tenant, status="past_due", past_due_since=days_ago(8))
    async with signed_in(org.admin) as client:
        refused = await post_form(client, "/groups/new", {"name": "Blocked team"})
        pages = [await client.get(path) for path in ("/admin/users", "/groups", "/admin/billing")]
        portal = await post_form(client, "/admin/billing/portal")
        read_all = await post_form(client, "/notifications/read-all")
        signed_out = await post_form(client, "/auth/sign-out")
    assert refused.status_code == 403
    assert "This change was not saved" in refused.text and "a payment has been overdue since" in refused.text
    assert 'id="read-only-billing"' in refused.text  # admins get the way out
    assert await group_names(engine, org.tenant) == []
    for page in pages:
        assert page.status_code == 200
        assert 'id="billing-banner"' in page.text and "This organization is read-only" in page.text
        assert "Everything stays saved" in page.text
    assert portal.status_code == 303 and portal.headers["location"].startswith("https://billing.stripe.test/")
    assert read_all.status_code == 303 and signed_out.status_code == 303
    async with browser(org.tenant) as client:  # signing in works
        assert (await sign_in(client, learner.email, learner.password)).status_code == 303
        page = await client.get("/learn")
        blocked = await post_form(client, "/family/code")
    assert page.status_code == 200 and "This organization is read-only" in page.text
    assert blocked.status_code == 403 and 'id="read-only-billing"' not in blocked.text
    assert "An administrator of your organization can restore full access" in blocked.text
    async with browser(org.tenant) as client:  # the API: tokens work, writes are a 403 problem, reads work
        tokens = await tokens_for(client, org.admin)
        auth = bearer(tokens["access_token"])
        api = await client.post("/api/v1/teams", json={"name": "API team"}, headers=auth)
        listed = await client.get("/api/v1/teams", headers=auth)
    body = problem_of(api, 403)
    assert "read-only" in body["detail"] and body["title"] == "Access denied"
    assert listed.status_code == 200
    # Another organization is not affected.
    async with signed_in(other.admin) as client:
        fine = await post_form(client, "/groups/new", {"name": "Other team"})
        other_page = await client.get("/groups")
    assert fine.status_code == 303 and 'id="billing-banner"' not in other_page.text
    assert await group_names(engine, other.tenant) == ["Other team"]


async def test_within_grace_only_a_banner_and_restoring_lifts_read_only_at_once(signed_in, new_org, engine):
    org = await new_org("rog")
    await set_billing_state(engine, org.tenant, status="past_due", past_due_since=days_ago(2))
    async with signed_in(org.admin) as client:
        page = await client.get("/groups")
        written = await post_form(client, "/groups/new", {"name": "Still fine"})
    assert page.status_code == 200 and 'id="billing-banner"' in page.text
    assert "A payment failed. Unless it is paid by" in page.text and 'href="/admin/billing"' in page.text
    assert written.status_code == 303
    await set_billing_state(engine, org.tenant, past_due_since=days_ago(9))
    async with signed_in(org.admin) as client:
        assert (await post_form(client, "/groups/new", {"name": "Refused"})).status_code == 403
    await set_billing_state(engine, org.tenant, status="active", past_due_since=None)  # paid: Stripe says active
    async with signed_in(org.admin) as client:
        restored = await post_form(client, "/groups/new", {"name": "Restored"})
        page = await client.get("/groups")
    assert restored.status_code == 303 and 'id="billing-banner"' not in page.text
    assert sorted(await group_names(engine, org.tenant)) == ["Restored", "Still fine"]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"status": "trialing", "term_end": datetime.date.today() - datetime.timedelta(days=1)},
         "the trial has ended"),
        ({"status": "cancelled", "cancelled_at": days_ago(3)}, "the subscription was cancelled"),
        ({"status": "suspended"}, "the license is suspended"),
    ],
)
async def test_every_read_only_reason_is_explained(signed_in, new_org, engine, values, reason):
    org = await new_org("ror")
    await set_billing_state(engine, org.tenant, term_start=datetime.date.today() - datetime.timedelta(days=40),
                            **values)
    async with signed_in(org.admin) as client:
        refused = await post_form(client, "/groups/new", {"name": "No"})
        billing = await client.get("/admin/billing")
    assert refused.status_code == 403 and reason in refused.text
    assert billing.status_code == 200 and reason in billing.text
    await set_billing_state(engine, org.tenant, status="active", term_end=None, cancelled_at=None)
