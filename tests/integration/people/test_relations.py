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


async def test_archived_groups_staff_groups_and_finished_courses_relate_nobody(engine, new_org, make_user):
    import datetime

    from tajiconnect.domains.groups.models import Group

    org = await new_org("relx")
    t = org.tenant
    head, teacher, old_leader = [(await make_user(t, ["teacher"])).id for _ in range(3)]
    learner, finished, old_classmate = [(await make_user(t, ["student"])).id for _ in range(3)]
    await add_group(engine, t, members=[teacher], leaders=[head])  # a department of teachers
    archived = await add_group(engine, t, members=[learner, old_classmate], leaders=[old_leader])
    async with tenant_session(engine, t) as session:
        (await session.get(Group, archived)).archived_at = datetime.datetime.now(datetime.UTC)
    course = await build_course(engine, t, kinds=("text",), owner_id=teacher)
    await enroll(engine, t, learner, course.id)
    await enroll(engine, t, finished, course.id, status="completed", completed_at=_now())

    assert await ids(engine, t, relations.learners_of(head)) == set()  # a teacher is not a learner
    assert await ids(engine, t, relations.teachers_of(learner)) == {teacher}  # not the archived class's leader
    assert await ids(engine, t, relations.learners_of(old_leader)) == set()
    assert await ids(engine, t, relations.classmates_of(learner)) == set()  # neither archived nor finished ones
    assert await ids(engine, t, relations.learners_of(teacher)) == {learner, finished}  # still theirs to grade


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


async def test_teachers_by_child_pairs_each_child_with_their_teachers(engine, new_org, make_user):
    org = await new_org("relc")
    t = org.tenant
    owner, co, leader, stranger, idle = [(await make_user(t, ["teacher"])).id for _ in range(5)]
    one, two, not_mine = [(await make_user(t, ["student"])).id for _ in range(3)]
    parent, other_parent = (await make_user(t, ["parent"])).id, (await make_user(t, ["parent"])).id
    course = await build_course(engine, t, kinds=("text",), owner_id=owner)
    other_course = await build_course(engine, t, kinds=("text",), owner_id=stranger)
    async with tenant_session(engine, t) as session:
        (await session.get(Course, course.id)).teacher_ids = [co]
        session.add_all([ParentLink(parent_id=parent, learner_id=one, source="admin"),
                         ParentLink(parent_id=parent, learner_id=two, source="admin"),
                         ParentLink(parent_id=other_parent, learner_id=not_mine, source="admin")])
    await enroll(engine, t, one, course.id)
    await enroll(engine, t, two, other_course.id, status="withdrawn", withdrawn_at=_now())  # left that course
    await enroll(engine, t, not_mine, other_course.id)
    await add_group(engine, t, members=[one, two], leaders=[leader, idle])
    async with tenant_session(engine, t) as session:
        (await session.get(User, idle)).status = "deactivated"
        rows = set((await session.execute(relations.teachers_by_child(parent))).tuples().all())
    assert rows == {(one, owner), (one, co), (one, leader), (two, leader)}
    async with tenant_session(engine, t) as session:  # a deactivated child is nobody's child on the home
        (await session.get(User, two)).status = "deactivated"
    assert {c for c, _ in await _pairs(engine, t, parent)} == {one}


async def _pairs(engine, tenant, parent_id) -> set[tuple[uuid.UUID, uuid.UUID]]:
    async with tenant_session(engine, tenant) as session:
        return set((await session.execute(relations.teachers_by_child(parent_id))).tuples().all())
