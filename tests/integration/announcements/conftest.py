"""A school for the announcement tests: a class with its teacher, learners and parents, a course with its staff and
learners, and people related to none of them."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tajiconnect.domains.announcements.models import AnnouncementRecipient
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tasks.outbox import sweep_tenant
from tests.integration.conftest import Member, Org, drain
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import add_group, build_course, enroll


@dataclass
class School:
    org: Org
    admin: Member
    teacher: Member  # leads the class
    co_leader: Member  # also leads the class
    course_owner: Member  # owns the course
    co_teacher: Member  # co-teaches the course
    other_teacher: Member  # leads and teaches nothing
    manager: Member  # leads nothing
    pupil: Member  # in the class, parent linked
    classmate: Member  # in the class, no parent
    course_learner: Member  # enrolled in the course only, parent linked
    withdrawn: Member  # withdrawn from the course
    outsider: Member  # in nothing
    parent: Member  # of pupil
    course_parent: Member  # of course_learner
    unlinked_parent: Member  # of nobody
    group_id: uuid.UUID
    other_group_id: uuid.UUID
    course_id: uuid.UUID


@pytest.fixture(scope="module")
async def school(new_org, make_user, engine) -> School:
    org = await new_org("ann")
    t = org.tenant

    async def person(role: str, name: str) -> Member:
        return await make_user(t, [role], name=name)

    teacher, co_leader = await person("teacher", "Tabitha Teacher"), await person("teacher", "Cody Coleader")
    course_owner, co_teacher = await person("teacher", "Olive Owner"), await person("teacher", "Cyrus Coteacher")
    other_teacher, manager = await person("teacher", "Otto Other"), await person("manager", "Mary Manager")
    pupil, classmate = await person("student", "Peter Pupil"), await person("student", "Clara Classmate")
    course_learner, withdrawn = await person("student", "Lena Learner"), await person("student", "Wanda Withdrawn")
    outsider = await person("student", "Oscar Outsider")
    parent, course_parent = await person("parent", "Paula Parent"), await person("parent", "Carl Courseparent")
    unlinked_parent = await person("parent", "Ursula Unlinked")
    group_id = await add_group(engine, t, members=[pupil.id, classmate.id], leaders=[teacher.id, co_leader.id])
    other_group_id = await add_group(engine, t, members=[outsider.id], leaders=[other_teacher.id])
    course = await build_course(engine, t, kinds=("text",), owner_id=course_owner.id, title="Biology 7")
    async with tenant_session(engine, t) as session:
        (await session.get(Course, course.id)).teacher_ids = [co_teacher.id]
        session.add(ParentLink(parent_id=parent.id, learner_id=pupil.id, source="admin"))
        session.add(ParentLink(parent_id=course_parent.id, learner_id=course_learner.id, source="admin"))
        session.add(ParentLink(parent_id=course_parent.id, learner_id=withdrawn.id, source="admin"))
    await enroll(engine, t, course_learner.id, course.id)
    await enroll(engine, t, withdrawn.id, course.id, status="withdrawn",
                 withdrawn_at=datetime.datetime.now(datetime.UTC))
    return School(org, org.admin, teacher, co_leader, course_owner, co_teacher, other_teacher, manager, pupil,
                  classmate, course_learner, withdrawn, outsider, parent, course_parent, unlinked_parent, group_id,
                  other_group_id, course.id)


async def deliver(engine, tenant, run_jobs) -> int:
    """Hand the tenant's deferred tasks to the queue (as a request's commit does) and run every job."""
    await run_jobs()  # connects the queues
    await sweep_tenant(engine, run_jobs.queues, tenant, older_than=datetime.timedelta(0))
    return await drain(run_jobs)


async def recipients(engine, tenant, announcement_id) -> dict[uuid.UUID, str]:
    async with tenant_session(engine, tenant) as session:
        rows = await session.execute(select(AnnouncementRecipient.user_id, AnnouncementRecipient.via).where(
            AnnouncementRecipient.announcement_id == uuid.UUID(str(announcement_id))))
        return {r[0]: r[1] for r in rows}


async def notified(engine, tenant, announcement_id) -> dict[uuid.UUID, int]:
    """Per member, how many notifications this announcement made."""
    async with tenant_session(engine, tenant) as session:
        rows = await session.execute(select(Notification.user_id, func.count()).where(
            Notification.key == f"announcement:{announcement_id}").group_by(Notification.user_id))
        return {r[0]: int(r[1]) for r in rows}


def body(scope: str, target: Any = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"scope": scope, "title": f"Notice {uuid.uuid4().hex[:6]}", "body": "Hello **all**"}
    if scope in ("group", "course") and target is not None:
        data[f"{scope}_id"] = str(target)
    return {**data, **extra}
