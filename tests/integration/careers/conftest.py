"""A company for the career tests: a role requiring two skills, a learner a little along, a manager leading them,
a course that is open (quick), a course by assignment only (long) and a path holding the long course."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.skills.models import SkillEvidence
from tests.integration.conftest import Member, Org, set_user
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import add_group, build_course, build_path
from tests.integration.skills.test_evidence import a_skill, declare


@dataclass
class Career:
    org: Org
    learner: Member
    outsider: Member  # a learner the manager does not follow
    manager: Member
    pathway_id: uuid.UUID
    sheets: uuid.UUID  # required 3, the learner shows 1
    charts: uuid.UUID  # required 2, the learner shows nothing (says 4)
    quick: uuid.UUID  # open, 1 h, builds sheets 3
    long: uuid.UUID  # by assignment, 4 h, builds sheets 3 and charts 2
    path: uuid.UUID  # by assignment, holds the long course

    @property
    def tenant(self) -> Any:
        return self.org.tenant


async def a_pathway(engine, tenant, name: str, required: dict[uuid.UUID, int]) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        pathway = CareerPathway(name=name)
        session.add(pathway)
        await session.flush()
        session.add_all(PathwaySkill(pathway_id=pathway.id, skill_id=s, level=v) for s, v in required.items())
        return pathway.id


async def evidence(engine, tenant, user_id, skill_id, level: int, source: str = "course") -> None:
    async with tenant_session(engine, tenant) as session:
        session.add(SkillEvidence(user_id=user_id, skill_id=skill_id, level=level, source=source,
                                  source_id=None if source == "self" else uuid.uuid4(),
                                  evidenced_at=datetime.datetime.now(datetime.UTC)))


async def build_career(engine, new_org, make_user, prefix: str = "car") -> Career:
    org = await new_org(prefix, kind="company")
    t = org.tenant
    learner = await make_user(t, ["student"], name="Amina Wanjiru")
    outsider = await make_user(t, ["student"], name="Oscar Outsider")
    manager = await make_user(t, ["manager"], name="Mona Manager")
    for member in (learner, outsider):
        await set_user(engine, t, member.id, seat_assigned_at=datetime.datetime.now(datetime.UTC))
    await add_group(engine, t, members=[learner.id], leaders=[manager.id])
    sheets = await a_skill(engine, t, f"Spreadsheets {uuid.uuid4().hex[:4]}")
    charts = await a_skill(engine, t, f"Charts {uuid.uuid4().hex[:4]}")
    pathway = await a_pathway(engine, t, f"Data clerk {uuid.uuid4().hex[:4]}", {sheets: 3, charts: 2})
    quick = await build_course(engine, t, kinds=("text",), title="Quick sheets")
    long = await build_course(engine, t, kinds=("text",), title="Long analysis")
    async with tenant_session(engine, t) as session:
        await session.execute(update(Course).where(Course.id == quick.id).values(estimated_minutes=60))
        await session.execute(update(Course).where(Course.id == long.id).values(estimated_minutes=240,
                                                                                 self_enroll=False))
    await declare(engine, t, sheets, 3, course_id=quick.id)
    await declare(engine, t, sheets, 3, course_id=long.id)
    await declare(engine, t, charts, 2, course_id=long.id)
    path = await build_path(engine, t, [long.id])
    async with tenant_session(engine, t) as session:
        await session.execute(update(LearningPath).where(LearningPath.id == path).values(title="Analyst path"))
    await evidence(engine, t, learner.id, sheets, 1)
    await evidence(engine, t, learner.id, charts, 4, source="self")
    return Career(org, learner, outsider, manager, pathway, sheets, charts, quick.id, long.id, path)
