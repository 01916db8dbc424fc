"""The tenant in scope: a context variable, entered explicitly and restored on exit.

Requests enter it in the tenancy middleware, tasks in the task wrapper, commands in the CLI. Nothing else sets
it. The database layer reads it when a transaction begins (see :mod:`tajiconnect.db.session`).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tajiconnect.tenancy.slugs import validate_schema


class NoTenantError(RuntimeError):
    """Tenant data was asked for with no tenant in scope."""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What the rest of the code knows about a tenant: immutable, cheap to pass around and cache."""

    id: uuid.UUID
    slug: str
    name: str
    kind: str
    status: str
    locale: str
    schema: str
    #: Why the tenant is read-only (``past_due``, ``trial_ended``, ``cancelled``, ``suspended``; see
    #: ``domains/billing/access.py``), or ``None``: it may read, sign in and pay, nothing else.
    read_only: str | None = None
    #: The license's status and, when a payment failed, when the tenant becomes read-only (for the banner).
    license_status: str | None = None
    read_only_from: datetime.datetime | None = None

    def __post_init__(self) -> None:
        validate_schema(self.schema)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


_current: ContextVar[TenantRef | None] = ContextVar("taji_current_tenant", default=None)


def current_tenant() -> TenantRef | None:
    """The tenant in scope, or ``None`` on the apex host / outside any tenant."""
    return _current.get()


def require_tenant() -> TenantRef:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantError("no tenant in scope")
    return tenant


@contextmanager
def tenant_context(tenant: TenantRef | None) -> Iterator[TenantRef | None]:
    """Enter ``tenant`` (or, with ``None``, leave every tenant) until the block ends, then restore the previous."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)
