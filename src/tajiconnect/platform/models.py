"""Platform operators and their sessions, in the public schema."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String
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

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class OperatorSession(SessionFields, PublicBase):
    """An operator's browser session (the session stores serve both kinds)."""

    __tablename__ = "operator_sessions"
    __table_args__ = (CheckConstraint("stage IN ('mfa', 'full')", name="stage"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public.platform_operators.id", ondelete="CASCADE"), index=True
    )
