"""The demo tenant, defined in ``tenants/demo/tenant.toml``: created once, refreshed idempotently."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import new_user, normalize_email
from tajiconnect.domains.groups.service import seed_groups
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.service import set_license
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
        license_spec = spec.get("license", {})
        await set_license(engine, DEMO_SLUG, seats=license_spec.get("seats"), plan=license_spec.get("plan"),
                          status=license_spec.get("status"))
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            existing = {u.email: u for u in (await session.scalars(select(User))).all()}
            members = []
            for entry in users:
                user = existing.get(normalize_email(entry["email"]))
                if user is None:
                    user = new_user(
                        email=entry["email"], name=entry["name"], password=entry["password"], roles=entry["roles"]
                    )
                    session.add(user)
                user.email_verified_at = user.email_verified_at or datetime.datetime.now(datetime.UTC)
                members.append(user)
            await session.flush()
            learners = [u for u in members if seats.needs_seat(u.roles, u.status)]
            await seats.assign(session, learners, reason="assigned", actor_email=None)
            await seed_groups(session, spec.get("groups", []), {u.email: u for u in members})
            await _link_parents(session, spec.get("parent_links", []), {u.email: u for u in members})
            await _seed_learning(session, {u.email: u for u in members})
    from tajiconnect.demo_careers import careers_definition, seed_careers

    employers = await seed_careers(engine, tenant, careers_definition(DEMO_SLUG))
    logins = [DemoLogin(u["roles"][0], u["email"], u["password"]) for u in users]
    logins += [DemoLogin(role, email, password) for role, email, password in employers]
    operator = spec.get("operator")
    if operator:
        await _ensure_operator(engine, operator)
        logins.append(DemoLogin("operator", operator["email"], operator["password"]))
    return DemoResult(slug=DEMO_SLUG, created=created, logins=logins)


async def _seed_learning(session: AsyncSession, people: dict[str, User]) -> None:
    """Courses, a path, progress and reviews (``learning.toml``), then a question bank, a quiz and an assignment
    (``assessments.toml``), made once through the product's own services."""
    from tajiconnect.demo_assessments import assessments_definition, seed_assessments
    from tajiconnect.demo_learning import learning_definition, seed_learning
    from tajiconnect.domains.storage.service import Storage
    from tajiconnect.settings import get_settings
    from tajiconnect.tenancy.branding import TENANTS_DIR

    spec = learning_definition(DEMO_SLUG)
    storage = Storage.from_settings(get_settings())
    await seed_learning(session, storage, spec, people, TENANTS_DIR / DEMO_SLUG / "media")
    await seed_assessments(session, assessments_definition(DEMO_SLUG), people, TENANTS_DIR / DEMO_SLUG)


async def _link_parents(session: AsyncSession, links: list[dict], by_email: dict[str, User]) -> None:
    """The demo's parent links (``[[parent_links]]`` in tenant.toml), made once: an existing link is kept."""
    from tajiconnect.domains.audit.service import SYSTEM
    from tajiconnect.domains.parents.service import link

    for entry in links:
        parent = by_email.get(normalize_email(entry["parent"]))
        learner = by_email.get(normalize_email(entry["learner"]))
        if parent is not None and learner is not None:
            await link(session, parent, learner, source="admin", actor=SYSTEM)


async def _ensure_operator(engine: AsyncEngine, entry: dict) -> None:
    """The demo's platform operator (apex host, /platform), created once."""
    from tajiconnect.platform.models import PlatformOperator
    from tajiconnect.platform.service import create_operator

    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            found = await session.scalar(select(PlatformOperator.id).where(PlatformOperator.email == entry["email"]))
    if found is None:
        await create_operator(engine, email=entry["email"], name=entry["name"], password=entry["password"])
