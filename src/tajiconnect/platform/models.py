"""Platform operators and their sessions, in the public schema."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import PublicBase, PublicModel
from tajiconnect.domains.accounts.models import SessionFields


class PlatformOperator(PublicModel):
    __tablename__ = "platform_operators"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("status IN ('active', 'deactivated')", name="status"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_sign_in_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    # Two-factor sign-in (TOTP), required of every operator: enrolled on the first sign-in.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class OperatorRecoveryCode(PublicModel):
    """A single-use recovery code of an operator's second factor (SHA-256 of the code)."""

    __tablename__ = "operator_recovery_codes"

    operator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public.platform_operators.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class TenantExport(PublicModel):
    """A complete archive of one tenant (every table of its schema and every stored file), built in the
    background for an operator; a tenant may be deleted only after one is ready."""

    __tablename__ = "tenant_exports"
    __table_args__ = (CheckConstraint("status IN ('pending', 'running', 'ready', 'failed')", name="status"),)

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("public.tenants.id", ondelete="SET NULL"), index=True, default=None
    )
    slug: Mapped[str] = mapped_column(String(31))  # kept after the tenant is deleted
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(320))
    storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class OperatorSession(SessionFields, PublicBase):
    """An operator's browser session (the session stores serve both kinds)."""

    __tablename__ = "operator_sessions"
    __table_args__ = (CheckConstraint("stage IN ('mfa', 'full')", name="stage"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public.platform_operators.id", ondelete="CASCADE"), index=True
    )
