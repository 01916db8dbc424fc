"""Automatic grading of each question kind (questions/grading.py), with no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tajiconnect.domains.questions.grading import ResponseInvalid, grade_response

D = Decimal

SINGLE = {"options": [
    {"id": "a", "html": "Nairobi", "fraction": "1", "feedback_html": "Yes"},
    {"id": "b", "html": "Mombasa", "fraction": "0", "feedback_html": "No, the coast"},
    {"id": "c", "html": "Kisumu", "fraction": "-0.25", "feedback_html": ""},
]}
MULTIPLE = {"options": [
    {"id": "a", "html": "2", "fraction": "0.5"},
    {"id": "b", "html": "3", "fraction": "0.5"},
    {"id": "c", "html": "4", "fraction": "-0.5"},
    {"id": "d", "html": "9", "fraction": "-1"},
]}


def test_single_right_wrong_negative_and_feedback() -> None:
    right = grade_response("single", SINGLE, {"option": "a"})
    assert right.fraction == D(1) and right.correct is True and right.feedback_html == ["Yes"]
    wrong = grade_response("single", SINGLE, {"option": "b"})
    assert wrong.fraction == D(0) and wrong.correct is False and wrong.feedback_html == ["No, the coast"]
    assert grade_response("single", SINGLE, {"option": "c"}).fraction == D("-0.25")


@pytest.mark.parametrize("response", [{"option": "z"}, {"option": 1}, {}, {"options": ["a"]}, "a", None,
                                      {"option": "a", "extra": 1}])
def test_single_refuses_bad_shapes(response: object) -> None:
    with pytest.raises(ResponseInvalid):
        grade_response("single", SINGLE, response)


def test_multiple_partial_credit_negative_marks_and_clamp() -> None:
    assert grade_response("multiple", MULTIPLE, {"options": ["a", "b"]}).fraction == D(1)
    assert grade_response("multiple", MULTIPLE, {"options": ["a"]}).fraction == D("0.5")
    assert grade_response("multiple", MULTIPLE, {"options": ["a", "c"]}).fraction == D(0)
    assert grade_response("multiple", MULTIPLE, {"options": ["c", "d"]}).fraction == D(-1)  # -1.5 clamped
    assert grade_response("multiple", MULTIPLE, {"options": []}).fraction == D(0)
    with pytest.raises(ResponseInvalid):
        grade_response("multiple", MULTIPLE, {"options": ["a", "a"]})
    with pytest.raises(ResponseInvalid):
        grade_response("multiple", MULTIPLE, {"options": ["x"]})


@st.composite
def multiple_questions(draw: st.DrawFn) -> dict[str, object]:
    correct = draw(st.integers(min_value=1, max_value=5))
    wrong = draw(st.integers(min_value=0, max_value=5))
    options = [{"id": f"c{i}", "fraction": str(D(1) / correct)} for i in range(correct)]
    options += [{"id": f"w{i}", "fraction": str(-draw(st.decimals(min_value=0, max_value=1, places=2)))}
                for i in range(wrong)]
    return {"options": options}


@given(multiple_questions(), st.data())
def test_multiple_fraction_always_within_bounds(question: dict[str, list[dict[str, str]]], data: st.DataObject) -> None:
    ids = [o["id"] for o in question["options"]]
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True))
    fraction = grade_response("multiple", question, {"options": chosen}).fraction
    assert fraction is not None and D(-1) <= fraction <= D(1)


@given(multiple_questions())
def test_multiple_all_correct_options_give_one(question: dict[str, list[dict[str, str]]]) -> None:
    chosen = [o["id"] for o in question["options"] if o["id"].startswith("c")]
    grade = grade_response("multiple", question, {"options": chosen})
    assert grade.fraction is not None and abs(grade.fraction - 1) < D("0.0001")


def test_true_false() -> None:
    data = {"answer": False, "feedback_true_html": "T", "feedback_false_html": "F"}
    assert grade_response("true_false", data, {"value": False}).fraction == D(1)
    wrong = grade_response("true_false", data, {"value": True})
    assert wrong.fraction == D(0) and wrong.feedback_html == ["T"]
    with pytest.raises(ResponseInvalid):
        grade_response("true_false", data, {"value": "true"})


SHORT = {"answers": [
    {"text": "Kilimanjaro", "match": "exact", "fraction": "1", "feedback_html": "exact"},
    {"text": "kili*", "match": "pattern", "fraction": "0.5", "feedback_html": "close"},
    {"text": "mount  kenya", "match": "ci", "fraction": "0.25"},
]}


def test_short_exact_case_insensitive_and_pattern_best_wins() -> None:
    assert grade_response("short", SHORT, {"text": "  Kilimanjaro "}).fraction == D(1)
    assert grade_response("short", SHORT, {"text": "kilimanjaro"}).fraction == D("0.5")  # exact fails, pattern hits
    assert grade_response("short", SHORT, {"text": "KILIMAN"}).fraction == D("0.5")
    assert grade_response("short", SHORT, {"text": "Mount   Kenya"}).fraction == D("0.25")
    miss = grade_response("short", SHORT, {"text": "Elgon"})
    assert miss.fraction == D(0) and miss.feedback_html == []
    # regex characters in a pattern are literal
    assert grade_response("short", {"answers": [{"text": "a.c*", "match": "pattern", "fraction": "1"}]},
                          {"text": "abc"}).fraction == D(0)
    with pytest.raises(ResponseInvalid):
        grade_response("short", SHORT, {"text": "x" * 1001})


NUMERIC = {"answers": [
    {"value": "3.14", "tolerance": "0.01", "fraction": "1"},
    {"min": "3", "max": "3.5", "fraction": "0.5"},
]}


def test_numeric_tolerance_and_range() -> None:
    assert grade_response("numeric", NUMERIC, {"value": "3.15"}).fraction == D(1)
    assert grade_response("numeric", NUMERIC, {"value": "3,13"}).fraction == D(1)
    assert grade_response("numeric", NUMERIC, {"value": "3.2"}).fraction == D("0.5")
    assert grade_response("numeric", NUMERIC, {"value": "4"}).fraction == D(0)


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "1e999", "9" * 41, "", "abc", None, True, [1]])
def test_numeric_refuses_nan_inf_huge_and_junk(value: object) -> None:
    with pytest.raises(ResponseInvalid):
        grade_response("numeric", NUMERIC, {"value": value})


def test_matching_and_ordering_score_by_share() -> None:
    data = {"pairs": [{"id": "a", "prompt_html": "1", "answer": "one"}, {"id": "b", "prompt_html": "2",
                                                                           "answer": "two"}],
            "distractors": ["three"]}
    assert grade_response("matching", data, {"pairs": {"a": "one", "b": "two"}}).fraction == D(1)
    assert grade_response("matching", data, {"pairs": {"a": "one", "b": "three"}}).fraction == D("0.5")
    assert grade_response("matching", data, {"pairs": {}}).fraction == D(0)
    with pytest.raises(ResponseInvalid):
        grade_response("matching", data, {"pairs": {"z": "one"}})
    items = {"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]}
    assert grade_response("ordering", items, {"order": ["a", "b", "c", "d"]}).fraction == D(1)
    assert grade_response("ordering", items, {"order": ["a", "b", "d", "c"]}).fraction == D("0.5")
    assert grade_response("ordering", items, {"order": ["d", "c", "b", "a"]}).fraction == D(0)
    with pytest.raises(ResponseInvalid):
        grade_response("ordering", items, {"order": ["a", "a"]})


@given(st.permutations(["a", "b", "c", "d", "e"]))
def test_ordering_fraction_is_share_in_place(order: list[str]) -> None:
    items = {"items": [{"id": i} for i in "abcde"]}
    fraction = grade_response("ordering", items, {"order": order}).fraction
    assert fraction == D(sum(1 for i, x in enumerate(order) if x == "abcde"[i])) / 5


def test_manual_kinds_need_a_human_and_unknown_kind_is_invalid() -> None:
    grade = grade_response("essay", {}, {"text": "My essay"})
    assert grade.fraction is None and grade.correct is None
    assert grade_response("code", {"language": "python"}, {"text": "print(1)"}).fraction is None
    with pytest.raises(ResponseInvalid):
        grade_response("essay", {}, {"text": "x" * 50_001})
    with pytest.raises(ResponseInvalid):
        grade_response("riddle", {}, {"text": "x"})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
QUESTIONS = {"single": SINGLE, "multiple": MULTIPLE, "true_false": {"answer": True}, "short": SHORT,
             "numeric": NUMERIC, "matching": {"pairs": [{"id": "a", "answer": "one"}], "distractors": []},
             "ordering": {"items": [{"id": "a"}, {"id": "b"}]}, "essay": {}, "code": {}}
KEYS = st.sampled_from(["option", "options", "value", "text", "pairs", "order"])


@given(st.sampled_from(sorted(QUESTIONS)), st.one_of(JSON, st.dictionaries(KEYS, JSON, min_size=1, max_size=2)))
def test_any_response_is_graded_within_bounds_or_refused(kind: str, response: object) -> None:
    """Whatever a client sends, grading answers a fraction in [-1, 1] (or None for manual kinds) or refuses it
    with ResponseInvalid: never another error."""
    try:
        grade = grade_response(kind, QUESTIONS[kind], response)
    except ResponseInvalid:
        return
    assert grade.fraction is None or D(-1) <= grade.fraction <= D(1)
    assert (grade.fraction is None) == (kind in ("essay", "code"))
