"""Storage keys: every object of a tenant lives under ``tenants/<tenant id>/``, and no key holds user input.

``tenants/<tenant id>/files/<file id>/original`` is what was uploaded; renditions sit next to it under the same
file prefix (``.../360p``, ``.../page-3``), so a video can later get several sizes and a PDF its page images
without changing the layout. Ids are UUIDs the server made; rendition names come from code, checked here.
The one platform-level layout is ``platform/exports/<export id>.zip`` (tenant archives, ``platform/exports.py``).
"""

from __future__ import annotations

import re
import uuid

ORIGINAL = "original"
RENDITION = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
KEY = re.compile(r"^tenants/[0-9a-f-]{36}/files/[0-9a-f-]{36}/[a-z0-9][a-z0-9-]{0,39}$")
#: Platform-level objects, outside every tenant: the operators' tenant export archives.
PLATFORM_KEY = re.compile(r"^platform/exports/[0-9a-f-]{36}\.zip$")


def tenant_prefix(tenant_id: uuid.UUID) -> str:
    return f"tenants/{tenant_id}/"


def file_prefix(tenant_id: uuid.UUID, file_id: uuid.UUID) -> str:
    return f"{tenant_prefix(tenant_id)}files/{file_id}/"


def file_key(tenant_id: uuid.UUID, file_id: uuid.UUID, rendition: str = ORIGINAL) -> str:
    """The key of a file's original (or of one of its renditions)."""
    if not RENDITION.match(rendition):
        raise ValueError(f"not a rendition name: {rendition!r}")
    return f"{file_prefix(tenant_id, file_id)}{rendition}"


def export_key(export_id: uuid.UUID) -> str:
    """The key of a tenant export archive (``platform/exports/<export id>.zip``): it outlives the tenant."""
    return f"platform/exports/{export_id}.zip"


def check_key(key: str) -> str:
    """``key`` if it has the layout above (a backend refuses anything else: no ``..``, no absolute path)."""
    if not (KEY.match(key) or PLATFORM_KEY.match(key)):
        raise ValueError(f"not a storage key: {key!r}")
    return key
