"""A course with every role around it: its owner and a co-teacher, two enrolled learners, a withdrawn one, a
learner of another course, a linked parent, an unrelated teacher, a manager, the admin, and another organization."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tasks.outbox import sweep_tenant
from tests.integration.conftest import Member, Org, drain
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course, enroll


@dataclass
class Classroom:
    org: Org
    other: Org
    course_id: uuid.UUID
    other_course_id: uuid.UUID
    owner: Member
    co: Member
    alice: Member  # enrolled learner
    bob: Member  # enrolled learner
    withdrawn: Member
    outsider: Member  # a learner of another course
    parent: Member  # alice's parent
    stranger: Member  # an unrelated teacher
    manager: Member
    other_admin: Member  # the other organization's admin

    @property
    def admin(self) -> Member:
        return self.org.admin

    @property
    def tenant(self) -> Any:
        return self.org.tenant

    @property
    def base(self) -> str:
        return f"/courses/{self.course_id}/discussions"


@pytest.fixture
async def room(new_org, make_user, engine) -> Classroom:
    org, other = await new_org("disc"), await new_org("disco")
    t = org.tenant
    owner, co, stranger = [await make_user(t, ["teacher"], name=n) for n in ("Tessa Owner", "Colin Co", "Sam Stranger")]
    alice = await make_user(t, ["student"], name="Alice Wanjiru")
    bob = await make_user(t, ["student"], name="Bob Otieno")
    withdrawn = await make_user(t, ["student"], name="Wendy Withdrawn")
    outsider = await make_user(t, ["student"], name="Oscar Outsider")
    parent = await make_user(t, ["parent"], name="Pat Parent")
    manager = await make_user(t, ["manager"], name="Mona Manager")
    course = await build_course(engine, t, kinds=("text",), owner_id=owner.id, title="Biology")
    other_course = await build_course(engine, t, kinds=("text",), owner_id=stranger.id)
    async with tenant_session(engine, t) as session:
        (await session.get(Course, course.id)).teacher_ids = [co.id]
        session.add(ParentLink(parent_id=parent.id, learner_id=alice.id, source="admin"))
    for learner in (alice, bob):
        await enroll(engine, t, learner.id, course.id)
    await enroll(engine, t, withdrawn.id, course.id, status="withdrawn",
                 withdrawn_at=datetime.datetime.now(datetime.UTC))
    await enroll(engine, t, outsider.id, other_course.id)
    return Classroom(org, other, course.id, other_course.id, owner, co, alice, bob, withdrawn, outsider, parent,
                     stranger, manager, other.admin)


async def dispatch(engine, tenant, run_jobs) -> int:
    """Hand the tenant's deferred tasks to the queue (as the request's commit would) and run every job."""
    await run_jobs()
    await sweep_tenant(engine, run_jobs.queues, tenant, older_than=datetime.timedelta(0))
    return await drain(run_jobs)


async def notifications_of(engine, tenant, user_id: uuid.UUID, category: str = "discussion") -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.category == category)
            .order_by(Notification.created_at))).all())


async def count(engine, tenant, model, **where) -> int:
    async with tenant_session(engine, tenant) as session:
        return int(await session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)
