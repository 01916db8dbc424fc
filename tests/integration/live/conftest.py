"""A school for the live-class tests: a class with its teacher, learners and parents, a course with its staff, and
everyone else who must not see them."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.live.models import LiveSession
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tasks.outbox import sweep_tenant
from tajiconnect.tenancy.context import TenantRef
from tests.integration.conftest import Member, Org, drain
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import add_group, build_course, enroll


@dataclass
class LiveSchool:
    org: Org
    teacher: Member  # leads the class
    co_teacher: Member  # co-teaches the course
    other_teacher: Member  # teaches nothing of theirs
    manager: Member  # leads nothing of theirs
    learner: Member  # in the class and the course
    classmate: Member  # in the class only
    outsider: Member  # a learner of another class
    parent: Member  # the learner's
    unlinked_parent: Member
    group_id: uuid.UUID
    course_id: uuid.UUID

    @property
    def tenant(self) -> TenantRef:
        return self.org.tenant

    @property
    def admin(self) -> Member:
        return self.org.admin


async def build_school(engine: Any, new_org: Any, make_user: Any, prefix: str = "live") -> LiveSchool:
    org = await new_org(prefix)
    t = org.tenant
    teacher = await make_user(t, ["teacher"], name="Tess Teacher")
    co_teacher = await make_user(t, ["teacher"], name="Cory Coteacher")
    other_teacher = await make_user(t, ["teacher"], name="Otto Other")
    manager = await make_user(t, ["manager"], name="Mona Manager")
    learner = await make_user(t, ["student"], name="Lena Learner")
    classmate = await make_user(t, ["student"], name="Carl Classmate")
    outsider = await make_user(t, ["student"], name="Oscar Outsider")
    parent = await make_user(t, ["parent"], name="Pat Parent")
    unlinked = await make_user(t, ["parent"], name="Uma Unlinked")
    group_id = await add_group(engine, t, members=[learner.id, classmate.id], leaders=[teacher.id])
    await add_group(engine, t, members=[outsider.id], leaders=[other_teacher.id])
    course = await build_course(engine, t, kinds=("text",), owner_id=teacher.id, title="Biology")
    async with tenant_session(engine, t) as session:
        (await session.get(Course, course.id)).teacher_ids = [co_teacher.id]
        session.add(ParentLink(parent_id=parent.id, learner_id=learner.id, source="admin"))
    await enroll(engine, t, learner.id, course.id)
    return LiveSchool(org, teacher, co_teacher, other_teacher, manager, learner, classmate, outsider, parent,
                      unlinked, group_id, course.id)


@pytest.fixture(scope="session")
async def live_school(engine, new_org, make_user) -> LiveSchool:
    return await build_school(engine, new_org, make_user)


def soon(**delta: Any) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(**delta)


def session_body(school: LiveSchool, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Photosynthesis Q&A", "starts_at": soon(days=2).isoformat(), "duration_minutes": 45,
        "time_zone": "Africa/Nairobi", "meeting_url": "https://meet.jit.si/Form2Biology",
        "group_id": str(school.group_id), "include_parents": True,
    }
    body.update(values)
    return {k: v for k, v in body.items() if v is not None}


async def create_session(engine: Any, tenant: TenantRef, **values: Any) -> uuid.UUID:
    """A session straight in the database (no announcement): for tests about what follows."""
    defaults: dict[str, Any] = {"title": "Live", "starts_at": soon(days=2), "duration_minutes": 60,
                                "time_zone": "UTC", "meeting_url": "https://meet.jit.si/room", "provider": "jitsi",
                                "announced_at": soon(days=-3)}
    async with tenant_session(engine, tenant) as session:
        live = LiveSession(**{**defaults, **values})
        session.add(live)
        await session.flush()
        return live.id


async def set_session(engine: Any, tenant: TenantRef, session_id: uuid.UUID, **values: Any) -> None:
    async with tenant_session(engine, tenant) as session:
        await session.execute(update(LiveSession).where(LiveSession.id == session_id).values(**values))


async def live_notifications(engine: Any, tenant: TenantRef, user_id: uuid.UUID) -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(
            select(Notification).where(Notification.user_id == user_id, Notification.category == "live_class")
            .order_by(Notification.created_at))).all())


async def dispatch(engine: Any, tenant: TenantRef, run_jobs: Any) -> int:
    """Hand the tenant's deferred tasks to the queue (as the request's commit does) and run every job."""
    await run_jobs()
    await sweep_tenant(engine, run_jobs.queues, tenant, older_than=datetime.timedelta(0))
    return await drain(run_jobs)
