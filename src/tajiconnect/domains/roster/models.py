"""An import is kept with its file and every validated row, so that the preview, the error report, the apply
step and its progress all read the same data, and nothing is written to the roster until the admin confirms."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from tajiconnect.db.base import TenantBase, TenantModel

ImportStatus = Literal["needs_mapping", "validating", "ready", "applying", "applied", "failed"]
IMPORT_STATUSES: tuple[str, ...] = get_args(ImportStatus)
RowAction = Literal["new", "update", "unchanged", "error", "skip"]
ROW_ACTIONS: tuple[str, ...] = get_args(RowAction)


class RosterImport(TenantModel):
    __tablename__ = "roster_imports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('needs_mapping', 'validating', 'ready', 'applying', 'applied', 'failed')", name="status"
        ),
    )

    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_email: Mapped[str] = mapped_column(String(320))
    filename: Mapped[str] = mapped_column(String(255))
    file_data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    format: Mapped[str | None] = mapped_column(String(16), default=None)
    encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    delimiter: Mapped[str | None] = mapped_column(String(4), default=None)
    headers: Mapped[list[str]] = mapped_column(JSONB, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="validating")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    failure: Mapped[str | None] = mapped_column(String(1000), default=None)
    applied_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    applied_by_email: Mapped[str | None] = mapped_column(String(320), default=None)


class RosterImportRow(TenantBase):
    """One validated row of an import: what it holds, what applying it will do, and why not when it cannot."""

    __tablename__ = "roster_import_rows"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roster_imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    action: Mapped[str] = mapped_column(String(10))
    errors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
