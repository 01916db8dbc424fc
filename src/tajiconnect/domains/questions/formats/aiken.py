"""The Aiken format (single-choice questions), read.

A question is its text (one or more lines), then its options, one a line, ``A.`` or ``A)`` and the option's text,
then ``ANSWER: B``. Blank lines between questions are allowed, not needed. Texts are plain.
"""

from __future__ import annotations

import re

from tajiconnect.domains.questions.formats.common import ParseError, ParseResult, QuestionDraft, collect, too_many
from tajiconnect.domains.questions.kinds import render_inline
from tajiconnect.i18n import _

_OPTION = re.compile(r"^([A-Z])[.)]\s+(.*)$")
_ANSWER = re.compile(r"^ANSWER\s*:\s*(\S*)\s*$", re.IGNORECASE)


def parse(text: str) -> ParseResult:
    result = ParseResult()
    question: list[str] = []
    options: list[tuple[str, str]] = []
    start = 0
    broken = False  # an error was reported for the question being read

    def reset() -> None:
        nonlocal question, options, broken
        question, options, broken = [], [], False

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if answer:
            letter = answer.group(1).upper()
            if not question:
                result.errors.append(ParseError(number, _("An ANSWER line without a question.")))
            elif broken:
                pass
            elif len(options) < 2:
                result.errors.append(ParseError(start, _("A question needs at least two options (A. ..., B. ...).")))
            elif letter not in [o[0] for o in options]:
                result.errors.append(ParseError(start, _("The answer %(letter)s is not one of the options.")
                                                % {"letter": letter[:3] or "?"}))
            else:
                collect(result, QuestionDraft(
                    kind="single", text="\n".join(question), text_format="plain", line=start,
                    data={"options": [
                        {"html": render_inline(body, "plain"), "fraction": "1" if key == letter else "0"}
                        for key, body in options
                    ]},
                ))
                if too_many(result):
                    return result
            reset()
        elif option and question:
            if option.group(1) in [o[0] for o in options]:
                result.errors.append(ParseError(number, _("The option %(letter)s is given twice.")
                                                % {"letter": option.group(1)}))
                broken = True
            options.append((option.group(1), option.group(2).strip()))
        elif options:
            # Text after the options without an ANSWER line: the question before was never finished.
            result.errors.append(ParseError(start, _("The options are not followed by an ANSWER: line.")))
            reset()
            question, start = [line], number
        else:
            if not question:
                start = number
            question.append(line)
    if question:
        result.errors.append(ParseError(start, _("The last question has no ANSWER: line.")))
    return result
