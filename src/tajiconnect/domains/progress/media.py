"""URLs of a lesson's media, from the storage service (``request.app.state.storage``, see docs/storage.md).

The one place the progress pages ask storage for a URL, so the lead wires storage here at merge. The caller has
already decided that the user may open the lesson (:func:`service.open_lesson`). Without a storage service on the
app (a branch without it), no URL is given and the page says the media is not available.
"""

from __future__ import annotations

from typing import Any

from tajiconnect.domains.storage.models import StoredFile


def file_url(app: Any, file: StoredFile | None, *, rendition: str | None = None, download: bool = False) -> str | None:
    storage = getattr(app.state, "storage", None)
    if storage is None or file is None or file.status != "ready":
        return None
    return str(storage.url(file, rendition=rendition, download=download))


def page_urls(app: Any, file: StoredFile | None, pages: int) -> list[str]:
    """The image of each page of a document (renditions ``page-1`` ... ``page-N``), once they are rendered."""
    if file is None or not pages or not (file.details or {}).get("pages_ready"):
        return []
    urls = [file_url(app, file, rendition=f"page-{n}") for n in range(1, pages + 1)]
    return [u for u in urls if u]
