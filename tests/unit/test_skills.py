"""Skills: the declaration's checks, the profile's level, and the starter files shipped as data."""

from __future__ import annotations

import csv
import uuid

import pytest

from tajiconnect.domains.skills.profile import level_of
from tajiconnect.domains.skills.targets import TARGETS_MAX, check_pairs
from tajiconnect.domains.skills.taxonomy import LANGUAGES, STARTER, SkillError, starter_set


def rows(name: str) -> list[dict[str, str]]:
    with (STARTER / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_a_declaration_is_each_skill_once_with_a_level_from_1_to_5():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert check_pairs([(a, 1), (b, 5)]) == {a: 1, b: 5}
    assert check_pairs([]) == {}
    for pairs, field in [([(a, 0)], "level"), ([(a, 6)], "level"), ([(a, True)], "level"), ([(a, "3")], "level"),
                         ([(a, 2), (a, 3)], "skill_id"), ([("x", 2)], "skill_id"),
                         ([(uuid.uuid4(), 1) for _ in range(TARGETS_MAX + 1)], "skills")]:
        with pytest.raises(SkillError) as refused:
            check_pairs(pairs)
        assert refused.value.field == field


def test_the_level_is_the_highest_evidence_shows():
    assert level_of([]) is None
    assert level_of([2, 4, 3]) == 4


def test_the_starter_files_hold_together():
    categories = {r["code"] for r in rows("categories.csv")}
    skills = rows("skills.csv")
    codes = [s["code"] for s in skills]
    assert 280 <= len(codes) == len(set(codes))
    assert {s["category"] for s in skills} <= categories
    for language in LANGUAGES:  # every name in every language, unique, short
        names = [s.name for s in starter_set(language)]
        assert all(0 < len(n) <= 60 and n == n.strip() for n in names), language
        assert len({n.lower() for n in names}) == len(names), language
    assert starter_set("xx") == starter_set("en")


def test_the_evidence_tasks_are_registered_and_the_backstop_runs_hourly():
    from tajiconnect.domains.skills import tasks  # noqa: F401 - registers them
    from tajiconnect.tasks.base import REGISTRY
    from tajiconnect.tasks.schedule import SCHEDULED

    assert {"record_skill_evidence", "backfill_skill_target", "record_recent_evidence"} <= set(REGISTRY)
    assert "record_recent_evidence" in SCHEDULED["hourly"]
