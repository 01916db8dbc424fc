"""The demo's learner answers the demo bank's questions: right answers earn full marks and wrong ones less, for every
auto-graded question of the bank (so the demo quiz's score never depends on which questions were drawn)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tajiconnect.demo_assessments import right_answer, wrong_answer
from tajiconnect.domains.questions import formats
from tajiconnect.domains.questions.grading import grade_response
from tajiconnect.domains.questions.models import MANUAL_KINDS, Question

GIFT = Path(__file__).resolve().parents[2] / "tenants" / "demo" / "questions.gift"


def test_right_answers_earn_everything_and_wrong_ones_less():
    _format, result = formats.parse(GIFT.read_bytes(), GIFT.name)
    graded = [d for d in result.questions if d.kind not in MANUAL_KINDS]
    assert len(graded) >= 10
    for draft in graded:
        question = Question(kind=draft.kind, data=draft.data)
        assert grade_response(draft.kind, draft.data, right_answer(question)).fraction == Decimal(1), draft.name
        assert grade_response(draft.kind, draft.data, wrong_answer(question)).fraction < Decimal(1), draft.name
