"""Stripe's official SDK, configured from settings: the one place a :class:`stripe.StripeClient` is made.

Every call goes through the async methods (``..._async``) over httpx. ``STRIPE_API_BASE`` points the client at
another address (the tests' local fake Stripe). Without ``STRIPE_API_KEY`` there is no client: billing is not
configured, and callers say so instead of calling.
"""

from __future__ import annotations

import stripe
from stripe._base_address import BaseAddresses

from tajiconnect.settings import BillingSettings

_clients: dict[tuple[str, str | None], stripe.StripeClient] = {}


class BillingNotConfiguredError(RuntimeError):
    """Billing was asked for but ``STRIPE_API_KEY`` is not set."""


def stripe_client(billing: BillingSettings) -> stripe.StripeClient:
    """The Stripe client of these settings (one per key and address per process; raises
    :class:`BillingNotConfiguredError` without a key)."""
    if billing.api_key is None:
        raise BillingNotConfiguredError("billing is not configured (STRIPE_API_KEY is not set)")
    cache_key = (billing.api_key.get(), billing.api_base)
    client = _clients.get(cache_key)
    if client is None:
        addresses: BaseAddresses = {"api": billing.api_base} if billing.api_base else {}
        client = stripe.StripeClient(
            billing.api_key.get(),
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
            max_network_retries=2,
            base_addresses=addresses,
        )
        _clients[cache_key] = client
    return client
