"""The operators' organization list and organization page: licenses, seats, suspend/resume, audit, access."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.licensing.service import get_license, set_license
from tajiconnect.platform.service import create_operator
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import add_domain
from tests.conftest import BASE_DOMAIN
from tests.helpers import sign_in_operator
from tests.integration.conftest import (
    OPERATOR_COOKIE,
    SESSION_COOKIE,
    csrf,
    post_form,
    session_of,
    set_user,
    with_cookie,
)

OPERATOR_PASSWORD = "amber-compass-willow-seventeen"
HTMX = {"HX-Request": "true", "HX-Target": "platform-tenants"}

_tokens: dict[str, str] = {}


@pytest.fixture(scope="module")
async def operator(engine):
    return await create_operator(
        engine, email=f"console.{uuid.uuid4().hex[:6]}@taji.example", name="Console", password=OPERATOR_PASSWORD
    )


@pytest.fixture
def as_operator(browser, operator) -> Callable[[], Any]:
    """``async with as_operator() as client``: a browser on the apex host, signed in as the operator (the session
    is reused across the module's tests: each sign-in costs a password hash)."""

    @asynccontextmanager
    async def open_operator() -> AsyncIterator[Any]:
        async with browser(None) as client:
            token = _tokens.get(operator.email)
            if token is None:
                await sign_in_operator(client, operator.email, OPERATOR_PASSWORD)  # with the second factor
                token = _tokens[operator.email] = client.cookies.get(OPERATOR_COOKIE)
            client.cookies.set(OPERATOR_COOKIE, token, domain=BASE_DOMAIN)
            await csrf(client, "/platform")  # the CSRF cookie a browser holds after opening a page
            yield client

    return open_operator


async def add_seat_holders(engine, make_user, tenant, count: int) -> list[Any]:
    """``count`` active learners holding a seat, plus members who hold none (a teacher, a deactivated learner)."""
    now = datetime.datetime.now(datetime.UTC)
    holders = [await make_user(tenant, ["student"]) for _ in range(count)]
    for member in holders:
        await set_user(engine, tenant, member.id, seat_assigned_at=now)
    await make_user(tenant, ["teacher"])
    await make_user(tenant, ["student"], status="deactivated")
    return holders


async def platform_entries(engine, slug: str, action: str | None = None) -> list[PlatformAuditEntry]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            stmt = select(PlatformAuditEntry).where(
                PlatformAuditEntry.target_type == "tenant", PlatformAuditEntry.target_id == slug
            )
            if action:
                stmt = stmt.where(PlatformAuditEntry.action == action)
            return list((await session.scalars(stmt.order_by(PlatformAuditEntry.occurred_at))).all())


async def public_rows(engine, sql: str, **params: Any) -> list[Any]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return list((await session.execute(text(sql), params)).all())


def row_of(html: str, slug: str) -> str:
    match = re.search(rf'<tr id="platform-tenant-{slug}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {slug}"
    return match.group(1)


def cell(row: str, label: str) -> str:
    match = re.search(rf'<td data-label="{re.escape(label)}"[^>]*>(.*?)</td>', row, re.S)
    assert match, f"no {label} cell in {row}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def dd(html: str, element_id: str) -> str:
    match = re.search(rf'<dd id="{element_id}">(.*?)</dd>', html, re.S)
    assert match, f"no #{element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


@pytest.fixture(scope="module")
async def schools(new_org, engine, make_user):
    """Two organizations sorting first ("aaop..."): 3 seat holders of 5 on Starter, and 1 of 10,000."""
    first = await new_org("aaop", kind="school")
    second = await new_org("aaop")
    await add_seat_holders(engine, make_user, first.tenant, 3)
    await add_seat_holders(engine, make_user, second.tenant, 1)
    await set_license(engine, first.tenant.slug, seats=5, plan="starter", status="trialing")
    return first, second


async def test_the_list_shows_each_tenants_plan_seats_and_license_status(as_operator, schools):
    first, second = schools
    async with as_operator() as client:
        page = await client.get("/platform")
    assert page.status_code == 200
    one, two = row_of(page.text, first.tenant.slug), row_of(page.text, second.tenant.slug)
    assert cell(one, "Seats used / purchased") == "3 / 5"
    assert cell(two, "Seats used / purchased") == "1 / 10000"
    assert (cell(one, "Plan"), cell(one, "License"), cell(one, "Kind")) == ("Starter", "Trial", "School")
    assert (cell(two, "Plan"), cell(two, "License"), cell(two, "Kind")) == ("Standard", "Active", "Company")
    assert cell(one, "Status") == "Active"
    # Each row leads to the organization's page.
    assert f'<a href="/platform/tenants/{first.tenant.slug}">{first.tenant.name}</a>' in one


async def test_the_list_is_paginated_and_htmx_swaps_only_the_list(as_operator, schools, engine, monkeypatch):
    from tajiconnect.platform import pages

    monkeypatch.setattr(pages, "PER_PAGE", 1)
    slugs = [s for (s,) in await public_rows(engine, "SELECT slug FROM public.tenants ORDER BY slug")]
    target = schools[1].tenant.slug
    number = slugs.index(target) + 1
    async with as_operator() as client:
        page = await client.get(f"/platform?page={number}")
        fragment = await client.get(f"/platform?page={number}", headers=HTMX)
    assert page.status_code == 200
    assert re.findall(r'<tr id="platform-tenant-([a-z0-9-]+)">', page.text) == [target]
    assert f"Page {number} of {len(slugs)}" in page.text
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.findall(r'<tr id="platform-tenant-([a-z0-9-]+)">', fragment.text) == [target]


async def test_the_organization_page_shows_tenant_and_license(as_operator, schools, engine):
    first, _ = schools
    domain = f"learn.{first.tenant.slug}.example.org"
    await add_domain(engine, first.tenant.slug, domain)
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{first.tenant.slug}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>{first.tenant.name}</h1>" in html
    assert f"<li>{first.tenant.slug}.{BASE_DOMAIN}</li>" in html and f"<li>{domain}</li>" in html
    assert dd(html, "platform-tenant-status") == "Active"
    assert (dd(html, "platform-seats-used"), dd(html, "platform-seats-purchased")) == ("3", "5")
    assert dd(html, "platform-seats-available") == "2"
    assert dd(html, "platform-license-status") == "Trial"
    today = datetime.date.today()
    assert dd(html, "platform-license-term") == f"{today.isoformat()} to {(today + datetime.timedelta(days=30))}"
    # The form starts from the current license, protected by a CSRF token.
    assert '<option value="starter" selected>Starter</option>' in html
    assert 'name="seats" type="number" value="5"' in html
    assert '<option value="trialing" selected>Trial</option>' in html
    assert f'action="/platform/tenants/{first.tenant.slug}/license"' in html
    assert html.count('name="_csrf_token"') >= 3  # license, suspend, sign-out
    assert f'action="/platform/tenants/{first.tenant.slug}/suspend"' in html


async def test_a_license_change_applies_to_that_tenant_only_and_is_audited(
    as_operator, new_org, engine, make_user, operator
):
    target, bystander = await new_org("aaopc"), await new_org("aaopc")
    await add_seat_holders(engine, make_user, target.tenant, 2)
    before_other = await get_license(engine, bystander.tenant.slug)
    async with as_operator() as client:
        response = await post_form(
            client,
            f"/platform/tenants/{target.tenant.slug}/license",
            {"plan": "enterprise", "seats": "1", "status": "past_due", "term_end": "2031-06-30"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/platform/tenants/{target.tenant.slug}?notice=license_saved"
        page = await client.get(response.headers["location"])
        listing = await client.get("/platform")
    assert "The license was saved." in page.text
    assert (dd(page.text, "platform-seats-used"), dd(page.text, "platform-seats-purchased")) == ("2", "1")
    assert dd(page.text, "platform-seats-available") == "0"
    assert "1 seat more is in use than purchased" in page.text
    assert dd(page.text, "platform-license-status") == "Past due"
    assert cell(row_of(listing.text, target.tenant.slug), "Seats used / purchased").startswith("2 / 1")

    changed = await get_license(engine, target.tenant.slug)
    assert (changed.plan_code, changed.seats, changed.status, changed.term_end) == (
        "enterprise", 1, "past_due", datetime.date(2031, 6, 30)
    )
    assert await get_license(engine, bystander.tenant.slug) == before_other
    assert await platform_entries(engine, bystander.tenant.slug) == []

    [entry] = await platform_entries(engine, target.tenant.slug, "platform.license.changed")
    assert entry.actor_id == operator.id and entry.actor_email == operator.email and entry.ip == "testclient"
    today = datetime.date.today()
    assert entry.details["before"] == {
        "plan": "standard", "seats": 10_000, "status": "active",
        "term_end": (today + datetime.timedelta(days=30)).isoformat(),
    }
    assert entry.details["after"] == {"plan": "enterprise", "seats": 1, "status": "past_due", "term_end": "2031-06-30"}

    # Saving the same values again changes nothing and records nothing; an empty end makes the term open-ended.
    async with as_operator() as client:
        again = await post_form(
            client,
            f"/platform/tenants/{target.tenant.slug}/license",
            {"plan": "enterprise", "seats": "1", "status": "past_due", "term_end": "2031-06-30"},
        )
        assert again.headers["location"].endswith("notice=nothing_changed")
        opened = await post_form(
            client,
            f"/platform/tenants/{target.tenant.slug}/license",
            {"plan": "enterprise", "seats": "1", "status": "past_due", "term_end": ""},
        )
        assert opened.headers["location"].endswith("notice=license_saved")
    assert (await get_license(engine, target.tenant.slug)).term_end is None
    entries = await platform_entries(engine, target.tenant.slug, "platform.license.changed")
    assert len(entries) == 2
    assert (entries[1].details["before"], entries[1].details["after"]) == (
        {"term_end": "2031-06-30"}, {"term_end": None}
    )


VALID = {"plan": "standard", "seats": "40", "status": "active", "term_end": ""}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"seats": "-1"}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"seats": "abc"}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"seats": "1.5"}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"seats": "1000001"}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"seats": "9" * 40}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"seats": ""}, "seats", "Enter a whole number of seats from 0 to 1000000."),
        ({"plan": "gold"}, "plan", "Choose one of the plans."),
        ({"status": "paid"}, "status", "Choose one of the statuses."),
        ({"term_end": "31/12/2030"}, "term_end", "Enter a date as YYYY-MM-DD"),
        ({"term_end": "2030-02-30"}, "term_end", "Enter a date as YYYY-MM-DD"),
        ({"term_end": "2001-01-01"}, "term_end", "The term cannot end before it starts"),
    ],
)
async def test_invalid_license_forms_re_render_with_field_errors_and_change_nothing(
    as_operator, schools, engine, changes, field, message
):
    slug = schools[1].tenant.slug
    before = await get_license(engine, slug)
    async with as_operator() as client:
        response = await post_form(client, f"/platform/tenants/{slug}/license", {**VALID, **changes})
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="e-{field}">[^<]*{re.escape(message)}', response.text)
    assert re.search(rf'id="f-{field}" name="{field}"[^>]*aria-invalid="true"', response.text)
    assert response.text.count('aria-invalid="true"') == 1  # only the field in error
    if field == "seats":  # what the operator typed comes back
        assert f'name="seats" type="number" value="{changes["seats"]}"' in response.text
    assert await get_license(engine, slug) == before
    assert await platform_entries(engine, slug, "platform.license.changed") == []


async def test_suspend_and_resume_from_the_organization_page(as_operator, new_org, signed_in, client_for, engine):
    org = await new_org("aaops")
    async with signed_in(org.admin) as member:
        assert (await member.get("/account/profile")).status_code == 200
        async with as_operator() as client:
            suspended = await post_form(client, f"/platform/tenants/{org.tenant.slug}/suspend")
            assert suspended.status_code == 303
            assert suspended.headers["location"].endswith("notice=tenant_suspended")
            page = await client.get(suspended.headers["location"])
            assert dd(page.text, "platform-tenant-status") == "Suspended"
            assert f'action="/platform/tenants/{org.tenant.slug}/resume"' in page.text
            # Suspending twice changes nothing more.
            assert (await post_form(client, f"/platform/tenants/{org.tenant.slug}/suspend")).status_code == 303

        for path in ("/", "/account/profile", "/auth/sign-in"):
            refused = await member.get(path)
            assert refused.status_code == 403, path
            assert f"{org.tenant.name} is suspended" in refused.text.replace("&#39;", "'")

        async with as_operator() as client:
            resumed = await post_form(client, f"/platform/tenants/{org.tenant.slug}/resume")
            assert resumed.headers["location"].endswith("notice=tenant_resumed")
        assert (await member.get("/account/profile")).status_code == 200

    entries = await platform_entries(engine, org.tenant.slug)
    assert [(e.action, e.details["before"], e.details["after"]) for e in entries] == [
        ("platform.tenant.suspended", {"status": "active"}, {"status": "suspended"}),
        ("platform.tenant.resumed", {"status": "suspended"}, {"status": "active"}),
    ]


async def test_unknown_organizations_are_404(as_operator):
    async with as_operator() as client:
        assert (await client.get("/platform/tenants/nosuchorg")).status_code == 404
        assert (await client.get("/platform/tenants/NOT%20A%20SLUG")).status_code == 404
        for action in ("license", "suspend", "resume"):
            response = await post_form(client, f"/platform/tenants/nosuchorg/{action}", VALID)
            assert response.status_code == 404, action


async def test_non_operators_cannot_reach_the_console(browser, signed_in, org, schools, engine):
    slug = schools[0].tenant.slug
    before = await get_license(engine, slug)
    paths = (f"/platform/tenants/{slug}", "/platform")
    async with browser(None) as client:  # anonymous, on the apex
        for path in paths:
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in", path
        token = await csrf(client, "/platform/sign-in")
        for action in ("license", "suspend"):
            response = await client.post(
                f"/platform/tenants/{slug}/{action}", data={**VALID, "seats": "99", "_csrf_token": token}
            )
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in", action
    async with signed_in(org.admin) as member:  # an organization admin
        tenant_token = session_of(member)
        for path in paths:
            assert (await member.get(path)).status_code == 404, path  # not on tenant hosts at all
        assert (await post_form(member, f"/platform/tenants/{slug}/suspend")).status_code == 404
    async with browser(None) as client:  # the admin's session cookie taken to the apex
        for name in (SESSION_COOKIE, OPERATOR_COOKIE):
            response = await with_cookie(client, f"/platform/tenants/{slug}", tenant_token, name=name)
            assert response.status_code == 303, name
    assert await get_license(engine, slug) == before
    assert (await get_license(engine, slug)).tenant_status == "active"
    assert await platform_entries(engine, slug) == []


async def test_changes_need_the_csrf_token(as_operator, schools, engine):
    slug = schools[0].tenant.slug
    before = await get_license(engine, slug)
    async with as_operator() as client:
        await client.get("/platform")
        for action in ("license", "suspend"):
            response = await client.post(f"/platform/tenants/{slug}/{action}", data={**VALID, "seats": "77"})
            assert response.status_code == 403, action
    assert await get_license(engine, slug) == before
    assert await platform_entries(engine, slug) == []
