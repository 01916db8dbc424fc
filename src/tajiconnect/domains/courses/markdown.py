"""Lesson and course text: Markdown rendered on the server and sanitized, and embed URLs checked against an
allow-list.

* :func:`render` turns Markdown into HTML with markdown-it-py (CommonMark plus tables and strikethrough; raw HTML
  in the source is *escaped*, not passed through) and then cleans the result with nh3 (an allow-list of tags and
  attributes, ``http``/``https``/``mailto`` links only). Every link gets ``rel="noopener nofollow ugc"``. Lessons
  keep the result in ``body_html`` (rendered when saved).
* :func:`embed_url` turns what a teacher pastes (a YouTube watch page, a Vimeo page, a Google Docs link, or any
  ``https`` URL on a configured host) into the address an ``<iframe>`` loads, or refuses it with
  :class:`EmbedRefused`. The CSP's ``frame-src`` (``web/security.py``) allows exactly :func:`frame_hosts`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qs, urlsplit

import nh3
from markdown_it import MarkdownIt

from tajiconnect.i18n import _

LINK_REL = "noopener nofollow ugc"
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}

#: Hosts an embed may load from (the ``<iframe>`` addresses :func:`embed_url` produces). ``TAJI_EMBED_HOSTS``
#: (comma-separated) replaces the list; YouTube and Vimeo page addresses are converted to their players' hosts.
DEFAULT_EMBED_HOSTS: tuple[str, ...] = ("www.youtube-nocookie.com", "player.vimeo.com", "docs.google.com")
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "youtube-nocookie.com",
                 "www.youtube-nocookie.com"}
VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
GOOGLE_DOC = re.compile(r"^/(document|presentation|spreadsheets|forms)/d/(e/)?([A-Za-z0-9_-]{10,200})(/|$)")
URL_MAX = 2000


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render(text: str) -> str:
    """Markdown to sanitized HTML (empty text gives empty HTML)."""
    if not text or not text.strip():
        return ""
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


class EmbedRefused(ValueError):
    """The URL cannot be embedded; the message says why, for the person editing."""


@lru_cache(maxsize=1)
def frame_hosts() -> tuple[str, ...]:
    """The hosts an embed may load from: ``TAJI_EMBED_HOSTS`` when set, else :data:`DEFAULT_EMBED_HOSTS`."""
    raw = os.environ.get("TAJI_EMBED_HOSTS")
    if raw is None:
        return DEFAULT_EMBED_HOSTS
    hosts = []
    for part in raw.split(","):
        host = part.strip().lower().rstrip(".")
        if re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", host) and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def _youtube_id(host: str, path: str, query: str) -> str | None:
    if host == "youtu.be":
        candidate = path.strip("/").split("/")[0]
    elif path == "/watch":
        candidate = (parse_qs(query).get("v") or [""])[0]
    else:
        parts = path.strip("/").split("/")
        candidate = parts[1] if len(parts) >= 2 and parts[0] in ("embed", "shorts", "live", "v") else ""
    return candidate if YOUTUBE_ID.match(candidate) else None


def _web_address(raw: str, empty: str) -> tuple[str, SplitResult]:
    """``raw`` trimmed and split, if it is an ``http``/``https`` address of sane length without spaces."""
    url = (raw or "").strip()
    if not url:
        raise EmbedRefused(empty)
    if len(url) > URL_MAX:
        raise EmbedRefused(_("This address is too long."))
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise EmbedRefused(_("This address contains spaces or control characters."))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise EmbedRefused(_("This is not a valid web address.")) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise EmbedRefused(_("Only web addresses (http:// or https://) can be used."))
    return url, parts


def embed_url(raw: str, hosts: tuple[str, ...] | None = None) -> str:
    """The embeddable form of ``raw``, or :class:`EmbedRefused`."""
    allowed = frame_hosts() if hosts is None else hosts
    _url, parts = _web_address(raw, _("Enter the address of what to embed."))
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.username or parts.password or parts.port not in (None, 443):
        raise EmbedRefused(_("This address cannot be embedded."))
    if host in YOUTUBE_HOSTS and "www.youtube-nocookie.com" in allowed:
        video = _youtube_id(host, parts.path, parts.query)
        if video is None:
            raise EmbedRefused(_("This YouTube address does not name a video."))
        return f"https://www.youtube-nocookie.com/embed/{video}"
    if host in VIMEO_HOSTS and "player.vimeo.com" in allowed:
        match = re.match(r"^/(?:video/)?(\d{1,12})(?:/|$)", parts.path)
        if match is None:
            raise EmbedRefused(_("This Vimeo address does not name a video."))
        return f"https://player.vimeo.com/video/{match.group(1)}"
    if host == "docs.google.com" and "docs.google.com" in allowed:
        match = GOOGLE_DOC.match(parts.path)
        if match is None:
            raise EmbedRefused(_("This Google Docs address does not name a document."))
        kind, published, doc = match.group(1), match.group(2) or "", match.group(3)
        if kind == "forms":
            return f"https://docs.google.com/forms/d/{published}{doc}/viewform?embedded=true"
        if kind == "presentation":
            return f"https://docs.google.com/presentation/d/{published}{doc}/embed"
        return f"https://docs.google.com/{kind}/d/{published}{doc}/preview"
    if host in allowed:
        path = parts.path or "/"
        return f"https://{host}{path}" + (f"?{parts.query}" if parts.query else "")
    raise EmbedRefused(
        _("Content from %(host)s cannot be embedded. Allowed: %(hosts)s.") % {"host": host, "hosts": ", ".join(allowed)}
    )


def link_url(raw: str) -> str:
    """A link lesson's address: an absolute ``http``/``https`` URL (any host), or :class:`EmbedRefused`."""
    url, _parts = _web_address(raw, _("Enter the address of the link."))
    return url
