"""Static files (``static/``, ``tenants/<slug>/static/``) with content fingerprints, so they can be cached for good.

Templates never write a static path by hand: ``static_url("app.css")`` gives ``/static/app.css?v=<hash>``, where
the hash is of the file's content, and ``tenant_static_url("logo.svg")`` does the same for the tenant in scope.
A request whose ``v`` is the file's current hash is cached for a year (``immutable``): a phone on 3G fetches htmx
and the CSS once. Any other request (no ``v``, or the hash of an older version, asked by a page from before a
deploy) gets the current file with a short cache, so nothing stale is kept for long.

Nothing is downloaded at run time: third-party files are committed under ``static/vendor/`` (see its README).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from litestar.response import File

from tajiconnect.settings import PROJECT_ROOT
from tajiconnect.tenancy.branding import TENANTS_DIR
from tajiconnect.tenancy.context import TenantRef

STATIC_DIR = PROJECT_ROOT / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"

# One path segment: no "..", no dotfiles, nothing a shell or a URL would read twice.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("image/vnd.microsoft.icon", ".ico")


def find(root: Path, name: str) -> Path | None:
    """The file ``name`` (``a/b.css``, no leading slash) under ``root``, or None (missing, hidden or outside)."""
    parts = name.split("/")
    if not name or len(parts) > 4 or not all(_SEGMENT.fullmatch(part) for part in parts):
        return None
    path = root.joinpath(*parts)
    try:
        if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            return None
    except OSError:
        return None
    return path


def fingerprint(path: Path) -> str | None:
    """A short hash of the file's content (recomputed only when its size or modification time changes)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=512)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def static_url(name: str) -> str:
    """``/static/<name>?v=<hash>``. A name that is not a file is a programming error (the tests render every page)."""
    path = find(STATIC_DIR, name)
    if path is None:
        raise LookupError(f"no static file {name!r}")
    return f"/static/{name}?v={fingerprint(path)}"


def tenant_static_url(tenant: TenantRef | None, name: str, tenants_dir: Path = TENANTS_DIR) -> str:
    """``/tenant-static/<name>?v=<hash>`` for the tenant's file; without the hash when it is missing (a 404)."""
    path = find(tenants_dir / tenant.slug / "static", name) if tenant is not None else None
    digest = fingerprint(path) if path is not None else None
    return f"/tenant-static/{name}?v={digest}" if digest else f"/tenant-static/{name}"


def asset_response(path: Path, version: str | None) -> File:
    """The file, cached for a year when ``version`` is its current fingerprint, briefly otherwise."""
    cache = IMMUTABLE if version is not None and version == fingerprint(path) else SHORT
    return File(
        path=path,
        media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        filename=path.name,
        content_disposition_type="inline",
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )
