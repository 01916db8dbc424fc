"""What every import format produces: :class:`QuestionDraft` (a question not yet in a bank, with the line it came
from), :class:`ParseResult` (the drafts and the lines that could not be read, with why), the limits of an
import, reading the bytes of a file and recognizing its format.

:func:`check` is the one place a question's fields are checked and normalized, for imports, forms and the API.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tajiconnect.domains.questions import kinds
from tajiconnect.domains.questions.kinds import InvalidQuestion
from tajiconnect.i18n import _

MAX_BYTES = 2 * 1024 * 1024
MAX_QUESTIONS = 2_000
NAME_MAX = 200
CATEGORY_MAX = 200
TAG_MAX = 40
TAGS_MAX = 20
POINTS_MAX = Decimal(10_000)
FORMATS = ("gift", "aiken", "csv", "json")
EXTENSIONS = {".gift": "gift", ".aiken": "aiken", ".csv": "csv", ".json": "json"}


@dataclass
class QuestionDraft:
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    text_format: str = "markdown"
    #: General feedback, sanitized HTML.
    feedback: str = ""
    points: Decimal = Decimal(1)
    category: str = ""
    tags: list[str] = field(default_factory=list)
    difficulty: int | None = None
    #: The line of the file the question starts on (0: not from a file).
    line: int = 0
    #: Filled by :func:`check`: the text as sanitized HTML.
    text_html: str = ""


@dataclass(frozen=True)
class ParseError:
    line: int
    reason: str


@dataclass
class ParseResult:
    questions: list[QuestionDraft] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    #: Things skipped that are not mistakes (a GIFT description without answers).
    notices: list[ParseError] = field(default_factory=list)


class FileRefused(ValueError):
    """The file as a whole cannot be imported (too large, not text, unknown format)."""


def _reason(exc: InvalidQuestion) -> str:
    return f"{exc.field}: {exc}" if exc.field else str(exc)


def normalize_category(value: Any) -> str:
    """``a / b/ c`` → ``a/b/c``; Moodle's ``$course$/top/`` prefixes dropped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidQuestion(_("This must be text."), "category")
    parts = [" ".join(p.split()) for p in value.split("/")]
    parts = [p for p in parts if p]
    while parts and re.fullmatch(r"\$[a-z0-9]+\$", parts[0]):
        parts.pop(0)
    if parts and parts[0] == "top":
        parts.pop(0)
    category = "/".join(parts)
    if len(category) > CATEGORY_MAX or "\x00" in category:
        raise InvalidQuestion(_("At most %(n)s characters.") % {"n": CATEGORY_MAX}, "category")
    return category


def normalize_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in re.split(r"[,;]", value)]
    if not isinstance(value, list):
        raise InvalidQuestion(_("This must be a list."), "tags")
    tags: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            raise InvalidQuestion(_("This must be text."), "tags")
        tag = " ".join(raw.split()).lower()
        if len(tag) > TAG_MAX or "\x00" in tag:
            raise InvalidQuestion(_("A tag has at most %(n)s characters.") % {"n": TAG_MAX}, "tags")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise InvalidQuestion(_("At most %(n)s tags.") % {"n": TAGS_MAX}, "tags")
    return tags


def normalize_points(value: Any) -> Decimal:
    points = kinds.parse_number(1 if value is None or value == "" else value, "points")
    if points < 0 or points > POINTS_MAX:
        raise InvalidQuestion(_("Points are between 0 and 10000."), "points")
    return points.quantize(Decimal("0.01"))


def normalize_difficulty(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidQuestion(_("Difficulty is from 1 (easy) to 5 (hard)."), "difficulty")
    return value


def check(draft: QuestionDraft) -> QuestionDraft:
    """The draft with every field checked and normalized (and ``text_html`` rendered), or :class:`InvalidQuestion`."""
    data = kinds.validate(draft.kind, draft.data)
    text, text_format, text_html = kinds.validate_text(draft.text, draft.text_format)
    name = draft.name if isinstance(draft.name, str) else None
    if name is None or len(name) > NAME_MAX or "\x00" in name:
        raise InvalidQuestion(_("At most %(n)s characters.") % {"n": NAME_MAX}, "name")
    feedback = kinds.sanitize(kinds._text(draft.feedback, "feedback", required=False, limit=kinds.TEXT_MAX))
    return dataclasses.replace(
        draft, data=data, text=text, text_format=text_format, text_html=text_html, name=" ".join(name.split()),
        feedback=feedback, points=normalize_points(draft.points), category=normalize_category(draft.category),
        tags=normalize_tags(draft.tags), difficulty=normalize_difficulty(draft.difficulty),
    )


def collect(result: ParseResult, draft: QuestionDraft) -> None:
    """Add ``draft`` to ``result`` if it checks, else its line and why."""
    try:
        result.questions.append(check(draft))
    except InvalidQuestion as exc:
        result.errors.append(ParseError(draft.line, _reason(exc)))


def decode(content: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without BOM), else Windows-1252; no NUL, not too large."""
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file is over %(n)s MiB.") % {"n": MAX_BYTES // 2**20})
    if b"\x00" in content:
        raise FileRefused(_("This is not a text file."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect(text: str, filename: str = "") -> str:
    """The format of a file: by its extension, else by what it holds (gift when nothing else fits)."""
    lower = (filename or "").lower()
    for extension, name in EXTENSIONS.items():
        if lower.endswith(extension):
            return name
    start = text.lstrip()
    if start.startswith(("{", "[")) and not start.startswith(("[html]", "[markdown]", "[plain]", "[moodle]")):
        return "json"
    lines = [line.strip() for line in text.split("\n") if line.strip() and not line.strip().startswith("//")]
    if lines and re.match(r"^\ufeff?\"?kind\"?\s*[,;\t]", lines[0], re.IGNORECASE):
        return "csv"
    if any(re.match(r"^ANSWER\s*:\s*[A-Z]\s*$", line) for line in lines) and not re.search(r"(?<!\\)\{", text):
        return "aiken"
    return "gift"


def too_many(result: ParseResult) -> bool:
    if len(result.questions) + len(result.errors) > MAX_QUESTIONS:
        result.questions.clear()
        result.errors[:] = [ParseError(0, _("A file holds at most %(n)s questions.") % {"n": MAX_QUESTIONS})]
        return True
    return False
