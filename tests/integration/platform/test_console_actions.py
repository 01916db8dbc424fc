"""The operators' console beyond licenses: search and filter, last activity, billing events of one tenant, extend
a trial, export a tenant (the archive's content), download it, and delete a tenant after its retention."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import uuid
import zipfile
from typing import Any

import pytest
from sqlalchemy import select, text

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.domains.licensing.service import get_license, set_license
from tajiconnect.domains.storage.service import Storage
from tajiconnect.platform.models import TenantExport
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.slugs import schema_for
from tests.integration.conftest import csrf, post_form, set_user
from tests.integration.platform.test_operator_console import (
    cell,
    platform_entries,
    public_rows,
    row_of,
)

HTMX = {"HX-Request": "true", "HX-Target": "platform-tenants"}


def slugs_in(html: str) -> list[str]:
    return re.findall(r'<tr id="platform-tenant-([a-z0-9-]+)">', html)


async def set_billing(engine, slug: str, **values: Any) -> None:
    """Set license columns directly (what Stripe's reconciliation would have written)."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await session.execute(text(
                f"UPDATE public.licenses SET {assignments} WHERE tenant_id = (SELECT id FROM public.tenants"
                " WHERE slug = :slug)"), {**values, "slug": slug})


# --- the list -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def searchable(new_org, engine, make_user):
    """Three organizations with a rare word in their names; one trialing, one cancelled, one with a sign-in."""
    word = f"zq{uuid.uuid4().hex[:5]}"
    first = await new_org("aasrch", name=f"Kilima {word} Academy")
    second = await new_org("aasrch", name=f"Pwani {word} Ltd")
    third = await new_org("aasrch", name=f"Ziwa {word}_% Works")
    await set_license(engine, second.tenant.slug, status="trialing")
    await set_license(engine, third.tenant.slug, status="cancelled")
    member = await make_user(first.tenant, ["student"])
    signed = datetime.datetime(2026, 5, 4, 3, 2, tzinfo=datetime.UTC)
    await set_user(engine, first.tenant, member.id, last_sign_in_at=signed)
    await set_user(engine, first.tenant, first.admin.id, last_sign_in_at=signed - datetime.timedelta(days=2))
    return word, first, second, third, signed


async def test_the_list_searches_slug_or_name_and_filters_by_license_status(as_operator, searchable):
    word, first, second, third, _ = searchable
    async with as_operator() as client:
        by_name = await client.get("/platform", params={"q": word.upper()})
        by_slug = await client.get("/platform", params={"q": second.tenant.slug})
        trialing = await client.get("/platform", params={"q": word, "status": "trialing"})
        literal = await client.get("/platform", params={"q": f"{word}_%"})
        wildcard = await client.get("/platform", params={"q": "%"})
        fragment = await client.get("/platform", params={"q": word, "status": "cancelled"}, headers=HTMX)
        unknown_status = await client.get("/platform", params={"q": word, "status": "bogus"})
    assert sorted(slugs_in(by_name.text)) == sorted(o.tenant.slug for o in (first, second, third))
    assert "3 organizations" in by_name.text
    assert slugs_in(by_slug.text) == [second.tenant.slug]
    assert slugs_in(trialing.text) == [second.tenant.slug]
    # "%" and "_" match themselves: only the name that holds them.
    assert slugs_in(literal.text) == [third.tenant.slug]
    assert slugs_in(wildcard.text) == [third.tenant.slug]
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert slugs_in(fragment.text) == [third.tenant.slug]
    assert len(slugs_in(unknown_status.text)) == 3  # an unknown status filters nothing
    # The search form keeps what was asked, and live-searches with HTMX.
    assert f'value="{word.upper()}"' in by_name.text and 'hx-get="/platform"' in by_name.text


async def test_the_list_is_paginated_within_a_search(as_operator, searchable, monkeypatch):
    from tajiconnect.platform import pages

    word = searchable[0]
    monkeypatch.setattr(pages, "PER_PAGE", 2)
    async with as_operator() as client:
        one = await client.get("/platform", params={"q": word})
        two = await client.get("/platform", params={"q": word, "page": 2}, headers=HTMX)
    assert len(slugs_in(one.text)) == 2 and len(slugs_in(two.text)) == 1
    assert "Page 1 of 2" in one.text
    # The pager's links carry the search.
    assert f'href="?q={word}&amp;status=&page=2"' in one.text


async def test_the_list_shows_subscription_state_and_last_activity(as_operator, searchable, engine):
    word, first, second, third, _ = searchable
    await set_billing(engine, third.tenant.slug, stripe_subscription_id=f"sub_{uuid.uuid4().hex[:10]}",
                      subscription_status="canceled")
    async with as_operator() as client:
        page = await client.get("/platform", params={"q": word})
    one, two, three = (row_of(page.text, o.tenant.slug) for o in (first, second, third))
    assert cell(one, "Last activity") == "2026-05-04 03:02 UTC"  # the latest sign-in of any member
    assert cell(two, "Last activity") == "never"
    assert cell(one, "Subscription") == "not billed"
    assert cell(three, "Subscription") == "canceled"
    assert cell(two, "License") == "Trial" and cell(three, "License") == "Cancelled"


async def test_the_list_reads_every_tenant_schema_in_one_round_trip(searchable, engine):
    """Seats used and last activity of a page of tenants: one UNION ALL, not a query per tenant."""
    from sqlalchemy import event

    from tajiconnect.domains.licensing.service import list_licenses

    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        views, _ = await list_licenses(engine, limit=50)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(views) >= 3
    per_schema = [s for s in seen if ".users" in s]
    assert len(per_schema) == 1 and per_schema[0].count("UNION ALL") == len(views) - 1
    assert len(seen) <= 4  # search path, count, page, usage


# --- billing events ------------------------------------------------------------------------------------------------


async def add_event(engine, tenant_id: uuid.UUID | None, kind: str, *, minutes: int = 0,
                    status: str = "processed", error: str | None = None) -> str:
    event_id = f"evt_{uuid.uuid4().hex[:14]}"
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            session.add(BillingEvent(
                id=event_id, type=kind, payload={"id": event_id, "type": kind},
                stripe_created_at=datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
                + datetime.timedelta(minutes=minutes),
                tenant_id=tenant_id, status=status, error=error, livemode=False,
            ))
    return event_id


async def test_the_tenant_page_shows_the_billing_events_of_that_tenant_only(as_operator, new_org, engine, monkeypatch):
    from tajiconnect.platform import pages

    mine, other = await new_org("aaevt"), await new_org("aaevt")
    first = await add_event(engine, mine.tenant.id, "invoice.paid", minutes=1)
    second = await add_event(engine, mine.tenant.id, "invoice.payment_failed", minutes=2, status="failed",
                             error="RuntimeError: boom")
    theirs = await add_event(engine, other.tenant.id, "customer.updated", minutes=3)
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{mine.tenant.slug}")
        monkeypatch.setattr(pages, "EVENTS_PER_PAGE", 1)
        paged = await client.get(f"/platform/tenants/{mine.tenant.slug}?page=2",
                                 headers={"HX-Request": "true", "HX-Target": "platform-events"})
    html = page.text
    assert f'id="event-{first}"' in html and f'id="event-{second}"' in html and theirs not in html
    assert html.index(second) < html.index(first)  # newest first
    assert "RuntimeError: boom" in html and "2 events" in html
    assert ">failed<" in html and ">processed<" in html  # the status in words (translated)
    assert "2026-06-01 12:02:00 UTC" in html
    assert "<html" not in paged.text and f'id="event-{first}"' in paged.text and second not in paged.text


# --- extend trial --------------------------------------------------------------------------------------------------


async def test_extend_trial_only_while_trialing_and_audited(as_operator, new_org, engine, operator):
    org = await new_org("aatrial")
    slug = org.tenant.slug
    today = datetime.date.today()
    await set_license(engine, slug, status="trialing", until=today + datetime.timedelta(days=3))
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{slug}")
        assert f'action="/platform/tenants/{slug}/extend-trial"' in page.text
        for bad in ("0", "366", "abc", ""):
            refused = await post_form(client, f"/platform/tenants/{slug}/extend-trial", {"days": bad})
            assert refused.status_code == 422, bad
            assert 'id="e-days"' in refused.text
        done = await post_form(client, f"/platform/tenants/{slug}/extend-trial", {"days": "10"})
        assert done.status_code == 303 and done.headers["location"].endswith("notice=trial_extended")
        shown = await client.get(done.headers["location"])
    assert "The trial was extended." in shown.text
    assert (await get_license(engine, slug)).term_end == today + datetime.timedelta(days=13)
    [entry] = await platform_entries(engine, slug, "platform.trial.extended")
    assert entry.actor_email == operator.email and entry.details["days"] == 10
    assert entry.details["before"] == {"term_end": (today + datetime.timedelta(days=3)).isoformat()}
    assert entry.details["after"] == {"term_end": (today + datetime.timedelta(days=13)).isoformat()}

    # An active license has no trial to extend: no form, and the POST is refused.
    await set_license(engine, slug, status="active")
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{slug}")
        refused = await post_form(client, f"/platform/tenants/{slug}/extend-trial", {"days": "5"})
    assert "extend-trial" not in page.text
    assert refused.status_code == 422 and "Only a trial can be extended" in refused.text
    assert (await get_license(engine, slug)).term_end == today + datetime.timedelta(days=13)
    assert len(await platform_entries(engine, slug, "platform.trial.extended")) == 1


async def test_hand_license_changes_are_allowed_when_billing_is_not_configured(as_operator, new_org, engine):
    org = await new_org("aahand")
    await set_billing(engine, org.tenant.slug, stripe_subscription_id=f"sub_{uuid.uuid4().hex[:10]}",
                      subscription_status="active")
    async with as_operator() as client:
        page = await client.get(f"/platform/tenants/{org.tenant.slug}")
        assert "Stripe decides" not in page.text
        saved = await post_form(client, f"/platform/tenants/{org.tenant.slug}/license",
                                {"plan": "standard", "seats": "12", "status": "active", "term_end": ""})
    assert saved.status_code == 303
    assert (await get_license(engine, org.tenant.slug)).seats == 12


# --- export, download, delete -----------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 40)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def doomed(new_org, engine, settings, make_user):
    """An organization with a stored file and a few members."""
    org = await new_org("aadel")
    for _ in range(2):
        await make_user(org.tenant, ["student"])
    data = tiny_png()
    storage = Storage.from_settings(settings)
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            stored = await storage.save(session, data, filename="logo.png", purpose="image", user=None)
    return org, stored, data


async def export_and_build(client, run_jobs, engine, slug: str) -> TenantExport:
    """Export ``slug`` from its page, run the background job, and return the export row."""
    response = await post_form(client, f"/platform/tenants/{slug}/export")
    assert response.status_code == 303 and response.headers["location"].endswith("notice=export_requested")
    pending = await client.get(f"/platform/tenants/{slug}")
    assert 'hx-trigger="every 2s"' in pending.text  # the page polls while the archive is built
    while await run_jobs():
        pass
    progress = await client.get(f"/platform/tenants/{slug}/exports")
    assert "every 2s" not in progress.text and "Download the archive" in progress.text
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            row = await session.scalar(select(TenantExport).where(TenantExport.slug == slug)
                                       .order_by(TenantExport.created_at.desc()).limit(1))
    assert row is not None
    return row


async def test_an_export_holds_every_table_and_file_and_downloads(
    as_operator, doomed, engine, run_jobs, new_org, settings
):
    org, stored, data = doomed
    slug = org.tenant.slug
    other = await new_org("aadelo")
    async with as_operator() as client:
        export = await export_and_build(client, run_jobs, engine, slug)
        assert export.status == "ready" and export.storage_key == f"platform/exports/{export.id}.zip"
        page = await client.get(f"/platform/tenants/{slug}")
        link = f"/platform/tenants/{slug}/exports/{export.id}/download"
        assert link in page.text
        download = await client.get(link)
        # Another organization's page does not lead to this export; an unknown id is not found either.
        assert (await client.get(f"/platform/tenants/{other.tenant.slug}/exports/{export.id}/download")
                ).status_code == 404
        assert (await client.get(f"/platform/tenants/{slug}/exports/{uuid.uuid4()}/download")).status_code == 404
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert "attachment" in download.headers["content-disposition"]
    body = download.content
    assert len(body) == export.size_bytes and hashlib.sha256(body).hexdigest() == export.sha256
    [audit] = await platform_entries(engine, slug, "platform.export.downloaded")
    assert audit.details["export_id"] == str(export.id)
    assert len(await platform_entries(engine, slug, "platform.tenant.export_requested")) == 1

    archive = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["slug"], manifest["name"], manifest["kind"]) == (slug, org.tenant.name, "company")
    assert manifest["migration_revision"] and manifest["exported_at"]
    schema = schema_for(slug)
    real_tables = [r[0] for r in await public_rows(
        engine, "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
        " AND table_type = 'BASE TABLE' ORDER BY table_name", s=schema)]
    assert sorted(t["name"] for t in manifest["tables"]) == sorted(real_tables)
    for table in manifest["tables"]:
        [(count,)] = await public_rows(engine, f'SELECT count(*) FROM "{schema}"."{table["name"]}"')
        rows = list(csv.reader(io.StringIO(archive.read(table["csv"]).decode())))
        assert len(rows) - 1 == count == table["rows"], table["name"]  # a header, then each row
        assert rows[0] == [c["name"] for c in table["columns"]]
    users = list(csv.DictReader(io.StringIO(archive.read("tables/users.csv").decode())))
    assert f"admin@{slug}.example" in {u["email"] for u in users} and len(users) == 3
    # The stored file, byte for byte; every entry listed with its size and SHA-256.
    assert archive.read(f"files/{stored.id}/original") == data
    listed = {f["path"]: f for f in manifest["files"]}
    for name in archive.namelist():
        if name != "manifest.json":
            content = archive.read(name)
            assert listed[name]["size"] == len(content)
            assert listed[name]["sha256"] == hashlib.sha256(content).hexdigest()
    ddl = archive.read("schema.sql").decode()
    body = ddl.split("\n", 1)[1]
    assert 'CREATE TABLE "users"' in body and "FOREIGN KEY" in body and schema not in body
    # The DDL builds the same tables in an empty schema.
    copy = f"ddlcheck_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        await pg.execute(f'CREATE SCHEMA "{copy}"')
        await pg.execute(f'SET LOCAL search_path TO "{copy}"')
        await pg.execute(body)
        rebuilt = [r[0] for r in await (await pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (copy,))
        ).fetchall()]
        await pg.rollback()
    assert rebuilt == sorted(real_tables)


async def test_delete_is_refused_until_cancelled_retained_exported_and_confirmed(
    as_operator, doomed, engine, run_jobs, settings, operator
):
    org, stored, _ = doomed
    slug = org.tenant.slug
    storage = Storage.from_settings(settings)
    object_path = settings.storage.directory / stored.key
    assert object_path.is_file()

    async def delete(**fields: str) -> Any:
        return await post_form(client, f"/platform/tenants/{slug}/delete", {"confirm": slug, **fields})

    async with as_operator() as client:
        active = await delete()
        assert active.status_code == 422 and "Only an organization whose license is cancelled" in active.text
        await set_license(engine, slug, status="cancelled")
        undated = await delete()  # cancelled by hand: no date to keep the data until
        assert undated.status_code == 422 and "No retention date is recorded" in undated.text
        # Cancelled 10 days ago: kept for TAJI_RETENTION_DAYS (90) after that.
        ten_days_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=10)
        await set_billing(engine, slug, cancelled_at=ten_days_ago)
        retained = await delete()
        assert retained.status_code == 422
        assert f"kept until {(ten_days_ago + datetime.timedelta(days=90)).date()}" in retained.text
        await set_billing(engine, slug, retain_until=datetime.date.today() + datetime.timedelta(days=5))
        retained = await delete()
        assert retained.status_code == 422 and "The data is kept until" in retained.text
        await set_billing(engine, slug, retain_until=datetime.date.today() - datetime.timedelta(days=1))
        unexported = await delete()
        assert unexported.status_code == 422 and "Export the organization first" in unexported.text
        export = await export_and_build(client, run_jobs, engine, slug)
        wrong = await delete(confirm=slug + "x")
        assert wrong.status_code == 422 and "Type the organization&#39;s slug exactly" in wrong.text
        assert 'id="f-confirm"' in wrong.text and 'aria-invalid="true"' in wrong.text
        # A sign-in after the export is a change the export does not hold.
        await set_user(engine, org.tenant, org.admin.id,
                       last_sign_in_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5))
        stale = await delete()
        assert stale.status_code == 422 and "changed after its latest export" in stale.text
        await set_user(engine, org.tenant, org.admin.id, last_sign_in_at=None)
        stale = await delete()  # that change is one too (the user's row is newer than the export)
        assert stale.status_code == 422 and "changed after its latest export" in stale.text
        # So is a row written after it in any table, audited or not (here the stored file's).
        export = await export_and_build(client, run_jobs, engine, slug)
        await public_rows(engine, f'UPDATE "{schema_for(slug)}".stored_files SET updated_at = :t RETURNING 1',
                          t=datetime.datetime.now(datetime.UTC))
        stale = await delete()
        assert stale.status_code == 422 and "changed after its latest export" in stale.text
        export = await export_and_build(client, run_jobs, engine, slug)
        assert await public_rows(engine, "SELECT 1 FROM public.tenants WHERE slug = :s", s=slug)
        assert await platform_entries(engine, slug, "platform.tenant.deleted") == []

        deleted = await delete()
        assert deleted.status_code == 303 and deleted.headers["location"] == "/platform?notice=tenant_deleted"
        assert (await client.get(f"/platform/tenants/{slug}")).status_code == 404
        # The export outlives the tenant and stays downloadable, from the list's archives of deleted organizations.
        link = f"/platform/tenants/{slug}/exports/{export.id}/download"
        assert link in (await client.get("/platform")).text
        assert (await client.get(link)).status_code == 200
    assert await public_rows(engine, "SELECT 1 FROM public.tenants WHERE slug = :s", s=slug) == []
    assert await public_rows(engine, "SELECT 1 FROM pg_namespace WHERE nspname = :s", s=schema_for(slug)) == []
    assert not object_path.exists() and not (settings.storage.directory / f"tenants/{org.tenant.id}").exists()
    assert await storage.backend.size(export.storage_key) is not None
    [entry] = await platform_entries(engine, slug, "platform.tenant.deleted")
    assert entry.actor_email == operator.email
    assert entry.details["export_id"] == str(export.id) and entry.details["override_retention"] is False


async def test_delete_may_override_the_retention_and_says_so(as_operator, new_org, engine, run_jobs):
    org = await new_org("aadelr")
    slug = org.tenant.slug
    await set_license(engine, slug, status="active")
    async with as_operator() as client:
        await export_and_build(client, run_jobs, engine, slug)
        # The override skips only the retention: an active (paying) organization is never deleted.
        refused = await post_form(client, f"/platform/tenants/{slug}/delete",
                                  {"confirm": slug, "override_retention": "yes"})
        assert refused.status_code == 422 and "Only an organization whose license is cancelled" in refused.text
        await set_license(engine, slug, status="cancelled")  # by hand: no retention date is known
        response = await post_form(client, f"/platform/tenants/{slug}/delete",
                                   {"confirm": slug, "override_retention": "yes"})
    assert response.status_code == 303
    [entry] = await platform_entries(engine, slug, "platform.tenant.deleted")
    assert entry.details["override_retention"] is True


async def test_non_operators_reach_no_export_nor_action(browser, signed_in, new_org, engine, run_jobs, as_operator):
    org = await new_org("aadeln")
    slug = org.tenant.slug
    async with as_operator() as client:
        export = await export_and_build(client, run_jobs, engine, slug)
    paths = [f"/platform/tenants/{slug}/exports/{export.id}/download", f"/platform/tenants/{slug}/exports"]
    actions = ("export", "extend-trial", "delete")
    async with browser(None) as anonymous:
        for path in paths:
            response = await anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in", path
        token = await csrf(anonymous, "/platform/sign-in")
        for action in actions:
            response = await anonymous.post(f"/platform/tenants/{slug}/{action}",
                                            data={"confirm": slug, "days": "3", "_csrf_token": token})
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in", action
    async with signed_in(org.admin) as member:  # the organization's own admin, on its host
        for path in paths:
            assert (await member.get(path)).status_code == 404, path
        for action in actions:
            assert (await post_form(member, f"/platform/tenants/{slug}/{action}", {"confirm": slug})
                    ).status_code == 404, action
    assert await public_rows(engine, "SELECT 1 FROM public.tenants WHERE slug = :s", s=slug)
    assert len(await public_rows(engine, "SELECT 1 FROM public.tenant_exports WHERE slug = :s", s=slug)) == 1
