"""A notification's text is rendered in its reader's language, its dates and amounts too."""

from __future__ import annotations

import datetime

import pytest

from tajiconnect.domains.billing.money import Amount, money
from tajiconnect.domains.notifications.service import render
from tajiconnect.i18n import N_, locale_context

BODY = N_("The payment of %(amount)s for your subscription failed. Unless it is paid, the organization "
          "becomes read-only on %(date)s: members can still sign in and read, nothing else. Update the "
          "payment method on the billing page.")


@pytest.mark.parametrize(
    ("locale", "amount", "date"),
    [
        ("en", "$60.00", "December 8, 2026"),
        ("fr", "60,00\u00a0$US", "8 décembre 2026"),
        ("sw", "US$\u00a060.00", "8 Desemba 2026"),
    ],
)
def test_dates_and_amounts_follow_the_reader(locale, amount, date):
    text = render(BODY, {"amount": Amount(6000, "usd"), "date": datetime.date(2026, 12, 8)}, locale)
    assert amount in text and date in text


def test_zero_decimal_currencies_and_unknown_amounts():
    with locale_context("en"):  # Stripe counts UGX and XAF in whole units, KES in cents
        assert (money(5000, "ugx"), money(123456, "kes")) == ("UGX5,000", "KES1,234.56")
        assert money(None, "usd") == "" and money(100, None) == ""
    with locale_context("fr"):
        assert money(5000, "xaf") == "5\u202f000\u00a0FCFA"
    assert Amount.of("12", "usd") == Amount(None, "usd") and Amount.of(12, 5) == Amount(12, None)


def test_plain_values_pass_through():
    assert render(N_("%(name)s sent you a message."), {"name": "Zawadi"}, "en") == "Zawadi sent you a message."
