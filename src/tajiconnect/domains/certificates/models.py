"""Certificates (tenant schema).

``certificates``: exactly one row per completion (``completion_id`` is unique: the completion outbox's row), made
by the ``issue_certificate`` task however often the completion or the task repeats. The row keeps what the PDF
says (learner's name, the course's or path's title, the date) as it was at issue, the public verification
``code`` (unique in the tenant; another tenant's code is unknown here), the layout it was drawn with, and its
file once rendered. Admins revoke a certificate with a reason; the verification page then says so.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

CertificateStatus = Literal["issued", "revoked"]
CERTIFICATE_STATUSES: tuple[str, ...] = get_args(CertificateStatus)
CertificateLayout = Literal["classic", "modern", "minimal"]
CERTIFICATE_LAYOUTS: tuple[str, ...] = get_args(CertificateLayout)


class Certificate(TenantModel):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("status IN ('issued', 'revoked')", name="status"),
        CheckConstraint("layout IN ('classic', 'modern', 'minimal')", name="layout"),
        CheckConstraint("(course_id IS NULL) <> (path_id IS NULL)", name="course_or_path"),
        CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked_at"),
        Index("ix_certificates_user_issued", "user_id", "issued_at"),
    )

    completion_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learning_completions.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"), default=None)
    path_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_paths.id", ondelete="SET NULL"), default=None
    )
    #: What the certificate says, as it was when it was issued.
    learner_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    completed_at: Mapped[datetime.datetime] = mapped_column()
    issued_at: Mapped[datetime.datetime] = mapped_column()
    #: The public verification code (``/verify/{code}``): unguessable, unique in the tenant.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    layout: Mapped[str] = mapped_column(String(12), default="classic")
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(8), default="issued")
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
