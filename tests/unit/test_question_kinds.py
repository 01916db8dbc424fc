"""questions/kinds.py: each kind's ``data`` checked and normalized, field errors, and text rendering."""

from __future__ import annotations

import pytest

from tajiconnect.domains.questions.kinds import (
    InvalidQuestion,
    decimal_text,
    render_inline,
    render_text,
    sanitize,
    validate,
    validate_text,
)


def refused(kind, data):
    with pytest.raises(InvalidQuestion) as info:
        validate(kind, data)
    return info.value.field


def test_single_normalizes_fractions_ids_and_sanitizes():
    data = validate("single", {"options": [
        {"html": "Paris <script>x</script>", "fraction": 1.0, "feedback_html": "<b onclick=x>yes</b>"},
        {"id": "z", "html": "Rome", "fraction": "-0.250"},
        {"html": "Lyon", "fraction": "0.50"},
    ]})
    assert [o["id"] for o in data["options"]] == ["a", "z", "b"]
    assert [o["fraction"] for o in data["options"]] == ["1", "-0.25", "0.5"]
    assert "<script" not in data["options"][0]["html"] and "onclick" not in data["options"][0]["feedback_html"]
    assert data["shuffle"] is True


def test_single_needs_exactly_one_full_option():
    assert refused("single", {"options": [{"html": "a", "fraction": "1"}, {"html": "b", "fraction": "1"}]}) == (
        "data.options")
    assert refused("single", {"options": [{"html": "a", "fraction": "0.5"}, {"html": "b"}]}) == "data.options"
    assert refused("single", {"options": [{"html": "a", "fraction": "1"}]}) == "data.options"


def test_multiple_fractions_must_sum_to_one():
    ok = validate("multiple", {"options": [{"html": "a", "fraction": "0.33333"}, {"html": "b", "fraction": "0.33333"},
                                           {"html": "c", "fraction": "0.33333"}, {"html": "d", "fraction": "-1"}]})
    assert ok["options"][3]["fraction"] == "-1"
    assert refused("multiple", {"options": [{"html": "a", "fraction": "0.5"}, {"html": "b", "fraction": "0"}]}) == (
        "data.options")


@pytest.mark.parametrize(("data", "field"), [
    ({"options": [{"html": "a", "fraction": "2"}, {"html": "b", "fraction": "1"}]}, "data.options[0].fraction"),
    ({"options": [{"html": "a", "fraction": "NaN"}, {"html": "b", "fraction": "1"}]}, "data.options[0].fraction"),
    ({"options": [{"html": "a", "fraction": True}, {"html": "b", "fraction": "1"}]}, "data.options[0].fraction"),
    ({"options": [{"html": "<script></script>"}, {"html": "b", "fraction": "1"}]}, "data.options[0].html"),
    ({"options": [{"html": "a", "x": 1}, {"html": "b", "fraction": "1"}]}, "data.options[0].x"),
    ({"options": [{"id": "a", "html": "a"}, {"id": "a", "html": "b", "fraction": "1"}]}, "data.options[1].id"),
    ({"options": [{"id": "no spaces", "html": "a"}, {"html": "b", "fraction": "1"}]}, "data.options[0].id"),
    ({"options": "abc"}, "data.options"),
    ({"options": [{"html": "a"}, {"html": "b", "fraction": "1"}], "shuffle": "yes"}, "data.shuffle"),
    ({"options": [{"html": "a"}, {"html": "b", "fraction": "1"}], "extra": 1}, "data.extra"),
])
def test_single_field_errors(data, field):
    assert refused("single", data) == field


def test_true_false():
    data = validate("true_false", {"answer": False, "feedback_true_html": "No <em>way</em>"})
    assert data == {"answer": False, "feedback_true_html": "No <em>way</em>", "feedback_false_html": "",
                    "shuffle": False}
    assert refused("true_false", {"answer": "true"}) == "data.answer"


def test_short_answers():
    data = validate("short", {"answers": [{"text": "  New   York "}, {"text": "NY*", "fraction": "0.5"},
                                          {"text": "nyc", "match": "exact", "fraction": 0}]})
    assert [(a["text"], a["match"], a["fraction"]) for a in data["answers"]] == [
        ("New York", "ci", "1"), ("NY*", "pattern", "0.5"), ("nyc", "exact", "0")]
    assert refused("short", {"answers": [{"text": "x", "fraction": "0.5"}]}) == "data.answers"
    assert refused("short", {"answers": [{"text": "x", "match": "regex"}]}) == "data.answers[0].match"
    assert refused("short", {"answers": [{"text": " "}]}) == "data.answers[0].text"
    assert refused("short", {"answers": []}) == "data.answers"


def test_numeric_answers():
    data = validate("numeric", {"answers": [{"value": "3.140", "tolerance": "0.010"}, {"min": "1e0", "max": 2,
                                                                                        "fraction": "0.5"}]})
    assert data["answers"][0] == {"value": "3.14", "tolerance": "0.01", "fraction": "1", "feedback_html": ""}
    assert data["answers"][1]["min"] == "1" and data["answers"][1]["max"] == "2"
    assert refused("numeric", {"answers": [{"value": "inf"}]}) == "data.answers[0].value"
    assert refused("numeric", {"answers": [{"value": "1e99"}]}) == "data.answers[0].value"
    assert refused("numeric", {"answers": [{"value": "1", "tolerance": "-1"}]}) == "data.answers[0].tolerance"
    assert refused("numeric", {"answers": [{"min": "3", "max": "2"}]}) == "data.answers[0].max"
    assert refused("numeric", {"answers": [{"min": "3"}]}) == "data.answers[0]"
    assert refused("numeric", {"answers": [{"value": "1", "min": "0", "max": "2"}]}) == "data.answers[0]"


def test_matching_and_ordering():
    data = validate("matching", {"pairs": [{"prompt_html": "cat", "answer": "meow"},
                                           {"prompt_html": "dog", "answer": " woof "}], "distractors": ["moo"]})
    assert data["pairs"][1] == {"id": "b", "prompt_html": "dog", "answer": "woof"} and data["shuffle"] is True
    assert refused("matching", {"pairs": [{"prompt_html": "cat", "answer": "meow"}]}) == "data.pairs"
    two = [{"prompt_html": "a", "answer": "b"}, {"prompt_html": "c", "answer": ""}]
    assert refused("matching", {"pairs": two}) == "data.pairs[1].answer"
    order = validate("ordering", {"items": [{"html": "one"}, {"html": "two"}]})
    assert order == {"items": [{"id": "a", "html": "one"}, {"id": "b", "html": "two"}], "shuffle": False}
    assert refused("ordering", {"items": [{"html": "one"}]}) == "data.items"


def test_essay_and_code():
    assert validate("essay", {}) == {"min_words": None, "max_words": None, "template": "", "shuffle": False}
    assert validate("essay", {"min_words": 10, "max_words": 100})["max_words"] == 100
    assert refused("essay", {"min_words": 10, "max_words": 5}) == "data.max_words"
    assert refused("essay", {"min_words": -1}) == "data.min_words"
    assert refused("essay", {"min_words": True}) == "data.min_words"
    assert validate("code", {"language": "Python3"})["language"] == "python3"
    assert refused("code", {"language": "klingon"}) == "data.language"


def test_unknown_kind_and_bad_data():
    assert refused("poll", {}) == "kind"
    assert refused("essay", []) == "data"


def test_validate_is_idempotent():
    first = validate("multiple", {"options": [{"html": "a", "fraction": ".5"}, {"html": "b", "fraction": "0.5"},
                                              {"html": "c"}]})
    assert validate("multiple", first) == first


def test_rendering_by_format():
    assert render_text("**bold** <script>x</script>", "markdown") == (
        "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>")
    assert render_text("<p onclick='x'>hi <script>bad()</script><em>there</em></p>", "html") == (
        "<p>hi <em>there</em></p>")
    assert render_text("a < b\nnext\n\nnew", "plain") == "<p>a &lt; b<br>\nnext</p>\n<p>new</p>"
    assert render_inline("*x*", "markdown") == "<em>x</em>"
    assert render_inline("one\n\ntwo", "markdown") == "<p>one</p>\n<p>two</p>"
    assert sanitize('<a href="javascript:alert(1)">x</a>') == '<a rel="noopener nofollow ugc">x</a>'
    assert decimal_text(__import__("decimal").Decimal("1E+2")) == "100"


def test_validate_text():
    assert validate_text("What?", "plain") == ("What?", "plain", "<p>What?</p>")
    for text, fmt, field in (("", "markdown", "text"), ("<script></script>", "html", "text"), ("x", "rtf",
                                                                                                "text_format")):
        with pytest.raises(InvalidQuestion) as info:
            validate_text(text, fmt)
        assert info.value.field == field
