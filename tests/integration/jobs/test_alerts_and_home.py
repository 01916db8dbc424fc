"""Saved searches and their hourly alerts (each new job once), the learner's career home, and the board's insights
beside a career pathway."""

from __future__ import annotations

import datetime
import re
import uuid

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.jobs.models import Job, JobSearch, JobSkill
from tajiconnect.domains.jobs.postings import employer_profile
from tajiconnect.domains.jobs.tasks import send_job_alerts
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.tenancy.context import tenant_context
from tests.integration.careers.conftest import a_pathway
from tests.integration.conftest import post_form
from tests.integration.groups.conftest import tenant_session
from tests.integration.jobs.conftest import build_board, show_skill
from tests.integration.skills.test_evidence import a_skill


async def a_job(engine, tenant, title: str, *, skills: dict[str, int] | None = None, salary=(None, None),
                location: str = "Nairobi") -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        employer_id = (await employer_profile(session)).id
    async with session_scope(engine, schema=None) as session:
        job = Job(employer_id=employer_id, tenant_id=tenant.id, posted_by_id=uuid.uuid4(), title=title,
                  location=location, status="published", published_at=datetime.datetime.now(datetime.UTC),
                  salary_min=salary[0], salary_max=salary[1])
        session.add(job)
        await session.flush()
        session.add_all(JobSkill(job_id=job.id, key=k, name=k.split(":")[1], level=v)
                        for k, v in (skills or {}).items())
        return job.id


async def alerts(engine, tenant, user_id) -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.category == "job_alert"))).all())


async def test_a_saved_search_tells_of_each_new_job_once(engine, new_org, make_user, signed_in):
    b = await build_board(engine, new_org, make_user, "jal")
    async with signed_in(b.learner) as client:
        saved = await post_form(client, "/jobs/searches", {"q": "welder", "location": "Nairobi", "name": "Welding"})
        assert saved.status_code == 303
        page = await client.get("/jobs")
        search_id = re.search(r'href="/jobs/searches/([0-9a-f-]+)"', page.text).group(1)
        opened = await client.get(f"/jobs/searches/{search_id}")
        assert opened.status_code == 303 and "q=welder" in opened.headers["location"]
    run = {"engine": engine}

    def now() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    with tenant_context(b.learner_org.tenant):
        assert (await send_job_alerts(run, until=now()))["sent"] == 0  # nothing new yet
        await a_job(engine, b.employer_org.tenant, "Welder (MIG)")
        await a_job(engine, b.employer_org.tenant, "Baker")  # does not match
        assert (await send_job_alerts(run))["sent"] == 0  # too recent: the next run, once commits have landed
        assert (await send_job_alerts(run, until=now()))["sent"] == 1
        assert (await send_job_alerts(run, until=now()))["sent"] == 0  # told once
        await a_job(engine, b.employer_org.tenant, "Senior welder")
        assert (await send_job_alerts(run, until=now()))["sent"] == 1
    told = await alerts(engine, b.learner_org.tenant, b.learner.id)
    assert len(told) == 2 and all("Welding" in n.title for n in told)
    other = await make_user(b.learner_org.tenant, ["student"])
    async with signed_in(other) as client:  # someone else's saved search is not theirs
        assert (await client.get(f"/jobs/searches/{search_id}")).status_code == 404
        await post_form(client, f"/jobs/searches/{search_id}/delete", {})
    async with tenant_session(engine, b.learner_org.tenant) as session:
        assert await session.get(JobSearch, uuid.UUID(search_id)) is not None
    with tenant_context(b.school.tenant):  # a closed board sends nothing
        assert (await send_job_alerts(run))["sent"] == 0


async def test_the_career_home_and_the_boards_insights(engine, new_org, make_user, signed_in):
    b = await build_board(engine, new_org, make_user, "jhm")
    token = f"zq{uuid.uuid4().hex[:8]}"  # the board is shared by every test: this test's own skill and role
    await a_job(engine, b.employer_org.tenant, f"Grader {token}", skills={f"name:sorting {token}": 3},
                salary=(30000, 50000))
    await a_job(engine, b.employer_org.tenant, f"Grader {token} II", skills={f"name:sorting {token}": 4},
                salary=(50000, 70000))
    sorting = await a_skill(engine, b.learner_org.tenant, f"Sorting {token}")
    await show_skill(engine, b.learner_org.tenant, b.learner.id, sorting, 2)
    pathway = await a_pathway(engine, b.learner_org.tenant, f"Grader {token}", {sorting: 5})
    async with signed_in(b.learner) as client:
        home = await client.get("/career")
        assert home.status_code == 200
        assert f"Grader {token}" in home.text and 'id="career-jobs"' in home.text and "% complete" in home.text
        gap = await client.get(f"/career/pathways/{pathway}")
        insights = re.search(r'id="board-insights".*?</section>', gap.text, re.S).group(0)
        assert "asked for by 2 open jobs" in insights
        assert "30,000\u201370,000 KES" in insights and "median 50,000" in insights
    async with signed_in(b.pupil) as client:  # a school: no board on the home, none beside the pathways
        home = await client.get("/career")
        assert home.status_code == 200 and 'id="career-jobs"' not in home.text
