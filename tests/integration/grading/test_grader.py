"""The grader over HTTP: the queue (filters, counts, staff only), grading with a stale revision refused, the
regrading trail, release (nothing visible before, everything after), rubrics end to end, the comment bank per
teacher, quiz essays completing the attempt's grade, and the panel swap in a fixed handful of statements."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from tajiconnect.domains.assessments.models import Assessment, Attempt, AttemptAnswer
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.progress.models import LessonProgress
from tests.integration.conftest import bearer_for, post_form, problem_of, statements
from tests.integration.grading.conftest import essay_attempt, make_assignment, make_group
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import fetch

RUBRIC = {"title": "Essay", "criteria": [
    {"title": "Argument", "levels": [{"title": "Weak", "points": 0}, {"title": "Fair", "points": 2},
                                     {"title": "Strong", "points": 4}]},
    {"title": "Style", "levels": [{"title": "Poor", "points": 0}, {"title": "Good", "points": 2}]},
]}


async def submitted_by(client, task, members) -> None:
    for member in members:
        auth = await bearer_for(client, member)
        done = await client.post(f"{task.api}/submit", json={"text": f"Work of {member.email}"}, headers=auth)
        assert done.status_code == 200, done.text


async def grade_of(engine, tenant, task, user_id) -> Grade:
    [grade] = await fetch(engine, tenant, Grade, assessment_id=task.assessment_id, user_id=user_id)
    return grade


async def test_queue_filters_counts_and_staff_only(org, other_org, make_user, engine, client_for, clock):
    teacher, other_teacher = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    a, b = await make_user(org.tenant), await make_user(org.tenant)
    group = await make_group(engine, org.tenant, [a.id])
    one = await make_assignment(engine, org.tenant, teacher.id, learners=(a.id, b.id))
    two = await make_assignment(engine, org.tenant, teacher.id, learners=(a.id,))
    async with client_for(org.tenant) as client:
        await submitted_by(client, one, [b])
        clock.advance(hours=1)
        await submitted_by(client, one, [a])
        await submitted_by(client, two, [a])
        auth = await bearer_for(client, teacher)
        queue = (await client.get("/api/v1/submissions", params={"course_id": str(one.course.id)},
                                  headers=auth)).json()
        assert [i["user_id"] for i in queue["items"]] == [str(b.id), str(a.id)]  # oldest first
        assert queue["counts"]["pending"] == 2 and queue["oldest_pending_at"].startswith("2026-03-10T09:00")
        grouped = (await client.get("/api/v1/submissions", params={"group_id": str(group)}, headers=auth)).json()
        assert {i["user_id"] for i in grouped["items"]} == {str(a.id)} and grouped["total"] == 2
        only = (await client.get("/api/v1/submissions", params={"assessment_id": str(two.assessment_id)},
                                 headers=auth)).json()
        assert only["total"] == 1
        assert (await client.get("/api/v1/submissions", params={"status": "bogus"}, headers=auth)).status_code == 400
        # not staff of these courses: nothing listed, items 404; a learner cannot grade
        stranger = await bearer_for(client, other_teacher)
        assert (await client.get("/api/v1/submissions", headers=stranger)).json()["total"] == 0
        grade = await grade_of(engine, org.tenant, one, a.id)
        assert problem_of(await client.get(f"/api/v1/submissions/{grade.id}", headers=stranger), 404)
        learner = await bearer_for(client, a)
        assert (await client.get("/api/v1/submissions", headers=learner)).json()["items"] == []
        refused = await client.put(f"/api/v1/submissions/{grade.id}/grade", json={"revision": grade.revision,
                                                                                    "points": 100}, headers=learner)
        assert problem_of(refused, 404)
        assert problem_of(await client.post(f"/api/v1/assessments/{one.assessment_id}/release", headers=learner), 404)
    async with client_for(other_org.tenant) as client:
        outsider = await make_user(other_org.tenant, ["teacher"])
        auth = await bearer_for(client, outsider)
        assert problem_of(await client.get(f"/api/v1/submissions/{grade.id}", headers=auth), 404)


async def test_grade_regrade_trail_stale_revision_and_release(org, make_user, engine, client_for, signed_in,
                                                              clock):
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), max_points=20,
                                 passing_percent=50)
    async with client_for(org.tenant) as client:
        await submitted_by(client, task, [learner])
        auth, mine = await bearer_for(client, teacher), await bearer_for(client, learner)
        grade = await grade_of(engine, org.tenant, task, learner.id)
        url = f"/api/v1/submissions/{grade.id}/grade"
        first = await client.put(url, json={"revision": grade.revision, "points": 8, "comment": "Thin"}, headers=auth)
        assert first.status_code == 200 and first.json()["status"] == "draft"
        stale = await client.put(url, json={"revision": grade.revision, "points": 9}, headers=auth)
        assert problem_of(stale, 409)["revision"] == first.json()["revision"]
        too_many = await client.put(url, json={"revision": first.json()["revision"], "points": 21}, headers=auth)
        assert problem_of(too_many, 400)["field"] == "points"
        # nothing visible to the learner before release
        before = (await client.get(task.api, headers=mine)).json()
        assert before["grade"] is None
        second = await client.put(url, json={"revision": first.json()["revision"], "points": 15, "comment": "Good",
                                             "reason": "Reread the conclusion"}, headers=auth)
        assert second.status_code == 200
        released = await client.post(f"/api/v1/assessments/{task.assessment_id}/release", headers=auth)
        assert released.json() == {"released": 1}
        after = (await client.get(task.api, headers=mine)).json()["grade"]
        assert (after["score"], after["max_points"], after["comment"]) == ("15.00", "20.00", "Good")
        item = (await client.get(f"/api/v1/submissions/{grade.id}", headers=auth)).json()
        actions = [(e["action"], e["points_before"], e["points_after"], e["reason"]) for e in item["history"]]
        assert actions[::-1] == [("submitted", None, None, ""), ("graded", None, "8.00", ""),
                                 ("regraded", "8.00", "15.00", "Reread the conclusion"),
                                 ("released", "15.00", "15.00", "")]
    async with signed_in(teacher) as browser:
        page = await browser.get(f"/teach/grading/{grade.id}")
        assert "Regraded" in page.text and "8.00 → 15.00" in page.text and "Reread the conclusion" in page.text
    [progress] = await fetch(engine, org.tenant, LessonProgress, user_id=learner.id)
    assert progress.completed_at is not None and progress.completed_by == "grade"


async def test_rubric_math_end_to_end(org, other_org, make_user, engine, client_for, clock):
    teacher, other_teacher = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    learner = await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), max_points=100)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, teacher)
        created = await client.post("/api/v1/rubrics", json={**RUBRIC, "course_id": str(task.course.id)},
                                    headers=auth)
        assert created.status_code == 201, created.text
        rubric = created.json()
        assert rubric["max_points"] == "6.00" and [c["id"] for c in rubric["criteria"]] == ["c1", "c2"]
        stranger = await bearer_for(client, other_teacher)
        assert problem_of(await client.get(f"/api/v1/rubrics/{rubric['id']}", headers=stranger), 404)
        assert problem_of(await client.post("/api/v1/rubrics", json={**RUBRIC, "course_id": str(task.course.id)},
                                            headers=stranger), 404)
        bad = await client.post("/api/v1/rubrics", json={**RUBRIC, "course_id": str(task.course.id),
                                                         "criteria": []}, headers=auth)
        assert bad.status_code == 400
        async with tenant_session(engine, org.tenant) as session:
            await session.execute(update(Assessment).where(Assessment.id == task.assessment_id)
                                  .values(rubric_id=uuid.UUID(rubric["id"])))
        await submitted_by(client, task, [learner])
        grade = await grade_of(engine, org.tenant, task, learner.id)
        url = f"/api/v1/submissions/{grade.id}/grade"
        unknown = await client.put(url, headers=auth, json={
            "revision": grade.revision, "rubric": [{"criterion": "c1", "level": "l9"}]})
        assert problem_of(unknown, 400)["field"] == "rubric"
        graded = await client.put(url, headers=auth, json={"revision": grade.revision, "release": True, "rubric": [
            {"criterion": "c1", "level": "l3"}, {"criterion": "c2", "level": "l1"}]})
        assert graded.status_code == 200, graded.text
        # 4 of the rubric's 6 points, scaled to the assignment's 100
        assert (graded.json()["points"], graded.json()["rubric_scores"]) == ("66.67", {"c1": "l3", "c2": "l1"})
        seen = (await client.get(task.api, headers=await bearer_for(client, learner))).json()["grade"]
        assert seen["score"] == "66.67" and seen["rubric_scores"] == {"c1": "l3", "c2": "l1"}
        renamed = await client.patch(f"/api/v1/rubrics/{rubric['id']}", json={"title": "Essay v2"}, headers=auth)
        assert renamed.json()["title"] == "Essay v2"
        listed = (await client.get("/api/v1/rubrics", params={"course_id": str(task.course.id)}, headers=auth)).json()
        assert [r["id"] for r in listed["items"]] == [rubric["id"]]
        assert (await client.delete(f"/api/v1/rubrics/{rubric['id']}", headers=auth)).status_code == 204
    async with client_for(other_org.tenant) as client:
        auth = await bearer_for(client, await make_user(other_org.tenant, ["teacher"]))
        assert problem_of(await client.get(f"/api/v1/rubrics/{rubric['id']}", headers=auth), 404)


async def test_comment_bank_belongs_to_its_teacher(org, make_user, client_for):
    teacher, other = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    async with client_for(org.tenant) as client:
        auth, theirs = await bearer_for(client, teacher), await bearer_for(client, other)
        made = await client.post("/api/v1/comment-bank", json={"text": "Cite your sources."}, headers=auth)
        assert made.status_code == 201 and made.json()["uses"] == 0
        again = await client.post("/api/v1/comment-bank", json={"text": " Cite your sources. "}, headers=auth)
        assert again.json()["id"] == made.json()["id"]
        await client.post("/api/v1/comment-bank", json={"text": "Well argued."}, headers=auth)
        assert (await client.get("/api/v1/comment-bank", headers=theirs)).json()["items"] == []
        assert problem_of(await client.delete(f"/api/v1/comment-bank/{made.json()['id']}", headers=theirs), 404)
        blank = await client.post("/api/v1/comment-bank", json={"text": "   "}, headers=auth)
        assert blank.status_code == 400
        mine = (await client.get("/api/v1/comment-bank", params={"sort": "recent"}, headers=auth)).json()
        assert {e["text"] for e in mine["items"]} == {"Cite your sources.", "Well argued."}
        assert (await client.delete(f"/api/v1/comment-bank/{made.json()['id']}", headers=auth)).status_code == 204
        assert len((await client.get("/api/v1/comment-bank", headers=auth)).json()["items"]) == 1


async def test_quiz_essay_grading_completes_the_attempts_grade(org, make_user, engine, client_for):
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), kind="quiz",
                                 max_points=15)
    grade_id = await essay_attempt(engine, org.tenant, task, learner.id)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, teacher)
        item = (await client.get(f"/api/v1/submissions/{grade_id}", headers=auth)).json()
        assert [a["kind"] for a in item["answers"]] == ["essay", "code"]
        essay, code = item["answers"]
        url = f"/api/v1/submissions/{grade_id}/grade"
        partial = await client.put(url, json={"revision": item["revision"],
                                              "answers": [{"question_id": essay["question_id"], "points": 6}]},
                                   headers=auth)
        assert problem_of(partial, 400)["field"] == f"answers.{code['question_id']}"
        over = await client.put(url, json={"revision": item["revision"], "answers": [
            {"question_id": essay["question_id"], "points": 9}, {"question_id": code["question_id"], "points": 1}]},
            headers=auth)
        assert problem_of(over, 400)["field"] == f"answers.{essay['question_id']}"
        done = await client.put(url, json={"revision": item["revision"], "release": True, "answers": [
            {"question_id": essay["question_id"], "points": 6, "comment": "Short"},
            {"question_id": code["question_id"], "points": 4.5}]}, headers=auth)
        assert done.status_code == 200, done.text
        assert (done.json()["points"], done.json()["status"]) == ("12.50", "released")  # 2 automatic + 6 + 4.5
    [attempt] = await fetch(engine, org.tenant, Attempt, user_id=learner.id)
    assert (attempt.status, attempt.points) == ("graded", 12.5)
    answers = await fetch(engine, org.tenant, AttemptAnswer, attempt_id=attempt.id)
    assert not any(a.needs_grading for a in answers) and {a.comment for a in answers} >= {"Short"}


async def test_grader_page_panel_swap_keyboard_help_and_statements(org, make_user, engine, signed_in, client_for,
                                                                   clock):
    teacher = await make_user(org.tenant, ["teacher"])
    learners = [await make_user(org.tenant) for _ in range(3)]
    task = await make_assignment(engine, org.tenant, teacher.id, learners=tuple(m.id for m in learners))
    async with client_for(org.tenant) as client:
        for member in learners:
            await submitted_by(client, task, [member])
            clock.advance(minutes=5)
    grades = [await grade_of(engine, org.tenant, task, m.id) for m in learners]
    async with signed_in(teacher) as client:
        queue = await client.get("/teach/grading")
        assert queue.status_code == 200 and f"/teach/grading/{grades[0].id}" in queue.text
        page = await client.get(f"/teach/grading/{grades[1].id}")
        assert page.status_code == 200 and "Keyboard shortcuts" in page.text and "grader.js" in page.text
        assert f'href="/teach/grading/{grades[0].id}"' in page.text and f'hx-get="/teach/grading/{grades[2].id}"' \
            in page.text and 'hx-push-url="true"' in page.text
        swap = {"HX-Request": "true", "HX-Target": "submission-panel"}
        panel = await client.get(f"/teach/grading/{grades[2].id}", headers=swap)
        assert panel.status_code == 200 and "<html" not in panel.text and "Comment bank" not in panel.text
        assert panel.text.lstrip().startswith("{#") is False and 'id="submission-panel"' in panel.text
        assert f"Work of {learners[2].email}" in panel.text
        small = await statements(client, f"/teach/grading/{grades[2].id}", headers=swap)
        assert small <= 8, small
        saved = await post_form(client, f"/teach/grading/{grades[2].id}",
                                {"revision": str(grades[2].revision), "points": "55", "comment": "Fine",
                                 "action": "save"}, headers=swap)
        assert saved.status_code == 200 and "Saved." in saved.text
        stale = await post_form(client, f"/teach/grading/{grades[2].id}",
                                {"revision": str(grades[2].revision), "points": "60", "action": "save"}, headers=swap)
        assert stale.status_code == 409 and "changed this grade" in stale.text
        released = await post_form(client, f"/teach/grading/assessments/{task.assessment_id}/release",
                                   {"next": f"/teach/grading/{grades[2].id}"})
        assert released.status_code == 303 and "released=1" in released.headers["location"]
    async with signed_in(learners[0]) as client:
        assert (await client.get("/teach/grading")).status_code == 403
        assert (await client.get(f"/teach/grading/{grades[0].id}")).status_code == 403
    seen = await grade_of(engine, org.tenant, task, learners[2].id)
    assert (seen.status, seen.points, seen.comment) == ("released", 55, "Fine")


async def test_the_panel_statements_do_not_grow_with_history_or_files(org, make_user, engine, signed_in,
                                                                      client_for, clock):
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,))
    async with client_for(org.tenant) as client:
        await submitted_by(client, task, [learner])
        grade = await grade_of(engine, org.tenant, task, learner.id)
        swap = {"HX-Request": "true", "HX-Target": "submission-panel"}
        async with signed_in(teacher) as browser:
            before = await statements(browser, f"/teach/grading/{grade.id}", headers=swap)
        auth = await bearer_for(client, teacher)
        revision = grade.revision
        for points in (1, 2, 3, 4, 5):
            done = await client.put(f"/api/v1/submissions/{grade.id}/grade", json={"revision": revision,
                                                                                    "points": points}, headers=auth)
            revision = done.json()["revision"]
        async with signed_in(teacher) as browser:
            after = await statements(browser, f"/teach/grading/{grade.id}", headers=swap)
    assert after == before


async def test_rubric_pages_create_edit_and_refuse(org, make_user, engine, signed_in):
    teacher, other = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    task = await make_assignment(engine, org.tenant, teacher.id)
    base = f"/teach/courses/{task.course.id}/rubrics"
    async with signed_in(teacher) as client:
        assert (await client.get(base)).status_code == 200
        bad = await post_form(client, base, {"title": "R", "criteria": "Clarity | Good"})
        assert bad.status_code == 422 and "Level = points" in bad.text
        made = await post_form(client, base, {"title": "R",
                                              "criteria": "Clarity | Weak = 0 | Clear = 3\nStyle | Ok = 1"})
        assert made.status_code == 303
        listing = await client.get(base)
        assert "4.00 points" in listing.text or "4 points" in listing.text
    async with signed_in(other) as client:
        assert (await client.get(base)).status_code == 404




async def test_quiz_grader_page_highlights_code_with_classes_only(org, make_user, engine, signed_in):
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), kind="quiz", max_points=15)
    grade_id = await essay_attempt(engine, org.tenant, task, learner.id)
    async with signed_in(teacher) as client:
        page = await client.get(f"/teach/grading/{grade_id}")
        assert page.status_code == 200
        assert 'class="code"' in page.text and "&lt;b&gt;" in page.text and "<b>hi</b>" not in page.text
        assert 'style="' not in page.text.split('id="submission-panel"')[1]  # the CSP forbids inline styles
        assert "Rivers flow." in page.text and "grader.css" in page.text
        queue = await client.get("/teach/grading", params={"course_id": str(task.course.id)})
        assert queue.status_code == 200 and str(grade_id) in queue.text and "Waiting: 1" in queue.text


async def test_the_learner_page_shows_the_grade_only_after_release(org, make_user, engine, signed_in, client_for,
                                                                   clock):
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), max_points=10)
    async with client_for(org.tenant) as client:
        await submitted_by(client, task, [learner])
        grade = await grade_of(engine, org.tenant, task, learner.id)
        auth = await bearer_for(client, teacher)
        done = await client.put(f"/api/v1/submissions/{grade.id}/grade", headers=auth,
                                json={"revision": grade.revision, "points": 7, "comment": "Secret until released"})
        assert done.status_code == 200
        async with signed_in(learner) as browser:
            before = await browser.get(task.page)
            assert "Secret until released" not in before.text and "7.00" not in before.text
        await client.post(f"/api/v1/assessments/{task.assessment_id}/release", headers=auth)
        async with signed_in(learner) as browser:
            after = await browser.get(task.page)
            assert "Secret until released" in after.text and "7.00" in after.text and "10.00" in after.text


async def test_comment_bank_on_the_grader_page(org, make_user, signed_in, client_for):
    teacher, other = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    async with signed_in(teacher) as client:
        added = await post_form(client, "/teach/grading/comments", {"text": "Check your units."},
                                headers={"HX-Request": "true", "HX-Target": "comment-bank"})
        assert added.status_code == 200 and "Check your units." in added.text and "data-bank-insert" in added.text
        blank = await post_form(client, "/teach/grading/comments", {"text": "  "})
        assert blank.status_code == 422
    async with client_for(org.tenant) as api:
        [entry] = (await api.get("/api/v1/comment-bank", headers=await bearer_for(api, teacher))).json()["items"]
    async with signed_in(other) as client:
        assert (await post_form(client, f"/teach/grading/comments/{entry['id']}/use")).status_code == 404
        assert (await post_form(client, f"/teach/grading/comments/{entry['id']}/delete")).status_code == 404
    async with signed_in(teacher) as client:
        used = await post_form(client, f"/teach/grading/comments/{entry['id']}/use")
        assert used.json() == {"uses": 1}
        gone = await post_form(client, f"/teach/grading/comments/{entry['id']}/delete")
        assert gone.status_code == 200 and "Check your units." not in gone.text
