"""What a file really is, from its first bytes (``puremagic``), never from its name or the browser's word.

Each purpose accepts a few types; a file whose content is none of them (an HTML page renamed ``.pdf``, a script
renamed ``.png``) is refused with 415.
"""

from __future__ import annotations

import codecs

import puremagic

from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.i18n import _

#: How many leading bytes are read to decide (the longest signature puremagic knows is well inside this).
HEAD_BYTES = 8192

IMAGES = ("image/png", "image/jpeg", "image/webp", "image/gif")
#: Types each purpose accepts (the value stored as ``content_type``).
ALLOWED: dict[str, tuple[str, ...]] = {
    "avatar": ("image/png", "image/jpeg", "image/webp"),
    "cover": IMAGES,
    "image": IMAGES,
    "video": ("video/mp4", "video/webm", "video/ogg"),
    "document": ("application/pdf",),
    "attachment": (*IMAGES, "application/pdf"),
    # Written by the app itself, never uploaded:
    "report": ("text/csv", "application/pdf",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),  # domains/reports
    "certificate": ("application/pdf",),  # domains/certificates
}
#: Types with no signature: accepted when the head is UTF-8 text (see :func:`is_text`).
TEXT_TYPES = ("text/csv",)
#: What puremagic may call a type we accept under another name.
ALIASES = {"application/ogg": "video/ogg", "audio/ogg": "video/ogg", "image/jpg": "image/jpeg"}
#: How to say what a purpose accepts, to a person.
DESCRIBE = {
    "video/mp4": "MP4", "video/webm": "WebM", "video/ogg": "Ogg", "application/pdf": "PDF", "image/png": "PNG",
    "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF",
    "text/csv": "CSV", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
}


def detected_types(head: bytes) -> list[str]:
    """Every type puremagic recognises in ``head``, most confident first (empty when none)."""
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return []
    return [ALIASES.get(m.mime_type, m.mime_type) for m in matches if m.mime_type]


def is_text(head: bytes) -> bool:
    """UTF-8 text with no control character but tabs and line ends (a character cut at the end of ``head`` is
    fine)."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(c < " " and c not in "\t\r\n" for c in text)


def accepted_names(purpose: str) -> str:
    return ", ".join(DESCRIBE[t] for t in ALLOWED[purpose])


def sniff(head: bytes, purpose: str) -> str:
    """The content type of a file starting with ``head`` if ``purpose`` accepts it, else :class:`StorageError` 415."""
    allowed = ALLOWED[purpose]
    for found in detected_types(head[:HEAD_BYTES]):
        if found in allowed:
            return found
    for text_type in TEXT_TYPES:
        if text_type in allowed and is_text(head[:HEAD_BYTES]):
            return text_type
    raise StorageError(_("This kind of file is not accepted here. Use: %(types)s.") % {
        "types": accepted_names(purpose)}, status=415)
