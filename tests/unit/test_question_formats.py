"""Question import/export formats: every GIFT construct, Aiken, this product's CSV and JSON, format detection,
limits, errors with their line, and round trips (export, then import, gives the same questions)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tajiconnect.domains.questions.formats import (
    MAX_QUESTIONS,
    FileRefused,
    QuestionDraft,
    aiken,
    check,
    decode,
    detect,
    gift,
    native,
    parse,
)


def one(text: str) -> QuestionDraft:
    result = gift.parse(text)
    assert not result.errors, result.errors
    assert len(result.questions) == 1, result.questions
    return result.questions[0]


def errors(text: str) -> list[tuple[int, str]]:
    return [(e.line, e.reason) for e in gift.parse(text).errors]


def same(a: QuestionDraft, b: QuestionDraft) -> bool:
    keys = ("kind", "name", "text_html", "data", "feedback", "points", "category", "tags", "difficulty")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


# --- GIFT constructs ------------------------------------------------------------------------------------------


def test_single_choice_with_feedback_and_general_feedback():
    q = one("::Capital::What is the capital of France? {=Paris#Yes! ~London#No. ~Berlin ####Paris since 508.}")
    assert (q.kind, q.name, q.text, q.text_format) == ("single", "Capital", "What is the capital of France?",
                                                       "markdown")
    assert [(o["id"], o["html"], o["fraction"], o["feedback_html"]) for o in q.data["options"]] == [
        ("a", "Paris", "1", "Yes!"), ("b", "London", "0", "No."), ("c", "Berlin", "0", "")]
    assert q.feedback == "Paris since 508."


def test_multiple_choice_with_partial_and_negative_weights():
    q = one("Which are prime? {~%50%2 ~%50%3 ~%-100%4#Four is 2 times 2. ~%0%1}")
    assert q.kind == "multiple"
    assert [o["fraction"] for o in q.data["options"]] == ["0.5", "0.5", "-1", "0"]
    assert q.data["options"][2]["feedback_html"] == "Four is 2 times 2."


def test_single_choice_with_partial_wrong_answers():
    q = one("Pick {=best ~%50%half right ~%-25%bad}")
    assert q.kind == "single" and [o["fraction"] for o in q.data["options"]] == ["1", "0.5", "-0.25"]


@pytest.mark.parametrize(("block", "answer"), [("{T}", True), ("{TRUE}", True), ("{F}", False), ("{false}", False)])
def test_true_false(block, answer):
    q = one(f"The sun is a star. {block}")
    assert q.kind == "true_false" and q.data["answer"] is answer


def test_true_false_feedbacks_wrong_then_right():
    true = one("Grass is green. {T#Look again.#Right.}")
    assert (true.data["feedback_true_html"], true.data["feedback_false_html"]) == ("Right.", "Look again.")
    false = one("The moon is a planet. {FALSE#It is a satellite.#Correct.}")
    assert (false.data["feedback_false_html"], false.data["feedback_true_html"]) == ("Correct.", "It is a satellite.")


def test_short_answer_with_weights_feedback_and_wildcard():
    q = one("Name a primary colour. {=red =%50%blue#Also fine. =gr*n}")
    assert q.kind == "short"
    assert [(a["text"], a["match"], a["fraction"], a["feedback_html"]) for a in q.data["answers"]] == [
        ("red", "ci", "1", ""), ("blue", "ci", "0.5", "Also fine."), ("gr*n", "pattern", "1", "")]


def test_matching_with_distractor():
    q = one("Match the animal and its sound. {=cat -> meow =dog -> woof =cow -> moo = -> quack}")
    assert q.kind == "matching"
    assert [(p["id"], p["prompt_html"], p["answer"]) for p in q.data["pairs"]] == [
        ("a", "cat", "meow"), ("b", "dog", "woof"), ("c", "cow", "moo")]
    assert q.data["distractors"] == ["quack"]


def test_numeric_tolerance_range_and_several_answers():
    q = one("Pi to two decimals? {#3.14:0.005}")
    assert q.kind == "numeric" and q.data["answers"] == [
        {"value": "3.14", "tolerance": "0.005", "fraction": "1", "feedback_html": ""}]
    r = one("A number between 1 and 2? {#1..2}")
    assert r.data["answers"][0]["min"] == "1" and r.data["answers"][0]["max"] == "2"
    m = one("When was Ulysses S. Grant born? {#=1822:0 =%50%1822:2#Close. ~%0%1900#No.}")
    assert [(a["value"], a["tolerance"], a["fraction"], a["feedback_html"]) for a in m.data["answers"]] == [
        ("1822", "0", "1", ""), ("1822", "2", "0.5", "Close."), ("1900", "0", "0", "No.")]
    n = one("Exact? {#-7}")
    assert n.data["answers"][0] == {"value": "-7", "tolerance": "0", "fraction": "1", "feedback_html": ""}


def test_essay():
    q = one("Write about your holidays. {}")
    assert q.kind == "essay" and q.data["min_words"] is None


def test_missing_word():
    q = one("Moodle costs {~lots of money =nothing ~a small amount} to download.")
    assert q.kind == "single" and q.text == "Moodle costs _____ to download."


def test_escapes_and_newline():
    q = one("Is 1 \\= 1 \\{really\\} \\#1 \\: \\~ \\\\ yes?\\nSecond line {=a\\=b\\#c}")
    assert q.text == "Is 1 = 1 {really} #1 : ~ \\ yes?\nSecond line"
    assert q.data["answers"][0]["text"] == "a=b#c"


def test_multiline_question():
    q = one("::Long::\nThe first line\nand the second {\n=yes\n~no\n}\n")
    assert q.text == "The first line\nand the second" and len(q.data["options"]) == 2


ESCAPED = "<p>x &lt;p&gt;x &lt;strong&gt;y&lt;/strong&gt;&lt;script&gt;z&lt;/script&gt;&lt;/p&gt;</p>"


@pytest.mark.parametrize(("marker", "fmt", "html"), [
    ("[html]", "html", "<p>x <strong>y</strong></p>"),
    ("[moodle]", "html", "<p>x <strong>y</strong></p>"),
    ("[markdown]", "markdown", ESCAPED),
    ("[plain]", "plain", ESCAPED),
])
def test_formats_are_sanitized(marker, fmt, html):
    body = "<p>x <strong>y</strong><script>z</script></p>"
    if fmt != "html":
        body = "x " + body
    q = one(f"::N::{marker}{body} {{=<em>a</em>}}")
    assert q.text_format == fmt and q.text_html == html


def test_html_answers_are_sanitized():
    q = one("[html]Pick {=<em>yes</em><script>x</script> ~<img src\\=x onerror\\=alert(1)>no}")
    assert q.data["options"][0]["html"] == "<em>yes</em>"
    assert "onerror" not in q.data["options"][1]["html"]


def test_comments_category_and_hints():
    text = (
        "// A comment line\n"
        "$CATEGORY: $course$/top/Geography/ Europe \n\n"
        "// [tag:Capitals] [tag:easy]\n// [points:2.5]\n// [difficulty:2]\n"
        "Capital of Italy? {=Rome ~Milan}\n\n"
        "Capital of Spain? {=Madrid ~Barcelona}\n\n"
        "$CATEGORY: Geography/Asia\n\n"
        "Capital of Japan? {=Tokyo ~Osaka}\n"
    )
    result = gift.parse(text)
    assert not result.errors
    first, second, third = result.questions
    assert (first.category, first.tags, first.points, first.difficulty) == (
        "Geography/Europe", ["capitals", "easy"], Decimal("2.50"), 2)
    assert (second.category, second.tags, second.points, second.difficulty) == ("Geography/Europe", [],
                                                                                 Decimal("1.00"), None)
    assert third.category == "Geography/Asia"
    assert [q.line for q in result.questions] == [7, 9, 13]


def test_description_is_skipped_with_a_notice():
    result = gift.parse("Just some text to read.\n\nQ? {T}\n")
    assert len(result.questions) == 1 and not result.errors
    assert [(n.line, "description" in n.reason) for n in result.notices] == [(1, True)]


def test_bad_questions_are_reported_with_line_and_reason():
    text = (
        "Good {=a ~b}\n\n"  # 1
        "Unclosed {=a ~b\n\n"  # 3
        "Two correct {=a =b ~c}\n\n"  # 5
        "Sum {~%50%a ~%20%b}\n\n"  # 7
        "Unknown {abc}\n\n"  # 9
        "Two blocks {=a} and {=b}\n\n"  # 11
        "::Unclosed name {=a}\n\n"  # 13
        "Bad number {#abc}\n\n"  # 15
        "Bad pair {=a -> b =c}\n\n"  # 17
        "Stray } brace\n\n"  # 19
        "Fine again {F}\n"  # 21
    )
    result = gift.parse(text)
    assert [q.line for q in result.questions] == [1, 21]
    lines = [(e.line, e.reason) for e in result.errors]
    assert [line for line, _ in lines] == [3, 5, 7, 9, 11, 13, 15, 17, 19]
    reasons = dict(lines)
    assert "closing }" in reasons[3]
    assert reasons[5].startswith("data.options")
    assert "100%" in reasons[7]
    assert "=" in reasons[9]
    assert "answer block" in reasons[11]
    assert "::" in reasons[13]
    assert reasons[15].startswith("data.answers[0].value")
    assert "->" in reasons[17]


def test_too_many_questions():
    text = "\n\n".join(f"Q{i}? {{T}}" for i in range(MAX_QUESTIONS + 1))
    result = gift.parse(text)
    assert not result.questions and "at most" in result.errors[0].reason


# --- GIFT export ----------------------------------------------------------------------------------------------

SAMPLE = (
    "$CATEGORY: Science/Space\n\n"
    "// [tag:stars]\n::Sun::The sun is a *star*. {T#Read again.#Yes.####Our nearest star.}\n\n"
    "Which are planets? {~%50%Mars ~%50%Venus ~%-100%Moon#A satellite.}\n\n"
    "Gravity on earth (m/s²)? {#9.81:0.05}\n\n"
    "Range {#=%100%1..2 =%25%0..3#Roughly.}\n\n"
    "Name the red planet. {=Mars =%50%the red one*}\n\n"
    "Match {=Mercury -> 1st =Venus -> 2nd = -> 9th}\n\n"
    "$CATEGORY: Essays\n\n"
    "// [points:5]\n// [difficulty:4]\nWhy explore space? {}\n\n"
    "[html]<p>Pick the <strong>gas</strong> giant: a:b</p> {=Jupiter ~<em>Mars</em>}\n\n"
    "[plain]A <b> plain </b> question {=yes ~no}\n\n"
    "Words with \\= and \\# and \\{ and \\: {=a\\=b}\n\n"
    "The moon orbits the _____ once a month {=earth ~sun}\n"
)


def test_export_round_trip_keeps_every_question():
    original = gift.parse(SAMPLE)
    assert not original.errors and len(original.questions) == 11
    text, skipped = gift.export(original.questions)
    assert skipped == 0
    back = gift.parse(text)
    assert not back.errors and len(back.questions) == len(original.questions)
    for a, b in zip(original.questions, back.questions, strict=True):
        assert same(a, b), (a, b)
    assert text.count("$CATEGORY:") == 2


def test_export_falls_back_to_html_when_needed():
    q = check(QuestionDraft(kind="single", text="Which **one**?", text_format="markdown", data={"options": [
        {"html": "<em>this</em>", "fraction": "1"}, {"html": "that", "fraction": "0"}]}))
    text, _ = gift.export([q])
    assert "[html]" in text
    assert same(gift.parse(text).questions[0], q)


def test_export_leaves_out_kinds_gift_cannot_write():
    ordering = check(QuestionDraft(kind="ordering", text="Order", data={"items": [{"html": "a"}, {"html": "b"}]}))
    essay = check(QuestionDraft(kind="essay", text="Write"))
    text, skipped = gift.export([ordering, essay])
    assert skipped == 1 and "Order" not in text and "Write" in text


_words = st.text(alphabet=st.sampled_from("abcXYZ019 ,.?!=#{}:~\\é"), min_size=1, max_size=20).filter(
    lambda s: s.strip() and not s.strip().startswith(("/", "$", "%", "[", "-", "::")) and "->" not in s)
_fraction = st.sampled_from(["0", "0.5", "-0.5", "0.25", "-1"])


@st.composite
def _drafts(draw):
    kind = draw(st.sampled_from(["single", "multiple", "true_false", "short", "numeric", "matching", "essay"]))
    text = draw(_words)
    texts = draw(st.lists(_words, min_size=2, max_size=4, unique_by=lambda s: s.strip()))
    if kind == "single":
        data = {"options": [{"html": t, "fraction": "1" if i == 0 else draw(_fraction),
                             "feedback_html": draw(st.one_of(st.just(""), _words))} for i, t in enumerate(texts)]}
    elif kind == "multiple":
        data = {"options": [{"html": t, "fraction": "0.5" if i < 2 else "-0.5"} for i, t in enumerate(texts)]}
    elif kind == "true_false":
        data = {"answer": draw(st.booleans()), "feedback_true_html": draw(st.one_of(st.just(""), _words)),
                "feedback_false_html": draw(st.one_of(st.just(""), _words))}
    elif kind == "short":
        data = {"answers": [{"text": t, "fraction": "1" if i == 0 else "0.5"} for i, t in enumerate(texts)]}
    elif kind == "numeric":
        data = {"answers": [{"value": str(draw(st.integers(-1000, 1000))), "tolerance": "0.5"},
                            {"min": "1", "max": "2.5", "fraction": "0.5", "feedback_html": draw(_words)}]}
    elif kind == "matching":
        data = {"pairs": [{"prompt_html": t, "answer": f"ans{i}"} for i, t in enumerate(texts)]}
    else:
        data = {}
    return check(QuestionDraft(
        kind=kind, text=text, text_format=draw(st.sampled_from(["markdown", "plain", "html"])), data=data,
        name=draw(st.one_of(st.just(""), _words)), feedback=draw(st.one_of(st.just(""), _words)),
        category=draw(st.sampled_from(["", "a", "a/b c"])), tags=draw(st.lists(st.sampled_from(["x", "y z"]),
                                                                                unique=True)),
        points=Decimal(draw(st.sampled_from(["1", "2", "0.5"]))), difficulty=draw(st.one_of(st.none(),
                                                                                      st.integers(1, 5))),
    ))


@settings(max_examples=150, deadline=None)
@given(st.lists(_drafts(), min_size=1, max_size=4))
def test_gift_round_trip_property(questions):
    text, skipped = gift.export(questions)
    assert skipped == 0
    back = gift.parse(text)
    assert not back.errors, (text, back.errors)
    assert len(back.questions) == len(questions)
    for a, b in zip(questions, back.questions, strict=True):
        assert same(a, b), (text, a, b)


# --- Aiken ----------------------------------------------------------------------------------------------------


def test_aiken():
    text = (
        "What is the correct answer to this question?\n"
        "A. Is it this one?\nB. Maybe this answer?\nC) Possibly this one?\nD) Must be this one!\nANSWER: D\n\n"
        "Which LMS has the most quiz import formats?\nA) Moodle\nB) ATutor\nANSWER: A\n"
        "No answer here\nA. one\nB. two\n\n"
        "Wrong letter\nA. one\nB. two\nANSWER: C\n\n"
        "One option\nA. one\nANSWER: A\n\n"
        "Twice\nA. one\nA. again\nB. two\nANSWER: B\n\n"
        "Last one unfinished\n"
    )
    result = aiken.parse(text)
    assert [q.line for q in result.questions] == [1, 8]
    first = result.questions[0]
    assert first.kind == "single" and first.text_format == "plain"
    assert [o["fraction"] for o in first.data["options"]] == ["0", "0", "0", "1"]
    assert first.data["options"][2]["html"] == "Possibly this one?"
    assert [(e.line, e.reason.split(" ")[0]) for e in result.errors] == [
        (12, "The"), (16, "The"), (21, "A"), (27, "The"), (31, "The")]
    assert "twice" in result.errors[3].reason


# --- native ---------------------------------------------------------------------------------------------------


def test_json_round_trip_keeps_everything():
    questions = [
        *gift.parse(SAMPLE).questions,
        check(QuestionDraft(kind="ordering", text="Order", data={"items": [{"html": "a"}, {"html": "b"}]})),
        check(QuestionDraft(kind="code", text="Code", data={"language": "python", "template": "def f():\n"})),
        check(QuestionDraft(kind="essay", text="E", data={"min_words": 5, "max_words": 50, "template": "x"})),
    ]
    back = native.parse_json(native.export_json(questions))
    assert not back.errors
    for a, b in zip(questions, back.questions, strict=True):
        assert same(a, b) and a.text == b.text and a.text_format == b.text_format


def test_json_errors_name_the_question_number():
    document = json.dumps([{"kind": "true_false", "text": "ok", "data": {"answer": True}},
                           {"kind": "true_false", "text": "", "data": {"answer": True}},
                           {"kind": "nope", "text": "x"}, "text", {"kind": "essay", "text": "x", "bogus": 1},
                           {"kind": "essay", "text": "x", "difficulty": 9}])
    result = native.parse_json(document)
    assert len(result.questions) == 1
    assert [(e.line, e.reason.split(":")[0]) for e in result.errors] == [
        (2, "text"), (3, "kind"), (4, "A question is an object."), (5, "Unknown member bogus."), (6, "difficulty")]
    assert native.parse_json("{nope").errors[0].reason == "This is not valid JSON."


def test_csv_import():
    text = (
        "kind,name,text,answers,correct,points,category,tags,difficulty,feedback\n"
        "single,Cap,Capital of France?,Paris | London | Berlin,1,2,Geo/Europe,geo;capitals,1,Paris!\n"
        "multiple,,Primes?,2|3|4,1;2,,,,,\n"
        "true_false,,Sky is blue,,true,,,,,\n"
        "short,,Colour?,red|gr*n,,,,,,\n"
        "numeric,,Pi?,3.14:0.01|3..4,,,,,,\n"
        "matching,,Match,cat -> meow|dog -> woof| -> moo,,,,,,\n"
        "ordering,,Order,one|two|three,,,,,,\n"
        "essay,,Write,,,,,,,\n"
        "code,,Code it,python,,,,,,\n"
        "single,,No right one,a|b,,,,,,\n"
        "\n"
        "true_false,,Bad,,maybe,,,,,\n"
    )
    result = native.parse_csv(text)
    kinds = [q.kind for q in result.questions]
    assert kinds == ["single", "multiple", "true_false", "short", "numeric", "matching", "ordering", "essay", "code"]
    first = result.questions[0]
    assert (first.name, first.points, first.category, first.tags, first.difficulty, first.feedback) == (
        "Cap", Decimal("2.00"), "Geo/Europe", ["geo", "capitals"], 1, "Paris!")
    assert [o["fraction"] for o in first.data["options"]] == ["1", "0", "0"]
    assert [o["fraction"] for o in result.questions[1].data["options"]] == ["0.5", "0.5", "0"]
    assert result.questions[4].data["answers"][1] == {"min": "3", "max": "4", "fraction": "1", "feedback_html": ""}
    assert result.questions[5].data["distractors"] == ["moo"]
    assert [(e.line, e.reason.split(":")[0]) for e in result.errors] == [(11, "data.options"), (13, "data.answer")]


def test_csv_data_column_and_bad_header():
    text = 'kind;text;data\nessay;Write;"{""min_words"": 10}"\nessay;Bad;{oops\n'
    result = native.parse_csv(text)
    assert result.questions[0].data["min_words"] == 10
    assert result.errors[0].line == 3
    assert native.parse_csv("question,answer\nx,y\n").errors[0].line == 1


# --- detection, decoding, limits ------------------------------------------------------------------------------


def test_detect():
    assert detect("anything", "bank.GIFT") == "gift"
    assert detect("anything", "bank.csv") == "csv"
    assert detect('{"questions": []}') == "json"
    assert detect("[html]<b>x</b> {T}") == "gift"
    assert detect("kind,text\nessay,x\n") == "csv"
    assert detect("Q?\nA. x\nB. y\nANSWER: A\n", "bank.txt") == "aiken"
    assert detect("// c\n::n:: Q {=a ~b}") == "gift"


def test_decode_and_limits():
    assert decode("\ufeffQ? {T}\r\n".encode()) == "Q? {T}\n"
    assert decode("café".encode("cp1252")) == "café"
    with pytest.raises(FileRefused):
        decode(b"a\x00b")
    with pytest.raises(FileRefused):
        decode(b"x" * (2 * 1024 * 1024 + 1))
    fmt, result = parse(b"Q? {T}", "x.txt")
    assert fmt == "gift" and len(result.questions) == 1


def test_the_demo_bank_reads_without_errors():
    from pathlib import Path

    content = (Path(__file__).resolve().parents[2] / "tenants" / "demo" / "questions.gift").read_bytes()
    fmt, result = parse(content, "questions.gift")
    assert fmt == "gift" and not result.errors and 15 <= len(result.questions) <= 20
    assert {q.kind for q in result.questions} == {"single", "multiple", "true_false", "short", "numeric",
                                                  "matching", "essay"}
    numeric = [a for q in result.questions if q.kind == "numeric" for a in q.data["answers"]]
    assert any("tolerance" in a and a["tolerance"] != "0" for a in numeric) and any("min" in a for a in numeric)
    assert any(o["fraction"] not in ("0", "1") for q in result.questions if q.kind == "multiple"
               for o in q.data["options"])
