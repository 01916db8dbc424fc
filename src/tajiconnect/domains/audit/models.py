"""Audit entries: the tenant's log lives in its schema; the platform's (operators) in public.

Both share one set of columns. Entries are written in their own transaction so that a failed request (rolled
back) still leaves its trace.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TypeAlias

from advanced_alchemy.types import GUID
from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from uuid_utils.compat import uuid7

from tajiconnect.db.base import PublicBase, TenantBase


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class AuditFields:
    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid7)
    occurred_at: Mapped[datetime.datetime] = mapped_column(default=_now, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: the account the action is about (a sign-in attempt's email even when no such account exists)
    subject_email: Mapped[str | None] = mapped_column(String(320), default=None, index=True)
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    details: Mapped[dict] = mapped_column(JSONB, default=dict)


class AuditEntry(AuditFields, TenantBase):
    __tablename__ = "audit_log"


class PlatformAuditEntry(AuditFields, PublicBase):
    __tablename__ = "platform_audit_log"


#: Either log: the tenant's (in its schema) or the platform's (in public).
AuditModel: TypeAlias = type[AuditEntry] | type[PlatformAuditEntry]
