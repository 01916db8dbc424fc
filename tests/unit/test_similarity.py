"""The similarity check's scoring (grading/similarity.py): identical, unrelated, partly shared, reordered."""

from __future__ import annotations

import uuid

from tajiconnect.domains.grading.similarity import MIN_WORDS, compare, flagged_pairs, words_of

P1 = ("Solar panels turn sunlight into electricity through the photovoltaic effect, and the current they make "
      "is direct current that a charge controller feeds into the battery bank.")
P2 = ("An inverter changes the direct current into the alternating current that household devices use, which "
      "is why every off-grid system needs one sized to the largest load.")
P3 = ("Rainwater harvesting collects runoff from roofs into tanks, where it settles and can be filtered before "
      "people drink it or use it to water the vegetable garden in the dry season.")
P4 = ("Markets in the old town open before sunrise; traders bring mangoes, cassava and dried fish from the coast "
      "and bargain loudly with shopkeepers until the midday heat sends everyone home.")


def test_identical_texts_score_100_whatever_the_case_and_spacing():
    result = compare(words_of(P1 + "\n\n" + P2), words_of((P1 + "   " + P2).upper()))
    assert result.score == 100.0 and len(result.passages) == 1
    passage = result.passages[0]
    assert passage["a"].startswith("Solar panels") and passage["b"].startswith("SOLAR PANELS")
    assert passage["a_start"] == 0 and passage["words"] > 40


def test_unrelated_texts_are_not_flagged():
    assert compare(words_of(P3), words_of(P4)).score == 0.0
    assert flagged_pairs([(uuid.uuid4(), P1 + " " + P3), (uuid.uuid4(), P4 + " " + P2)], 40) == []


def test_a_shared_paragraph_scores_in_between_and_reordered_paragraphs_partly():
    shared = compare(words_of(P1 + " " + P3), words_of(P1 + " " + P4))
    assert 35 <= shared.score <= 65 and shared.passages[0]["a"].startswith("Solar")
    reordered = compare(words_of(P1 + " " + P2 + " " + P3), words_of(P3 + " " + P2 + " " + P1))
    assert 20 <= reordered.score < 100
    copied_inside = compare(words_of(P2), words_of(P4 + " " + P2 + " " + P3))  # of the shorter text
    assert copied_inside.score == 100.0 and copied_inside.passages[0]["b_start"] > 0


def test_short_texts_are_not_compared_and_the_threshold_short_cuts():
    short = " ".join(["word"] * (MIN_WORDS - 1))
    assert compare(words_of(short), words_of(short)).score == 0.0
    assert compare(words_of(P3), words_of(P4), threshold=90).passages == []


def test_flagged_pairs_are_ordered_by_id_and_score():
    ids = sorted(uuid.uuid4() for _ in range(3))
    found = flagged_pairs([(ids[2], P1 + P2), (ids[0], P1 + P2), (ids[1], P4)], 40)
    assert [(a, b) for a, b, _r in found] == [(ids[0], ids[2])]
    assert found[0][2].score == 100.0
