"""Absolute URLs of the apex and of each tenant, from configuration only.

A link that leaves the app (an email, a printed invitation, a QR code) is built here from ``TAJI_BASE_DOMAIN``,
``TAJI_PUBLIC_SCHEME`` and ``TAJI_PUBLIC_PORT``, never from the request's Host header: a client controls that
header, and a link built from it could send a reset token to another site.
"""

from __future__ import annotations

from tajiconnect.settings import Settings, get_settings
from tajiconnect.tenancy.context import TenantRef, require_tenant


def canonical_host(slug: str, settings: Settings | None = None) -> str:
    """The host name a tenant is always reachable at: ``<slug>.<base domain>``."""
    return f"{slug}.{(settings or get_settings()).base_domain}"


def apex_url(path: str = "", settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return settings.public_origin(settings.base_domain) + path


def tenant_url(path: str = "", tenant: TenantRef | str | None = None, settings: Settings | None = None) -> str:
    """``path`` on the tenant's canonical host (the tenant in scope when ``tenant`` is omitted)."""
    settings = settings or get_settings()
    slug = tenant if isinstance(tenant, str) else (tenant or require_tenant()).slug
    return settings.public_origin(canonical_host(slug, settings)) + path
