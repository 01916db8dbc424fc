"""Question import and export formats: GIFT (Moodle), Aiken, and this product's CSV and JSON."""

from __future__ import annotations

from tajiconnect.domains.questions.formats import aiken, gift, native
from tajiconnect.domains.questions.formats.common import (
    FORMATS,
    MAX_BYTES,
    MAX_QUESTIONS,
    FileRefused,
    ParseError,
    ParseResult,
    QuestionDraft,
    check,
    decode,
    detect,
)

__all__ = ["FORMATS", "MAX_BYTES", "MAX_QUESTIONS", "FileRefused", "ParseError", "ParseResult", "QuestionDraft",
           "check", "decode", "detect", "parse"]


def parse(content: bytes, filename: str = "", format: str | None = None) -> tuple[str, ParseResult]:
    """The format used and what ``content`` (an uploaded file) holds; :class:`FileRefused` for unreadable files."""
    text = decode(content)
    chosen = format or detect(text, filename)
    readers = {"gift": gift.parse, "aiken": aiken.parse, "csv": native.parse_csv, "json": native.parse_json}
    if chosen not in readers:
        raise FileRefused("unknown format")
    return chosen, readers[chosen](text)
