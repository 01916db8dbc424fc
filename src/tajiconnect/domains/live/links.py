"""Meeting links: which are accepted, and which provider a link belongs to (pure functions).

Any ``https`` URL with a host is accepted (no credentials, no spaces, at most :data:`URL_MAX` characters). The
provider is recognized from the host and the path:

* **Jitsi Meet**: ``meet.jit.si`` and ``8x8.vc``; self-hosted servers whose host names Jitsi
  (``jitsi.example.org``) or starts with ``meet.`` with a single-segment room path (``/<room>``).
* **BigBlueButton**: Greenlight rooms ``/b/...`` (v2) and ``/rooms/...`` (v3), and ``/bigbluebutton/...`` (the
  server itself), on any host.
* **Zoom** (``zoom.us`` and its subdomains), **Google Meet** (``meet.google.com``), **Microsoft Teams**
  (``teams.microsoft.com``, ``teams.live.com``).
* Anything else is ``other``, labelled with its host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tajiconnect.i18n import N_

URL_MAX = 1000
_ROOM = re.compile(r"^/[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}/?$")
_BBB_PATH = re.compile(r"^/(b|rooms|bigbluebutton)/", re.IGNORECASE)

LABELS = {
    # Product names are not translated (only "Video call" is).
    "jitsi": "Jitsi Meet",
    "bigbluebutton": "BigBlueButton",
    "zoom": "Zoom",
    "meet": "Google Meet",
    "teams": "Microsoft Teams",
    "other": N_("Video call"),
}


class LinkError(ValueError):
    """The text is not an acceptable meeting link; ``message`` (a msgid) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MeetingLink:
    url: str
    provider: str
    host: str


def _host_is(host: str, *domains: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def provider_of(host: str, path: str) -> str:
    """The provider of a link to ``host`` (lower case) with ``path``."""
    if _host_is(host, "meet.jit.si", "8x8.vc"):
        return "jitsi"
    if host == "meet.google.com":
        return "meet"
    if _host_is(host, "zoom.us", "zoomgov.com"):
        return "zoom"
    if _host_is(host, "teams.microsoft.com", "teams.live.com"):
        return "teams"
    if _BBB_PATH.match(path):
        return "bigbluebutton"
    if "jitsi" in host.split(".")[0] or (host.startswith("meet.") and _ROOM.match(path)):
        return "jitsi"
    return "other"


def parse_link(text: str) -> MeetingLink:
    """The link in ``text`` (trimmed) with its provider; :class:`LinkError` when it is not an https link."""
    url = (text or "").strip()
    if not url:
        raise LinkError(N_("Give the meeting link."))
    if len(url) > URL_MAX:
        raise LinkError(N_("The link is too long."))
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        raise LinkError(N_("A link has no spaces."))
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as exc:
        raise LinkError(N_("This is not a valid link.")) from exc
    if parts.scheme.lower() != "https":
        raise LinkError(N_("The link must start with https://."))
    if not host or "." not in host or parts.username or parts.password:
        raise LinkError(N_("This is not a valid link."))
    return MeetingLink(url=url, provider=provider_of(host, parts.path or "/"), host=host)


def label_of(provider: str) -> str:
    """The provider's label (a msgid: translate it where shown)."""
    return LABELS.get(provider, LABELS["other"])
