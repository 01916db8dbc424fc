"""Every model module, imported once so that both metadata objects are complete."""

from tajiconnect.domains.accounts.models import User
from tajiconnect.tenancy.models import Tenant, TenantDomain

__all__ = ["Tenant", "TenantDomain", "User"]
