"""This product's own formats: JSON (import and export, every kind and field) and CSV (import, for spreadsheets).

JSON: ``{"format": "tajiconnect-questions", "version": 1, "questions": [{kind, name, text, text_format, data,
feedback_html, points, category, tags, difficulty}, ...]}`` (or the list alone); an error's ``line`` is the
question's number in the list.

CSV (comma, semicolon or tab; a header row): ``kind,name,text,text_format,answers,correct,data,feedback,points,
category,tags,difficulty`` (only ``kind`` and ``text`` needed). ``answers`` lists answers separated by ``|``
(``\\|`` for the character): the options of single/multiple (``correct`` gives the right ones' numbers, ``2`` or
``1;3``), short answers, numeric ``3.14:0.01`` or ``1..2``, matching ``prompt -> answer`` pairs, ordering items in
the right order, the language of a code question. ``correct`` is ``true``/``false`` for true/false. ``data``
(JSON) replaces what ``answers``/``correct`` give. ``tags`` are separated by ``;``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

from tajiconnect.domains.questions.formats.common import (
    ParseError,
    ParseResult,
    QuestionDraft,
    collect,
    too_many,
)
from tajiconnect.domains.questions.kinds import decimal_text, render_inline
from tajiconnect.i18n import _

JSON_FORMAT = "tajiconnect-questions"
CSV_COLUMNS = ("kind", "name", "text", "text_format", "answers", "correct", "data", "feedback", "points",
               "category", "tags", "difficulty")
FIELDS = {"kind", "name", "text", "text_format", "data", "feedback_html", "points", "category", "tags", "difficulty"}


def to_json(q: QuestionDraft) -> dict[str, Any]:
    return {
        "kind": q.kind, "name": q.name, "text": q.text, "text_format": q.text_format, "data": q.data,
        "feedback_html": q.feedback, "points": decimal_text(Decimal(q.points)), "category": q.category,
        "tags": list(q.tags), "difficulty": q.difficulty,
    }


def export_json(questions: list[QuestionDraft]) -> str:
    return json.dumps({"format": JSON_FORMAT, "version": 1, "questions": [to_json(q) for q in questions]},
                      ensure_ascii=False, indent=1)


def parse_json(text: str) -> ParseResult:
    result = ParseResult()
    try:
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=lambda c: c)
    except (ValueError, RecursionError) as exc:
        result.errors.append(ParseError(getattr(exc, "lineno", 0), _("This is not valid JSON.")))
        return result
    items = document.get("questions") if isinstance(document, dict) else document
    if not isinstance(items, list):
        result.errors.append(ParseError(0, _("Expected a list of questions, or an object with \"questions\".")))
        return result
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.errors.append(ParseError(number, _("A question is an object.")))
            continue
        unknown = sorted(set(item) - FIELDS)
        if unknown:
            result.errors.append(ParseError(number, _("Unknown member %(name)s.") % {"name": unknown[0][:40]}))
            continue
        difficulty = item.get("difficulty")
        collect(result, QuestionDraft(
            kind=item.get("kind"),  # type: ignore[arg-type]  # checked by collect
            name=item.get("name", ""), text=item.get("text"),  # type: ignore[arg-type]
            text_format=item.get("text_format", "markdown"), data=_numbers(item.get("data", {})),
            feedback=item.get("feedback_html", ""), points=item.get("points", "1"),
            category=item.get("category", ""), tags=item.get("tags", []),
            difficulty=int(difficulty) if isinstance(difficulty, str) and difficulty.isdigit() else difficulty,
            line=number,
        ))
        if too_many(result):
            break
    return result


def _numbers(data: Any) -> Any:
    """JSON numbers were read as text (exactly); word limits are integers again."""
    if isinstance(data, dict):
        for key in ("min_words", "max_words"):
            value = data.get(key)
            if isinstance(value, str) and re.fullmatch(r"\d{1,7}", value):
                data[key] = int(value)
    return data


def _split(cell: str) -> list[str]:
    return [p.replace("\\|", "|").strip() for p in re.split(r"(?<!\\)\|", cell) if p.strip()]


def _csv_data(kind: str, answers: list[str], correct: str, fmt: str) -> dict[str, Any]:
    if kind in ("single", "multiple"):
        chosen = {int(n) for n in re.findall(r"\d+", correct)}
        share = decimal_text(Decimal(1) / len(chosen)) if (kind == "multiple" and chosen) else "1"
        return {"options": [{"html": render_inline(a, fmt), "fraction": share if i in chosen else "0"}
                            for i, a in enumerate(answers, start=1)]}
    if kind == "true_false":
        value = correct.strip().lower()
        return {"answer": True if value in ("true", "t", "1", "yes") else False if value in
                ("false", "f", "0", "no") else None}
    if kind == "short":
        return {"answers": [{"text": a} for a in answers]}
    if kind == "numeric":
        out = []
        for a in answers:
            if ".." in a:
                low, _sep, high = a.partition("..")
                out.append({"min": low.strip(), "max": high.strip()})
            else:
                value, _sep, tolerance = a.partition(":")
                out.append({"value": value.strip(), "tolerance": tolerance.strip() or "0"})
        return {"answers": out}
    if kind == "matching":
        pairs, distractors = [], []
        for a in answers:
            prompt, _sep, answer = a.partition("->")
            if prompt.strip():
                pairs.append({"prompt_html": render_inline(prompt.strip(), fmt), "answer": answer.strip()})
            else:
                distractors.append(answer.strip())
        return {"pairs": pairs, "distractors": distractors}
    if kind == "ordering":
        return {"items": [{"html": render_inline(a, fmt)} for a in answers]}
    if kind == "code":
        return {"language": answers[0] if answers else "python"}
    return {}


def parse_csv(text: str) -> ParseResult:
    result = ParseResult()
    sample = text[:8192]
    delimiter = max((",", ";", "\t"), key=lambda d: sample.split("\n", 1)[0].count(d))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        result.errors.append(ParseError(1, _("The file is empty.")))
        return result
    except csv.Error as exc:
        result.errors.append(ParseError(1, str(exc)))
        return result
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if "kind" not in header or "text" not in header or unknown:
        result.errors.append(ParseError(1, _("The header row must name the columns %(columns)s.")
                                        % {"columns": ", ".join(CSV_COLUMNS)}))
        return result
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(ParseError(line, str(exc)))
            break
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        kind = cells.get("kind", "").lower()
        fmt = cells.get("text_format") or "markdown"
        if cells.get("data"):
            try:
                data = _numbers(json.loads(cells["data"], parse_float=str))
            except ValueError:
                result.errors.append(ParseError(line, _("data: this is not valid JSON.")))
                continue
        else:
            try:
                data = _csv_data(kind, _split(cells.get("answers", "")), cells.get("correct", ""), fmt)
            except (ValueError, ArithmeticError):
                result.errors.append(ParseError(line, _("answers: these cannot be read.")))
                continue
        collect(result, QuestionDraft(
            kind=kind, name=cells.get("name", ""), text=cells.get("text", ""), text_format=fmt, data=data,
            feedback=render_inline(cells.get("feedback", ""), fmt) if fmt != "html" else cells.get("feedback", ""),
            points=cells.get("points") or "1", category=cells.get("category", ""),  # type: ignore[arg-type]
            tags=cells.get("tags", ""), difficulty=cells.get("difficulty") or None,  # type: ignore[arg-type]
            line=line,
        ))
        if too_many(result):
            break
    return result
