"""The question bank pages: ``/teach/courses/{id}/banks`` and ``/teach/banks/{id}`` (list with filters, the
editor per kind with field errors, import with the refused lines listed, export), CSRF, who gets in."""

from __future__ import annotations

import re
import uuid

from tests.integration.conftest import post_form
from tests.integration.questions.conftest import GIFT, GOOD, enroll


async def create_course(client, title="Rivers") -> str:
    response = await post_form(client, "/teach/courses/", {"title": title})
    assert response.status_code == 303, response.text
    return re.match(r"/teach/courses/([0-9a-f-]+)", response.headers["location"]).group(1)


async def create_bank(client, course_id, title="River quiz") -> str:
    response = await post_form(client, f"/teach/courses/{course_id}/banks/", {"title": title})
    assert response.status_code == 303, response.text
    return re.match(r"/teach/banks/([0-9a-f-]+)", response.headers["location"]).group(1)


def question_ids(html: str, bank_id: str) -> list[str]:
    return re.findall(rf'href="/teach/banks/{bank_id}/questions/([0-9a-f-]+)"', html)


async def test_banks_page_and_csrf(signed_in, academy):
    async with signed_in(academy.teacher) as client:
        course_id = await create_course(client)
        builder = await client.get(f"/teach/courses/{course_id}")
        assert f'href="/teach/courses/{course_id}/banks"' in builder.text
        page = await client.get(f"/teach/courses/{course_id}/banks")
        assert page.status_code == 200 and "No question banks yet." in page.text
        no_token = await client.post(f"/teach/courses/{course_id}/banks/", data={"title": "X"})
        assert no_token.status_code == 403
        empty = await post_form(client, f"/teach/courses/{course_id}/banks/", {"title": "  "})
        assert empty.status_code == 422 and 'id="e-title"' in empty.text
        bank_id = await create_bank(client, course_id)
        listed = await client.get(f"/teach/courses/{course_id}/banks")
        assert f'href="/teach/banks/{bank_id}"' in listed.text and "River quiz" in listed.text
        bank = await client.get(f"/teach/banks/{bank_id}?notice=bank_created")
        assert bank.status_code == 200 and "The question bank was created." in bank.text

        renamed = await post_form(client, f"/teach/banks/{bank_id}", {"title": "Rivers of Africa",
                                                                      "description": ""})
        assert renamed.status_code == 303
        refused = await post_form(client, f"/teach/banks/{bank_id}", {"title": ""})
        assert refused.status_code == 422 and "Rivers of Africa" in refused.text
        gone = await post_form(client, f"/teach/banks/{bank_id}/delete")
        assert gone.status_code == 303 and gone.headers["location"].startswith(f"/teach/courses/{course_id}/banks")
        assert (await client.get(f"/teach/banks/{bank_id}")).status_code == 404


async def test_import_lists_bad_lines_and_filters(signed_in, academy):
    async with signed_in(academy.teacher) as client:
        bank_id = await create_bank(client, await create_course(client))
        files = {"file": ("bank.gift", GIFT.encode(), "text/plain")}
        nothing = await post_form(client, f"/teach/banks/{bank_id}/import", {"mode": "all_or_nothing"},
                                  files=files)
        assert nothing.status_code == 422 and "Nothing was imported" in nothing.text
        assert "Line 9:" in nothing.text and "Line 16:" in nothing.text
        assert 'value="all_or_nothing" checked' in nothing.text
        assert question_ids(nothing.text, bank_id) == []
        partial = await post_form(client, f"/teach/banks/{bank_id}/import", {"mode": "partial", "format": "gift"},
                                  files=files)
        assert partial.status_code == 200 and f"{GOOD} questions imported." in partial.text
        assert 'id="import-errors"' in partial.text and "Line 9:" in partial.text
        assert len(question_ids(partial.text, bank_id)) == GOOD
        missing = await post_form(client, f"/teach/banks/{bank_id}/import", {"mode": "partial"})
        assert missing.status_code == 422 and "Choose a file" in missing.text
        binary = await post_form(client, f"/teach/banks/{bank_id}/import", {"mode": "partial"},
                                 files={"file": ("x.gift", b"\x00\x01", "application/octet-stream")})
        assert binary.status_code == 422 and "not a text file" in binary.text

        asia = await client.get(f"/teach/banks/{bank_id}", params={"category": "Geography/Asia"})
        assert len(question_ids(asia.text, bank_id)) == 2
        fragment = await client.get(f"/teach/banks/{bank_id}", params={"kind": "numeric"},
                                    headers={"HX-Request": "true", "HX-Target": "question-list"})
        assert fragment.text.lstrip().startswith('<div id="question-list">')
        assert len(question_ids(fragment.text, bank_id)) == 1
        searched = await client.get(f"/teach/banks/{bank_id}", params={"q": "capital of France", "difficulty": "9"})
        assert len(question_ids(searched.text, bank_id)) == 1

        exported = await client.get(f"/teach/banks/{bank_id}/export", params={"format": "gift"})
        assert exported.status_code == 200 and "::Paris::" in exported.text
        as_json = await client.get(f"/teach/banks/{bank_id}/export", params={"format": "json"})
        assert as_json.json()["format"] == "tajiconnect-questions" and len(as_json.json()["questions"]) == GOOD
        assert (await client.get(f"/teach/banks/{bank_id}/export", params={"format": "pdf"})).status_code == 404


async def test_editor_per_kind_with_field_errors(signed_in, academy):
    async with signed_in(academy.teacher) as client:
        bank_id = await create_bank(client, await create_course(client))
        for kind in ("single", "multiple", "true_false", "short", "numeric", "matching", "ordering", "essay", "code"):
            form = await client.get(f"/teach/banks/{bank_id}/questions/new", params={"kind": kind})
            assert form.status_code == 200 and 'name="kind" value="' + kind + '"' in form.text, kind
        assert (await client.get(f"/teach/banks/{bank_id}/questions/new", params={"kind": "x"})).status_code == 404

        base = {"kind": "single", "text": "Longest river?", "text_format": "markdown", "points": "2",
                "category": "Africa", "tags": "rivers, long", "difficulty": "2", "feedback": "It is the Nile."}
        wrong = await post_form(client, f"/teach/banks/{bank_id}/questions/new", {
            **base, "opt_id[]": ["", "", ""], "opt_html[]": ["Nile", "Congo", ""],
            "opt_fraction[]": ["50", "0", ""], "opt_feedback[]": ["", "", ""]})
        assert wrong.status_code == 422 and "Exactly one option" in wrong.text
        assert 'value="Nile"' in wrong.text and "Longest river?" in wrong.text
        bad_row = await post_form(client, f"/teach/banks/{bank_id}/questions/new", {
            **base, "opt_id[]": ["", ""], "opt_html[]": ["Nile", "Congo"], "opt_fraction[]": ["100", "lots"],
            "opt_feedback[]": ["", ""]})
        assert bad_row.status_code == 422 and "Row 2 (fraction)" in bad_row.text
        saved = await post_form(client, f"/teach/banks/{bank_id}/questions/new", {
            **base, "opt_id[]": ["", "", ""], "opt_html[]": ["Nile", "Congo <b>river</b>", ""],
            "opt_fraction[]": ["100", "-25", ""], "opt_feedback[]": ["Yes", "a < b", ""], "shuffle": "on"})
        assert saved.status_code == 303, saved.text
        page = await client.get(f"/teach/banks/{bank_id}")
        (qid,) = question_ids(page.text, bank_id)
        editor = await client.get(f"/teach/banks/{bank_id}/questions/{qid}")
        assert 'value="-25"' in editor.text and 'value="a &lt; b"' in editor.text
        assert 'value="rivers, long"' in editor.text

        edited = await post_form(client, f"/teach/banks/{bank_id}/questions/{qid}", {
            **base, "revision": "1", "opt_id[]": ["a", "b"], "opt_html[]": ["Nile", "Congo"],
            "opt_fraction[]": ["100", "0"], "opt_feedback[]": ["", ""]})
        assert edited.status_code == 303
        stale = await post_form(client, f"/teach/banks/{bank_id}/questions/{qid}", {
            **base, "revision": "1", "opt_id[]": ["a", "b"], "opt_html[]": ["Nile", "Congo"],
            "opt_fraction[]": ["100", "0"], "opt_feedback[]": ["", ""]})
        assert stale.status_code == 409 and "Reload" in stale.text

        for kind, fields in (
            ("true_false", {"tf_answer": "false", "fb_true": "No", "fb_false": ""}),
            ("short", {"ans_text[]": ["Nile", ""], "ans_match[]": ["ci", "ci"], "ans_fraction[]": ["", ""],
                       "ans_feedback[]": ["", ""]}),
            ("numeric", {"num_value[]": ["6650", ""], "num_tolerance[]": ["50", ""], "num_min[]": ["", "6000"],
                         "num_max[]": ["", "7000"], "num_fraction[]": ["100", "50"], "num_feedback[]": ["", ""]}),
            ("matching", {"pair_id[]": ["", ""], "pair_prompt[]": ["Nile", "Congo"],
                          "pair_answer[]": ["Egypt", "DRC"], "distractors": "Peru\n"}),
            ("ordering", {"item_id[]": ["", ""], "item_html[]": ["Source", "Mouth"]}),
            ("essay", {"min_words": "10", "max_words": "200", "template": ""}),
            ("code", {"language": "python", "template": "print()"}),
        ):
            response = await post_form(client, f"/teach/banks/{bank_id}/questions/new",
                                       {**base, "kind": kind, **fields})
            assert response.status_code == 303, (kind, response.text)
        refused = await post_form(client, f"/teach/banks/{bank_id}/questions/new",
                                  {**base, "kind": "essay", "min_words": "20", "max_words": "5"})
        assert refused.status_code == 422 and "max_words" in refused.text
        page = await client.get(f"/teach/banks/{bank_id}")
        assert len(question_ids(page.text, bank_id)) == 8

        deleted = await post_form(client, f"/teach/banks/{bank_id}/questions/{qid}/delete")
        assert deleted.status_code == 303 and "notice=deleted" in deleted.headers["location"]
        assert (await client.get(f"/teach/banks/{bank_id}/questions/{qid}")).status_code == 404


async def test_only_staff_get_in(signed_in, engine, academy, make_academy):
    async with signed_in(academy.teacher) as client:
        course_id = await create_course(client)
        bank_id = await create_bank(client, course_id)
        await post_form(client, f"/teach/banks/{bank_id}/import", {"mode": "partial"},
                        files={"file": ("b.gift", b"Q? {T}", "text/plain")})
        (qid,) = question_ids((await client.get(f"/teach/banks/{bank_id}")).text, bank_id)
    await enroll(engine, academy.tenant, course_id, academy.learners[0].id)
    for member in (academy.learners[0], academy.other_teacher):
        async with signed_in(member) as client:
            for path in (f"/teach/courses/{course_id}/banks", f"/teach/banks/{bank_id}",
                         f"/teach/banks/{bank_id}/questions/{qid}", f"/teach/banks/{bank_id}/export",
                         f"/teach/banks/{bank_id}/questions/new"):
                assert (await client.get(path)).status_code == 404, path
            assert (await post_form(client, f"/teach/banks/{bank_id}/questions/{qid}/delete")).status_code == 404
            assert (await post_form(client, f"/teach/courses/{course_id}/banks/", {"title": "x"})).status_code == 404
    other = await make_academy("qp")
    async with signed_in(other.admin) as client:
        assert (await client.get(f"/teach/banks/{bank_id}")).status_code == 404
        assert (await client.get(f"/teach/banks/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/teach/banks/not-an-id")).status_code == 404
