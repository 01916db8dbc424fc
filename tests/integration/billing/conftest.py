"""Billing test support: an app and a worker configured against localstripe, Stripe-style signatures, and
localstripe objects made through the app's own Stripe client."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing.models import License, Plan
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tests.conftest import open_client

GOOD_CARD = "4242424242424242"
#: Attaches fine, every charge fails.
FAILING_CARD = "4000000000000341"


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value, computed as Stripe does."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@pytest.fixture(scope="session")
def bsettings(billing_settings):
    """Billing settings on a queue of their own (the session's drainer runs without billing)."""
    return dataclasses.replace(billing_settings, queue_name=f"{billing_settings.queue_name}-billing")


@pytest.fixture(scope="session")
async def billing_app(bsettings, migrated):
    from tajiconnect.app import create_app

    return create_app(bsettings)


@pytest.fixture(scope="session")
async def billing_jobs(bsettings, engine) -> AsyncIterator[Any]:
    from tests.support import JobDrainer

    drainer = JobDrainer(bsettings, engine)
    yield drainer
    await drainer.close()


@pytest.fixture(scope="session")
def stripe_api(bsettings):
    from tajiconnect.domains.billing.stripe_api import stripe_client

    return stripe_client(bsettings.billing)


@pytest.fixture(scope="session")
async def synced_plans(bsettings, engine) -> dict[str, Plan]:
    from tajiconnect.domains.billing.plans_sync import sync_plans

    await sync_plans(engine, bsettings.billing)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return {p.code: p for p in (await session.scalars(select(Plan))).all()}


class Deliver:
    """POSTs events to the app's webhook endpoint, signed with the configured secret."""

    def __init__(self, client: Any, secret: str) -> None:
        self.client = client
        self.secret = secret

    async def __call__(self, event: dict[str, Any] | bytes, *, signature: str | None = None,
                       timestamp: int | None = None) -> Any:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        headers = {"content-type": "application/json"}
        sig = signature if signature is not None else sign(payload, self.secret, timestamp)
        if sig:
            headers["stripe-signature"] = sig
        return await self.client.post("/webhooks/stripe", content=payload, headers=headers)


@pytest.fixture
async def deliver(billing_app, bsettings) -> AsyncIterator[Deliver]:
    async with open_client(billing_app) as client:
        yield Deliver(client, bsettings.billing.webhook_secret.get())


async def license_of(engine, slug: str) -> License:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            lic = (await session.scalars(
                select(License).join(Tenant, Tenant.id == License.tenant_id).where(Tenant.slug == slug))).one()
            await session.refresh(lic, ["plan"])
            return lic


async def card(stripe_api, customer_id: str, number: str) -> str:
    """Attach a card to the customer and make it the default for invoices; its payment method id."""
    pm = await stripe_api.v1.payment_methods.create_async(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"}})
    await stripe_api.v1.payment_methods.attach_async(pm.id, {"customer": customer_id})
    await stripe_api.v1.customers.update_async(customer_id, {"invoice_settings": {"default_payment_method": pm.id}})
    return pm.id


def event(event_id: str, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": type_, "created": int(time.time()), "livemode": False,
            "api_version": "2025-01-27", "data": {"object": obj}}
