"""Provisioning is atomic; suspend, resume, delete and custom domains work end to end.

(Unknown hosts answering 404 is covered in ``tests/integration/test_web_shell.py``.)
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select, text

from tajiconnect.db.migrate import head_revision
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.passwords import verify_password
from tajiconnect.tenancy import service
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import (
    TenantError,
    TenantExistsError,
    TenantNotFoundError,
    add_domain,
    delete_tenant,
    load_tenant,
    provision_tenant,
    resume_tenant,
    suspend_tenant,
)
from tajiconnect.tenancy.slugs import schema_for
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import public_scalar, registry_has, schema_exists


def new_slug(prefix: str = "prov") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def provision(engine, slug: str, **overrides):
    kwargs = {"name": f"Org {slug}", "admin_email": f"Boss@{slug}.example", "admin_password": ADMIN_PASSWORD}
    return await provision_tenant(engine, slug=slug, **{**kwargs, **overrides})


async def assert_nothing_left(engine, slug: str) -> None:
    assert not await schema_exists(engine, schema_for(slug))
    assert not await registry_has(engine, slug)


async def test_provisioning_creates_schema_at_head_registry_row_and_admin(engine):
    slug = new_slug()
    result = await provision(engine, slug, kind="school", locale="sw")
    tenant = result.tenant
    assert (tenant.slug, tenant.kind, tenant.status, tenant.locale) == (slug, "school", "active", "sw")
    assert await load_tenant(engine, slug) == tenant
    version = await public_scalar(engine, f'SELECT version_num FROM "{tenant.schema}".alembic_version')
    assert version == head_revision("tenant")
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            users = (await session.scalars(select(User))).all()
    assert len(users) == 1
    admin = users[0]
    assert admin.email == f"boss@{slug}.example" == result.admin_email
    assert admin.roles == ["org_admin"] and admin.status == "active"
    assert admin.password_hash.startswith("$argon2id$")
    assert verify_password(admin.password_hash, ADMIN_PASSWORD)
    assert not verify_password(admin.password_hash, ADMIN_PASSWORD + "x")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"admin_email": "not-an-email"}, "email"),
        ({"admin_password": "short"}, "10 characters"),
        ({"kind": "church"}, "kind"),
        ({"locale": "de"}, "locale"),
        ({"name": "  "}, "name"),
    ],
)
async def test_refused_provisioning_leaves_nothing(engine, overrides, message):
    slug = new_slug()
    with pytest.raises(TenantError, match=message):
        await provision(engine, slug, **overrides)
    await assert_nothing_left(engine, slug)


@pytest.mark.parametrize("slug", ["www", "Acme", "a_b", "x'; DROP SCHEMA public; --"])
async def test_invalid_or_reserved_slug_is_refused(engine, slug):
    with pytest.raises(TenantError):
        await provision(engine, slug)
    assert not await registry_has(engine, slug)


async def test_failure_after_create_schema_rolls_everything_back(engine, monkeypatch):
    def explode(sync_conn, schema):
        sync_conn.execute(text("CREATE TABLE half_done (id int)"))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "create_tenant_tables", explode)
    slug = new_slug()
    with pytest.raises(RuntimeError, match="disk on fire"):
        await provision(engine, slug)
    await assert_nothing_left(engine, slug)


async def test_duplicate_slug_is_refused_and_the_original_untouched(engine):
    slug = new_slug()
    original = (await provision(engine, slug)).tenant
    with pytest.raises(TenantExistsError):
        await provision(engine, slug, name="Impostor", admin_email="other@evil.example")
    assert await load_tenant(engine, slug) == original
    with tenant_context(original):
        async with session_scope(engine) as session:
            assert (await session.scalars(select(User.email))).all() == [f"boss@{slug}.example"]


async def test_concurrent_creation_of_one_slug_makes_one_tenant(engine):
    slug = new_slug()
    results = await asyncio.gather(provision(engine, slug), provision(engine, slug), return_exceptions=True)
    assert sum(isinstance(r, TenantExistsError) for r in results) == 1, results
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert await public_scalar(engine, "SELECT count(*) FROM public.tenants WHERE slug = :s", s=slug) == 1


async def test_suspend_shows_a_403_page_naming_the_tenant_and_resume_restores(engine, client_for, make_tenant):
    tenant = await make_tenant("susp")
    assert (await suspend_tenant(engine, tenant.slug)).status == "suspended"
    async with client_for(tenant) as client:
        page = await client.get("/")
        health = await client.get("/health")
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"]
    assert tenant.name in page.text and "suspended" in page.text
    assert health.status_code == 200

    assert (await resume_tenant(engine, tenant.slug)).status == "active"
    async with client_for(tenant) as client:
        page = await client.get("/")
    assert page.status_code == 200 and tenant.name in page.text


async def test_delete_drops_schema_row_domains_and_host(engine, client_for, make_tenant):
    tenant = await make_tenant("del")
    domain = f"learn.{tenant.slug}.example.org"
    await add_domain(engine, tenant.slug, domain)
    await delete_tenant(engine, tenant.slug)
    await assert_nothing_left(engine, tenant.slug)
    assert not await public_scalar(engine, "SELECT count(*) FROM public.tenant_domains WHERE domain = :d", d=domain)
    for host in (tenant, domain):
        async with client_for(host) as client:
            assert (await client.get("/")).status_code == 404
    with pytest.raises(TenantNotFoundError):
        await delete_tenant(engine, tenant.slug)


@pytest.mark.parametrize("action", [suspend_tenant, resume_tenant, delete_tenant])
async def test_lifecycle_of_unknown_tenant_is_refused(engine, action):
    with pytest.raises(TenantNotFoundError):
        await action(engine, new_slug("nosuch"))


async def test_custom_domain_serves_its_tenant(engine, client_for, make_tenant):
    tenant = await make_tenant("dom")
    domain = f"learn.{tenant.slug}.example.org"
    async with client_for(domain) as client:
        assert (await client.get("/")).status_code == 404  # not registered yet
    await add_domain(engine, tenant.slug, f"  LEARN.{tenant.slug}.Example.org.  ")  # normalized
    async with client_for(domain) as client:
        page = await client.get("/")
    assert page.status_code == 200 and tenant.name in page.text
    async with client_for(f"{domain}:8443") as client:  # the port is not part of the name
        assert tenant.name in (await client.get("/")).text


async def test_custom_domain_refusals(engine, make_tenant):
    first, second = await make_tenant("doma"), await make_tenant("domb")
    domain = f"portal.{first.slug}.example.org"
    await add_domain(engine, first.slug, domain)
    with pytest.raises(TenantError, match="already registered"):
        await add_domain(engine, second.slug, domain.upper())
    # Names no Host header could carry (the request parser refuses them) are refused here too.
    for bad in ("intranet", "learn_x.example.org", "a..b.example.org", "x.example.org:port", "x.example.org/y"):
        with pytest.raises(TenantError, match="not a host name"):
            await add_domain(engine, first.slug, bad)
    with pytest.raises(TenantNotFoundError):
        await add_domain(engine, new_slug("nosuch"), f"x.{first.slug}.example.org")
