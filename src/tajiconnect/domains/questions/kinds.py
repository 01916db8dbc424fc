"""What each question kind keeps in ``data``, checked and normalized, and question text rendered to safe HTML.

:func:`validate` takes a kind and its ``data`` as given (by a form, the API or an import) and answers the
normalized ``data`` the quiz and grading code rely on (the shapes are in docs/questions.md): fractions as decimal
strings between -1 and 1 ("1", "0.5", "-0.25"), ids given where missing ("a", "b", ...), every text shown to
learners sanitized HTML, unknown members refused. Anything wrong raises :class:`InvalidQuestion` whose ``field``
names the member (``data.options[2].fraction``).

:func:`render_text` turns a question's text in its format into sanitized HTML: Markdown through
:mod:`tajiconnect.domains.courses.markdown`, HTML through nh3 with the same allow-list, plain text escaped.
:func:`render_inline` does the same for short texts (options, feedback): one paragraph loses its ``<p>``.
"""

from __future__ import annotations

import html as html_lib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import nh3

from tajiconnect.domains.courses.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL, URL_SCHEMES, render
from tajiconnect.domains.questions.models import QUESTION_KINDS, TEXT_FORMATS
from tajiconnect.i18n import _

TEXT_MAX = 20_000  # a question's text
HTML_MAX = 5_000  # an option, a prompt, a feedback
ANSWER_MAX = 500  # a short answer, a matching answer
TEMPLATE_MAX = 50_000
OPTIONS_MAX = 50
NUMBER_MAX_CHARS = 30
NUMBER_MAX = Decimal("1e15")
WORDS_MAX = 100_000
ID = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
SHUFFLED_BY_DEFAULT = frozenset({"single", "multiple", "matching"})
#: The correct options of a "multiple" question must add up to 1 within this (three options of 33.333%).
SUM_TOLERANCE = Decimal("0.01")
MATCHES = ("exact", "ci", "pattern")
_P = re.compile(r"^<p>(.*)</p>$", re.DOTALL)


class QuestionError(ValueError):
    """A refused question operation. ``status``: 400 invalid input (``field`` names it), 404 not found, 409 the
    current state refuses it."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidQuestion(QuestionError):
    """A kind, text or ``data`` that does not validate."""


# --- rendering ------------------------------------------------------------------------------------------------


def sanitize(value: str) -> str:
    """HTML cleaned with the allow-list lessons use (no scripts, no styles, http/https/mailto links only)."""
    if not value or not value.strip():
        return ""
    return nh3.clean(
        value, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL,
        strip_comments=True,
    ).strip()


def render_text(text: str, text_format: str) -> str:
    """A question's text (``text_format``: markdown, html or plain) as sanitized HTML."""
    if not text or not text.strip():
        return ""
    if text_format == "html":
        return sanitize(text)
    if text_format == "plain":
        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        return "\n".join(
            "<p>" + "<br>\n".join(html_lib.escape(line, quote=False) for line in p.strip().split("\n")) + "</p>"
            for p in paragraphs
        )
    return render(text).strip()


def render_inline(text: str, text_format: str) -> str:
    """A short text (an option, a feedback) as sanitized HTML; a single paragraph loses its ``<p>``."""
    rendered = render_text(text, text_format)
    match = _P.match(rendered)
    if match and "<p>" not in match.group(1):
        return match.group(1)
    return rendered


def plain_of(html: str) -> str:
    """The text of a piece of sanitized HTML (for lists and search): tags dropped, entities decoded."""
    return html_lib.unescape(re.sub(r"<[^>]*>", " ", html or "")).strip()


# --- validation -----------------------------------------------------------------------------------------------


def _fail(field: str, message: str) -> InvalidQuestion:
    return InvalidQuestion(message, field)


def _object(value: Any, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(field, _("This must be an object."))
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(f"{field}.{unknown[0]}", _("Unknown member %(name)s.") % {"name": unknown[0][:40]})
    return value


def _list(value: Any, field: str, *, low: int, high: int = OPTIONS_MAX) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(field, _("This must be a list."))
    if len(value) < low:
        raise _fail(field, _("Give at least %(n)s.") % {"n": low})
    if len(value) > high:
        raise _fail(field, _("Give at most %(n)s.") % {"n": high})
    return value


def _text(value: Any, field: str, *, required: bool, limit: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(field, _("This must be text."))
    if "\x00" in value:
        raise _fail(field, _("This text holds a NUL character."))
    if len(value) > limit:
        raise _fail(field, _("At most %(n)s characters.") % {"n": limit})
    if required and not value.strip():
        raise _fail(field, _("This cannot be empty."))
    return value


def _html(value: Any, field: str, *, required: bool) -> str:
    cleaned = sanitize(_text(value, field, required=required, limit=HTML_MAX))
    if required and not cleaned:
        raise _fail(field, _("This cannot be empty."))
    return cleaned


def _answer_text(value: Any, field: str) -> str:
    """A plain-text answer, trimmed and with its white space collapsed."""
    return " ".join(_text(value, field, required=True, limit=ANSWER_MAX).split())


def decimal_text(value: Decimal) -> str:
    """A decimal written without exponent or trailing zeros ("0.5", "-2", "1000")."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_number(value: Any, field: str) -> Decimal:
    """A finite decimal of sane size from text or a number (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _fail(field, _("This must be a number."))
    raw = value.strip().replace(",", ".") if isinstance(value, str) else str(value)
    if not raw or len(raw) > NUMBER_MAX_CHARS:
        raise _fail(field, _("This must be a number."))
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise _fail(field, _("This must be a number.")) from None
    if not number.is_finite() or abs(number) >= NUMBER_MAX:
        raise _fail(field, _("This must be a finite number below 10^15."))
    return number


def _fraction(value: Any, field: str) -> Decimal:
    number = parse_number("1" if value is None else value, field)
    if number < -1 or number > 1:
        raise _fail(field, _("A fraction is between -1 and 1 (-100% to 100%)."))
    return number.quantize(Decimal("0.0000001")).normalize()


def _ids(items: list[dict[str, Any]], given: list[Any], field: str) -> None:
    """Give each item its id (the given one, checked, or the next free letter)."""
    seen: set[str] = set()
    for index, raw in enumerate(given):
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str) or not ID.match(raw):
            raise _fail(f"{field}[{index}].id", _("An id is 1-20 letters, digits, - or _."))
        if raw in seen:
            raise _fail(f"{field}[{index}].id", _("Two items have the id %(id)s.") % {"id": raw})
        seen.add(raw)
    counter = 0
    for item, raw in zip(items, given, strict=True):
        if raw:
            item["id"] = raw
            continue
        while True:
            candidate = _letters(counter)
            counter += 1
            if candidate not in seen:
                break
        seen.add(candidate)
        item["id"] = candidate


def _letters(n: int) -> str:
    """a, b, ..., z, aa, ab, ..."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(97 + rest) + out
    return out


def _shuffle(data: dict[str, Any], kind: str) -> bool:
    value = data.get("shuffle", kind in SHUFFLED_BY_DEFAULT)
    if not isinstance(value, bool):
        raise _fail("data.shuffle", _("This must be true or false."))
    return value


def _options(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"options", "shuffle"})
    raw = _list(data.get("options"), "data.options", low=2)
    options: list[dict[str, Any]] = []
    fractions: list[Decimal] = []
    for i, item in enumerate(raw):
        field = f"data.options[{i}]"
        _object(item, field, {"id", "html", "fraction", "feedback_html"})
        fraction = _fraction(item.get("fraction", "0"), f"{field}.fraction")
        fractions.append(fraction)
        options.append({
            "html": _html(item.get("html"), f"{field}.html", required=True),
            "fraction": decimal_text(fraction),
            "feedback_html": _html(item.get("feedback_html"), f"{field}.feedback_html", required=False),
        })
    _ids(options, [item.get("id") for item in raw], "data.options")
    if kind == "single":
        if sum(1 for f in fractions if f == 1) != 1:
            raise _fail("data.options", _("Exactly one option must be fully correct (100%)."))
    else:
        total = sum((f for f in fractions if f > 0), Decimal(0))
        if total == 0 or abs(total - 1) > SUM_TOLERANCE:
            raise _fail("data.options", _("The correct options' fractions must add up to 100%."))
    return {"options": [{"id": o["id"], **{k: v for k, v in o.items() if k != "id"}} for o in options],
            "shuffle": _shuffle(data, kind)}


def _true_false(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"answer", "feedback_true_html", "feedback_false_html", "shuffle"})
    if not isinstance(data.get("answer"), bool):
        raise _fail("data.answer", _("The answer must be true or false."))
    return {
        "answer": data["answer"],
        "feedback_true_html": _html(data.get("feedback_true_html"), "data.feedback_true_html", required=False),
        "feedback_false_html": _html(data.get("feedback_false_html"), "data.feedback_false_html", required=False),
        "shuffle": _shuffle(data, "true_false"),
    }


def _needs_full_marks(fractions: list[Decimal], field: str) -> None:
    if not any(f == 1 for f in fractions):
        raise _fail(field, _("At least one answer must be fully correct (100%)."))


def _short(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"answers", "shuffle"})
    answers = []
    fractions = []
    for i, item in enumerate(_list(data.get("answers"), "data.answers", low=1)):
        field = f"data.answers[{i}]"
        _object(item, field, {"text", "match", "fraction", "feedback_html"})
        text = _answer_text(item.get("text"), f"{field}.text")
        match = item.get("match") or ("pattern" if "*" in text else "ci")
        if match not in MATCHES:
            raise _fail(f"{field}.match", _("Matching is exact, ci (any case) or pattern."))
        fraction = _fraction(item.get("fraction", "1"), f"{field}.fraction")
        fractions.append(fraction)
        answers.append({"text": text, "match": match, "fraction": decimal_text(fraction),
                        "feedback_html": _html(item.get("feedback_html"), f"{field}.feedback_html", required=False)})
    _needs_full_marks(fractions, "data.answers")
    return {"answers": answers, "shuffle": _shuffle(data, "short")}


def _numeric(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"answers", "shuffle"})
    answers = []
    fractions = []
    for i, item in enumerate(_list(data.get("answers"), "data.answers", low=1)):
        field = f"data.answers[{i}]"
        _object(item, field, {"value", "tolerance", "min", "max", "fraction", "feedback_html"})
        answer: dict[str, Any] = {}
        if "value" in item:
            if "min" in item or "max" in item:
                raise _fail(field, _("Give a value with a tolerance, or a range, not both."))
            answer["value"] = decimal_text(parse_number(item["value"], f"{field}.value"))
            tolerance = parse_number(item.get("tolerance", "0"), f"{field}.tolerance")
            if tolerance < 0:
                raise _fail(f"{field}.tolerance", _("A tolerance cannot be negative."))
            answer["tolerance"] = decimal_text(tolerance)
        elif "min" in item and "max" in item:
            if "tolerance" in item:
                raise _fail(f"{field}.tolerance", _("A range has no tolerance."))
            low = parse_number(item["min"], f"{field}.min")
            high = parse_number(item["max"], f"{field}.max")
            if low > high:
                raise _fail(f"{field}.max", _("The end of a range cannot be below its start."))
            answer.update(min=decimal_text(low), max=decimal_text(high))
        else:
            raise _fail(field, _("Give a value (with a tolerance) or a range (min and max)."))
        fraction = _fraction(item.get("fraction", "1"), f"{field}.fraction")
        fractions.append(fraction)
        answer["fraction"] = decimal_text(fraction)
        answer["feedback_html"] = _html(item.get("feedback_html"), f"{field}.feedback_html", required=False)
        answers.append(answer)
    _needs_full_marks(fractions, "data.answers")
    return {"answers": answers, "shuffle": _shuffle(data, "numeric")}


def _matching(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"pairs", "distractors", "shuffle"})
    raw = _list(data.get("pairs"), "data.pairs", low=2)
    pairs = []
    for i, item in enumerate(raw):
        field = f"data.pairs[{i}]"
        _object(item, field, {"id", "prompt_html", "answer"})
        pairs.append({"prompt_html": _html(item.get("prompt_html"), f"{field}.prompt_html", required=True),
                      "answer": _answer_text(item.get("answer"), f"{field}.answer")})
    _ids(pairs, [item.get("id") for item in raw], "data.pairs")
    distractors = [
        _answer_text(d, f"data.distractors[{i}]")
        for i, d in enumerate(_list(data.get("distractors", []), "data.distractors", low=0))
    ]
    return {"pairs": [{"id": p["id"], "prompt_html": p["prompt_html"], "answer": p["answer"]} for p in pairs],
            "distractors": distractors, "shuffle": _shuffle(data, "matching")}


def _ordering(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"items", "shuffle"})
    raw = _list(data.get("items"), "data.items", low=2)
    items = []
    for i, item in enumerate(raw):
        _object(item, f"data.items[{i}]", {"id", "html"})
        items.append({"html": _html(item.get("html"), f"data.items[{i}].html", required=True)})
    _ids(items, [item.get("id") for item in raw], "data.items")
    return {"items": [{"id": x["id"], "html": x["html"]} for x in items], "shuffle": _shuffle(data, "ordering")}


def _words(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= WORDS_MAX:
        raise _fail(field, _("A number of words from 0 to %(n)s.") % {"n": WORDS_MAX})
    return value


def _essay(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"min_words", "max_words", "template", "shuffle"})
    low = _words(data.get("min_words"), "data.min_words")
    high = _words(data.get("max_words"), "data.max_words")
    if low is not None and high is not None and low > high:
        raise _fail("data.max_words", _("The most words cannot be fewer than the fewest."))
    return {"min_words": low, "max_words": high,
            "template": _text(data.get("template", ""), "data.template", required=False, limit=TEMPLATE_MAX),
            "shuffle": _shuffle(data, "essay")}


def known_language(alias: str) -> bool:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        get_lexer_by_name(alias)
    except ClassNotFound:
        return False
    return True


def _code(data: dict[str, Any]) -> dict[str, Any]:
    _object(data, "data", {"language", "template", "shuffle"})
    language = _text(data.get("language", "python"), "data.language", required=True, limit=40).strip().lower()
    if not known_language(language):
        raise _fail("data.language", _("Unknown programming language %(name)s.") % {"name": language})
    return {"language": language,
            "template": _text(data.get("template", ""), "data.template", required=False, limit=TEMPLATE_MAX),
            "shuffle": _shuffle(data, "code")}


def validate(kind: Any, data: Any) -> dict[str, Any]:
    """``data`` for a question of ``kind``, checked and normalized (see the module), or :class:`InvalidQuestion`."""
    if kind not in QUESTION_KINDS:
        raise _fail("kind", _("Unknown question kind."))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _fail("data", _("This must be an object."))
    if kind in ("single", "multiple"):
        return _options(kind, data)
    handlers = {"true_false": _true_false, "short": _short, "numeric": _numeric, "matching": _matching,
                "ordering": _ordering, "essay": _essay, "code": _code}
    return handlers[kind](data)


def validate_text(text: Any, text_format: Any) -> tuple[str, str, str]:
    """A question's text and format, checked: ``(text, format, html)``."""
    if text_format not in TEXT_FORMATS:
        raise _fail("text_format", _("The text format is markdown, html or plain."))
    value = _text(text, "text", required=True, limit=TEXT_MAX)
    rendered = render_text(value, text_format)
    if not rendered:
        raise _fail("text", _("This cannot be empty."))
    return value, text_format, rendered
