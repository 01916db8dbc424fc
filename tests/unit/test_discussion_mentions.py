"""Mention handles (``@name``) and the validation of discussion text: pure rules."""

from __future__ import annotations

import pytest

from tajiconnect.domains.discussions.service import (
    BODY_MAX,
    MENTIONS_MAX,
    DiscussionError,
    clean_body,
    clean_reason,
    clean_title,
    handle_of,
    mention_handles,
)


def test_a_handle_is_the_name_lower_cased_without_spaces_or_punctuation():
    assert handle_of("Alice Wanjiru") == "alicewanjiru"
    assert handle_of("Wanjirũ Amélie") == "wanjirũamélie"
    assert handle_of("O'Brien-Smith") == "obriensmith"
    assert handle_of("  ") == ""


def test_mentions_found_in_text():
    text = "@Alice, ask @bob.otieno and @Wanjirũ! Not mail@example.org, not @@x, not a@b; (@carol) @ALICE"
    assert mention_handles(text) == ["alice", "bobotieno", "wanjirũ", "carol"]
    assert mention_handles("no mentions here") == []
    assert mention_handles("") == []


def test_mentions_are_capped():
    text = " ".join(f"@user{i}" for i in range(MENTIONS_MAX + 10))
    assert len(mention_handles(text)) == MENTIONS_MAX


@pytest.mark.parametrize(("check", "value", "field"), [
    (clean_title, "   ", "title"),
    (clean_title, "t" * 201, "title"),
    (clean_body, "\n\t ", "body"),
    (clean_body, "b" * (BODY_MAX + 1), "body"),
    (clean_reason, "", "reason"),
    (clean_reason, "r" * 501, "reason"),
])
def test_refused_text_names_its_field(check, value, field):
    with pytest.raises(DiscussionError) as refused:
        check(value)
    assert refused.value.field == field and refused.value.status == 400


def test_accepted_text_is_tidied():
    assert clean_title("  Cells   and\ttissues ") == "Cells and tissues"
    assert clean_body("\n  **hi**\n") == "**hi**"
    assert clean_reason(" spam\n spam ") == "spam spam"
