"""``POST /webhooks/stripe`` on the apex host: Stripe's events, verified, stored once, processed in the background.

1. No ``STRIPE_WEBHOOK_SECRET`` (or no ``STRIPE_API_KEY``): 404, as if the route did not exist (billing is not
   configured).
2. The ``Stripe-Signature`` header must sign these exact bytes with the secret, and be at most
   ``webhook_tolerance_seconds`` old (Stripe's SDK checks both): otherwise 400, and nothing is stored.
3. The event is inserted into ``public.billing_events`` keyed by Stripe's event id (``ON CONFLICT DO NOTHING``)
   and committed; only then is ``process_billing_event`` enqueued (key ``billing-event:<id>``). A lost enqueue is
   caught up by the ``sweep_billing_events`` cron; a duplicate delivery is acknowledged and not processed again.
4. The answer, ``200 {"received": true}``, comes at once: nothing here waits for Stripe or the tenant.

Processing fetches Stripe's current state (``tasks.py`` and ``reconcile.py``), so the order in which events arrive
does not matter. The route is exempt from CSRF (Stripe has no cookie; the signature is the proof) and hidden from
the API schema.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import stripe
import structlog
from litestar import Controller, Request, Response, post
from sqlalchemy.dialects.postgresql import insert

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.models import BillingEvent
from tajiconnect.settings import Settings
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.web.errors import problem

log = structlog.get_logger(__name__)

#: Stripe's events are a few kilobytes; an invoice with many lines stays far below this.
WEBHOOK_BODY_MAX = 1024 * 1024
WEBHOOK_OPT: dict[str, Any] = {"host": "apex", "exclude_from_csrf": True}


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    """The ``billing_events`` columns of a Stripe event (a plain dict)."""
    obj = ((event.get("data") or {}).get("object")) or {}
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if str(event.get("type", "")).startswith("customer.") and obj.get("object") == "customer":
        customer = object_id
    created = event.get("created")
    return {
        "id": str(event["id"])[:255],
        "type": str(event.get("type") or "")[:100],
        "stripe_created_at": datetime.datetime.fromtimestamp(created, datetime.UTC)
        if isinstance(created, int) else datetime.datetime.now(datetime.UTC),
        "livemode": bool(event.get("livemode")),
        "object_id": object_id[:255] if object_id else None,
        "customer_id": str(customer)[:255] if isinstance(customer, str) and customer else None,
        "payload": event,
    }


async def enqueue_event(queue: Any, event_id: str, *, key: str | None = None) -> None:
    from tajiconnect.domains.billing.tasks import process_billing_event
    from tajiconnect.tasks.base import build_job

    await queue.enqueue(build_job(process_billing_event, key=key or f"billing-event:{event_id}", event_id=event_id))


class StripeWebhooks(Controller):
    path = "/webhooks"
    include_in_schema = False
    opt = WEBHOOK_OPT

    @post("/stripe", name="billing.webhook", opt=WEBHOOK_OPT, include_in_schema=False,
          request_max_body_size=WEBHOOK_BODY_MAX, status_code=200)
    async def receive(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        settings: Settings = request.app.state.settings
        billing = settings.billing
        if billing.webhook_secret is None or not billing.configured:
            return problem(404, "Billing is not configured.")
        payload = await request.body()
        signature = request.headers.get("stripe-signature")
        if not signature:
            return problem(400, "The Stripe-Signature header is missing.")
        try:
            stripe.Webhook.construct_event(
                payload, signature, billing.webhook_secret.get(), tolerance=billing.webhook_tolerance_seconds
            )
            event = json.loads(payload)
            if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
                raise ValueError("not an event")
        except stripe.SignatureVerificationError:
            log.warning("billing.webhook.bad_signature")
            return problem(400, "The signature does not match this payload, or it is too old.")
        except ValueError:
            return problem(400, "The payload is not a Stripe event.")
        row = event_row(event)
        with tenant_context(None):
            async with session_scope(request.app.state.engine, schema=None) as session:
                inserted = (await session.execute(
                    insert(BillingEvent).values(**row, status="received", attempts=0)
                    .on_conflict_do_nothing(index_elements=["id"]).returning(BillingEvent.id)
                )).scalar_one_or_none()
        if inserted is None:
            log.info("billing.webhook.duplicate", event_id=row["id"], type=row["type"])
        else:
            try:
                await enqueue_event(request.app.state.queue, row["id"])
            except Exception as exc:  # stored: the sweep enqueues it within minutes
                log.warning("billing.webhook.enqueue_failed", event_id=row["id"], error=type(exc).__name__)
        return Response({"received": True}, status_code=200)
