"""Learners' assignment work over HTTP: drafts, submitting (twice: one effect), late policies (accept, penalize,
refuse), resubmission until the due date, group submission, files, and ids the caller may not see (404)."""

from __future__ import annotations

import asyncio
import datetime

from tajiconnect.domains.assessments.models import Submission
from tajiconnect.domains.grading.models import Grade, GradeEvent
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.grading.conftest import NOW, attachment, make_assignment, make_group
from tests.integration.progress.conftest import fetch
from tests.integration.seats.test_seat_limits import live_client, served

DAY = datetime.timedelta(days=1)


async def test_draft_then_submit_then_submit_again_is_one_submission(org, make_user, engine, client_for, clock):
    learner, teacher = await make_user(org.tenant), await make_user(org.tenant, ["teacher"])
    task = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), due_at=NOW + DAY)
    file_id = await attachment(engine, org.tenant, learner.id)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        empty = (await client.get(task.api, headers=auth)).json()
        assert (empty["status"], empty["version"], empty["grade"], empty["closed"]) == ("none", 0, None, None)
        draft = await client.put(task.api, json={"text": "My first idea", "file_ids": [str(file_id)]}, headers=auth)
        assert draft.status_code == 200, draft.text
        assert draft.json()["status"] == "draft" and draft.json()["file_ids"] == [str(file_id)]
        assert await fetch(engine, org.tenant, Grade, user_id=learner.id) == []  # a draft is not in the queue
        done = await client.post(f"{task.api}/submit", json={"text": "My essay"}, headers=auth)
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["status"], body["version"], body["late_days"], body["text"]) == ("submitted", 1, 0, "My essay")
        again = await client.post(f"{task.api}/submit", json={}, headers=auth)
        assert again.status_code == 200 and again.json()["version"] == 1
        same = await client.post(f"{task.api}/submit", json={"text": "My essay"}, headers=auth)
        assert same.json()["version"] == 1
    [grade] = await fetch(engine, org.tenant, Grade, user_id=learner.id)
    assert grade.status == "pending" and grade.submitted_at == NOW
    events = await fetch(engine, org.tenant, GradeEvent, grade_id=grade.id)
    assert [e.action for e in events] == ["submitted"]  # double submit: one effect


async def test_resubmission_until_the_due_date_only(org, make_user, engine, client_for, clock):
    learner = await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, None, learners=(learner.id,), due_at=NOW + DAY)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        assert (await client.post(f"{task.api}/submit", json={"text": "v1"}, headers=auth)).status_code == 200
        clock.advance(hours=2)
        second = await client.post(f"{task.api}/submit", json={"text": "v2"}, headers=auth)
        assert second.status_code == 200 and second.json()["version"] == 2
        clock.advance(days=2)  # past the due date
        late = await client.post(f"{task.api}/submit", json={"text": "v3"}, headers=auth)
        assert problem_of(late, 409)["detail"]
        edit = await client.put(task.api, json={"text": "v3"}, headers=auth)
        assert edit.status_code == 409
        shown = (await client.get(task.api, headers=auth)).json()
        assert shown["text"] == "v2" and shown["closed"]
    [grade] = await fetch(engine, org.tenant, Grade, user_id=learner.id)
    events = await fetch(engine, org.tenant, GradeEvent, grade_id=grade.id)
    assert len(events) == 2


async def test_late_policies_accept_penalize_refuse(org, make_user, engine, client_for, clock):
    learner, teacher = await make_user(org.tenant), await make_user(org.tenant, ["teacher"])
    due = NOW - datetime.timedelta(days=2, hours=3)  # 2 days 3 hours ago: 3 days late
    accept = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), due_at=due)
    penalize = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), due_at=due,
                                     late_policy="penalize", late_penalty_percent=15, max_points=40)
    refuse = await make_assignment(engine, org.tenant, teacher.id, learners=(learner.id,), due_at=due,
                                   late_policy="refuse")
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        ok = await client.post(f"{accept.api}/submit", json={"text": "late"}, headers=auth)
        assert ok.status_code == 200 and ok.json()["late_days"] == 3
        late = await client.post(f"{penalize.api}/submit", json={"text": "late"}, headers=auth)
        assert late.status_code == 200 and late.json()["late_days"] == 3
        refused = await client.post(f"{refuse.api}/submit", json={"text": "late"}, headers=auth)
        assert problem_of(refused, 409)
        assert (await client.put(refuse.api, json={"text": "x"}, headers=auth)).status_code == 409
        # the penalty (3 days x 15 % = 45 %) is taken off when graded
        teacher_auth = await bearer_for(client, teacher)
        [grade] = await fetch(engine, org.tenant, Grade, user_id=learner.id, assessment_id=penalize.assessment_id)
        graded = await client.put(f"/api/v1/submissions/{grade.id}/grade", headers=teacher_auth,
                                  json={"revision": grade.revision, "points": 40})
        assert graded.status_code == 200, graded.text
        assert (graded.json()["points"], graded.json()["score"], graded.json()["penalty_percent"]) == \
            ("40.00", "22.00", 45)
    assert await fetch(engine, org.tenant, Submission, assessment_id=refuse.assessment_id) == []


async def test_group_submission_is_shared_and_each_member_gets_a_grade(org, make_user, engine, client_for, clock):
    a, b, outsider = [await make_user(org.tenant) for _ in range(3)]
    group = await make_group(engine, org.tenant, [a.id, b.id])
    task = await make_assignment(engine, org.tenant, None, learners=(a.id, b.id, outsider.id),
                                 group_submission=True, group_ids=[group])
    async with client_for(org.tenant) as client:
        auth_a, auth_b = await bearer_for(client, a), await bearer_for(client, b)
        done = await client.post(f"{task.api}/submit", json={"text": "Our report"}, headers=auth_a)
        assert done.status_code == 200 and done.json()["group_id"] == str(group)
        seen = (await client.get(task.api, headers=auth_b)).json()
        assert (seen["status"], seen["text"]) == ("submitted", "Our report")
        outside = await client.post(f"{task.api}/submit", json={"text": "Alone"},
                                    headers=await bearer_for(client, outsider))
        assert problem_of(outside, 409)
    [submission] = await fetch(engine, org.tenant, Submission, assessment_id=task.assessment_id)
    grades = await fetch(engine, org.tenant, Grade, assessment_id=task.assessment_id)
    assert {g.user_id for g in grades} == {a.id, b.id}
    assert {g.submission_id for g in grades} == {submission.id}


async def test_files_must_be_the_learners_own_attachment_uploads(org, make_user, engine, client_for, clock):
    learner, other = await make_user(org.tenant), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, None, learners=(learner.id,), max_files=1)
    mine = await attachment(engine, org.tenant, learner.id)
    second = await attachment(engine, org.tenant, learner.id)
    theirs = await attachment(engine, org.tenant, other.id)
    avatar = await attachment(engine, org.tenant, learner.id, purpose="avatar")
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        for ids in ([theirs], [avatar], [mine, second]):
            refused = await client.put(task.api, json={"file_ids": [str(i) for i in ids]}, headers=auth)
            assert problem_of(refused, 400)["field"] == "file_ids"
        assert (await client.put(task.api, json={"file_ids": [str(mine)]}, headers=auth)).status_code == 200
        empty = await client.post(f"{task.api}/submit", json={"file_ids": []}, headers=auth)
        assert problem_of(empty, 400)["field"] == "text"
        bad = await client.put(task.api, json={"text": 5}, headers=auth)
        assert bad.status_code == 400
        unknown = await client.put(task.api, json={"txt": "x"}, headers=auth)
        assert unknown.status_code == 400


async def test_other_learners_courses_and_tenants_get_404(org, other_org, make_user, engine, client_for, clock):
    learner, stranger = await make_user(org.tenant), await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, None, learners=(learner.id,))
    elsewhere = await make_user(other_org.tenant)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, stranger)  # not enrolled
        assert problem_of(await client.get(task.api, headers=auth), 404)
        assert problem_of(await client.post(f"{task.api}/submit", json={"text": "x"}, headers=auth), 404)
        assert problem_of(await client.get("/api/v1/assessments/nope/submission", headers=auth), 404)
    async with client_for(other_org.tenant) as client:
        auth = await bearer_for(client, elsewhere)
        assert problem_of(await client.get(task.api, headers=auth), 404)


async def test_the_lesson_page_loads_the_panel_and_the_form_submits(org, make_user, engine, signed_in, clock):
    learner = await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, None, learners=(learner.id,), due_at=NOW + DAY,
                                 late_policy="penalize", late_penalty_percent=20)
    async with signed_in(learner) as client:
        lesson = await client.get(task.course.lesson_url(0))
        assert lesson.status_code == 200 and f'hx-get="/learn/assignments/{task.lesson_id}"' in lesson.text
        panel = await client.get(task.page, headers={"HX-Request": "true", "HX-Target": "assignment-panel"})
        assert panel.status_code == 200 and "<html" not in panel.text and 'id="assignment-panel"' in panel.text
        assert "20 % off per day late" in panel.text and 'data-purpose="attachment"' in panel.text
        page = await client.get(task.page)
        assert "Write an essay about rivers." in page.text and "<html" in page.text
        saved = await post_form(client, task.page, {"text": "Draft words", "action": "save"})
        assert saved.status_code == 303
        shown = await client.get(saved.headers["location"])
        assert "Draft saved" in shown.text and "Draft words" in shown.text
        bad = await post_form(client, task.page, {"text": "x", "file_ids": "not-an-id", "action": "submit"},
                              headers={"HX-Request": "true", "HX-Target": "assignment-panel"})
        assert bad.status_code == 422 and "finished uploads" in bad.text
        sent = await post_form(client, task.page, {"text": "Final words", "action": "submit"},
                               headers={"HX-Request": "true", "HX-Target": "assignment-panel"})
        assert sent.status_code == 200 and "Submitted." in sent.text and "Submit again" in sent.text
    [submission] = await fetch(engine, org.tenant, Submission, user_id=learner.id)
    assert (submission.status, submission.text, submission.version) == ("submitted", "Final words", 1)


async def test_a_learner_may_upload_attachments_for_their_work_but_not_course_files(org, make_user, client_for):
    learner = await make_user(org.tenant)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        ok = await client.post("/api/v1/uploads", json={"purpose": "attachment", "filename": "essay.pdf",
                                                        "size": 1000}, headers=auth)
        assert ok.status_code == 201, ok.text
        refused = await client.post("/api/v1/uploads", json={"purpose": "document", "filename": "x.pdf",
                                                             "size": 1000}, headers=auth)
        assert refused.status_code == 403


async def test_two_submits_at_once_make_one_submission(org, make_user, engine, settings, clock):
    """All in flight together on the app served on the test's loop (the test client runs one request at a time)."""
    learner = await make_user(org.tenant)
    task = await make_assignment(engine, org.tenant, None, learners=(learner.id,))
    async with served(settings) as app, live_client(app, org.tenant) as client:
        auth = await bearer_for(client, learner)
        answers = await asyncio.gather(*(client.post(f"{task.api}/submit", json={"text": "Same"}, headers=auth)
                                         for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert {a.json()["version"] for a in answers} == {1}
    [submission] = await fetch(engine, org.tenant, Submission, user_id=learner.id)
    [grade] = await fetch(engine, org.tenant, Grade, user_id=learner.id)
    assert submission.version == 1 and len(await fetch(engine, org.tenant, GradeEvent, grade_id=grade.id)) == 1
