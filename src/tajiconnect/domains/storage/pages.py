"""``/files/<token>``: the local backend's files, served by the app on the tenant's host.

The token (``signing.py``) is checked against the host's tenant, its expiry and its MAC; then the file is read
from the tenant's own ``stored_files``. Byte ranges are honoured (a video seeks, a download resumes). Anything
wrong is a plain 404, whatever was wrong, so a token reveals nothing.
"""

from __future__ import annotations

import re
import time

from litestar import Request, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Stream

from tajiconnect.db.session import DbSession
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import Storage, content_disposition

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single satisfiable range; None for no (or a multi-) range; ValueError 416."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: the whole file (allowed by RFC 9110)
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise ValueError("empty suffix range")
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("unsatisfiable range")
    return start, end


@get("/files/{token:str}", name="storage.file", include_in_schema=False)
async def serve_file(request: Request, db_session: DbSession, token: FromPath[str]) -> Stream:
    """One stored file (or rendition) for whoever holds a valid token issued on this organization's host."""
    storage: Storage = request.app.state.storage
    grant = storage.verify(token)
    if grant is None:
        raise NotFoundException()
    file = await db_session.get(StoredFile, grant.file_id)
    if file is None or file.status != "ready":
        raise NotFoundException()
    rendition = None if grant.rendition == "original" else grant.rendition
    try:
        key = storage.key_of(file, rendition)
    except StorageError as exc:
        raise NotFoundException() from exc
    size = await storage.backend.size(key)
    if size is None:
        raise NotFoundException()
    name = storage.download_name(file, rendition)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": f"private, max-age={max(0, min(300, grant.expires - int(time.time())))}",
        "Content-Disposition": content_disposition(name, download=grant.download),
        "X-Content-Type-Options": "nosniff",
    }
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except ValueError as exc:
        raise HTTPException(status_code=416, headers={"Content-Range": f"bytes */{size}"}) from exc
    start, end, status = 0, size - 1, 200
    if wanted is not None:
        (start, end), status = wanted, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Stream(storage.backend.open(key, start, end), status_code=status, headers=headers,
                  media_type=storage.content_type_of(file, rendition))
