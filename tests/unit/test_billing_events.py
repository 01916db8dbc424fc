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


def test_a_checkout_that_never_paid_leaves_the_trial_alone() -> None:
    import dataclasses

    from tajiconnect.domains.billing.reconcile import LicenseFacts, license_changes, read_subscription

    trial = LicenseFacts(plan_code="standard", seats=50, status="trialing", term_start=datetime.date(2026, 11, 20),
                         term_end=datetime.date(2026, 12, 20), stripe_customer_id="cus_1",
                         stripe_subscription_id=None, subscription_status=None, billing_interval=None,
                         cancel_at_period_end=False, past_due_since=None, cancelled_at=None, retain_until=None)
    now = datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC)

    def sub(sub_id: str, status: str) -> dict:
        return {"id": sub_id, "customer": "cus_1", "status": status, "items": {"data": [
            {"id": "si", "quantity": 12, "price": {"id": "price_x"}}]}}

    expired = license_changes(dataclasses.replace(trial, stripe_subscription_id="sub_1",
                                                  subscription_status="incomplete"),
                              read_subscription(sub("sub_1", "incomplete_expired")), plan=("pro", "month"),
                              now=now, retention_days=90)
    assert expired == {"subscription_status": "incomplete_expired"}  # still a trial, not cancelled
    paying = dataclasses.replace(trial, status="active", stripe_subscription_id="sub_1", subscription_status="active")
    # A second Checkout, still incomplete, does not take the license from the subscription that pays for it.
    assert license_changes(paying, read_subscription(sub("sub_2", "incomplete")), plan=None, now=now,
                           retention_days=90) == {}
