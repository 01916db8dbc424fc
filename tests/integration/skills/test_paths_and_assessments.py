"""The skills a learning path and an assessment build: their pages and API, who may read and change them, the
evidence they record, another organization's ids."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import update

from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.skills.tasks import record_skill_evidence
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course, build_path
from tests.integration.skills.test_evidence import a_grade, a_quiz, a_skill, evidence_of


async def test_a_path_and_an_assessment_declare_skills_that_become_evidence(new_org, make_user, signed_in, engine):
    org, other = await new_org("skpa"), await new_org("skpb")
    t = org.tenant
    author, teacher = await make_user(t, ["teacher"]), await make_user(t, ["teacher"])
    learner = await make_user(t, ["student"])
    course = await build_course(engine, t, kinds=("text",))
    path_id = await build_path(engine, t, [course.id])
    async with tenant_session(engine, t) as session:
        await session.execute(update(LearningPath).where(LearningPath.id == path_id).values(owner_id=author.id))
    quiz_course, quiz = await a_quiz(engine, t, passing_percent=60)
    async with tenant_session(engine, t) as session:
        from tajiconnect.domains.courses.models import Course

        await session.execute(update(Course).where(Course.id == quiz_course.id).values(owner_id=teacher.id))
    leading, counting = await a_skill(engine, t, "Leading a crew"), await a_skill(engine, t, "Counting stock")
    foreign = await a_skill(engine, other.tenant)

    async with signed_in(author) as client:
        headers = await bearer_for(client, author)
        url = f"/api/v1/paths/{path_id}/skills"
        assert problem_of(await client.put(url, headers=headers, json={"skills": [
            {"skill_id": str(foreign), "level": 2}]}), 409)["field"] == "skill_id"
        put = await client.put(url, headers=headers, json={"skills": [{"skill_id": str(leading), "level": 2}]})
        assert put.status_code == 200 and [i["skill_id"] for i in put.json()["items"]] == [str(leading)]
        assert f'href="/teach/paths/{path_id}/skills"' in (await client.get(f"/teach/paths/{path_id}")).text
        page = await client.get(f"/teach/paths/{path_id}/skills")
        assert page.status_code == 200 and "Skills this learning path builds" in page.text
        assert (await client.get(f"/teach/assessments/{quiz}/skills")).status_code == 404  # not its staff
    async with signed_in(teacher) as client:
        base = f"/teach/assessments/{quiz}/skills"
        assert (await client.get(f"/teach/paths/{path_id}/skills")).status_code == 404  # not its author
        assert (await post_form(client, base + "/add", {"skill_id": str(counting), "level": "3"})).status_code == 303
        page = (await client.get(base)).text
        assert "Skills this assessment builds" in page and str(counting) in page
        bad = await post_form(client, base + "/add", {"skill_id": str(counting), "level": "0"})
        assert bad.status_code == 422
    async with signed_in(learner) as client:
        headers = await bearer_for(client, learner)
        seen = await client.get(f"/api/v1/paths/{path_id}/skills", headers=headers)
        assert seen.status_code == 200 and seen.json()["items"][0]["level"] == 2
        refused = await client.put(f"/api/v1/paths/{path_id}/skills", headers=headers, json={"skills": []})
        assert refused.status_code == 404
        assert (await client.get(f"/api/v1/assessments/{quiz}/skills", headers=headers)).status_code == 404
        assert (await client.get(f"/teach/paths/{path_id}/skills")).status_code == 404

    now = datetime.datetime.now(datetime.UTC)
    async with tenant_session(engine, t) as session:
        await _record_completion(session, learner.id, now, path_id=path_id)
    await a_grade(engine, t, quiz, quiz_course.id, learner.id, 75)
    with tenant_context(t):
        await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)])
    found = {(row[0], row[1], row[2]) for row in await evidence_of(engine, t, learner.id)}
    assert found == {(leading, "path", 2), (counting, "assessment", 3)}

    async with signed_in(other.admin) as client:
        headers = await bearer_for(client, other.admin)
        for url in (f"/api/v1/paths/{path_id}/skills", f"/api/v1/assessments/{quiz}/skills",
                    f"/api/v1/paths/{uuid.uuid4()}/skills", "/api/v1/assessments/nope/skills"):
            assert (await client.get(url, headers=headers)).status_code == 404, url
        for url in (f"/teach/paths/{path_id}/skills", f"/teach/assessments/{quiz}/skills"):
            assert (await client.get(url)).status_code == 404
