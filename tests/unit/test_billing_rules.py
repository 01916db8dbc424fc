"""Pure billing rules: Stripe's subscription -> the license's fields, and when a tenant is read-only."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tajiconnect.domains.billing.access import read_only_reason
from tajiconnect.domains.billing.reconcile import LicenseFacts, license_changes, read_subscription

NOW = datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC)
TS = int(datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC).timestamp())
TS_END = int(datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC).timestamp())


TENANT_ID = "0192f2a4-6a51-7c1e-9d1e-3b5c7a9e0f11"


def sub(status: str = "active", quantity: int = 12, **extra: object) -> dict:
    item = {"id": "si_1", "quantity": quantity, "price": {"id": "price_std_m"},
            "current_period_start": TS, "current_period_end": TS_END}
    return {"id": "sub_1", "customer": "cus_1", "status": status, "items": {"data": [item]},
            "metadata": {"tenant_id": TENANT_ID, "tenant": "acme"}, "cancel_at_period_end": False, **extra}


def trial(**overrides: object) -> LicenseFacts:
    values = dict(plan_code="standard", seats=50, status="trialing", term_start=datetime.date(2026, 11, 20),
                  term_end=datetime.date(2026, 12, 20), stripe_customer_id="cus_1", stripe_subscription_id=None,
                  subscription_status=None, billing_interval=None, cancel_at_period_end=False,
                  past_due_since=None, cancelled_at=None, retain_until=None)
    values.update(overrides)
    return LicenseFacts(**values)  # type: ignore[arg-type]


def test_reads_periods_from_the_item_or_the_subscription() -> None:
    state = read_subscription(sub())
    assert (state.price_id, state.quantity, state.tenant_id) == ("price_std_m", 12, uuid.UUID(TENANT_ID))
    assert (state.period_start, state.period_end) == (datetime.date(2026, 11, 1), datetime.date(2026, 12, 1))
    legacy = {"id": "sub_2", "customer": {"id": "cus_2"}, "status": "active", "quantity": 3,
              "plan": {"id": "plan_x"}, "current_period_start": TS, "current_period_end": TS_END,
              "items": {"data": [{"id": "si", "plan": {"id": "plan_x"}}]}}
    state = read_subscription(legacy)
    assert (state.customer_id, state.price_id, state.quantity) == ("cus_2", "plan_x", 3)
    assert state.period_end == datetime.date(2026, 12, 1)


def test_an_active_subscription_sets_plan_seats_status_and_term() -> None:
    changes = license_changes(trial(), read_subscription(sub()), plan=("standard", "month"), now=NOW,
                              retention_days=90)
    assert changes["status"] == "active"
    assert changes["seats"] == 12
    assert changes["billing_interval"] == "month"
    assert (changes["term_start"], changes["term_end"]) == (datetime.date(2026, 11, 1), datetime.date(2026, 12, 1))
    assert changes["stripe_subscription_id"] == "sub_1"
    assert "plan_code" not in changes  # unchanged


def test_applying_the_same_state_twice_changes_nothing() -> None:
    first = license_changes(trial(), read_subscription(sub()), plan=("pro", "year"), now=NOW, retention_days=90)
    after = trial(**{k: v for k, v in first.items()})
    assert license_changes(after, read_subscription(sub()), plan=("pro", "year"), now=NOW, retention_days=90) == {}


def test_past_due_keeps_its_first_date_and_payment_clears_it() -> None:
    earlier = NOW - datetime.timedelta(days=3)
    changes = license_changes(trial(status="active"), read_subscription(sub("past_due")), plan=None, now=NOW,
                              retention_days=90)
    assert changes["status"] == "past_due" and changes["past_due_since"] == NOW
    still = license_changes(trial(status="past_due", past_due_since=earlier), read_subscription(sub("unpaid")),
                            plan=None, now=NOW, retention_days=90)
    assert "past_due_since" not in still
    paid = license_changes(trial(status="past_due", past_due_since=earlier), read_subscription(sub("active")),
                           plan=None, now=NOW, retention_days=90)
    assert paid["status"] == "active" and paid["past_due_since"] is None


def test_cancellation_sets_the_retention_end() -> None:
    ended = int((NOW - datetime.timedelta(days=1)).timestamp())
    changes = license_changes(trial(status="active", stripe_subscription_id="sub_1"),
                              read_subscription(sub("canceled", ended_at=ended)), plan=None, now=NOW,
                              retention_days=90)
    assert changes["status"] == "cancelled"
    assert changes["retain_until"] == datetime.date(2026, 11, 29) + datetime.timedelta(days=90)


def test_an_incomplete_subscription_confirms_nothing() -> None:
    changes = license_changes(trial(), read_subscription(sub("incomplete")), plan=("pro", "month"), now=NOW,
                              retention_days=90)
    assert set(changes) <= {"stripe_subscription_id", "subscription_status", "stripe_customer_id"}


def test_an_ended_subscription_that_is_not_the_licenses_own_is_ignored() -> None:
    lic = trial(status="active", stripe_subscription_id="sub_new")
    assert license_changes(lic, read_subscription(sub("canceled")), plan=None, now=NOW, retention_days=90) == {}


@pytest.mark.parametrize(
    ("status", "since_days", "term_end", "expected"),
    [
        ("active", None, None, None),
        ("past_due", 3, None, None),
        ("past_due", 8, None, "past_due"),
        ("trialing", None, datetime.date(2026, 11, 29), "trial_ended"),
        ("trialing", None, datetime.date(2026, 11, 30), None),
        ("cancelled", None, None, "cancelled"),
        ("suspended", None, None, "suspended"),
    ],
)
def test_read_only_rule(status: str, since_days: int | None, term_end: datetime.date | None, expected: str) -> None:
    since = NOW - datetime.timedelta(days=since_days) if since_days is not None else None
    assert read_only_reason(status, past_due_since=since, term_end=term_end, now=NOW, grace_days=7) == expected


@pytest.mark.parametrize(
    ("url", "stand_ins", "expected"),
    [
        ("https://checkout.stripe.com/c/pay/cs_1", False, True),
        ("https://billing.stripe.com/p/session/bps_1", False, True),
        ("https://checkout.stripe.test/c/pay/cs_1", True, True),
        ("https://checkout.stripe.test/c/pay/cs_1", False, False),  # stand-ins only with STRIPE_API_BASE
        ("http://checkout.stripe.com/c/pay/cs_1", False, False),
        ("https://checkout.stripe.com.evil.example/c", False, False),
        ("https://evil.example/?https://checkout.stripe.com", False, False),
        ("https://checkout.stripe.com:8443/c", False, False),
        (42, False, False),
    ],
)
def test_redirects_go_only_to_stripes_hosted_pages(url: object, stand_ins: bool, expected: bool) -> None:
    from tajiconnect.domains.billing.pages import hosted_url

    assert hosted_url(url, stand_ins=stand_ins) == (url if expected else None)


@pytest.mark.parametrize("value", [None, "", "acme", 42, "0192f2a4-6a51-7c1e-9d1e-3b5c7a9e0f1", "x" * 36,
                                   "0192f2a46a517c1e9d1e3b5c7a9e0f11", "{0192f2a4-6a51-7c1e-9d1e-3b5c7a9e0f11}"])
def test_metadata_names_a_tenant_only_by_a_well_formed_id(value: object) -> None:
    """A slug (which a deleted organization frees) or anything not an id written by the app names no tenant."""
    assert read_subscription(sub(metadata={"tenant_id": value, "tenant": "acme"})).tenant_id is None
