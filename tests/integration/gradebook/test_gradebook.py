"""The gradebook through HTTP: staff only, states of cells, categories and final, group filter, search, pages,
overrides (audited), the CSV, the settings, the learner's own released grades, and a fixed number of statements."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of, statements
from tests.integration.gradebook.conftest import add_category, give, graded_course
from tests.integration.progress.conftest import add_group, enroll


async def setup_book(org, make_user, engine, *, names=("Amina", "Baraka", "Chiku")):
    teacher = await make_user(org.tenant, ["teacher"], name="Grace Teacher")
    learners = [await make_user(org.tenant, ["student"], name=f"{n} {uuid.uuid4().hex[:4]}") for n in names]
    course = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz", "assignment", "quiz"),
                                 max_points=(10, 50, 20), title="Physics")
    quiz1, essay, quiz2 = course.items
    quizzes = await add_category(engine, org.tenant, course.id, "Quizzes", 40, items=(quiz1, quiz2))
    essays = await add_category(engine, org.tenant, course.id, "Essays", 60, items=(essay,))
    for learner in learners:
        await enroll(engine, org.tenant, learner.id, course.id)
    a, b, _c = learners
    await give(engine, org.tenant, course.id, quiz1, a.id, "released", 8, 10)
    await give(engine, org.tenant, course.id, essay, a.id, "released", 45, 50)
    await give(engine, org.tenant, course.id, quiz2, a.id, "draft", 3, 20)  # does not count yet
    await give(engine, org.tenant, course.id, quiz1, b.id, "pending", None, 10)
    return teacher, learners, course, quizzes, essays


async def test_staff_read_the_gradebook_with_states_categories_final_and_letter(org, make_user, engine, client_for,
                                                                                   signed_in):
    teacher, (a, b, c), course, quizzes, essays = await setup_book(org, make_user, engine)
    withdrawn = await make_user(org.tenant, ["student"], name="Zawadi Gone")
    await enroll(engine, org.tenant, withdrawn.id, course.id, status="withdrawn",
                 withdrawn_at=datetime.datetime.now(datetime.UTC))
    async with client_for(org.tenant) as client:
        answer = await client.get(f"/api/v1/courses/{course.id}/gradebook", headers=await bearer_for(client, teacher))
        assert answer.status_code == 200, answer.text
        book = answer.json()
    assert [i["assessment_id"] for i in book["items"]] == [str(i) for i in course.items]
    assert book["total"] == 3 and [x["user_id"] for x in book["learners"]] == [str(a.id), str(b.id), str(c.id)]
    first = book["learners"][0]
    states = {cell["assessment_id"]: (cell["status"], cell["score"]) for cell in first["cells"]}
    assert states == {str(course.items[0]): ("released", 8.0), str(course.items[1]): ("released", 45.0),
                      str(course.items[2]): ("draft", 3.0)}
    buckets = {x["category_id"]: x["percent"] for x in first["categories"]}
    assert buckets == {str(quizzes): 80.0, str(essays): 90.0}  # the draft 3/20 does not count
    assert first["final_percent"] == 86.0 and first["letter"] == "B"  # (80*40 + 90*60) / 100
    second = book["learners"][1]
    assert [cell["status"] for cell in second["cells"]] == ["pending"] and second["final_percent"] is None
    assert book["learners"][2]["cells"] == [] and book["learners"][2]["letter"] is None
    assert [x["letter"] for x in book["letter_scale"]] == ["A", "B", "C", "D", "F"]

    async with signed_in(teacher) as browser:
        page = await browser.get(f"/teach/courses/{course.id}/gradebook")
        assert page.status_code == 200
        html = page.text
        assert a.email in html and withdrawn.email not in html
        assert "86.00 %" in html and "draft" in html and "to grade" in html
        assert "Quizzes" in html and "Essays" in html
        # Each grade opens in the grader: released, draft and pending alike.
        for cell in first["cells"] + second["cells"]:
            assert f'href="/teach/grading/{cell["grade_id"]}"' in html


async def test_only_the_courses_staff_and_never_another_tenant(org, other_org, make_user, engine, client_for,
                                                              signed_in):
    _teacher, (a, *_rest), course, quizzes, _essays = await setup_book(org, make_user, engine)
    stranger = await make_user(org.tenant, ["teacher"])
    base = f"/api/v1/courses/{course.id}/gradebook"
    async with client_for(org.tenant) as client:
        outsider = await bearer_for(client, stranger)
        problem_of(await client.get(base, headers=outsider), 404)
        problem_of(await client.get(f"{base}/categories", headers=outsider), 404)
        problem_of(await client.patch(f"/api/v1/gradebook-categories/{quizzes}", json={"weight": 1},
                                      headers=outsider), 404)
        problem_of(await client.put(f"{base}/overrides/{a.id}", json={"percent": 100, "reason": "x"},
                                    headers=outsider), 404)
        problem_of(await client.get(base, headers=await bearer_for(client, a)), 403)  # learners: not staff at all
        problem_of(await client.get("/api/v1/courses/not-an-id/gradebook", headers=outsider), 404)
        admin = await bearer_for(client, org.admin)  # admins manage every course
        assert (await client.get(base, headers=admin)).status_code == 200
        problem_of(await client.get(f"{base}?group_id={uuid.uuid4()}", headers=admin), 404)
        problem_of(await client.get(f"{base}?per_page=101", headers=admin), 400)
    async with client_for(other_org.tenant) as client:
        theirs = await bearer_for(client, other_org.admin)
        problem_of(await client.get(base, headers=theirs), 404)
        problem_of(await client.delete(f"/api/v1/gradebook-categories/{quizzes}", headers=theirs), 404)
    async with signed_in(stranger) as browser:
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook")).status_code == 404
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook.csv")).status_code == 404
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook/settings")).status_code == 404
    async with signed_in(other_org.admin) as browser:
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook")).status_code == 404
    async with signed_in(a) as browser:
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook")).status_code == 403


async def test_group_filter_search_and_pages(org, make_user, engine, client_for, signed_in):
    teacher, (a, b, c), course, _q, _e = await setup_book(org, make_user, engine)
    group = await add_group(engine, org.tenant, members=[a.id, c.id], leaders=[teacher.id])
    base = f"/api/v1/courses/{course.id}/gradebook"
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        grouped = (await client.get(f"{base}?group_id={group}", headers=headers)).json()
        assert [x["user_id"] for x in grouped["learners"]] == [str(a.id), str(c.id)] and grouped["total"] == 2
        found = (await client.get(f"{base}?q=baraka", headers=headers)).json()
        assert [x["user_id"] for x in found["learners"]] == [str(b.id)]
        second = (await client.get(f"{base}?per_page=2&page=2", headers=headers)).json()
        assert second["total"] == 3 and [x["user_id"] for x in second["learners"]] == [str(c.id)]
        beyond = (await client.get(f"{base}?per_page=2&page=9", headers=headers)).json()
        assert beyond["total"] == 3 and beyond["learners"] == []
    async with signed_in(teacher) as browser:
        html = (await browser.get(f"/teach/courses/{course.id}/gradebook?group={group}")).text
        assert a.email in html and c.email in html and b.email not in html
        fragment = await browser.get(f"/teach/courses/{course.id}/gradebook?q=chiku",
                                     headers={"hx-request": "true", "hx-target": "gradebook-results"})
        assert c.email in fragment.text and a.email not in fragment.text and "<html" not in fragment.text
        assert (await browser.get(f"/teach/courses/{course.id}/gradebook?group=nope")).status_code == 404


async def test_overrides_are_audited_and_shown(org, make_user, engine, client_for, signed_in):
    teacher, (a, b, _c), course, _q, _e = await setup_book(org, make_user, engine)
    base = f"/api/v1/courses/{course.id}/gradebook"
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        saved = await client.put(f"{base}/overrides/{a.id}", json={"percent": 91.5, "reason": "Oral exam retake"},
                                 headers=headers)
        assert saved.status_code == 200, saved.text
        assert saved.json()["percent"] == 91.5 and saved.json()["by_email"] == teacher.email
        problem_of(await client.put(f"{base}/overrides/{a.id}", json={"percent": 90, "reason": "   "},
                                    headers=headers), 400)
        problem_of(await client.put(f"{base}/overrides/{a.id}", json={"percent": 1001, "reason": "x"},
                                    headers=headers), 400)
        problem_of(await client.put(f"{base}/overrides/{uuid.uuid4()}", json={"percent": 1, "reason": "x"},
                                    headers=headers), 404)
        first = (await client.get(base, headers=headers)).json()["learners"][0]
        assert first["final_percent"] == 91.5 and first["computed_percent"] == 86.0 and first["letter"] == "A"
        assert first["override"]["reason"] == "Oral exam retake"
    entries = await audit_entries(engine, org.tenant, "gradebook.override_set")
    mine = [e for e in entries if e.details.get("user_id") == str(a.id)]
    assert mine and mine[-1].details["percent"] == "91.50" and mine[-1].details["reason"] == "Oral exam retake"
    assert mine[-1].actor_email == teacher.email and mine[-1].subject_email == a.email

    async with signed_in(teacher) as browser:
        learner_page = f"/teach/courses/{course.id}/gradebook/learners/{a.id}"
        html = (await browser.get(learner_page)).text
        assert "Oral exam retake" in html and teacher.email in html and "91.50 %" in html
        refused = await post_form(browser, f"{learner_page}/override", {"percent": "abc", "reason": "Why"})
        assert refused.status_code == 422 and "from 0 to 1000" in refused.text
        saved = await post_form(browser, f"/teach/courses/{course.id}/gradebook/learners/{b.id}/override",
                                {"percent": "55", "reason": "Missed the exam, medical"})
        assert saved.status_code == 303
        cleared = await post_form(browser, f"{learner_page}/override", {"action": "clear"})
        assert cleared.status_code == 303
        html = (await browser.get(learner_page)).text
        assert "Oral exam retake" not in html and "86.00 %" in html
    assert len(await audit_entries(engine, org.tenant, "gradebook.override_cleared")) >= 1
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        problem_of(await client.delete(f"{base}/overrides/{a.id}", headers=headers), 404)  # none left
        assert (await client.delete(f"{base}/overrides/{b.id}", headers=headers)).status_code == 204


async def test_the_learner_sees_only_their_released_grades(org, make_user, engine, signed_in):
    _teacher, (a, b, _c), course, _q, _e = await setup_book(org, make_user, engine)
    async with signed_in(a) as browser:
        page = await browser.get(f"/learn/courses/{course.id}/grades")
        assert page.status_code == 200
        html = page.text
        assert "45.00 / 50.00" in html and "8.00 / 10.00" in html
        assert "3.00" not in html  # the draft's points
        assert "86.00 %" in html and "<strong>B</strong>" in html
    async with signed_in(b) as browser:
        html = (await browser.get(f"/learn/courses/{course.id}/grades")).text
        assert "8.00" not in html and "Not graded yet" in html  # pending work is not a grade
    outsider = await make_user(org.tenant, ["student"])
    async with signed_in(outsider) as browser:
        assert (await browser.get(f"/learn/courses/{course.id}/grades")).status_code == 404
        assert (await browser.get("/learn/courses/nope/grades")).status_code == 404


async def test_categories_api_and_settings_page(org, make_user, engine, client_for, signed_in):
    teacher, (a, *_r), course, quizzes, essays = await setup_book(org, make_user, engine)
    base = f"/api/v1/courses/{course.id}/gradebook"
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        made = await client.post(f"{base}/categories", json={"name": "Labs", "weight": 10.005, "drop_lowest": 1},
                                 headers=headers)
        assert made.status_code == 201, made.text
        assert made.json()["weight"] == 10.01 and made.json()["position"] == 2
        lab = made.json()["id"]
        problem_of(await client.post(f"{base}/categories", json={"name": " "}, headers=headers), 400)
        problem_of(await client.post(f"{base}/categories", json={"name": "X", "drop_lowest": 51}, headers=headers),
                   400)
        problem_of(await client.post(f"{base}/categories", json={"name": "X", "extra": 1}, headers=headers), 400)
        changed = await client.patch(f"/api/v1/gradebook-categories/{quizzes}", json={"weight": 0},
                                     headers=headers)
        assert changed.status_code == 200 and changed.json()["weight"] == 0
        listed = (await client.get(f"{base}/categories", headers=headers)).json()["items"]
        assert [c["name"] for c in listed] == ["Quizzes", "Essays", "Labs"]
        assert (await client.delete(f"/api/v1/gradebook-categories/{lab}", headers=headers)).status_code == 204
        first = (await client.get(base, headers=headers)).json()["learners"][0]
        assert first["final_percent"] == 90.0  # the quizzes weigh 0 now: the essays alone
    assert {"gradebook.category_created", "gradebook.category_updated", "gradebook.category_deleted"} <= {
        e.action for e in await audit_entries(engine, org.tenant)}

    async with signed_in(teacher) as browser:
        settings = f"/teach/courses/{course.id}/gradebook/settings"
        assert "Essays" in (await browser.get(settings)).text
        refused = await post_form(browser, f"/teach/courses/{course.id}/gradebook/letter-scale",
                                  {"letter_scale": "A 90\nB 90"})
        assert refused.status_code == 422 and "same minimum" in refused.text
        saved = await post_form(browser, f"/teach/courses/{course.id}/gradebook/letter-scale",
                                {"letter_scale": "Distinction 85\nPass 50\nFail 0"})
        assert saved.status_code == 422  # "Distinction" is longer than 5 characters
        saved = await post_form(browser, f"/teach/courses/{course.id}/gradebook/letter-scale",
                                {"letter_scale": "Dist 85\nPass 50\nFail 0"})
        assert saved.status_code == 303
        html = (await browser.get(f"/teach/courses/{course.id}/gradebook")).text
        assert "Dist" in html
        added = await post_form(browser, f"/teach/courses/{course.id}/gradebook/categories",
                                {"name": "Projects", "weight": "abc", "drop_lowest": "0"})
        assert added.status_code == 422 and "from 0 to 1000" in added.text
        added = await post_form(browser, f"/teach/courses/{course.id}/gradebook/categories",
                                {"name": "Projects", "weight": "25", "drop_lowest": "2"})
        assert added.status_code == 303
        renamed = await post_form(browser, f"/teach/courses/{course.id}/gradebook/categories/{essays}",
                                  {"name": "Writing", "weight": "60", "drop_lowest": "0", "action": "save"})
        assert renamed.status_code == 303
        html = (await browser.get(settings)).text
        assert "Writing" in html and "Projects" in html and "Dist 85" in html
        gone = await post_form(browser, f"/teach/courses/{course.id}/gradebook/categories/{essays}",
                               {"action": "delete"})
        assert gone.status_code == 303 and "Writing" not in (await browser.get(settings)).text
        other = await graded_course(engine, org.tenant, owner_id=teacher.id)
        foreign = await post_form(browser, f"/teach/courses/{other.id}/gradebook/categories/{quizzes}",
                                  {"action": "delete"})
        assert foreign.status_code == 404  # a category of another course through this course's address
    async with client_for(org.tenant) as client:
        first = (await client.get(base, headers=await bearer_for(client, teacher))).json()["learners"][0]
        assert first["letter"] in ("Dist", "Pass", "Fail") and str(a.id) == first["user_id"]


async def test_csv_of_the_whole_gradebook(org, make_user, engine, signed_in):
    teacher, (a, b, _c), course, _q, _e = await setup_book(org, make_user, engine, names=("=cmd", "Baraka", "Chiku"))
    async with signed_in(teacher) as browser:
        answer = await browser.get(f"/teach/courses/{course.id}/gradebook.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    header, *body = rows
    assert header[:2] == ["Learner", "Email"] and header[-4:] == ["Computed %", "Override %", "Final %", "Letter"]
    assert len(body) == 3
    first = body[0]
    assert first[0].startswith("'=cmd") and first[1] == a.email  # no formula from a name
    assert first[2:5] == ["8.00", "45.00", "draft 3.00"] and first[-2:] == ["86.00", "B"]
    assert body[1][2] == "pending" and body[1][1] == b.email


async def test_gradebook_page_statements_do_not_grow_with_learners_or_items(org, make_user, engine, client_for):
    teacher = await make_user(org.tenant, ["teacher"])
    small = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz",))
    big = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz", "assignment") * 6,
                              per_module=3)
    first = await make_user(org.tenant)
    await enroll(engine, org.tenant, first.id, small.id)
    category = await add_category(engine, org.tenant, big.id, "Half", 50, drop_lowest=1, items=tuple(big.items[:6]))
    await add_category(engine, org.tenant, big.id, "Other", 50)
    for n in range(12):
        learner = await make_user(org.tenant, name=f"Many {n:02d}")
        await enroll(engine, org.tenant, learner.id, big.id)
        for item in big.items[n % 3::2]:
            await give(engine, org.tenant, big.id, item, learner.id, ("released", "draft", "pending")[n % 3],
                       n % 10, 10)
    assert category
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        api_small = await statements(client, f"/api/v1/courses/{small.id}/gradebook", headers=headers)
        api_big = await statements(client, f"/api/v1/courses/{big.id}/gradebook?per_page=10", headers=headers)
    assert api_small == api_big, (api_small, api_big)
    # the bearer token, the member and the organization, then: course, items, categories, settings, learners
    # (with the total), grades, overrides
    assert api_big <= 6 + 7, api_big


async def test_malformed_input_is_a_problem_never_a_500(org, make_user, engine, client_for):
    teacher, (a, *_r), course, quizzes, _e = await setup_book(org, make_user, engine)
    base = f"/api/v1/courses/{course.id}/gradebook"
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        for query in ("q=%00", "per_page=0", "page=0", "page=99999999999999999999", "group_id=nope", "q=" + "x" * 101):
            problem_of(await client.get(f"{base}?{query}", headers=headers), 400)
        assert (await client.get(f"{base}?q=%25_%5C", headers=headers)).json()["total"] == 0  # wildcards literal
        for body in ({"name": "X", "weight": "abc"}, {"name": "X", "weight": 1e300}, {"name": "x" * 101},
                     {"name": "X", "drop_lowest": 2**70}, {"name": ["X"]}, {"name": "X\u0000"}):
            problem_of(await client.post(f"{base}/categories", json=body, headers=headers), 400)
        problem_of(await client.post(f"{base}/categories", content=b"\xff\xfe", headers={
            **headers, "content-type": "application/json"}), 400)
        for body in ({"percent": "90", "reason": "r"}, {"percent": -1, "reason": "r"}, {"percent": 50},
                     {"percent": 50, "reason": "r" * 1001}):
            problem_of(await client.put(f"{base}/overrides/{a.id}", json=body, headers=headers), 400)
        problem_of(await client.patch(f"/api/v1/gradebook-categories/{quizzes}", json={"weight": None},
                                      headers=headers), 400)
        problem_of(await client.patch("/api/v1/gradebook-categories/not-an-id", json={}, headers=headers), 404)


async def test_gradebook_html_page_statements_do_not_grow(org, make_user, engine, signed_in):
    teacher = await make_user(org.tenant, ["teacher"])
    small = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz",))
    big = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("assignment", "quiz") * 5,
                              per_module=4)
    lonely = await make_user(org.tenant)
    await enroll(engine, org.tenant, lonely.id, small.id)
    for n in range(8):
        learner = await make_user(org.tenant, name=f"Row {n}")
        await enroll(engine, org.tenant, learner.id, big.id)
        await add_group(engine, org.tenant, members=[learner.id], leaders=[])
        for item in big.items[: n + 1]:
            await give(engine, org.tenant, big.id, item, learner.id, "released", n, 10)
    async with signed_in(teacher) as browser:
        small_count = await statements(browser, f"/teach/courses/{small.id}/gradebook")
        big_count = await statements(browser, f"/teach/courses/{big.id}/gradebook")
        csv_answer = await browser.get(f"/teach/courses/{big.id}/gradebook.csv")
    assert small_count == big_count, (small_count, big_count)
    assert csv_answer.text.count("\n") == 9
