"""Platform operators and their sessions, in the public schema."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import PublicBase, PublicModel


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

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class OperatorSession(PublicBase):
    """Same shape as a tenant's ``user_sessions`` (the session stores serve both)."""

    __tablename__ = "operator_sessions"
    __table_args__ = (CheckConstraint("stage IN ('mfa', 'full')", name="stage"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(22), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public.platform_operators.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime.datetime] = mapped_column()
    last_seen_at: Mapped[datetime.datetime] = mapped_column()
    expires_at: Mapped[datetime.datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
