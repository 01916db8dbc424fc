"""The demo tenant, defined in ``tenants/demo/tenant.toml``: created once, refreshed idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import new_user, normalize_email
from tajiconnect.tenancy.branding import tenant_definition
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import TenantNotFoundError, load_tenant, provision_tenant

DEMO_SLUG = "demo"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


@dataclass
class DemoResult:
    slug: str
    created: bool
    logins: list[DemoLogin] = field(default_factory=list)


async def seed_demo(engine: AsyncEngine) -> DemoResult:
    spec = tenant_definition(DEMO_SLUG)
    if not spec:
        raise RuntimeError("tenants/demo/tenant.toml is missing")
    users = spec.get("users", [])
    admin = users[0]
    created = False
    try:
        tenant = await load_tenant(engine, DEMO_SLUG)
    except TenantNotFoundError:
        result = await provision_tenant(
            engine,
            slug=DEMO_SLUG,
            name=spec["name"],
            kind=spec.get("kind", "school"),
            locale=spec.get("locale", "en"),
            admin_email=admin["email"],
            admin_password=admin["password"],
            admin_name=admin["name"],
        )
        tenant = result.tenant
        created = True
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            existing = set((await session.scalars(select(User.email))).all())
            for entry in users:
                if normalize_email(entry["email"]) in existing:
                    continue
                session.add(
                    new_user(
                        email=entry["email"], name=entry["name"], password=entry["password"], roles=entry["roles"]
                    )
                )
    logins = [DemoLogin(u["roles"][0], u["email"], u["password"]) for u in users]
    return DemoResult(slug=DEMO_SLUG, created=created, logins=logins)
