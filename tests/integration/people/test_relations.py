"""Who is whose teacher, classmate, learner, child: the rules portals, messages and announcements rely on."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.domains.people import relations
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import add_group, build_course, enroll


async def ids(engine, tenant, query) -> set[uuid.UUID]:
    async with tenant_session(engine, tenant) as session:
        return set((await session.scalars(query)).all())


async def test_teachers_classmates_learners_children(engine, new_org, make_user):
    org = await new_org("rel")
    t = org.tenant
    owner, co, leader, former, idle, other = [
        (await make_user(t, ["teacher"])).id for _ in range(6)]
    learner, classmate, course_mate, withdrawn, outsider = [(await make_user(t, ["student"])).id for _ in range(5)]
    parent, stranger_parent = (await make_user(t, ["parent"])).id, (await make_user(t, ["parent"])).id
    course = await build_course(engine, t, kinds=("text",), owner_id=owner)
    other_course = await build_course(engine, t, kinds=("text",), owner_id=other)
    async with tenant_session(engine, t) as session:
        (await session.get(Course, course.id)).teacher_ids = [co]
        session.add(ParentLink(parent_id=parent, learner_id=learner, source="admin"))
    await enroll(engine, t, learner, course.id)
    await enroll(engine, t, course_mate, course.id)
    await enroll(engine, t, outsider, other_course.id)
    await enroll(engine, t, withdrawn, course.id, status="withdrawn", withdrawn_at=_now())
    await add_group(engine, t, members=[learner, classmate], leaders=[leader, idle], former_leaders=(former,))
    async with tenant_session(engine, t) as session:  # a deactivated leader is nobody's teacher
        (await session.get(User, idle)).status = "deactivated"

    assert await ids(engine, t, relations.teachers_of(learner)) == {owner, co, leader}
    assert await ids(engine, t, relations.teachers_of(outsider)) == {other}
    assert await ids(engine, t, relations.classmates_of(learner)) == {classmate, course_mate}
    assert await ids(engine, t, relations.classmates_of(outsider)) == set()
    assert await ids(engine, t, relations.learners_of(owner)) == {learner, course_mate}
    assert await ids(engine, t, relations.learners_of(leader)) == {learner, classmate}
    assert await ids(engine, t, relations.learners_of(former)) == set()
    assert await ids(engine, t, relations.children_of(parent)) == {learner}
    assert await ids(engine, t, relations.children_of(stranger_parent)) == set()
    assert await ids(engine, t, relations.parents_of(select(User.id).where(User.id == learner))) == {parent}
    assert await ids(engine, t, relations.teachers_of_children(parent)) == {owner, co, leader}
    class_id = await add_group(engine, t, members=[outsider], leaders=[other], former_leaders=(former,))
    assert await ids(engine, t, relations.members_of_group(class_id)) == {outsider}
    assert await ids(engine, t, relations.leaders_of_group(class_id)) == {other}
    assert await ids(engine, t, relations.learners_in_course(course.id)) == {learner, course_mate}
    assert await ids(engine, t, relations.staff_of_course(course.id)) == {owner, co}
    async with tenant_session(engine, t) as session:
        assert await relations.is_teacher_of(session, co, learner)
        assert not await relations.is_teacher_of(session, other, learner)
        assert not await relations.is_teacher_of(session, former, learner)
        assert await relations.is_classmate_of(session, learner, classmate)
        assert not await relations.is_classmate_of(session, learner, learner)
        assert await relations.is_parent_of(session, parent, learner)
        assert not await relations.is_parent_of(session, stranger_parent, learner)
        assert await relations.teaches_a_child_of(session, leader, parent)
        assert not await relations.teaches_a_child_of(session, other, parent)


async def test_another_organization_is_out_of_reach(engine, new_org, make_user):
    """The same ids asked in another tenant's schema find nothing: relations live in the tenant's tables."""
    org, other = await new_org("rela"), await new_org("relb")
    teacher, learner = (await make_user(org.tenant, ["teacher"])).id, (await make_user(org.tenant, ["student"])).id
    await add_group(engine, org.tenant, members=[learner], leaders=[teacher])
    assert await ids(engine, org.tenant, relations.teachers_of(learner)) == {teacher}
    assert await ids(engine, other.tenant, relations.teachers_of(learner)) == set()
    assert await ids(engine, other.tenant, relations.learners_of(teacher)) == set()


def _now():
    import datetime

    return datetime.datetime.now(datetime.UTC)
