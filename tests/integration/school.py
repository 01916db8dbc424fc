"""A small school (or company) for the tests of who may reach whom: a class with its teacher and two learners, a
course with its owner (the class's teacher) and a co-teacher, a linked and an unlinked parent, and everyone else
who must not see them (another class and its teacher, a manager, the admin)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tenancy.context import TenantRef
from tests.integration.conftest import Member, Org
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import add_group, build_course, enroll


@dataclass
class School:
    org: Org
    teacher: Member  # leads the class, owns the course
    co_teacher: Member  # co-teaches the course
    other_teacher: Member  # leads another class
    manager: Member  # leads nothing of theirs
    learner: Member  # in the class and the course
    classmate: Member  # in the class only
    outsider: Member  # a learner of the other class
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


async def build_school(engine: Any, new_org: Any, make_user: Any, prefix: str = "sch", *, kind: str = "school"
                       ) -> School:
    org = await new_org(prefix, kind=kind)
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
    return School(org, teacher, co_teacher, other_teacher, manager, learner, classmate, outsider, parent, unlinked,
                  group_id, course.id)
