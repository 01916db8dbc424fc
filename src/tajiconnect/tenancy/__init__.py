"""Tenancy: the only place that knows how a request, a task or a command finds its tenant and schema."""

from tajiconnect.tenancy.context import (
    NoTenantError,
    TenantRef,
    current_tenant,
    require_tenant,
    tenant_context,
)

__all__ = ["NoTenantError", "TenantRef", "current_tenant", "require_tenant", "tenant_context"]
