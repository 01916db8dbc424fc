"""What the webhook stores of an event, and where an invoice names its subscription (old and new API versions)."""

from __future__ import annotations

import datetime

from tajiconnect.domains.billing.tasks import invoice_subscription
from tajiconnect.domains.billing.webhooks import event_row

CREATED = int(datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC).timestamp())


def evt(type_: str, obj: dict) -> dict:
    return {"id": "evt_1", "type": type_, "created": CREATED, "livemode": True, "data": {"object": obj}}


def test_the_row_names_the_object_and_its_customer() -> None:
    row = event_row(evt("customer.subscription.updated", {"id": "sub_1", "object": "subscription",
                                                          "customer": "cus_1"}))
    assert (row["id"], row["type"], row["object_id"], row["customer_id"], row["livemode"]) == (
        "evt_1", "customer.subscription.updated", "sub_1", "cus_1", True)
    assert row["stripe_created_at"] == datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC)
    assert event_row(evt("customer.updated", {"id": "cus_2", "object": "customer"}))["customer_id"] == "cus_2"
    expanded = event_row(evt("invoice.paid", {"id": "in_1", "object": "invoice", "customer": {"id": "cus_3"}}))
    assert expanded["customer_id"] == "cus_3"
    assert event_row(evt("plan.created", {"id": "plan_1", "object": "plan"}))["customer_id"] is None


def test_an_invoice_names_its_subscription_in_either_api_version() -> None:
    assert invoice_subscription({"subscription": "sub_old"}) == "sub_old"
    assert invoice_subscription({"subscription": None, "parent": {
        "type": "subscription_details", "subscription_details": {"subscription": "sub_new"}}}) == "sub_new"
    assert invoice_subscription({"parent": None}) is None
    assert invoice_subscription({"subscription": {"id": "sub_expanded"}}) == "sub_expanded"
