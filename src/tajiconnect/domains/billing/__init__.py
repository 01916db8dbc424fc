"""Billing: tenant subscriptions per seat through Stripe, its webhooks, dunning and the tenant's billing page."""
