"""A course that came with a learning path stays closed until the path's earlier stages are complete: its lessons
redirect to the course page (which says what opens it), the API answers 409, and nothing is recorded."""

from __future__ import annotations

from tajiconnect.domains.progress.models import LessonProgress
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.progress.conftest import build_course, build_path, count, csrf_headers, enroll


async def test_a_later_stage_opens_when_the_earlier_one_is_complete(org, make_user, engine, signed_in, client_for):
    learner = await make_user(org.tenant)
    first = await build_course(engine, org.tenant, kinds=("text",), title="Stage one course")
    second = await build_course(engine, org.tenant, kinds=("text",), title="Stage two course")
    path = await build_path(engine, org.tenant, [first.id, second.id], learner.id)
    for course in (first, second):
        await enroll(engine, org.tenant, learner.id, course.id, source="path", path_id=path)
    async with signed_in(learner) as client:
        page = await client.get(f"/learn/courses/{second.id}")
        assert page.status_code == 200 and 'id="course-locked"' in page.text
        lesson = await client.get(second.lesson_url(0))
        assert lesson.status_code == 303 and lesson.headers["location"] == f"/learn/courses/{second.id}"
        assert (await post_form(client, second.lesson_url(0) + "/complete")).status_code == 303
        beat = await client.post(f"/learn/lessons/{second.lessons[0]}/beat", headers=csrf_headers(client))
        assert beat.status_code == 409
    async with client_for(org.tenant) as api:
        auth = await bearer_for(api, learner)
        refused = problem_of(await api.post(f"/api/v1/lessons/{second.lessons[0]}/complete", headers=auth), 409)
        assert "earlier stages" in refused["detail"]
        problem_of(await api.get(f"/api/v1/lessons/{second.lessons[0]}", headers=auth), 409)
        assert await count(engine, org.tenant, LessonProgress, lesson_id=second.lessons[0]) == 0
        # Stage one done: stage two opens.
        assert (await api.post(f"/api/v1/lessons/{first.lessons[0]}/complete", headers=auth)).status_code == 200
        opened = await api.post(f"/api/v1/lessons/{second.lessons[0]}/complete", headers=auth)
        assert opened.status_code == 200 and opened.json()["course_completed"] is True
    async with signed_in(learner) as client:
        assert 'id="course-locked"' not in (await client.get(f"/learn/courses/{second.id}")).text


async def test_a_course_taken_outside_the_path_is_not_locked(org, make_user, engine, client_for):
    learner = await make_user(org.tenant)
    first = await build_course(engine, org.tenant, kinds=("text",))
    second = await build_course(engine, org.tenant, kinds=("text",))
    await build_path(engine, org.tenant, [first.id, second.id], learner.id)
    await enroll(engine, org.tenant, learner.id, second.id)  # enrolled by themself, not through the path
    async with client_for(org.tenant) as api:
        auth = await bearer_for(api, learner)
        assert (await api.post(f"/api/v1/lessons/{second.lessons[0]}/complete", headers=auth)).status_code == 200
