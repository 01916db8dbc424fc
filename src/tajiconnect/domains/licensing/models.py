"""Plans and licenses are shared tables (public schema): operators, and later billing, change them.

Seat changes are tenant data: each tenant keeps its own history of who got or lost a seat, when, by whom and why.
Whether a member holds a seat is ``users.seat_assigned_at`` (a constraint keeps it to invited or active students).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tajiconnect.db.base import PublicModel, TenantModel

LicenseStatus = Literal["trialing", "active", "past_due", "suspended", "cancelled"]
LICENSE_STATUSES: tuple[str, ...] = get_args(LicenseStatus)
SeatChange = Literal["assigned", "released"]
MAX_SEATS = 1_000_000


class Plan(PublicModel):
    """What a tenant can buy: a per-seat price, monthly and yearly, and the features it turns on."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("code ~ '^[a-z][a-z0-9-]{1,30}$'", name="code_format"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        CheckConstraint("price_monthly_cents >= 0 AND price_yearly_cents >= 0", name="prices"),
    )

    code: Mapped[str] = mapped_column(String(31), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_monthly_cents: Mapped[int] = mapped_column(Integer)
    price_yearly_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_public: Mapped[bool] = mapped_column(default=True)
    #: Stripe's product and per-seat prices of this plan (``tajiconnect billing sync-plans`` sets them).
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), default=None)
    stripe_price_monthly_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    stripe_price_yearly_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)


class License(PublicModel):
    """One per tenant. Its row is also the lock that serialises seat changes of the tenant (``FOR UPDATE``)."""

    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint(
            "status IN ('trialing', 'active', 'past_due', 'suspended', 'cancelled')", name="status"
        ),
        CheckConstraint(f"seats >= 0 AND seats <= {MAX_SEATS}", name="seats_range"),
        CheckConstraint("term_end IS NULL OR term_end >= term_start", name="term_order"),
        CheckConstraint("billing_interval IS NULL OR billing_interval IN ('month', 'year')", name="interval"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("public.tenants.id", ondelete="CASCADE"), unique=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.plans.id", ondelete="RESTRICT"), index=True)
    seats: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    term_start: Mapped[datetime.date] = mapped_column(Date)
    term_end: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    # What Stripe confirmed last (domains/billing/reconcile.py is the only writer of these and, once a tenant
    # has a subscription, of plan, seats, status and term above).
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    #: Stripe's own subscription status (``active``, ``past_due``, ``unpaid``, ``canceled``, ``incomplete``...).
    subscription_status: Mapped[str | None] = mapped_column(String(32), default=None)
    billing_interval: Mapped[str | None] = mapped_column(String(5), default=None)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default="false")
    billing_email: Mapped[str | None] = mapped_column(String(320), default=None)
    #: When a payment first failed (``past_due``); the tenant becomes read-only ``grace_days`` later.
    past_due_since: Mapped[datetime.datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: The data of a cancelled tenant is kept until then; afterwards an operator may export and delete it.
    retain_until: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    billing_synced_at: Mapped[datetime.datetime | None] = mapped_column(default=None)

    plan: Mapped[Plan] = relationship(lazy="joined")


class SeatEvent(TenantModel):
    """A seat given to or taken from a learner: who, when (``created_at``), by whom and why."""

    __tablename__ = "seat_events"
    __table_args__ = (CheckConstraint("change IN ('assigned', 'released')", name="change"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    user_email: Mapped[str] = mapped_column(String(320))
    change: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    note: Mapped[str | None] = mapped_column(String(500), default=None)
