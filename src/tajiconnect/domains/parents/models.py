"""Parent links and the short, expiring, single-use pairing codes that create them."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

LINK_SOURCES = ("import", "admin", "code")


class ParentLink(TenantModel):
    __tablename__ = "parent_links"
    __table_args__ = (
        UniqueConstraint("parent_id", "learner_id", name="uq_parent_links_pair"),
        CheckConstraint("parent_id <> learner_id", name="not_self"),
        CheckConstraint("source IN ('import', 'admin', 'code')", name="source"),
    )

    parent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(8))
    created_by_email: Mapped[str | None] = mapped_column(String(320), default=None)


class PairingCode(TenantModel):
    """A code a learner (or their teacher) gives to a parent. Stored as a hash; one use; expires soon."""

    __tablename__ = "pairing_codes"

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime.datetime] = mapped_column()
    used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    used_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
