"""Every model module, imported once so that both metadata objects are complete."""

from tajiconnect.domains.accounts.models import (
    EmailToken,
    OrganizationSettings,
    RecoveryCode,
    RefreshToken,
    User,
    UserAvatar,
    UserSession,
)
from tajiconnect.domains.audit.models import AuditEntry, PlatformAuditEntry
from tajiconnect.platform.models import OperatorSession, PlatformOperator
from tajiconnect.tenancy.models import Tenant, TenantDomain

__all__ = [
    "AuditEntry",
    "EmailToken",
    "OperatorSession",
    "OrganizationSettings",
    "PlatformAuditEntry",
    "PlatformOperator",
    "RecoveryCode",
    "RefreshToken",
    "Tenant",
    "TenantDomain",
    "User",
    "UserAvatar",
    "UserSession",
]
