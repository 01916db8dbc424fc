"""From a Host header to a tenant: ``{slug}.{TAJI_BASE_DOMAIN}``, a registered custom domain, or the apex.

Lookups run on the public schema with no tenant in scope. Results are cached per process for a few seconds
(keyed by host name only, never by anything a client controls beyond that); lifecycle changes made in this
process invalidate the cache at once, other processes see them within ``TAJI_TENANT_CACHE_SECONDS``.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import noload

from tajiconnect.db.session import session_scope
from tajiconnect.domains.billing.access import read_only_from, read_only_reason
from tajiconnect.domains.licensing.models import License
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.tenancy.slugs import SLUG_PATTERN

HostKind = Literal["apex", "tenant", "unknown"]


@dataclass(frozen=True, slots=True)
class HostMatch:
    kind: HostKind
    tenant: TenantRef | None = None


APEX = HostMatch("apex")
UNKNOWN = HostMatch("unknown")

_cache: dict[str, tuple[float, HostMatch]] = {}
_CACHE_LIMIT = 10_000


def invalidate_tenant_cache() -> None:
    _cache.clear()


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(
    rf"(?P<name>{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9a-f:.]{{2,45}}\])(?::(?P<port>[0-9]{{1,5}}))?", re.IGNORECASE
)


class MalformedHostError(ValueError):
    """The Host header is missing, repeated, or not ``name[:port]``."""


def parse_host(raw: str) -> str:
    """The host name of a Host header value, lower-cased, without port or trailing dot.

    Anything that is not a DNS name, an IPv4 address or a bracketed IPv6 address with an optional numeric port
    (1-65535) is refused with :class:`MalformedHostError`: such a value is a client error, and must never reach a
    link, a log line or a cache key as if it were a host.
    """
    match = _HOST.fullmatch(raw)
    if match is None or len(match["name"]) > 254:
        raise MalformedHostError("malformed Host header")
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        raise MalformedHostError("malformed Host header")
    return match["name"].lower().rstrip(".")


def to_ref(
    tenant: Tenant,
    read_only: str | None = None,
    *,
    license_status: str | None = None,
    read_only_from: datetime.datetime | None = None,
) -> TenantRef:
    return TenantRef(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        kind=tenant.kind,
        status=tenant.status,
        locale=tenant.locale,
        schema=tenant.schema,
        read_only=read_only,
        license_status=license_status,
        read_only_from=read_only_from,
    )


class TenantResolver:
    def __init__(
        self, engine: AsyncEngine, base_domain: str, ttl_seconds: float = 5.0, *, grace_days: int = 7
    ) -> None:
        self.engine = engine
        self.base_domain = base_domain
        self.ttl = ttl_seconds
        self.grace_days = grace_days

    def slug_from_host(self, host: str) -> str | None:
        suffix = "." + self.base_domain
        if not host.endswith(suffix):
            return None
        label = host[: -len(suffix)]
        return label if SLUG_PATTERN.fullmatch(label) else None

    async def resolve(self, raw_host: str) -> HostMatch:
        """The tenant of a Host header value (raises :class:`MalformedHostError` for a malformed one)."""
        host = parse_host(raw_host)
        if host == self.base_domain:
            return APEX
        now = time.monotonic()
        cached = _cache.get(host)
        if cached and cached[0] > now:
            return cached[1]
        match = await self._lookup(host)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[host] = (now + self.ttl, match)
        return match

    async def _lookup(self, host: str) -> HostMatch:
        slug = self.slug_from_host(host)
        with tenant_context(None):
            async with session_scope(self.engine, schema=None) as session:
                # The license's status and dates only: its plan (joined by default) is not needed on every request.
                stmt = (select(Tenant, License).outerjoin(License, License.tenant_id == Tenant.id)
                        .options(noload(License.plan)))
                if slug is not None:
                    stmt = stmt.where(Tenant.slug == slug)
                elif "." in host and len(host) <= 253:
                    stmt = stmt.join(TenantDomain).where(TenantDomain.domain == host)
                else:
                    return UNKNOWN
                row = (await session.execute(stmt)).one_or_none()
        if row is None:
            return UNKNOWN
        tenant, lic = row
        if lic is None:
            return HostMatch("tenant", to_ref(tenant))
        reason = read_only_reason(
            lic.status, past_due_since=lic.past_due_since, term_end=lic.term_end,
            now=datetime.datetime.now(datetime.UTC), grace_days=self.grace_days,
        )
        return HostMatch("tenant", to_ref(
            tenant, reason, license_status=lic.status,
            read_only_from=read_only_from(lic.past_due_since, self.grace_days) if lic.status == "past_due" else None,
        ))
