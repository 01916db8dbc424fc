"""The tenant registry and custom domains: shared tables in the public schema."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tajiconnect.db.base import PublicModel
from tajiconnect.tenancy.slugs import schema_for

TENANT_KINDS = ("school", "company")
TENANT_STATUSES = ("active", "suspended")


class Tenant(PublicModel):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("kind IN ('school', 'company')", name="kind"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("slug ~ '^[a-z][a-z0-9-]{1,30}$'", name="slug_format"),
        CheckConstraint("country IS NULL OR country ~ '^[A-Z]{2}$'", name="country_format"),
    )

    slug: Mapped[str] = mapped_column(String(31), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="company")
    status: Mapped[str] = mapped_column(String(16), default="active")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    #: ISO 3166-1 alpha-2 country code, given at sign-up (optional for tenants made by operators).
    country: Mapped[str | None] = mapped_column(String(2), default=None)

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def schema(self) -> str:
        return schema_for(self.slug)


class TenantDomain(PublicModel):
    """A custom host name (e.g. ``learn.acme.co.ke``) that serves a tenant."""

    __tablename__ = "tenant_domains"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.tenants.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")
