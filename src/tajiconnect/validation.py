"""Checking what people type, shared by the services: a refusal names its field, and text is cleaned one way.

* :class:`FieldError`: a refused value: a message for the person acting, an HTTP status (400; 404 and 409 for what
  the data refuses) and the field it is about. The functions raise ``error(message, field=...)``, a FieldError
  unless told. Each domain's error (skills, résumés, the job board) is one.
* :func:`clean_text`: text with its blanks collapsed (a one-line value), or each line's blanks collapsed and at
  most one empty line in a row (``lines``: plain text shown as written), or only trimmed (``markdown``: indentation
  means something there); then required and length checks.
* :func:`web_address`: empty, or an ``http``/``https`` address (``courses.markdown.link_url``'s rules).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tajiconnect.i18n import gettext as _


class FieldError(Exception):
    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def clean_text(value: Any, limit: int, field: str, *, required: bool = False, lines: bool = False,
               markdown: bool = False, error: Callable[..., Exception] = FieldError) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise error(_("This must be text."), field=field)
    if markdown:
        cleaned = value.replace("\r\n", "\n").strip()
    elif lines:
        kept = [" ".join(line.split()) for line in value.replace("\r\n", "\n").split("\n")]
        cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    else:
        cleaned = " ".join(value.split())
    if required and not cleaned:
        raise error(_("This cannot be blank."), field=field)
    if len(cleaned) > limit:
        raise error(_("At most %(n)d characters.") % {"n": limit}, field=field)
    return cleaned


def web_address(value: Any, limit: int, field: str, *, error: Callable[..., Exception] = FieldError) -> str:
    from tajiconnect.domains.courses.markdown import EmbedRefused, link_url

    text_ = clean_text(value, limit, field, error=error)
    if not text_:
        return ""
    try:
        return link_url(text_)
    except EmbedRefused as exc:
        raise error(_("Give a web address starting with https://."), field=field) from exc
