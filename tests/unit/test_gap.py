"""Gap analysis as pure functions: what is met and missing, by how much, and the learning ranked by levels closed
per hour of study."""

from __future__ import annotations

import uuid

from tajiconnect.domains.careers.gap import MIN_HOURS, Offer, closes, gaps, met_share, rank

WIRING, SAFETY, METERS, SOLAR = (uuid.uuid4() for _ in range(4))


def test_gaps_say_what_is_met_and_what_is_missing_by_how_much():
    found = gaps({WIRING: 3, SAFETY: 2, METERS: 2}, {WIRING: 1, SAFETY: 4, SOLAR: 5})
    by_skill = {g.skill_id: g for g in found}
    assert (by_skill[WIRING].have, by_skill[WIRING].missing, by_skill[WIRING].met) == (1, 2, False)
    assert (by_skill[SAFETY].missing, by_skill[SAFETY].met) == (0, True)  # more than required: met, not negative
    assert (by_skill[METERS].have, by_skill[METERS].missing) == (0, 2)  # no evidence: level 0
    assert SOLAR not in by_skill  # not required: no part of the gap
    assert [g.skill_id for g in found][:2] == [WIRING, METERS]  # the biggest gaps first (then the higher level)
    assert met_share(found) == (1 + 2 + 0) / (3 + 2 + 2)
    assert met_share(gaps({}, {WIRING: 2})) == 1.0
    assert met_share(gaps({WIRING: 2}, {WIRING: 5})) == 1.0


def test_an_offer_closes_up_to_the_level_it_builds_never_beyond_the_requirement():
    found = gaps({WIRING: 3, METERS: 2}, {WIRING: 1})
    assert closes(Offer("course", uuid.uuid4(), "A", 10, {WIRING: 2}), found) == 1  # 1 -> 2 of 3
    assert closes(Offer("course", uuid.uuid4(), "B", 10, {WIRING: 5, METERS: 5}), found) == 2 + 2  # capped at 3, 2
    assert closes(Offer("course", uuid.uuid4(), "C", 10, {WIRING: 1, SOLAR: 5}), found) == 0  # nothing new
    assert closes(Offer("course", uuid.uuid4(), "D", 10, {WIRING: 4}), gaps({WIRING: 3}, {WIRING: 3})) == 0


def test_learning_is_ranked_by_levels_closed_per_hour():
    found = gaps({WIRING: 3, METERS: 2}, {WIRING: 1})
    long_full = Offer("path", uuid.uuid4(), "Electrician path", 40, {WIRING: 3, METERS: 2})  # 4 levels / 40 h
    short_part = Offer("course", uuid.uuid4(), "Meter reading", 2, {METERS: 2})  # 2 levels / 2 h
    unknown = Offer("course", uuid.uuid4(), "Wiring basics", None, {WIRING: 2})  # 1 level / MIN_HOURS
    useless = Offer("course", uuid.uuid4(), "Solar", 1, {SOLAR: 3})
    ranked = rank([long_full, short_part, unknown, useless], found)
    assert [r.offer.title for r in ranked] == ["Wiring basics", "Meter reading", "Electrician path"]
    assert [r.closed for r in ranked] == [1, 2, 4]
    assert ranked[0].per_hour == 1 / MIN_HOURS and ranked[2].per_hour == 4 / 40
    same = [Offer("course", uuid.uuid4(), t, 2, {METERS: 2}) for t in ("beta", "Alpha")]
    assert [r.offer.title for r in rank(same, found)] == ["Alpha", "beta"]  # ties: by title
    assert rank([long_full], gaps({WIRING: 1}, {WIRING: 3})) == []  # nothing to close
