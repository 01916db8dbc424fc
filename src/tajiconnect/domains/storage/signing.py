"""Signed, expiring app URLs for the local backend: ``/files/<token>``.

The token names the file, the rendition, the disposition (inline or download) and an expiry, and carries an HMAC
(the app's secret key) over those AND the tenant's id, which is not in the token: the tenant is the one whose host
serves the request. So a token is refused after it expires, when any part of it is changed, and on any other
tenant's host. It is a capability: whoever holds it may read that one file until it expires, like an S3 presigned
URL, which is why it is issued only to someone allowed to see the file and lives minutes, not days.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass

TOKEN = re.compile(r"^([0-9a-f]{32})\.([a-z0-9][a-z0-9-]{0,39})\.([id])\.([0-9]{1,12})\.([0-9a-f]{64})$")


@dataclass(frozen=True)
class FileGrant:
    file_id: uuid.UUID
    rendition: str
    download: bool
    expires: int


def _mac(secret: bytes, tenant_id: uuid.UUID, body: str) -> str:
    return hmac.new(secret, f"files\n{tenant_id}\n{body}".encode(), hashlib.sha256).hexdigest()


def sign(secret: bytes, tenant_id: uuid.UUID, grant: FileGrant) -> str:
    body = f"{grant.file_id.hex}.{grant.rendition}.{'d' if grant.download else 'i'}.{grant.expires}"
    return f"{body}.{_mac(secret, tenant_id, body)}"


def verify(secret: bytes, tenant_id: uuid.UUID, token: str, now: float | None = None) -> FileGrant | None:
    """The grant in ``token`` if it is intact, issued for this tenant and not expired; else None."""
    match = TOKEN.match(token)
    if match is None:
        return None
    file_hex, rendition, disposition, expires, mac = match.groups()
    body = f"{file_hex}.{rendition}.{disposition}.{expires}"
    if not hmac.compare_digest(mac, _mac(secret, tenant_id, body)):
        return None
    if int(expires) < (time.time() if now is None else now):
        return None
    return FileGrant(uuid.UUID(file_hex), rendition, disposition == "d", int(expires))
