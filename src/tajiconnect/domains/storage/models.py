"""A stored file: one row per object the tenant owns in storage (the original as uploaded; renditions later).

The object itself lives in the storage backend under a key that starts with the tenant's prefix
(``tenants/<tenant id>/files/<file id>/original``); later renditions (video sizes, thumbnails) go next to it under
the same file prefix and are listed in ``renditions``. The row is the only way to reach an object: URLs are issued
from it, to people allowed to see what the file belongs to.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

#: What members upload files for.
UploadPurpose = Literal["avatar", "cover", "video", "document", "image", "attachment"]
#: Every file's purpose: uploads, and files the app writes itself (reports, certificates).
FilePurpose = Literal[UploadPurpose, "report", "certificate"]
FILE_PURPOSES: tuple[str, ...] = get_args(FilePurpose)
FileStatus = Literal["uploading", "ready", "failed", "deleted"]
FILE_STATUSES: tuple[str, ...] = get_args(FileStatus)


class StoredFile(TenantModel):
    __tablename__ = "stored_files"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('avatar', 'cover', 'video', 'document', 'image', 'attachment', 'report', 'certificate')",
            name="purpose",
        ),
        CheckConstraint("status IN ('uploading', 'ready', 'failed', 'deleted')", name="status"),
        CheckConstraint("backend IN ('local', 's3')", name="backend"),
        CheckConstraint("size IS NULL OR size >= 0", name="size_positive"),
        Index("ix_stored_files_uploading", "created_at", postgresql_where=text("status = 'uploading'")),
    )

    purpose: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), default="uploading")
    backend: Mapped[str] = mapped_column(String(8))
    #: Storage key of the original, always under the tenant's prefix.
    key: Mapped[str] = mapped_column(String(400), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(120), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    #: A multipart upload in progress: the backend's upload id (S3 ``UploadId``), its part size and parts so far.
    upload_id: Mapped[str | None] = mapped_column(String(1024), default=None)
    upload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    #: Later renditions by name (e.g. ``{"360p": {"key": ..., "content_type": ..., "size": ...}}``).
    renditions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    #: Media facts found when the upload completed (duration of a video, pages of a PDF, image size).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    ready_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
