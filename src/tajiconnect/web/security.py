"""Security headers on every response (a ``before_send`` hook).

The Content-Security-Policy is :data:`CONTENT_SECURITY_POLICY`, plus the S3 origin when files live in S3 (the
browser then sends upload parts to it and reads presigned images, videos and documents from it): ``create_app``
puts :func:`content_security_policy` of that origin in ``app.state.content_security_policy``.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from tajiconnect.domains.courses.markdown import frame_hosts

# ``frame-src``: exactly the hosts lesson embeds may load from (courses/markdown.py, ``TAJI_EMBED_HOSTS``).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; "
    f"frame-src {' '.join('https://' + host for host in frame_hosts()) or chr(39) + 'none' + chr(39)}"
)


def content_security_policy(storage_origin: str | None = None) -> str:
    """:data:`CONTENT_SECURITY_POLICY`, also allowing ``storage_origin`` (``scheme://host[:port]``) for fetch/XHR
    (upload parts), images and media (presigned reads)."""
    if not storage_origin:
        return CONTENT_SECURITY_POLICY
    directives: dict[str, str] = {}
    for part in CONTENT_SECURITY_POLICY.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    for name in ("img-src", "media-src", "connect-src"):
        directives[name] = f"{directives.get(name, chr(39) + 'self' + chr(39))} {storage_origin}".strip()
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    app = scope.get("app")
    policy = getattr(app.state, "content_security_policy", None) if app is not None else None
    if policy and "content-security-policy" not in headers:
        headers["content-security-policy"] = policy
    for name, value in HEADERS.items():
        if name not in headers:
            headers[name] = value
    if scope.get("scheme") == "https":
        headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
