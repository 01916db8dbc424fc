"""The gradebook's arithmetic (grading/gradebook.py): drops, weights, buckets, letters, overrides."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tajiconnect.domains.grading import gradebook as gb
from tajiconnect.domains.grading.gradebook import Category, Item, Score

D = Decimal


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=i + 1) for i in range(n)]


def test_weighted_category_with_a_drop_and_ungraded_items_left_out():
    a, b, c, d = ids(4)
    cat = Category(uuid.UUID(int=99), "Quizzes", D(1), drop_lowest=1)
    items = [Item(a, cat.id, D(10), D(1), 0), Item(b, cat.id, D(10), D(3), 1), Item(c, cat.id, D(20), D(1), 2),
             Item(d, cat.id, D(10), D(1), 3)]
    scores = {a: Score(D(5)), b: Score(D(10)), c: Score(D(10))}  # d ungraded: not a zero
    result = gb.compute(items, [cat], scores)
    bucket = result.buckets[cat.id]
    # 50 %, 100 %, 50 %: one 50 % is dropped (the later one, c), then (100*3 + 50*1) / 4 = 87.5
    assert bucket.dropped == [c] and set(bucket.counted) == {a, b}
    assert bucket.percent == D("87.50") and result.final == D("87.50") and result.letter == "B"


def test_a_drop_never_removes_the_last_graded_item():
    a, b = ids(2)
    cat = Category(uuid.UUID(int=99), "Quizzes", D(1), drop_lowest=5)
    result = gb.compute([Item(a, cat.id, D(10)), Item(b, cat.id, D(10))], [cat], {a: Score(D(4))})
    assert result.buckets[cat.id].percent == D("40.00") and result.buckets[cat.id].dropped == []


def test_final_normalizes_over_categories_with_grades_and_uncategorized():
    a, b, c = ids(3)
    quizzes = Category(uuid.UUID(int=90), "Quizzes", D(30))
    exams = Category(uuid.UUID(int=91), "Exams", D(70))
    essays = Category(uuid.UUID(int=92), "Essays", D(50))  # nothing graded: does not pull the final down
    items = [Item(a, quizzes.id, D(10)), Item(b, exams.id, D(100)), Item(c, None, D(20))]
    only_categorized = gb.compute(items, [quizzes, exams, essays], {a: Score(D(10)), b: Score(D(50))})
    assert only_categorized.final == D("65.00")  # (100*30 + 50*70) / 100
    assert only_categorized.buckets[essays.id].percent is None
    # Uncategorized weighs the mean of the graded named categories (50): (100*30 + 50*70 + 0*50) / 150
    with_uncategorized = gb.compute(items, [quizzes, exams, essays], {a: Score(D(10)), b: Score(D(50)),
                                                                     c: Score(D(0))})
    assert with_uncategorized.final == D("43.33") and with_uncategorized.letter == "F"
    assert gb.compute(items, [], {c: Score(D(15))}).final == D("75.00")  # no categories: one bucket
    assert gb.compute(items, [quizzes], {}).final is None


def test_penalized_score_uses_the_grade_maximum_and_zero_maximum_is_left_out():
    a, b = ids(2)
    items = [Item(a, None, D(10)), Item(b, None, D(0))]
    result = gb.compute(items, [], {a: Score(D(9), max_points=D(12)), b: Score(D(3))})
    assert result.final == D("75.00") and result.buckets[None].counted == [a]


def test_override_replaces_the_final_and_its_letter():
    a = ids(1)[0]
    result = gb.compute([Item(a, None, D(10))], [], {a: Score(D(5))}, override=D("91"))
    assert result.computed == D("50.00") and result.final == D("91.00") and result.letter == "A"
    assert result.overridden
    assert gb.compute([Item(a, None, D(10))], [], {}, override=D(70)).letter == "C"


def test_letters_from_a_custom_scale():
    scale = gb.validate_scale([("P", "50"), ("D", "85"), ("M", "70"), ("U", "0")])
    assert [letter for letter, _m in scale] == ["D", "M", "P", "U"]
    assert gb.letter_for(D("85"), scale) == "D" and gb.letter_for(D("84.99"), scale) == "M"
    assert gb.letter_for(D("10"), scale) == "U"
    no_zero = gb.validate_scale([("A", "90"), ("B", "50")])
    assert gb.letter_for(D("20"), no_zero) == "B"  # below every minimum: the last letter
    assert gb.letter_for(None, scale) is None
    assert gb.scale_from_json(gb.scale_to_json(scale)) == scale
    assert gb.scale_from_json([]) == gb.DEFAULT_SCALE and gb.scale_from_json([{"x": 1}]) == gb.DEFAULT_SCALE


@pytest.mark.parametrize("rows", [
    [], [("A", "90"), ("A", "80")], [("A", "90"), ("B", "90")], [("", "10")], [("A B", "10")], [("ABCDEF", "1")],
    [("A", "-1")], [("A", "1001")], [("A", "nan")], [("A", "1.234")], [("A", "x")], [("A", "inf")],
    [(f"L{i}", str(i)) for i in range(21)],
])
def test_invalid_scales_are_refused(rows):
    with pytest.raises(gb.ScaleInvalid):
        gb.validate_scale(rows)


def test_parse_percent():
    assert gb.parse_percent("87,5") == D("87.50") and gb.parse_percent(100) == D("100.00")
    assert gb.parse_percent("1e3") == D("1000.00") and gb.parse_percent("1e4") is None
    assert gb.parse_percent(None) is None and gb.parse_percent("") is None


# --- properties ---------------------------------------------------------------------------------------------------

points = st.decimals(min_value=0, max_value=100, places=2)
weights = st.decimals(min_value=0, max_value=50, places=2)


@st.composite
def category_case(draw):
    n = draw(st.integers(1, 8))
    item_ids = ids(n)
    items = [Item(i, None, draw(st.decimals(min_value=1, max_value=100, places=2)), draw(weights), k)
             for k, i in enumerate(item_ids)]
    scores = {i: Score(draw(points)) for i in item_ids if draw(st.booleans())}
    return items, scores


@settings(max_examples=200, deadline=None)
@given(category_case(), st.integers(0, 8))
def test_dropping_never_lowers_the_category_percent(case, drops):
    items, scores = case
    without = gb.category_percent(items, scores, 0).percent
    with_drops = gb.category_percent(items, scores, drops).percent
    assert (without is None) == (with_drops is None)
    if without is not None and with_drops is not None:
        assert with_drops >= without - D("1e-20")
        more = gb.category_percent(items, scores, drops + 1).percent
        assert more is not None and more >= with_drops - D("1e-20")


@st.composite
def book(draw):
    categories = [Category(uuid.UUID(int=1000 + k), f"C{k}", draw(weights), draw(st.integers(0, 2)))
                  for k in range(draw(st.integers(0, 4)))]
    n = draw(st.integers(1, 12))
    homes = [None, *(c.id for c in categories)]
    items = [Item(i, draw(st.sampled_from(homes)), D(10), draw(st.decimals(min_value=1, max_value=5, places=1)), k)
             for k, i in enumerate(ids(n))]
    scores = {i.id: Score(draw(st.decimals(min_value=0, max_value=10, places=2))) for i in items
              if draw(st.booleans())}
    return items, categories, scores


@settings(max_examples=200, deadline=None)
@given(book())
def test_final_lies_within_the_bucket_percents(case):
    items, categories, scores = case
    result = gb.compute(items, categories, scores)
    percents = [b.percent for b in result.buckets.values() if b.percent is not None]
    if not percents:
        assert result.final is None and result.letter is None
        return
    assert result.final is not None
    assert min(percents) - D("0.01") <= result.final <= max(percents) + D("0.01")
    assert result.letter in {letter for letter, _m in gb.DEFAULT_SCALE}


@settings(max_examples=150, deadline=None)
@given(book(), st.decimals(min_value=D("0.5"), max_value=20, places=1))
def test_weights_are_scale_invariant(case, factor):
    items, categories, scores = case
    scaled_categories = [Category(c.id, c.name, c.weight * factor, c.drop_lowest) for c in categories]
    scaled_items = [Item(i.id, i.category_id, i.max_points, i.weight * factor, i.order) for i in items]
    base = gb.compute(items, categories, scores)
    scaled = gb.compute(scaled_items, scaled_categories, scores)
    assert base.final == scaled.final
    assert {k: b.percent for k, b in base.buckets.items()} == {k: b.percent for k, b in scaled.buckets.items()}
