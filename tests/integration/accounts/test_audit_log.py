"""The tenant audit log as admins browse it: the page (filters, pages, HTMX) and ``GET /api/v1/audit-log``."""

from __future__ import annotations

import datetime
import re

import pytest

from tests.integration.conftest import (
    audit_entries,
    bearer,
    create_member,
    post_form,
    seed_audit,
    tokens_for,
)

TODAY = datetime.datetime.now(datetime.UTC).date()
DAY = datetime.timedelta(days=1)


def actions(html: str) -> list[str]:
    return re.findall(r"<td[^>]*><code>([^<]+)</code></td>", html)


@pytest.fixture(scope="module")
async def logged(new_org, engine):
    """An organization with 60 bulk entries from three days ago (the real admin actions come in ``acted``)."""
    org = await new_org("acca")
    await seed_audit(
        engine, org.tenant, "test.bulk", 60, email="bulk@example.org", ip="203.0.113.1", ago=datetime.timedelta(days=3)
    )
    return org


@pytest.fixture
async def admin_client(signed_in, logged, engine):
    """The admin, signed in, after deactivating and reactivating a member (once per module)."""
    async with signed_in(logged.admin) as client:
        if not await audit_entries(engine, logged.tenant, "user.deactivated"):
            member = await create_member(
                engine, logged.tenant, ["student"], None, email="target@example.org", status="active"
            )
            assert (await post_form(client, f"/admin/users/{member.id}/deactivate")).status_code == 303
            assert (await post_form(client, f"/admin/users/{member.id}/reactivate")).status_code == 303
        yield client


async def test_the_page_lists_newest_first_fifty_a_page(admin_client, logged, engine):
    first = await admin_client.get("/admin/audit")
    second = await admin_client.get("/admin/audit?page=2")
    assert first.status_code == 200
    total = len(await audit_entries(engine, logged.tenant))
    assert 63 <= total < 100  # 60 bulk, deactivated, reactivated and at least one sign-in
    assert f"{total} entries" in first.text and "Page 1 of 2" in first.text
    assert len(actions(first.text)) == 50 and len(actions(second.text)) == total - 50
    newest = [a for a in actions(first.text) if not a.startswith("auth.")][:3]
    assert newest == ["user.reactivated", "user.deactivated", "test.bulk"]
    assert set(actions(second.text)) == {"test.bulk"}
    assert "203.0.113.1" in second.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=user.deactivated", ["user.deactivated"]),
        ("action=user.", ["user.reactivated", "user.deactivated"]),
        ("actor=TARGET@example", ["user.reactivated", "user.deactivated"]),
        (f"since={TODAY - 2 * DAY}&action=user.", ["user.reactivated", "user.deactivated"]),
        (f"since={TODAY - 2 * DAY}&action=test.", []),
        (f"until={TODAY - 2 * DAY}&action=user.", []),
        (f"since={TODAY + DAY}", []),
    ],
)
async def test_page_filters(admin_client, query, expected):
    response = await admin_client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert actions(response.text) == expected


async def test_date_range_selects_the_old_entries(admin_client):
    old = TODAY - 3 * DAY
    response = await admin_client.get(f"/admin/audit?since={old}&until={old}")
    assert "60 entries" in response.text


async def test_htmx_filter_returns_only_the_results(admin_client):
    response = await admin_client.get(
        "/admin/audit?action=user.", headers={"HX-Request": "true", "HX-Target": "audit-results"}
    )
    assert "<html" not in response.text and "2 entries" in response.text


async def test_a_bad_date_on_the_page_is_a_form_error(admin_client):
    response = await admin_client.get("/admin/audit?since=yesterday")
    assert response.status_code == 422
    assert "since must be a date" in response.text


async def test_the_api_lists_and_filters(admin_client, logged):
    client = admin_client
    token = (await tokens_for(client, logged.admin))["access_token"]
    everything = (await client.get("/api/v1/audit-log?per_page=200", headers=bearer(token))).json()
    items = everything["items"]
    assert len(items) == everything["total"] >= 64
    assert [e["action"] for e in items[-60:]] == ["test.bulk"] * 60  # newest first
    assert items[0]["action"] == "auth.sign_in.success" and items[0]["details"]["channel"] == "api"  # just now
    page = (await client.get("/api/v1/audit-log?per_page=10&page=2", headers=bearer(token))).json()
    assert page["page"] == 2 and page["per_page"] == 10
    assert [e["id"] for e in page["items"]] == [e["id"] for e in items[10:20]]
    deactivated = (await client.get("/api/v1/audit-log?action=user.deactivated", headers=bearer(token))).json()
    [entry] = deactivated["items"]
    assert entry["actor_email"] == logged.admin.email
    assert entry["subject_email"] == "target@example.org"
    assert entry["ip"] == "testclient" and entry["target_type"] == "user"
    assert datetime.datetime.fromisoformat(entry["occurred_at"]).date() == TODAY
    old = TODAY - 3 * DAY
    ranged = (await client.get(f"/api/v1/audit-log?since={old}&until={old}&per_page=200", headers=bearer(token))).json()
    assert ranged["total"] == 60 and {e["action"] for e in ranged["items"]} == {"test.bulk"}
    by_actor = (await client.get("/api/v1/audit-log?actor=bulk@", headers=bearer(token))).json()
    assert by_actor["total"] == 60
    for bad in ("since=2024-13-01", "until=soon", "per_page=201", "page=0"):
        response = await client.get(f"/api/v1/audit-log?{bad}", headers=bearer(token))
        assert response.status_code == 400, bad
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 400
