"""Automatic grading of one answer, with no database: ``grade_response(kind, data, response)``.

``data`` is a question's data (shapes in docs/questions.md and docs/assessments.md); ``response`` what the learner
sent. The result's ``fraction`` is the share of the question's points earned (-1 to 1: negative marks allowed),
``None`` for the kinds a teacher grades by hand (essay, code). A response of the wrong shape raises
:class:`ResponseInvalid` (a 400 for the API).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tajiconnect.i18n import gettext as _

ONE = Decimal(1)
ZERO = Decimal(0)
#: Longest free text answer (essay, code) in characters.
MAX_TEXT = 50_000
#: Longest short answer and numeric value, in characters.
MAX_SHORT = 1_000
MAX_NUMERIC = 40
#: Most items in a list response (options chosen, pairs, order).
MAX_ITEMS = 200
#: Numbers outside +-10^15 are refused (no grading question needs them; keeps Decimal arithmetic small).
MAX_MAGNITUDE = Decimal(10) ** 15


class ResponseInvalid(ValueError):
    status = 400
    field = "response"


@dataclass(frozen=True)
class AutoGrade:
    #: Share of the points earned, -1..1; ``None``: a human grades it.
    fraction: Decimal | None
    correct: bool | None
    feedback_html: list[str] = field(default_factory=list)


def _dec(value: Any, default: Decimal = ZERO) -> Decimal:
    """A decimal from the question's data (written by the validator; tolerate junk as ``default``)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return default
    return number if number.is_finite() else default


def clamp(fraction: Decimal) -> Decimal:
    return max(-ONE, min(ONE, fraction))


def parse_number(value: Any) -> Decimal:
    """A learner's number (a string, or an int/float for leniency): finite, not huge; else ResponseInvalid."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ResponseInvalid(_("Enter a number."))
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else repr(value)
    if not text or len(text) > MAX_NUMERIC:
        raise ResponseInvalid(_("Enter a number."))
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ResponseInvalid(_("Enter a number.")) from exc
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        raise ResponseInvalid(_("Enter a number."))
    return number


def _obj(response: Any, key: str) -> Any:
    if not isinstance(response, dict) or key not in response or set(response) - {key}:
        raise ResponseInvalid(_("The answer does not fit the question."))
    return response[key]


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ResponseInvalid(_("The answer does not fit the question."))
    return value


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS or not all(isinstance(v, str) for v in value):
        raise ResponseInvalid(_("The answer does not fit the question."))
    if len(set(value)) != len(value):
        raise ResponseInvalid(_("The answer does not fit the question."))
    return value


def _result(fraction: Decimal, feedback: list[str]) -> AutoGrade:
    fraction = clamp(fraction)
    return AutoGrade(fraction=fraction, correct=fraction >= ONE, feedback_html=[f for f in feedback if f])


def _options(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(o.get("id")): o for o in data.get("options") or [] if isinstance(o, dict)}


def _single(data: dict[str, Any], response: Any) -> AutoGrade:
    chosen = _obj(response, "option")
    options = _options(data)
    if not isinstance(chosen, str) or chosen not in options:
        raise ResponseInvalid(_("Choose one of the options."))
    option = options[chosen]
    return _result(_dec(option.get("fraction")), [option.get("feedback_html", "")])


def _multiple(data: dict[str, Any], response: Any) -> AutoGrade:
    chosen = _ids(_obj(response, "options"))
    options = _options(data)
    if any(c not in options for c in chosen):
        raise ResponseInvalid(_("Choose among the options."))
    total = sum((_dec(options[c].get("fraction")) for c in chosen), ZERO)
    return _result(total, [options[c].get("feedback_html", "") for c in chosen])


def _true_false(data: dict[str, Any], response: Any) -> AutoGrade:
    value = _obj(response, "value")
    if not isinstance(value, bool):
        raise ResponseInvalid(_("Answer true or false."))
    right = bool(data.get("answer"))
    feedback = data.get("feedback_true_html" if value else "feedback_false_html", "")
    return _result(ONE if value == right else ZERO, [feedback])


_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def wildcard_matches(pattern: str, text: str) -> bool:
    """GIFT-style ``*`` (any characters) over the whole answer, case-insensitive."""
    regex = ".*".join(re.escape(part) for part in normalize(pattern).split("*"))
    return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None


def _short(data: dict[str, Any], response: Any) -> AutoGrade:
    text = normalize(_text(_obj(response, "text"), MAX_SHORT))
    best: tuple[Decimal, str] | None = None
    for answer in data.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        expected = normalize(str(answer.get("text", "")))
        match = answer.get("match", "exact")
        if match == "ci":
            hit = text.casefold() == expected.casefold()
        elif match == "pattern":
            hit = wildcard_matches(expected, text)
        else:
            hit = text == expected
        fraction = _dec(answer.get("fraction"))
        if hit and (best is None or fraction > best[0]):
            best = (fraction, str(answer.get("feedback_html", "")))
    if best is None:
        return _result(ZERO, [])
    return _result(best[0], [best[1]])


def _numeric(data: dict[str, Any], response: Any) -> AutoGrade:
    value = parse_number(_obj(response, "value"))
    best: tuple[Decimal, str] | None = None
    for answer in data.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        if "min" in answer or "max" in answer:
            low, high = _dec(answer.get("min"), -MAX_MAGNITUDE), _dec(answer.get("max"), MAX_MAGNITUDE)
            hit = low <= value <= high
        else:
            target, tolerance = _dec(answer.get("value")), abs(_dec(answer.get("tolerance")))
            hit = abs(value - target) <= tolerance
        fraction = _dec(answer.get("fraction"), ONE)
        if hit and (best is None or fraction > best[0]):
            best = (fraction, str(answer.get("feedback_html", "")))
    if best is None:
        return _result(ZERO, [])
    return _result(best[0], [best[1]])


def _matching(data: dict[str, Any], response: Any) -> AutoGrade:
    chosen = _obj(response, "pairs")
    pairs = [p for p in data.get("pairs") or [] if isinstance(p, dict)]
    ids = {str(p.get("id")) for p in pairs}
    if (
        not isinstance(chosen, dict)
        or len(chosen) > MAX_ITEMS
        or any(k not in ids or not isinstance(v, str) or len(v) > MAX_SHORT for k, v in chosen.items())
    ):
        raise ResponseInvalid(_("The answer does not fit the question."))
    if not pairs:
        return _result(ZERO, [])
    right = sum(1 for p in pairs if chosen.get(str(p.get("id"))) == p.get("answer"))
    return _result(Decimal(right) / Decimal(len(pairs)), [])


def _ordering(data: dict[str, Any], response: Any) -> AutoGrade:
    order = _ids(_obj(response, "order"))
    items = [str(i.get("id")) for i in data.get("items") or [] if isinstance(i, dict)]
    if set(order) - set(items):
        raise ResponseInvalid(_("The answer does not fit the question."))
    if not items:
        return _result(ZERO, [])
    right = sum(1 for position, item in enumerate(items) if position < len(order) and order[position] == item)
    return _result(Decimal(right) / Decimal(len(items)), [])


def _manual(data: dict[str, Any], response: Any) -> AutoGrade:
    _text(_obj(response, "text"), MAX_TEXT)
    return AutoGrade(fraction=None, correct=None, feedback_html=[])


GRADERS: dict[str, Callable[[dict[str, Any], Any], AutoGrade]] = {
    "single": _single,
    "multiple": _multiple,
    "true_false": _true_false,
    "short": _short,
    "numeric": _numeric,
    "matching": _matching,
    "ordering": _ordering,
    "essay": _manual,
    "code": _manual,
}


def grade_response(kind: str, data: dict[str, Any], response: Any) -> AutoGrade:
    """Grade ``response`` to a question of ``kind`` with ``data``; ResponseInvalid when it does not fit."""
    grader = GRADERS.get(kind)
    if grader is None:
        raise ResponseInvalid(_("Unknown question kind."))
    return grader(data, response)


def check_response(kind: str, data: dict[str, Any], response: Any) -> None:
    """Validate the shape of a response (autosave) without caring about the grade."""
    grade_response(kind, data, response)
