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
from tajiconnect.mail.models import SentEmail
from tajiconnect.platform.models import OperatorSession, PlatformOperator
from tajiconnect.tasks.models import OutboxMessage
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.web.idempotency import IdempotentRequest

__all__ = [
    "AuditEntry",
    "EmailToken",
    "IdempotentRequest",
    "OperatorSession",
    "OrganizationSettings",
    "OutboxMessage",
    "PlatformAuditEntry",
    "PlatformOperator",
    "RecoveryCode",
    "RefreshToken",
    "SentEmail",
    "Tenant",
    "TenantDomain",
    "User",
    "UserAvatar",
    "UserSession",
]
