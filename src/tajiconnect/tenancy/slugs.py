"""Tenant slugs and the schema names derived from them, validated before anything reaches SQL."""

from __future__ import annotations

import re

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
SCHEMA_PREFIX = "tenant_"
SCHEMA_PATTERN = re.compile(r"^tenant_[a-z][a-z0-9_]{1,30}$")

#: Names that would collide with platform hosts, routes or PostgreSQL itself.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "assets", "auth", "billing", "blog", "cdn", "dashboard", "dev", "docs",
        "ftp", "health", "help", "imap", "internal", "localhost", "mail", "media", "ns1", "ns2", "platform",
        "pop", "postgres", "public", "root", "schema", "signup", "smtp", "static", "status", "support",
        "system", "taji", "tajiconnect", "template", "tenant", "tenants", "test", "www",
    }
)


class InvalidSlugError(ValueError):
    """The slug is not acceptable as a tenant name."""


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is a valid, unreserved tenant slug; raise :class:`InvalidSlugError` otherwise."""
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidSlugError(
            f"invalid slug {slug!r}: use 2-31 lowercase letters, digits or hyphens, starting with a letter"
        )
    if slug.endswith("-") or "--" in slug:
        raise InvalidSlugError(f"invalid slug {slug!r}: no trailing or doubled hyphens")
    if slug in RESERVED_SLUGS:
        raise InvalidSlugError(f"slug {slug!r} is reserved")
    return slug


def schema_for(slug: str) -> str:
    """The PostgreSQL schema owned by the tenant ``slug`` (validated)."""
    return SCHEMA_PREFIX + validate_slug(slug).replace("-", "_")


def validate_schema(schema: str) -> str:
    """Return ``schema`` if it is a tenant schema name we could have made; raise otherwise."""
    if not SCHEMA_PATTERN.fullmatch(schema):
        raise InvalidSlugError(f"not a tenant schema name: {schema!r}")
    return schema
