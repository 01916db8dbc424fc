"""When the course's staff add or remove lessons, every enrolled learner's percentage follows at once."""

from __future__ import annotations

from tajiconnect.domains.enrollments.models import Enrollment
from tests.integration.conftest import bearer_for
from tests.integration.progress.conftest import build_course, completions, enroll, fetch


async def test_adding_and_removing_lessons_moves_learners_percentages(org, make_user, engine, client_for):
    teacher = await make_user(org.tenant, ["teacher"])
    halfway, finished = await make_user(org.tenant), await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "text"), owner_id=teacher.id)
    for learner in (halfway, finished):
        await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        for learner, lessons in ((halfway, course.lessons[:1]), (finished, course.lessons)):
            auth = await bearer_for(client, learner)
            for lesson in lessons:
                done = await client.post(f"/api/v1/lessons/{lesson}/complete", headers=auth)
                assert done.status_code == 200, done.text

        async def percents() -> dict:
            rows = await fetch(engine, org.tenant, Enrollment, course_id=course.id)
            return {row.user_id: (row.progress_percent, row.status) for row in rows}

        assert await percents() == {halfway.id: (50, "active"), finished.id: (100, "completed")}
        staff = await bearer_for(client, teacher)
        added = await client.post(f"/api/v1/modules/{course.modules[0]}/lessons", headers=staff,
                                  json={"kind": "text", "title": "One more", "body": "More to read."})
        assert added.status_code == 201, added.text
        # A third lesson: halfway is now one in three; a finished course stays finished (its completion is a fact).
        assert await percents() == {halfway.id: (33, "active"), finished.id: (100, "completed")}
        removed = await client.delete(f"/api/v1/lessons/{added.json()['id']}", headers=staff)
        assert removed.status_code == 204, removed.text
        assert await percents() == {halfway.id: (50, "active"), finished.id: (100, "completed")}
        # Removing the only lesson ``halfway`` still lacked completes the course for them, with its outbox row.
        assert (await client.delete(f"/api/v1/lessons/{course.lessons[1]}", headers=staff)).status_code == 204
        assert await percents() == {halfway.id: (100, "completed"), finished.id: (100, "completed")}
    assert [c.course_id for c in await completions(engine, org.tenant, halfway.id)] == [course.id]
