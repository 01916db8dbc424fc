"""``/api/v1/question-banks`` and ``/api/v1/questions``: banks and questions CRUD, import (partial and
all-or-nothing) with line errors, export round trip, filters, staff only, other organizations' and tampered ids,
malformed input, archive instead of delete, audit entries."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import select

from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer
from tajiconnect.domains.courses.models import CourseModule, Lesson
from tests.integration.conftest import audit_entries, bearer_for, problem_of
from tests.integration.questions.conftest import GIFT, GOOD, enroll, tenant_session


async def make_course(client, headers, title="Geography"):
    response = await client.post("/api/v1/courses", headers=headers, json={"title": title})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def make_bank(client, headers, course_id, title="Capitals"):
    response = await client.post("/api/v1/question-banks", headers=headers,
                                 json={"course_id": course_id, "title": title})
    assert response.status_code == 201, response.text
    return response.json()


async def upload(client, headers, bank_id, content, *, filename="bank.gift", **form):
    return await client.post(f"/api/v1/question-banks/{bank_id}/import", headers=headers,
                             files={"file": (filename, content.encode() if isinstance(content, str) else content,
                                             "text/plain")}, data=form)


async def questions_of(client, headers, bank_id, **params):
    response = await client.get(f"/api/v1/question-banks/{bank_id}/questions", headers=headers,
                                params={"per_page": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_import_list_export_round_trip(browser, engine, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course_id = await make_course(client, teacher)
        bank = await make_bank(client, teacher, course_id)
        assert bank["question_count"] == 0

        nothing = await upload(client, teacher, bank["id"], GIFT, mode="all_or_nothing")
        assert nothing.status_code == 200, nothing.text
        assert nothing.json()["imported"] == 0 and [e["line"] for e in nothing.json()["errors"]] == [9, 16]
        assert (await questions_of(client, teacher, bank["id"]))["total"] == 0

        partial = await upload(client, teacher, bank["id"], GIFT)
        body = partial.json()
        assert partial.status_code == 200 and body["format"] == "gift" and body["mode"] == "partial"
        assert body["imported"] == GOOD and len(body["question_ids"]) == GOOD
        assert [(e["line"], e["reason"][:14]) for e in body["errors"]] == [
            (9, "No closing } f"), (16, "data.options: ")]

        listed = await questions_of(client, teacher, bank["id"])
        assert [q["kind"] for q in listed["items"]] == ["single", "multiple", "true_false", "numeric"]
        first = listed["items"][0]
        assert (first["name"], first["category"], first["tags"], first["text_html"]) == (
            "Paris", "Geography/Europe", ["capitals"], "<p>What is the capital of France?</p>")
        assert first["data"]["options"][0] == {"id": "a", "html": "Paris", "fraction": "1", "feedback_html": "Yes"}
        assert (await questions_of(client, teacher, bank["id"], category="Geography"))["total"] == GOOD
        assert (await questions_of(client, teacher, bank["id"], category="Geography/Asia"))["total"] == 2
        assert (await questions_of(client, teacher, bank["id"], category="Geo"))["total"] == 0
        assert (await questions_of(client, teacher, bank["id"], tag="CAPITALS"))["total"] == 1
        assert (await questions_of(client, teacher, bank["id"], difficulty=3))["items"][0]["kind"] == "true_false"
        assert (await questions_of(client, teacher, bank["id"], kind="numeric"))["total"] == 1
        assert (await questions_of(client, teacher, bank["id"], q="europe"))["total"] == 1
        assert (await questions_of(client, teacher, bank["id"], q="%"))["total"] == 0
        paged = await questions_of(client, teacher, bank["id"], per_page=3, page=2)
        assert paged["total"] == GOOD and len(paged["items"]) == 1

        # GIFT export, imported into a second bank, gives the same questions; so does JSON.
        exported = await client.get(f"/api/v1/question-banks/{bank['id']}/export", headers=teacher)
        assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
        assert exported.headers["questions-left-out"] == "0" and "$CATEGORY: Geography/Asia" in exported.text
        keys = ("kind", "name", "text_html", "data", "feedback_html", "points", "category", "tags", "difficulty")

        def shape(items):
            return sorted(tuple(str(q[k]) for k in keys) for q in items)

        for fmt, filename in (("gift", "again.txt"), ("json", "again.json")):
            copy = await make_bank(client, teacher, course_id, title=f"Copy {fmt}")
            content = (await client.get(f"/api/v1/question-banks/{bank['id']}/export", headers=teacher,
                                        params={"format": fmt})).content
            again = await upload(client, teacher, copy["id"], content, filename=filename)
            assert again.json()["imported"] == GOOD and not again.json()["errors"], again.text
            assert shape((await questions_of(client, teacher, copy["id"]))["items"]) == shape(listed["items"])

        banks = (await client.get("/api/v1/question-banks", headers=teacher, params={"course_id": course_id})).json()
        assert [b["title"] for b in banks["items"]] == ["Capitals", "Copy gift", "Copy json"]
        assert banks["items"][0]["question_count"] == GOOD
        detail = (await client.get(f"/api/v1/question-banks/{bank['id']}", headers=teacher)).json()
        assert detail["categories"] == [{"name": "Geography/Asia", "questions": 2},
                                        {"name": "Geography/Europe", "questions": 2}]
    imports = await audit_entries(engine, academy.tenant, "questions.imported")
    assert sorted(e.details["imported"] for e in imports) == [0, GOOD, GOOD, GOOD]


async def test_question_crud_revisions_and_validation(browser, engine, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        bank = await make_bank(client, teacher, await make_course(client, teacher))
        created = await client.post(f"/api/v1/question-banks/{bank['id']}/questions", headers=teacher, json={
            "kind": "single", "text": "Pick **one** <script>x</script>", "points": 2.5, "tags": ["Easy"],
            "feedback_html": "<p onclick='x'>Well</p>",
            "data": {"options": [{"html": "A", "fraction": "1"}, {"html": "B", "fraction": -0.5}]}})
        assert created.status_code == 201, created.text
        q = created.json()
        assert q["text_html"] == "<p>Pick <strong>one</strong> &lt;script&gt;x&lt;/script&gt;</p>"
        assert (q["points"], q["tags"], q["feedback_html"], q["revision"]) == ("2.50", ["easy"], "<p>Well</p>", 1)
        assert q["data"]["options"][1]["fraction"] == "-0.5"

        patched = await client.patch(f"/api/v1/questions/{q['id']}", headers=teacher,
                                     json={"name": "Pick", "revision": 1, "difficulty": 2})
        assert patched.status_code == 200 and patched.json()["revision"] == 2
        assert patched.json()["data"] == q["data"]
        stale = problem_of(await client.patch(f"/api/v1/questions/{q['id']}", headers=teacher,
                                              json={"name": "Old", "revision": 1}), 409)
        assert stale["field"] == "revision"
        bad = problem_of(await client.patch(f"/api/v1/questions/{q['id']}", headers=teacher, json={
            "data": {"options": [{"html": "A", "fraction": "1"}, {"html": "B", "fraction": "1"}]}}), 409)
        assert bad["field"] == "data.options"
        kind = problem_of(await client.patch(f"/api/v1/questions/{q['id']}", headers=teacher,
                                             json={"kind": "essay"}), 409)
        assert kind["field"] == "data"
        essay = await client.patch(f"/api/v1/questions/{q['id']}", headers=teacher,
                                   json={"kind": "essay", "data": {"max_words": 100}})
        assert essay.status_code == 200 and essay.json()["data"]["max_words"] == 100

        # Valid against the schema, refused by the kind's rules: 409 naming the member.
        for body, field in (
            ({"kind": "numeric", "text": "x", "data": {"answers": [{"value": "1e400"}]}}, "data.answers[0].value"),
            ({"kind": "numeric", "text": "x", "data": {"answers": [{"value": 1e30}]}}, "data.answers[0].value"),
            ({"kind": "numeric", "text": "x", "data": {"answers": [{"min": "2", "max": 1}]}}, "data.answers[0].max"),
            ({"kind": "numeric", "text": "x"}, "data.answers"),
            ({"kind": "true_false", "text": "x", "data": {}}, "data.answer"),
            ({"kind": "matching", "text": "x", "data": {"pairs": [{"prompt_html": "a", "answer": "b"}]}},
             "data.pairs"),
            ({"kind": "code", "text": "x", "data": {"language": "cobolx"}}, "data.language"),
            ({"kind": "essay", "text": "x", "data": {"min_words": 9, "max_words": 1}}, "data.max_words"),
            ({"kind": "essay", "text": "<script></script>", "text_format": "html"}, "text"),
        ):
            problem = problem_of(await client.post(f"/api/v1/question-banks/{bank['id']}/questions",
                                                   headers=teacher, json=body), 409)
            assert problem["field"] == field, (body, problem)
        # Not valid against the schema: 400.
        for body in ({"kind": "poll", "text": "x"}, {"kind": "essay", "text": " "}, {"kind": "essay"},
                     {"kind": "essay", "text": "x", "extra": 1}, {"kind": "essay", "text": "x", "points": 1e9},
                     {"kind": "essay", "text": "x", "difficulty": 6}, {"kind": "essay", "text": "a\u0000b"},
                     {"kind": "true_false", "text": "x", "data": {"answer": "yes"}},
                     {"kind": "matching", "text": "x", "data": {"pairs": "no"}},
                     {"kind": "short", "text": "x", "data": {"answers": [{"text": "a", "oops": 1}]}},
                     {"kind": "short", "text": "x", "data": {"answers": [{"text": "a" * 501}]}},
                     {"kind": "single", "text": "x", "data": {"options": [{"html": "a"}] * 51}},
                     [1, 2]):
            response = await client.post(f"/api/v1/question-banks/{bank['id']}/questions", headers=teacher,
                                         json=body)
            assert response.status_code == 400, (body, response.text)
        raw = await client.post(f"/api/v1/question-banks/{bank['id']}/questions", headers={
            **teacher, "content-type": "application/json"}, content=b'{"kind": "essay", "text": "\xff"}')
        assert raw.status_code == 400

        deleted = await client.delete(f"/api/v1/questions/{q['id']}", headers=teacher)
        assert deleted.status_code == 200 and deleted.json() == {"result": "deleted"}
        problem_of(await client.get(f"/api/v1/questions/{q['id']}", headers=teacher), 404)
    assert [e.action for e in await audit_entries(engine, academy.tenant, "questions.question_deleted")] == [
        "questions.question_deleted"]


async def test_answered_questions_are_archived_not_deleted(browser, engine, academy):
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course_id = await make_course(client, teacher)
        bank = await make_bank(client, teacher, course_id)
        body = (await upload(client, teacher, bank["id"], "Q? {T}\n\nR? {F}\n")).json()
        answered, spare = body["question_ids"]
        async with tenant_session(engine, academy.tenant) as session:
            module = CourseModule(course_id=uuid.UUID(course_id), title="M", position=1)
            session.add(module)
            await session.flush()
            lesson = Lesson(course_id=module.course_id, module_id=module.id, title="Quiz", kind="quiz", position=1)
            session.add(lesson)
            await session.flush()
            assessment = Assessment(lesson_id=lesson.id, course_id=module.course_id, kind="quiz")
            session.add(assessment)
            await session.flush()
            attempt = Attempt(assessment_id=assessment.id, user_id=academy.learners[0].id, number=1,
                              started_at=datetime.datetime.now(datetime.UTC))
            session.add(attempt)
            await session.flush()
            session.add(AttemptAnswer(attempt_id=attempt.id, question_id=uuid.UUID(answered), response={"value": 1}))

        result = await client.delete(f"/api/v1/questions/{answered}", headers=teacher)
        assert result.status_code == 200 and result.json() == {"result": "archived"}
        assert (await client.get(f"/api/v1/questions/{answered}", headers=teacher)).json()["archived_at"]
        listed = await questions_of(client, teacher, bank["id"])
        assert [q["id"] for q in listed["items"]] == [spare]
        assert [q["id"] for q in (await questions_of(client, teacher, bank["id"], archived=True))["items"]] == [
            answered]
        problem_of(await client.delete(f"/api/v1/question-banks/{bank['id']}", headers=teacher), 409)
        assert "Q?" not in (await client.get(f"/api/v1/question-banks/{bank['id']}/export",
                                             headers=teacher)).text
    async with tenant_session(engine, academy.tenant) as session:
        assert await session.scalar(select(AttemptAnswer.question_id)) == uuid.UUID(answered)
    assert len(await audit_entries(engine, academy.tenant, "questions.question_archived")) == 1


async def test_only_the_course_staff_see_banks(browser, engine, academy, make_academy):
    other_org = await make_academy("qx")
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        course_id = await make_course(client, teacher)
        bank = await make_bank(client, teacher, course_id)
        question = (await upload(client, teacher, bank["id"], "Q? {T}")).json()["question_ids"][0]
        await enroll(engine, academy.tenant, course_id, academy.learners[0].id)
        learner = await bearer_for(client, academy.learners[0])
        stranger = await bearer_for(client, academy.other_teacher)
        admin = await bearer_for(client, academy.admin)
        assert (await client.get(f"/api/v1/question-banks/{bank['id']}", headers=admin)).status_code == 200

        for headers in (learner, stranger):
            assert (await client.get("/api/v1/question-banks", headers=headers)).json()["total"] == 0
            for method, path in (
                ("GET", f"/api/v1/question-banks/{bank['id']}"),
                ("PATCH", f"/api/v1/question-banks/{bank['id']}"),
                ("DELETE", f"/api/v1/question-banks/{bank['id']}"),
                ("GET", f"/api/v1/question-banks/{bank['id']}/questions"),
                ("GET", f"/api/v1/question-banks/{bank['id']}/export"),
                ("GET", f"/api/v1/questions/{question}"),
                ("PATCH", f"/api/v1/questions/{question}"),
                ("DELETE", f"/api/v1/questions/{question}"),
            ):
                body = {"title": "Mine"} if "banks" in path else {"name": "Mine"}
                response = await client.request(method, path, headers=headers,
                                                json=body if method == "PATCH" else None)
                assert response.status_code == 404, (method, path, response.text)
            problem_of(await client.post("/api/v1/question-banks", headers=headers,
                                         json={"course_id": course_id, "title": "Mine"}), 404)
            problem_of(await upload(client, headers, bank["id"], "Q? {T}"), 404)
            problem_of(await client.post(f"/api/v1/question-banks/{bank['id']}/questions", headers=headers,
                                         json={"kind": "essay", "text": "x"}), 404)
        other_last = "1" if bank["id"].endswith("0") else "0"  # a different id, whatever its last digit
        for tampered in ("not-a-uuid", str(uuid.uuid4()), bank["id"].upper()[:-1] + other_last):
            assert (await client.get(f"/api/v1/question-banks/{tampered}", headers=teacher)).status_code in (404,)
        problem_of(await client.get("/api/v1/questions/0", headers=teacher), 404)
        problem_of(await client.get(f"/api/v1/question-banks/{bank['id']}/export", headers=teacher,
                                    params={"format": "docx"}), 400)
        problem_of(await upload(client, teacher, bank["id"], "Q? {T}", mode="sometimes"), 400)
        # The form is closed: a part it does not declare is refused.
        extra = problem_of(await upload(client, teacher, bank["id"], "Q? {T}", mode="partial", colour="red"), 400)
        assert "colour" in extra["detail"]
        binary = await upload(client, teacher, bank["id"], b"\x00\x01binary")
        assert binary.status_code == 200 and binary.json()["imported"] == 0
        assert binary.json()["errors"] == [{"line": 0, "reason": "This is not a text file."}]
        problem_of(await client.post(f"/api/v1/question-banks/{bank['id']}/import", headers=teacher,
                                     data={"mode": "partial"}, files={"other": ("x", b"y")}), 400)
        problem_of(await client.post("/api/v1/question-banks", headers=teacher,
                                     json={"course_id": "nope", "title": "x"}), 400)
        problem_of(await client.post("/api/v1/question-banks", headers=teacher,
                                     json={"course_id": course_id, "title": " "}), 400)
        assert (await client.get("/api/v1/question-banks", headers=teacher,
                                 params={"course_id": "x"})).status_code == 400
        assert (await client.get(f"/api/v1/question-banks/{bank['id']}/questions", headers=teacher,
                                 params={"page": 10**9})).status_code == 400

        patched = await client.patch(f"/api/v1/question-banks/{bank['id']}", headers=teacher,
                                     json={"title": "Maswali ya Ñandú 水", "description": "About"})
        assert patched.status_code == 200 and patched.json()["title"] == "Maswali ya Ñandú 水"
        named = await client.get(f"/api/v1/question-banks/{bank['id']}/export", headers=teacher)
        assert named.status_code == 200
        assert named.headers["content-disposition"] == 'attachment; filename="maswali-ya-and.gift.txt"'


    async with browser(other_org.tenant) as client:
        foreign = await bearer_for(client, other_org.teacher)
        foreign_admin = await bearer_for(client, other_org.admin)
        for headers in (foreign, foreign_admin):
            problem_of(await client.get(f"/api/v1/question-banks/{bank['id']}", headers=headers), 404)
            problem_of(await client.get(f"/api/v1/questions/{question}", headers=headers), 404)
            problem_of(await client.delete(f"/api/v1/question-banks/{bank['id']}", headers=headers), 404)
            problem_of(await client.post("/api/v1/question-banks", headers=headers,
                                         json={"course_id": course_id, "title": "x"}), 404)

    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        gone = await client.delete(f"/api/v1/question-banks/{bank['id']}", headers=teacher)
        assert gone.status_code == 204, gone.text
        problem_of(await client.get(f"/api/v1/questions/{question}", headers=teacher), 404)
    deleted = await audit_entries(engine, academy.tenant, "questions.bank_deleted")
    assert [e.details["questions"] for e in deleted] == [1]
