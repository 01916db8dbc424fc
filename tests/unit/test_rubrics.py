"""Rubric math: validation, the rubric's maximum, the chosen levels' points and scaling to the assessment's max."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tajiconnect.domains.grading.rubrics import (
    RubricError,
    chosen_points,
    rubric_max,
    scaled,
    score,
    validate_criteria,
)

POINTS = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


def criteria_of(levels: list[list[Decimal]]) -> list[dict]:
    return validate_criteria([{"title": f"C{i}", "levels": [{"title": f"L{j}", "points": str(p)}
                                                             for j, p in enumerate(ls)]}
                              for i, ls in enumerate(levels)])


def test_validation_numbers_ids_and_refuses_bad_input() -> None:
    criteria = criteria_of([[Decimal(0), Decimal(2), Decimal(4)], [Decimal(1), Decimal(3)]])
    assert [c["id"] for c in criteria] == ["c1", "c2"]
    assert [lv["id"] for lv in criteria[0]["levels"]] == ["l1", "l2", "l3"]
    assert rubric_max(criteria) == Decimal(7)
    for bad, field in [([], "criteria"), ([{"title": "x", "levels": []}], "criteria.0.levels"),
                       ([{"title": " ", "levels": [{"title": "a", "points": 1}]}], "criteria.0.title"),
                       ([{"title": "x", "levels": [{"title": "a", "points": "-1"}]}], "criteria.0.levels.0.points"),
                       ([{"title": "x", "levels": [{"title": "a", "points": "NaN"}]}], "criteria.0.levels.0.points"),
                       ([{"title": "x", "levels": [{"title": "a", "points": "1e9"}]}], "criteria.0.levels.0.points"),
                       ("nope", "criteria")]:
        with pytest.raises(RubricError) as caught:
            validate_criteria(bad)
        assert caught.value.field == field


def test_unknown_criterion_or_level_is_refused() -> None:
    criteria = criteria_of([[Decimal(1), Decimal(2)]])
    with pytest.raises(RubricError):
        chosen_points(criteria, {"c9": "l1"})
    with pytest.raises(RubricError):
        chosen_points(criteria, {"c1": "l9"})


@given(st.lists(st.lists(POINTS, min_size=1, max_size=5), min_size=1, max_size=6), st.data())
def test_chosen_points_are_the_sum_of_the_levels_and_never_above_the_max(levels, data) -> None:
    criteria = criteria_of(levels)
    picks = {c["id"]: data.draw(st.sampled_from([lv["id"] for lv in c["levels"]])) for c in criteria
             if data.draw(st.booleans())}
    total = chosen_points(criteria, picks)
    expected = sum((Decimal(lv["points"]) for c in criteria for lv in c["levels"] if picks.get(c["id"]) == lv["id"]),
                   Decimal(0))
    assert total == expected
    assert 0 <= total <= rubric_max(criteria)
    best = {c["id"]: max(c["levels"], key=lambda lv: Decimal(lv["points"]))["id"] for c in criteria}
    assert chosen_points(criteria, best) == rubric_max(criteria)


@given(POINTS, POINTS.filter(lambda m: m > 0), POINTS)
def test_scaling_is_proportional_and_bounded(raw, maximum, max_points) -> None:
    raw = min(raw, maximum)
    result = scaled(raw, maximum, max_points)
    assert Decimal(0) <= result <= max_points
    assert abs(result - raw * max_points / maximum) <= Decimal("0.005")
    assert scaled(maximum, maximum, max_points) == max_points.quantize(Decimal("0.01"))


def test_score_of_a_rubric_out_of_12_marking_out_of_100() -> None:
    criteria = criteria_of([[Decimal(0), Decimal(2), Decimal(4)]] * 3)  # max 12
    assert score(criteria, {"c1": "l3", "c2": "l2", "c3": "l1"}, Decimal(100)) == Decimal("50.00")
    assert score(criteria, {"c1": "l3", "c2": "l3", "c3": "l3"}, Decimal(12)) == Decimal("12.00")
    assert scaled(Decimal(5), Decimal(0), Decimal(100)) == Decimal("0.00")
