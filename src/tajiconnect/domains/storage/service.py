"""The storage service: ``app.state.storage`` (a :class:`Storage` over a local or S3 backend).

What callers use (docs/storage.md):

* ``await storage.save(session, data, filename=..., purpose=..., user=...)``: a small file in one go;
* ``storage.url(file, rendition=None, download=False)``: a short-lived URL to read it. The CALLER decides first
  whether the person may see the file;
* resumable uploads for large files: :meth:`Storage.create_upload`, :meth:`part_target`, :meth:`put_part`,
  :meth:`done_parts`, :meth:`complete`, :meth:`abort` (behind ``/api/v1/uploads`` and ``/uploads``).

Every refusal is a :class:`StorageError` carrying its HTTP status (413 too large, 415 wrong type, 404, 409, 422).
Types are decided from the content (``sniff.py``), never from the name. Each object's key lies under its tenant's
prefix (``keys.py``); the tenant is the one in scope, so one tenant's rows and URLs never reach another's objects.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import math
import mimetypes
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.storage import keys, signing
from tajiconnect.domains.storage.backends import Backend, backend_from
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.sniff import HEAD_BYTES, sniff
from tajiconnect.i18n import _
from tajiconnect.logs import get_logger
from tajiconnect.settings import Settings, StorageSettings
from tajiconnect.tenancy.context import require_tenant

log = get_logger(__name__)

#: Purposes any member may upload for themselves; the others need ``courses.author``. ``attachment``: a learner's
#: files for an assignment (the assignment checks that the files are the learner's own).
SELF_SERVICE = frozenset({"avatar", "attachment"})
#: How long an unfinished multipart upload is kept (``purge_abandoned``).
ABANDONED_AFTER = datetime.timedelta(hours=24)
MAX_PARTS = 10_000  # S3's limit

_pdfium_lock = threading.Lock()  # pdfium is not thread-safe: one document at a time per process


def may_upload(user: Any, purpose: str) -> bool:
    return purpose in SELF_SERVICE or can(user, Permission.AUTHOR_COURSES)


def clean_filename(name: str) -> str:
    """The last path component of ``name``, without control characters, at most 255 characters ("file" if empty)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    return name[:255] or "file"


def content_disposition(filename: str, *, download: bool) -> str:
    """RFC 6266: an ASCII fallback name and the exact one (RFC 5987) for everything else."""
    kind = "attachment" if download else "inline"
    fallback = re.sub(r'[^A-Za-z0-9._ -]', "_", filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF (pdfium), or StorageError 415 when pdfium cannot open it."""
    import pypdfium2 as pdfium

    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise StorageError(_("This PDF could not be read."), status=415) from exc
        try:
            return len(document)
        finally:
            document.close()


def render_pdf_pages(data: bytes, width: int = 1000) -> list[bytes]:
    """Each page of a PDF as a WebP image ``width`` pixels wide."""
    import io

    import pypdfium2 as pdfium

    images: list[bytes] = []
    with _pdfium_lock:
        document = pdfium.PdfDocument(data)
        try:
            for index in range(len(document)):
                page = document[index]
                try:
                    scale = width / max(page.get_width(), 1)
                    picture = page.render(scale=scale).to_pil()
                finally:
                    page.close()
                out = io.BytesIO()
                picture.convert("RGB").save(out, format="WEBP", quality=80, method=4)
                images.append(out.getvalue())
        finally:
            document.close()
    return images


class Storage:
    """One storage service over one backend; ``settings`` give the limits, ``secret`` signs local URLs."""

    def __init__(self, backend: Backend, settings: StorageSettings, secret: bytes) -> None:
        self.backend = backend
        self.settings = settings
        self.secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        return cls(backend_from(settings.storage), settings.storage, settings.secret_key.get().encode())

    @property
    def kind(self) -> str:
        return self.backend.kind

    def limit(self, purpose: str) -> int:
        return self.settings.size_limits[purpose]

    def _check_size(self, size: int, purpose: str) -> None:
        limit = self.limit(purpose)
        if size > limit:
            megabytes = limit // (1024 * 1024)
            raise StorageError(_("The file is too large: at most %(size)s MB here.") % {"size": megabytes},
                               status=413)
        if size <= 0:
            raise StorageError(_("The file is empty."), status=422)

    @staticmethod
    def _new_file(purpose: str, filename: str, user: Any, backend: str) -> StoredFile:
        file_id = uuid.UUID(str(uuid7()))
        return StoredFile(id=file_id, purpose=purpose, backend=backend, status="uploading",
                          key=keys.file_key(require_tenant().id, file_id), original_name=clean_filename(filename),
                          uploaded_by_id=getattr(user, "id", None), upload={}, renditions={}, details={})

    # --- small files in one go --------------------------------------------------------------------------------

    async def save(self, session: AsyncSession, data: bytes, *, filename: str, purpose: str, user: Any) -> StoredFile:
        """Store ``data`` (sniffed, size-checked) as a ready file of ``purpose``; the row is added to ``session``."""
        self._check_size(len(data), purpose)
        content_type = sniff(data[:HEAD_BYTES], purpose)
        file = self._new_file(purpose, filename, user, self.kind)
        if content_type == "application/pdf":
            file.details = {"pages": await asyncio.to_thread(pdf_page_count, data), "pages_ready": False}
        await self.backend.put(file.key, data, content_type)
        file.content_type, file.size = content_type, len(data)
        file.sha256 = hashlib.sha256(data).hexdigest()
        file.status, file.ready_at = "ready", datetime.datetime.now(datetime.UTC)
        session.add(file)
        await session.flush()
        if content_type == "application/pdf":
            await self._defer_pages(session, file)
        return file

    async def read(self, file: StoredFile, rendition: str | None = None) -> bytes:
        return await self.backend.read(self.key_of(file, rendition))

    def open(self, file: StoredFile, rendition: str | None = None, start: int = 0,
             end: int | None = None) -> AsyncIterator[bytes]:
        return self.backend.open(self.key_of(file, rendition), start, end)

    async def delete(self, session: AsyncSession, file: StoredFile) -> None:
        """Remove the objects (original and renditions) and mark the row deleted."""
        if file.upload_id:
            await self.backend.abort_multipart(file.key, file.upload_id)
        await self._delete_objects(file)
        file.status, file.upload_id = "deleted", None
        file.deleted_at = datetime.datetime.now(datetime.UTC)
        await session.flush()

    async def _delete_objects(self, file: StoredFile) -> None:
        """Delete the file's objects; the ones the store refused are logged (the row says the file is gone, and a
        refused object is the operator's to look at, never the member's error)."""
        prefix = keys.file_prefix(require_tenant().id, file.id)
        failed = await self.backend.delete_prefix(prefix)
        if failed:
            log.warning("stored objects not deleted", prefix=prefix, failed=len(failed), sample=failed[:5])

    # --- reading ----------------------------------------------------------------------------------------------

    def key_of(self, file: StoredFile, rendition: str | None = None) -> str:
        if rendition is None or rendition == keys.ORIGINAL:
            return file.key
        entry = (file.renditions or {}).get(rendition)
        if entry is None:
            raise StorageError(_("This file has no such version."), status=404)
        return str(entry["key"])

    def content_type_of(self, file: StoredFile, rendition: str | None = None) -> str:
        if rendition is None or rendition == keys.ORIGINAL:
            return file.content_type or "application/octet-stream"
        return str((file.renditions or {}).get(rendition, {}).get("content_type") or "application/octet-stream")

    def download_name(self, file: StoredFile, rendition: str | None = None) -> str:
        """The original's name; for a rendition, its stem, the rendition and the rendition's own extension."""
        if rendition is None or rendition == keys.ORIGINAL:
            return file.original_name
        extension = mimetypes.guess_extension(self.content_type_of(file, rendition)) or ""
        return f"{file.original_name.rsplit('.', 1)[0]}-{rendition}{extension}"

    def url(self, file: StoredFile, *, rendition: str | None = None, download: bool = False) -> str:
        """A short-lived URL to read ``file`` (or a rendition): S3 presigned, or ``/files/<token>`` on this host.

        The caller has decided that the person may see the file. A file that is not ready has no URL.
        """
        if file.status != "ready":
            raise StorageError(_("This file is not ready."), status=409)
        key = self.key_of(file, rendition)
        lifetime = self.settings.url_seconds
        name = self.download_name(file, rendition)
        presigned = self.backend.presigned_get(
            key, content_type=self.content_type_of(file, rendition),
            disposition=content_disposition(name, download=download), expires=lifetime)
        if presigned is not None:
            return presigned
        # Expiry rounded up to the minute: the same URL for a minute, so a browser can cache what it fetched.
        expires = (int(time.time()) + lifetime) // 60 * 60 + 60
        grant = signing.FileGrant(file.id, rendition or keys.ORIGINAL, download, expires)
        return f"/files/{signing.sign(self.secret, require_tenant().id, grant)}"

    def verify(self, token: str) -> signing.FileGrant | None:
        return signing.verify(self.secret, require_tenant().id, token)

    # --- resumable (multipart) uploads ------------------------------------------------------------------------

    def part_size_for(self, size: int) -> int:
        part = self.settings.part_size
        while math.ceil(size / part) > MAX_PARTS:
            part *= 2
        return part

    async def create_upload(self, session: AsyncSession, *, filename: str, size: int, purpose: str,
                            user: Any) -> StoredFile:
        """Start a resumable upload of ``size`` bytes; the parts go to :meth:`part_target` / :meth:`put_part`."""
        self._check_size(size, purpose)
        file = self._new_file(purpose, filename, user, self.kind)
        part_size = self.part_size_for(size)
        file.upload_id = await self.backend.create_multipart(file.key, "application/octet-stream")
        file.upload = {"size": size, "part_size": part_size, "part_count": math.ceil(size / part_size)}
        session.add(file)
        await session.flush()
        return file

    async def get_upload(self, session: AsyncSession, file_id: uuid.UUID, user: Any) -> StoredFile:
        """The person's own upload (any state but deleted), or StorageError 404: other people's and other
        organizations' ids are not found."""
        file = await session.scalar(select(StoredFile).where(
            StoredFile.id == file_id, StoredFile.uploaded_by_id == user.id, StoredFile.status != "deleted"))
        if file is None:
            raise StorageError(_("No such upload here."), status=404)
        return file

    @staticmethod
    def _expected(file: StoredFile, number: int) -> int:
        """The size part ``number`` must have (the last part holds the rest)."""
        size, part_size, count = file.upload["size"], file.upload["part_size"], file.upload["part_count"]
        return part_size if number < count else size - part_size * (count - 1)

    def _check_part(self, file: StoredFile, number: int) -> None:
        if file.status != "uploading" or not file.upload_id:
            raise StorageError(_("This upload is already finished."), status=409)
        if not 1 <= number <= file.upload["part_count"]:
            raise StorageError(_("This upload has no part %(number)s.") % {"number": number}, status=404)

    def part_target(self, file: StoredFile, number: int) -> str | None:
        """A presigned PUT URL for part ``number`` (S3), or None: PUT the part to the app."""
        self._check_part(file, number)
        return self.backend.presigned_part(file.key, str(file.upload_id), number, self.settings.url_seconds)

    async def put_part(self, file: StoredFile, number: int, data: bytes) -> None:
        self._check_part(file, number)
        if len(data) != self._expected(file, number):
            raise StorageError(_("Part %(number)s must be %(size)s bytes.") % {
                "number": number, "size": self._expected(file, number)}, status=422)
        if number == 1:
            sniff(data[:HEAD_BYTES], file.purpose)  # refuse early what will be refused at the end
        await self.backend.put_part(file.key, str(file.upload_id), number, data)

    async def done_parts(self, file: StoredFile) -> list[int]:
        """Numbers of the parts already stored (with their right size): the rest is what a resume sends."""
        if file.status != "uploading" or not file.upload_id:
            return []
        stored = await self.backend.list_parts(file.key, file.upload_id)
        return sorted(n for n, size in stored.items()
                      if 1 <= n <= file.upload["part_count"] and size == self._expected(file, n))

    async def complete(self, session: AsyncSession, file: StoredFile) -> StoredFile:
        """Assemble the parts, check the content's type, and mark the file ready.

        A file whose content is not of an accepted type is deleted and marked ``failed`` (flushed; the caller
        commits that before answering 415).
        """
        if file.status == "ready":
            return file  # completing twice is harmless
        if file.status != "uploading" or not file.upload_id:
            raise StorageError(_("This upload is already finished."), status=409)
        done = await self.done_parts(file)
        missing = sorted(set(range(1, file.upload["part_count"] + 1)) - set(done))
        if missing:
            parts = ", ".join(map(str, missing[:20]))
            raise StorageError(_("Some parts are missing: %(parts)s.") % {"parts": parts}, status=409)
        await self.backend.complete_multipart(file.key, file.upload_id, file.upload["part_count"])
        file.upload_id = None
        head = await self.backend.read(file.key, 0, HEAD_BYTES - 1)
        try:
            content_type = sniff(head, file.purpose)
            details: dict[str, Any] = {}
            if content_type == "application/pdf":
                details = {"pages": await asyncio.to_thread(pdf_page_count, await self.backend.read(file.key)),
                           "pages_ready": False}
        except StorageError:
            await self._delete_objects(file)
            file.status = "failed"
            await session.flush()
            raise
        file.content_type, file.size, file.details = content_type, file.upload["size"], details
        file.status, file.ready_at = "ready", datetime.datetime.now(datetime.UTC)
        await session.flush()
        if content_type == "application/pdf":
            await self._defer_pages(session, file)
        return file

    async def abort(self, session: AsyncSession, file: StoredFile) -> None:
        if file.status != "uploading":
            raise StorageError(_("This upload is already finished."), status=409)
        await self.delete(session, file)

    async def purge_abandoned(self, session: AsyncSession, older_than: datetime.timedelta = ABANDONED_AFTER) -> int:
        """Abort the tenant's uploads still unfinished ``older_than`` after they started; how many."""
        cutoff = datetime.datetime.now(datetime.UTC) - older_than
        stale = (await session.scalars(select(StoredFile).where(
            StoredFile.status == "uploading", StoredFile.created_at < cutoff).limit(1000))).all()
        for file in stale:
            await self.delete(session, file)
        return len(stale)

    # --- documents --------------------------------------------------------------------------------------------

    async def _defer_pages(self, session: AsyncSession, file: StoredFile) -> None:
        from tajiconnect.domains.storage.tasks import render_document_pages
        from tajiconnect.tasks.outbox import defer

        await defer(session, render_document_pages, file_id=str(file.id))

    async def render_pages(self, session: AsyncSession, file: StoredFile) -> int:
        """Render every page of a ready PDF as ``page-N`` renditions; idempotent (same keys, same rows)."""
        if file.status != "ready" or file.content_type != "application/pdf":
            return 0
        if file.details.get("pages_ready"):
            return int(file.details.get("pages", 0))
        if await self.backend.size(file.key) is None:
            log.warning("storage: a ready document has no object", file_id=str(file.id))
            return 0
        images = await asyncio.to_thread(render_pdf_pages, await self.backend.read(file.key))
        renditions = dict(file.renditions or {})
        tenant_id = require_tenant().id
        for number, image in enumerate(images, start=1):
            name = f"page-{number}"
            key = keys.file_key(tenant_id, file.id, name)
            await self.backend.put(key, image, "image/webp")
            renditions[name] = {"key": key, "content_type": "image/webp", "size": len(image)}
        file.renditions = renditions
        file.details = {**file.details, "pages": len(images), "pages_ready": True}
        await session.flush()
        return len(images)
