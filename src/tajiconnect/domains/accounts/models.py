"""Accounts, all in the tenant's schema: the same email in two organizations is two separate accounts.

Secrets are stored as hashes only (link tokens, refresh tokens, session tokens, recovery codes: SHA-256 of a
high-entropy random value; passwords: argon2id). The TOTP seed is the one exception: it must be readable to
check codes.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, String, false, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

# The Literal types are what the API validates and documents (an enum in the OpenAPI schema); the tuples are for code.
Role = Literal["org_admin", "manager", "teacher", "student", "parent", "employer"]
UserStatus = Literal["invited", "active", "deactivated"]
ROLES: tuple[str, ...] = get_args(Role)
USER_STATUSES: tuple[str, ...] = get_args(UserStatus)
TOKEN_PURPOSES = ("invite", "verify_email", "reset_password")


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
        # Only an invited or active learner holds a seat (licensing/seats.py assigns and releases them).
        CheckConstraint(
            "seat_assigned_at IS NULL OR ('student' = ANY(roles) AND status IN ('invited', 'active'))",
            name="seat_holder",
        ),
        Index("ix_users_seat_holders", "seat_assigned_at", postgresql_where=text("seat_assigned_at IS NOT NULL")),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="Africa/Nairobi")
    #: A mobile number in E.164 form (``+254712345678``), for SMS notifications; optional.
    phone: Mapped[str | None] = mapped_column(String(16), default=None)
    last_sign_in_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    email_verified_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    password_changed_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    has_avatar: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The picture in storage (purpose ``avatar``). A picture not moved yet is still a ``user_avatars`` row.
    avatar_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL", use_alter=True), default=None
    )
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    seat_assigned_at: Mapped[datetime.datetime | None] = mapped_column(default=None)

    def has_role(self, role: str) -> bool:
        return role in (self.roles or ())

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def holds_seat(self) -> bool:
        return self.seat_assigned_at is not None

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class UserAvatar(TenantBase):
    """A small profile picture (validated image, at most 256 KiB), one per user."""

    __tablename__ = "user_avatars"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime.datetime] = mapped_column()


class EmailToken(TenantModel):
    """A single-use link sent by email: invitation, email verification or password reset."""

    __tablename__ = "email_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('invite', 'verify_email', 'reset_password')", name="purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column()
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class RecoveryCode(TenantModel):
    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class RefreshToken(TenantModel):
    """A rotating API refresh token. Tokens of one sign-in share a ``family_id``; reusing a spent one revokes
    the whole family (and with it every access token that names the family)."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column()
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class SessionFields:
    """Columns of a browser session row, shared by members' and operators' sessions (``sessions.py``)."""

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(22), unique=True)
    stage: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime.datetime] = mapped_column()
    last_seen_at: Mapped[datetime.datetime] = mapped_column()
    expires_at: Mapped[datetime.datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)


class UserSession(SessionFields, TenantBase):
    """A member's browser session (database store; the Redis store keeps the same fields under tenant keys)."""

    __tablename__ = "user_sessions"
    __table_args__ = (CheckConstraint("stage IN ('mfa', 'full')", name="stage"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class OrganizationSettings(TenantBase):
    """Organization-wide security settings: one row (id = 1)."""

    __tablename__ = "organization_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    require_2fa_roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    #: The layout new certificates are drawn with (``domains/certificates/models.py::CERTIFICATE_LAYOUTS``).
    certificate_layout: Mapped[str] = mapped_column(String(12), default="classic", server_default="classic")
    #: The teacher's home lists learners without activity for this many days as at risk (``domains/homes/risk.py``).
    at_risk_inactive_days: Mapped[int] = mapped_column(
        SmallInteger, CheckConstraint("at_risk_inactive_days BETWEEN 1 AND 365", name="at_risk_inactive_days"),
        default=7, server_default="7",
    )
    #: Learners may message each other (classmates); None: the default of the organization's kind (on for
    #: ``company``, off for ``school``). ``domains/messages/access.py::learners_may_talk``.
    learner_messages: Mapped[bool | None] = mapped_column(default=None)
    #: Learners may see and apply to jobs on the job board; None: the default of the organization's kind (on for
    #: companies, off for schools, where learners may be minors).
    jobs_allowed: Mapped[bool | None] = mapped_column(default=None)
