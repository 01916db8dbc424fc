"""The demo's careers, once: the courses build skills and their completions are evidence, the learner's résumé, an
employer organization with two published jobs, and the learner's application moved to interview."""

from __future__ import annotations

from sqlalchemy import func, select

from tajiconnect.db.session import session_scope
from tajiconnect.demo import DEMO_SLUG, seed_demo
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.jobs.models import Job, JobApplication, JobApplicationEvent
from tajiconnect.domains.resumes.models import Resume, ResumeEntry
from tajiconnect.domains.skills.models import SkillEvidence, SkillTarget
from tajiconnect.tenancy.service import load_tenant
from tests.integration.certificates.conftest import worker_storage  # noqa: F401  (a fixture)
from tests.integration.groups.conftest import tenant_session


async def test_the_demo_shows_careers_from_skills_to_an_interview(engine, settings, worker_storage):  # noqa: F811
    first = await seed_demo(engine)
    await seed_demo(engine)  # a second run changes nothing
    assert ("employer", "hiring@juapower.tajiconnect.test") in {(x.role, x.email) for x in first.logins}
    school = await load_tenant(engine, DEMO_SLUG)
    company = await load_tenant(engine, "juapower")
    async with tenant_session(engine, school) as session:
        brian = await session.scalar(select(User).where(User.email == "student@demo.tajiconnect.test"))
        targets = await session.scalar(select(func.count()).select_from(SkillTarget))
        evidenced = await session.scalar(select(func.count()).select_from(SkillEvidence).where(
            SkillEvidence.user_id == brian.id, SkillEvidence.source == "course"))
        resume = await session.scalar(select(Resume).where(Resume.user_id == brian.id))
        entries = await session.scalar(select(func.count()).select_from(ResumeEntry))
    assert targets == 4 and evidenced == 3  # Brian completed the solar course: its three skills
    assert resume.headline == "Solar technician in training" and entries == 2
    async with session_scope(engine, schema=None) as session:
        jobs = (await session.scalars(select(Job).where(Job.tenant_id == company.id))).all()
        applications = (await session.scalars(select(JobApplication))).all()
        mine = [a for a in applications if a.applicant_tenant_id == school.id]
        steps = (await session.scalars(select(JobApplicationEvent.status).where(
            JobApplicationEvent.application_id == mine[0].id).order_by(JobApplicationEvent.created_at))).all()
    assert sorted(j.status for j in jobs) == ["published", "published"]
    assert len(mine) == 1 and mine[0].status == "interview" and mine[0].match_percent > 50
    assert list(steps) == ["applied", "interview"]
