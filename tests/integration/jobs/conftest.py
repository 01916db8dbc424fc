"""The job board's tests: an employer's organization, a learner's organization, a school; the operator fixtures."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.jobs.models import Job, JobApplicationEvent
from tajiconnect.domains.skills import taxonomy
from tajiconnect.domains.skills.models import Skill, SkillEvidence
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import Member, Org
from tests.integration.groups.conftest import tenant_session
from tests.integration.platform.test_operator_console import as_operator, operator  # noqa: F401


async def starter_skill(engine, tenant, code: str) -> tuple[uuid.UUID, str]:
    """The organization's starter skill ``code`` (the starter set loaded): its id and name."""
    with tenant_context(tenant):
        async with tenant_session(engine, tenant) as session:
            await taxonomy.ensure_starter(session)
            row = (await session.execute(select(Skill.id, Skill.name).where(Skill.code == code))).one()
    return row[0], row[1]


async def show_skill(engine, tenant, user_id, skill_id, level: int) -> None:
    async with tenant_session(engine, tenant) as session:
        session.add(SkillEvidence(user_id=user_id, skill_id=skill_id, level=level, source="course",
                                  source_id=uuid.uuid4(), evidenced_at=datetime.datetime.now(datetime.UTC)))


@dataclass
class Board:
    employer_org: Org
    employer: Member
    learner_org: Org
    learner: Member
    school: Org
    pupil: Member
    cleaning: uuid.UUID  # the employer's "Data cleaning" (starter code data-cleaning)
    cleaning_name: str
    charts: uuid.UUID  # the employer's "Data visualisation"
    charts_name: str


async def build_board(engine, new_org, make_user, prefix: str = "jb") -> Board:
    employer_org = await new_org(prefix + "e", kind="company")
    learner_org = await new_org(prefix + "l", kind="company", locale="fr")
    school = await new_org(prefix + "s", kind="school")
    employer = await make_user(employer_org.tenant, ["employer"], name="Emma Employer")
    learner = await make_user(learner_org.tenant, ["student"], name="Aïcha Ndiaye")
    pupil = await make_user(school.tenant, ["student"], name="Pupil Pat")
    cleaning, cleaning_name = await starter_skill(engine, employer_org.tenant, "data-cleaning")
    charts, charts_name = await starter_skill(engine, employer_org.tenant, "data-visualisation")
    theirs, _name = await starter_skill(engine, learner_org.tenant, "data-cleaning")  # "Nettoyage de données"
    await show_skill(engine, learner_org.tenant, learner.id, theirs, 4)
    return Board(employer_org, employer, learner_org, learner, school, pupil, cleaning, cleaning_name, charts,
                 charts_name)


async def job_row(engine, job_id) -> Job:
    async with session_scope(engine, schema=None) as session:
        return await session.get(Job, job_id)


async def events(engine, application_id) -> list[JobApplicationEvent]:
    async with session_scope(engine, schema=None) as session:
        return list((await session.scalars(select(JobApplicationEvent).where(
            JobApplicationEvent.application_id == application_id).order_by(JobApplicationEvent.created_at))).all())


