"""Amounts as Stripe counts them (the currency's smallest unit), shown in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel.numbers import format_currency

from tajiconnect import i18n

#: Stripe's zero-decimal currencies: amounts are in whole units, not hundredths.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})


def money(amount: int | None, currency: str | None) -> str:
    """An amount in Stripe's smallest unit, in the language in scope and with the currency's sign; ``""`` when
    either is unknown."""
    if amount is None or not currency:
        return ""
    code = currency.upper()
    value = amount if code in ZERO_DECIMAL else amount / 100
    return format_currency(value, code, locale=i18n.current_locale())


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount for a message rendered later in each reader's language (a notification's ``params``)."""

    amount: int | None
    currency: str | None

    @classmethod
    def of(cls, amount: Any, currency: Any) -> Amount:
        return cls(amount if isinstance(amount, int) else None, currency if isinstance(currency, str) else None)

    def localized(self) -> str:
        return money(self.amount, self.currency)
