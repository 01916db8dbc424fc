"""Users live in their tenant's schema: the same email in two organizations is two separate accounts."""

from __future__ import annotations

import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

ROLES = ("org_admin", "manager", "teacher", "student", "parent", "employer")
USER_STATUSES = ("invited", "active", "deactivated")


class User(TenantModel):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("status IN ('invited', 'active', 'deactivated')", name="status"),
        CheckConstraint(
            "roles <@ ARRAY['org_admin','manager','teacher','student','parent','employer']::varchar[]",
            name="roles_known",
        ),
        Index("ix_users_roles", "roles", postgresql_using="gin"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="Africa/Nairobi")
    last_sign_in_at: Mapped[datetime.datetime | None] = mapped_column(default=None)

    def has_role(self, role: str) -> bool:
        return role in (self.roles or ())
