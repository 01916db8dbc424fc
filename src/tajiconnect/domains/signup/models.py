"""A sign-up: what the new organization gave, and how far its provisioning got (public schema)."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import PublicModel

SIGNUP_STATUSES = ("pending", "provisioning", "ready", "failed")


class Signup(PublicModel):
    """Made by the sign-up form in a few milliseconds; a background job provisions the tenant and sends the admin
    the invitation. The progress page is reached with a secret token (only its SHA-256 is kept)."""

    __tablename__ = "signups"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'provisioning', 'ready', 'failed')", name="status"),
        CheckConstraint("kind IN ('school', 'company')", name="kind"),
        CheckConstraint("slug ~ '^[a-z][a-z0-9-]{1,30}$'", name="slug_format"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_format"),
        # A slug is reserved by a sign-up in progress: a second one cannot take it meanwhile.
        Index("ux_signups_slug_in_progress", "slug", unique=True,
              postgresql_where=text("status IN ('pending', 'provisioning')")),
        Index("ix_signups_ip_created", "ip", "created_at"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(31))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    admin_email: Mapped[str] = mapped_column(String(320))
    admin_name: Mapped[str | None] = mapped_column(String(200), default=None)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    #: Where it came from, as the per-address limit counts: the IPv4 address, or the IPv6 address's /64.
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    #: SHA-256 of the proof-of-work challenge the form was solved with: each challenge serves one sign-up.
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: What went wrong, in words fit for the person who signed up (the log has the rest).
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("public.tenants.id", ondelete="SET NULL"), default=None
    )
    finished_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
