"""``tajiconnect billing sync-plans``, run as the real command against the test database and localstripe:
idempotent (a second run creates nothing), a price change makes a new Stripe plan and deactivates the old one,
and a missing key or an unreachable Stripe is one ``Error:`` line and a non-zero exit."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing.models import Plan
from tajiconnect.tenancy.context import tenant_context
from tests.cli.test_cli import SECRET_KEY, cli, error_line
from tests.conftest import BASE_DOMAIN
from tests.support import free_port


@pytest.fixture
def env(database_url, migrated, bsettings) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TAJI_BASE_DOMAIN": BASE_DOMAIN,
        "TAJI_SECRET_KEY": SECRET_KEY,
        "TAJI_LOG_LEVEL": "WARNING",
        "STRIPE_API_KEY": bsettings.billing.api_key.get(),
        "STRIPE_API_BASE": bsettings.billing.api_base,
    }


async def stripe_objects(stripe_api) -> tuple[set[str], dict[str, bool]]:
    products = {p.id for p in (await stripe_api.v1.products.list_async({"limit": 100})).data
                if p.id.startswith("taji-")}
    plans = {p.id: str(p.active).lower() == "true" for p in (await stripe_api.v1.plans.list_async({"limit": 100})).data
             if p.id.startswith("taji-")}
    return products, plans


async def test_sync_plans_is_idempotent_and_follows_price_changes(env, engine, stripe_api) -> None:
    code = f"zz{uuid.uuid4().hex[:6]}"
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            session.add(Plan(code=code, name="Sync test", price_monthly_cents=500, price_yearly_cents=5000,
                             currency="KES", features={}, sort_order=99, is_public=False))
    first = cli(env, "billing", "sync-plans")
    assert f"taji-{code}-month-kes-500" in first.stdout and "created" in first.stdout
    products, plans = await stripe_objects(stripe_api)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            rows = (await session.scalars(select(Plan))).all()
            for plan in rows:
                assert plan.stripe_product_id == f"taji-{plan.code}" and plan.stripe_product_id in products
                assert plans[plan.stripe_price_monthly_id] and plans[plan.stripe_price_yearly_id]
    product = await stripe_api.v1.products.retrieve_async(f"taji-{code}")
    assert product.name == "Sync test" and product.metadata["plan"] == code
    monthly = await stripe_api.v1.plans.retrieve_async(f"taji-{code}-month-kes-500")
    assert (monthly.amount, monthly.currency, monthly.interval, monthly.product) == (500, "kes", "month",
                                                                                     f"taji-{code}")

    second = cli(env, "billing", "sync-plans")
    assert "0 created, 0 updated" in second.stdout, second.stdout
    assert await stripe_objects(stripe_api) == (products, plans)

    # A new monthly price: a new Stripe plan, the old one deactivated, the yearly one kept; the product renamed.
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            plan = (await session.scalars(select(Plan).where(Plan.code == code))).one()
            plan.price_monthly_cents, plan.name = 650, "Sync test 2"
    third = cli(env, "billing", "sync-plans")
    lines = {tuple(line.split()[-2:]) for line in third.stdout.splitlines()}
    assert (f"taji-{code}-month-kes-650", "created") in lines
    assert (f"taji-{code}-month-kes-500", "deactivated") in lines
    assert (f"taji-{code}", "updated") in lines and (f"taji-{code}-year-kes-5000", "kept") in lines
    _, after = await stripe_objects(stripe_api)
    assert after[f"taji-{code}-month-kes-650"] and not after[f"taji-{code}-month-kes-500"]
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            plan = (await session.scalars(select(Plan).where(Plan.code == code))).one()
            assert plan.stripe_price_monthly_id == f"taji-{code}-month-kes-650"
            assert plan.stripe_price_yearly_id == f"taji-{code}-year-kes-5000"
            await session.delete(plan)
    assert "0 created, 0 updated" in cli(env, "billing", "sync-plans").stdout


def test_sync_plans_refuses_without_billing_or_stripe(env) -> None:
    no_key = {k: v for k, v in env.items() if k not in ("STRIPE_API_KEY", "STRIPE_API_BASE")}
    assert "billing is not configured" in error_line(cli(no_key, "billing", "sync-plans", code=1))
    away = {**env, "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}"}
    assert "Stripe" in error_line(cli(away, "billing", "sync-plans", code=1))
