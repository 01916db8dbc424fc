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
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.licensing.models import License, Plan, SeatEvent
from tajiconnect.domains.parents.models import PairingCode, ParentLink
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.mail.models import SentEmail
from tajiconnect.platform.models import OperatorSession, PlatformOperator
from tajiconnect.tasks.models import OutboxMessage
from tajiconnect.tenancy.models import Tenant, TenantDomain
from tajiconnect.web.idempotency import IdempotentRequest

__all__ = [
    "AuditEntry",
    "EmailToken",
    "Group",
    "GroupMembership",
    "IdempotentRequest",
    "License",
    "OperatorSession",
    "OrganizationSettings",
    "OutboxMessage",
    "PairingCode",
    "ParentLink",
    "Plan",
    "PlatformAuditEntry",
    "PlatformOperator",
    "RecoveryCode",
    "RefreshToken",
    "RosterImport",
    "RosterImportRow",
    "SeatEvent",
    "SentEmail",
    "Tenant",
    "TenantDomain",
    "User",
    "UserAvatar",
    "UserSession",
]
