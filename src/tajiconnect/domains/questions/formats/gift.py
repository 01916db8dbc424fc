"""Moodle's GIFT format, read and written.

Reading (:func:`parse`): questions are separated by blank lines; lines starting with ``//`` are comments (``//
[tag:x]``, and this product's ``// [points:2]`` and ``// [difficulty:3]``, apply to the next question);
``$CATEGORY: a/b`` sets the category of the questions after it. A question is ``::name::`` (optional), a format
(``[markdown]`` (the default), ``[html]`` (sanitized), ``[plain]``, ``[moodle]`` read as HTML), its text and an
answer block ``{...}``; text after the block makes a missing-word question (the block becomes ``_____``). In the
block: ``####`` starts the general feedback; ``=`` right / ``~`` wrong answers (``~`` and ``=``: single choice;
only ``~`` with ``%50%`` weights: multiple choice), ``#`` a per-answer feedback; ``T``/``F`` (``TRUE``/``FALSE``)
with ``#wrong#right`` feedbacks; ``=a =b`` short answers; ``=a -> b`` matching (``= -> c``: a distractor);
``#3.14:0.01``, ``#1..2`` or ``#=%100%3.14:0 =%50%3:0.5`` numeric; ``{}`` an essay. ``\\~ \\= \\# \\{ \\} \\:
\\\\`` are the characters themselves, ``\\n`` a new line. A text without an answer block (a Moodle description) is
skipped with a notice.

Writing (:func:`export`): each question in its own text format, or as ``[html]`` when its answers cannot be written
back in that format (the result reads back to the same question). Ordering and code questions have no GIFT form
and are left out; essay word limits, templates and ``shuffle`` are not kept (the JSON export keeps everything).
"""

from __future__ import annotations

import html as html_lib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from tajiconnect.domains.questions.formats.common import (
    ParseError,
    ParseResult,
    QuestionDraft,
    collect,
    normalize_category,
    too_many,
)
from tajiconnect.domains.questions.kinds import decimal_text, render_inline
from tajiconnect.i18n import _

FORMAT_MARKERS = {"html": "html", "markdown": "markdown", "plain": "plain", "moodle": "html"}
EXPORTABLE = frozenset({"single", "multiple", "true_false", "short", "numeric", "matching", "essay"})
BLANK = "_____"

# Escaped characters become private-use characters while the structure is read, and come back in texts.
_ESCAPES = {"\\": "\ue000", "~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004", "}": "\ue005",
            ":": "\ue006", "n": "\ue007"}
_RESTORE = {v: ("\n" if k == "n" else k) for k, v in _ESCAPES.items()}
_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
_WEIGHT = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_HINT = re.compile(r"\[(tag|points|difficulty):([^\]]*)\]")
_TAG = re.compile(r"<[A-Za-z/!]")


class GiftError(ValueError):
    pass


def _protect(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], text)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text)


def _weight(piece: str, default: str) -> tuple[Decimal, str]:
    match = _WEIGHT.match(piece)
    if not match:
        return Decimal(default), piece
    try:
        return Decimal(match.group(1)) / 100, piece[match.end():]
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        raise GiftError(_("Unreadable weight %(w)s.") % {"w": match.group(1)}) from None


def _feedback(piece: str) -> tuple[str, str]:
    """``text#feedback`` → (text, feedback) (both still protected)."""
    text, _sep, feedback = piece.partition("#")
    return text.strip(), feedback.strip()


def _markers(answers: str, allowed: str) -> list[tuple[str, str]]:
    """``=a ~b`` → [("=", "a"), ("~", "b")]; text before the first marker is an error."""
    parts = re.split(f"([{allowed}])", answers)
    if parts[0].strip():
        raise GiftError(_("Answers must start with %(m)s.") % {"m": " or ".join(allowed)})
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def _fraction_text(value: Decimal) -> str:
    return decimal_text(value)


def _choices(answers: str, fmt: str) -> tuple[str, dict[str, Any]]:
    pairs = _markers(answers, "=~")
    single = any(marker == "=" for marker, _piece in pairs)
    options = []
    for marker, piece in pairs:
        fraction, rest = _weight(piece, "1" if marker == "=" else "0")
        text, feedback = _feedback(rest)
        options.append({"html": render_inline(_restore(text), fmt), "fraction": _fraction_text(fraction),
                        "feedback_html": render_inline(_restore(feedback), fmt)})
    return ("single" if single else "multiple"), {"options": options}


def _short(answers: str, fmt: str) -> dict[str, Any]:
    items = []
    for _marker, piece in _markers(answers, "="):
        fraction, rest = _weight(piece, "1")
        text, feedback = _feedback(rest)
        plain = _restore(text)
        items.append({"text": plain, "match": "pattern" if "*" in plain else "ci",
                      "fraction": _fraction_text(fraction), "feedback_html": render_inline(_restore(feedback), fmt)})
    return {"answers": items}


def _number(text: str) -> dict[str, str]:
    value = _restore(text).strip()
    if ".." in value:
        low, _sep, high = value.partition("..")
        return {"min": low.strip(), "max": high.strip()}
    number, _sep, tolerance = value.partition(":")
    if not number.strip():
        raise GiftError(_("A numeric answer needs a number."))
    return {"value": number.strip(), "tolerance": tolerance.strip() or "0"}


def _numeric(answers: str, fmt: str) -> dict[str, Any]:
    body = answers.strip()[1:]
    if not re.search("[=~]", body):
        text, feedback = _feedback(body)
        return {"answers": [{**_number(text), "fraction": "1",
                             "feedback_html": render_inline(_restore(feedback), fmt)}]}
    items = []
    for marker, piece in _markers(body, "=~"):
        fraction, rest = _weight(piece, "1" if marker == "=" else "0")
        text, feedback = _feedback(rest)
        items.append({**_number(text), "fraction": _fraction_text(fraction),
                      "feedback_html": render_inline(_restore(feedback), fmt)})
    return {"answers": items}


def _matching(answers: str, fmt: str) -> dict[str, Any]:
    pairs = []
    distractors = []
    for _marker, piece in _markers(answers, "="):
        if "->" not in piece:
            raise GiftError(_("Each matching pair is written =prompt -> answer."))
        prompt, _sep, answer = piece.partition("->")
        if prompt.strip():
            pairs.append({"prompt_html": render_inline(_restore(prompt.strip()), fmt),
                          "answer": _restore(answer.strip())})
        else:
            distractors.append(_restore(answer.strip()))
    return {"pairs": pairs, "distractors": distractors}


def _true_false(answers: str, fmt: str) -> dict[str, Any] | None:
    head, *feedbacks = answers.split("#", 2)
    word = head.strip().upper()
    if word not in ("T", "F", "TRUE", "FALSE"):
        return None
    answer = word.startswith("T")
    wrong = render_inline(_restore(feedbacks[0].strip()), fmt) if feedbacks else ""
    right = render_inline(_restore(feedbacks[1].strip()), fmt) if len(feedbacks) > 1 else ""
    if answer:
        return {"answer": True, "feedback_true_html": right, "feedback_false_html": wrong}
    return {"answer": False, "feedback_true_html": wrong, "feedback_false_html": right}


def _answers(answers: str, fmt: str) -> tuple[str, dict[str, Any]]:
    stripped = answers.strip()
    if not stripped:
        return "essay", {}
    if stripped.startswith("#"):
        return "numeric", _numeric(stripped, fmt)
    if "~" in stripped:
        return _choices(stripped, fmt)
    if "=" in stripped and "->" in stripped:
        return "matching", _matching(stripped, fmt)
    true_false = _true_false(stripped, fmt)
    if true_false is not None:
        return "true_false", true_false
    if not stripped.startswith("="):
        raise GiftError(_("Unknown answers: right answers start with =, wrong ones with ~."))
    return "short", _short(stripped, fmt)


def _question(block: str, line: int, category: str, hints: dict[str, Any]) -> QuestionDraft | None:
    """One question from its (protected) block, or None for a description."""
    text = block.strip()
    name = ""
    if text.startswith("::"):
        end = text.find("::", 2)
        if end < 0:
            raise GiftError(_("The name is not closed with ::."))
        name, text = _restore(text[2:end]).strip(), text[end + 2:].lstrip()
    fmt = "markdown"
    match = re.match(r"^\[(html|markdown|plain|moodle)\]", text, re.IGNORECASE)
    if match:
        fmt = FORMAT_MARKERS[match.group(1).lower()]
        text = text[match.end():]
    start = text.find("{")
    if start < 0:
        if "}" in text:
            raise GiftError(_("A } without a {."))
        return None
    end = text.find("}", start)
    if end < 0:
        raise GiftError(_("No closing } for the answers."))
    before, answers, after = text[:start], text[start + 1:end], text[end + 1:]
    if "{" in after or "}" in after or "}" in before:
        raise GiftError(_("More than one answer block; write \\{ and \\} for the characters themselves."))
    answers, _sep, general = answers.partition("####")
    kind, data = _answers(answers, fmt)
    question = (before + BLANK + after) if after.strip() else before
    question_text = _restore(question).strip()
    return QuestionDraft(
        kind=kind, name=name, text=question_text, text_format=fmt, data=data,
        feedback=render_inline(_restore(general.strip()), fmt), category=category,
        tags=list(hints.get("tags", [])), points=hints.get("points", Decimal(1)),
        difficulty=hints.get("difficulty"), line=line,
    )


def _hint(comment: str, hints: dict[str, Any]) -> None:
    for key, value in _HINT.findall(comment):
        value = value.strip()
        if key == "tag":
            hints.setdefault("tags", []).append(value)
        elif key == "points":
            hints["points"] = value
        else:
            hints["difficulty"] = value


def parse(text: str) -> ParseResult:
    result = ParseResult()
    category = ""
    hints: dict[str, Any] = {}
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append((start, current))
        current = []

    pending_hints: list[dict[str, Any]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            _hint(stripped, hints)
            continue
        if not stripped:
            flush()
            continue
        if not current:
            start = number
            pending_hints.append(hints)
            hints = {}
        current.append(raw)
    flush()

    carried: dict[str, Any] = {}
    for (line, lines), own_hints in zip(blocks, pending_hints, strict=True):
        block_hints = {**carried, **own_hints, "tags": carried.get("tags", []) + own_hints.get("tags", [])}
        carried = {}
        if lines[0].strip().startswith("$CATEGORY:"):
            if len(lines) == 1:
                carried = block_hints
            try:
                category = normalize_category(_restore(_protect(lines[0].strip()[len("$CATEGORY:"):])))
            except ValueError as exc:
                result.errors.append(ParseError(line, str(exc)))
            lines, line = lines[1:], line + 1
            if not lines:
                continue
        block = _protect("\n".join(lines))
        try:
            draft = _question(block, line, category, block_hints)
        except GiftError as exc:
            result.errors.append(ParseError(line, str(exc)))
            continue
        if draft is None:
            result.notices.append(ParseError(line, _("A text without answers (a description) is not a question: "
                                                     "skipped.")))
            continue
        collect(result, draft)
        if too_many(result):
            break
    return result


# --- writing --------------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    out = []
    for char in text:
        if char in "\\~=#{}:":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        else:
            out.append(char)
    return "".join(out)


def _source(html: str, fmt: str) -> str:
    """Text that renders to ``html`` in ``fmt`` (HTML itself for ``html``)."""
    if fmt == "html" or not html:
        return html
    plain = html_lib.unescape(html)
    if _TAG.search(html) or render_inline(plain, fmt) != html:
        raise GiftError("not writable in this format")
    return plain


def _weighted(marker: str, fraction: str, default: str, text: str) -> str:
    weight = "" if (fraction == default and not text.startswith("%")) else f"%{decimal_text(Decimal(fraction) * 100)}%"
    return f"{marker}{weight}{text}"


def _with_feedback(text: str, feedback_html: str, fmt: str) -> str:
    feedback = _source(feedback_html, fmt)
    return f"{text}#{escape(feedback)}" if feedback else text


def _block(q: QuestionDraft, fmt: str) -> str:
    data = q.data
    parts: list[str] = []
    if q.kind in ("single", "multiple"):
        for option in data["options"]:
            marker = "=" if (q.kind == "single" and option["fraction"] == "1") else "~"
            default = "1" if marker == "=" else "0"
            text = escape(_source(option["html"], fmt))
            parts.append(_with_feedback(_weighted(marker, option["fraction"], default, text),
                                        option["feedback_html"], fmt))
    elif q.kind == "true_false":
        right, wrong = ((data["feedback_true_html"], data["feedback_false_html"]) if data["answer"]
                        else (data["feedback_false_html"], data["feedback_true_html"]))
        word = "TRUE" if data["answer"] else "FALSE"
        if right or wrong:
            word += f"#{escape(_source(wrong, fmt))}#{escape(_source(right, fmt))}"
        parts.append(word)
    elif q.kind == "short":
        for answer in data["answers"]:
            parts.append(_with_feedback(_weighted("=", answer["fraction"], "1", escape(answer["text"])),
                                        answer["feedback_html"], fmt))
    elif q.kind == "numeric":
        for answer in data["answers"]:
            number = (f"{answer['min']}..{answer['max']}" if "min" in answer
                      else f"{answer['value']}:{answer['tolerance']}")
            parts.append(_with_feedback(_weighted("=", answer["fraction"], "", number), answer["feedback_html"], fmt))
        only = data["answers"][0]
        if len(data["answers"]) == 1 and only["fraction"] == "1" and not only["feedback_html"]:
            parts = [parts[0].replace("=%100%", "", 1)]
        parts = ["#" + " ".join(parts)]
    elif q.kind == "matching":
        for pair in data["pairs"]:
            parts.append(f"={escape(_source(pair['prompt_html'], fmt))} -> {escape(pair['answer'])}")
        for distractor in data.get("distractors", []):
            parts.append(f"= -> {escape(distractor)}")
    feedback = _source(q.feedback, fmt)
    if feedback:
        parts.append(f"####{escape(feedback)}")
    return "{" + " ".join(parts) + "}"


def _lines(q: QuestionDraft, fmt: str, text: str) -> list[str]:
    lines = [f"// [tag:{tag}]" for tag in q.tags if "]" not in tag]
    if q.points != Decimal(1):
        lines.append(f"// [points:{decimal_text(Decimal(q.points))}]")
    if q.difficulty is not None:
        lines.append(f"// [difficulty:{q.difficulty}]")
    name = f"::{escape(q.name)}::" if q.name else ""
    lines.append(f"{name}[{fmt}]{escape(text)} {_block(q, fmt)}")
    return lines


def _same(a: QuestionDraft, b: QuestionDraft) -> bool:
    return (a.kind, a.name, a.text_html, a.feedback, a.data) == (b.kind, b.name, b.text_html, b.feedback, b.data)


def _write(q: QuestionDraft) -> list[str]:
    """The lines of one question, in its format if that reads back the same, else as HTML."""
    attempts = [(q.text_format, q.text)] if q.text_format != "html" else []
    attempts.append(("html", q.text_html))
    lines: list[str] = []
    for fmt, text in attempts:
        try:
            lines = _lines(q, fmt, text)
        except GiftError:
            continue
        back = parse("\n".join(lines))
        if back.questions and _same(back.questions[0], q):
            return lines
    return lines or _lines(q, "html", q.text_html)


def export(questions: list[QuestionDraft]) -> tuple[str, int]:
    """GIFT text of ``questions`` (checked drafts), and how many were left out (kinds GIFT cannot write)."""
    out: list[str] = []
    category = ""
    skipped = 0
    for q in questions:
        if q.kind not in EXPORTABLE:
            skipped += 1
            continue
        if q.category != category:
            out.append(f"$CATEGORY: {q.category or '$course$/top'}")
            out.append("")
            category = q.category
        out.extend(_write(q))
        out.append("")
    return "\n".join(out), skipped
