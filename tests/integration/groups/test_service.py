"""The groups service on a real database: tree, structure rules, memberships with history, who may do what."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event, func, select

from tajiconnect.domains.groups import service
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.groups.service import GroupConflict, GroupError, GroupForbidden, GroupNotFound
from tajiconnect.tenancy.context import tenant_context
from tests.integration.groups.conftest import (
    School,
    acting_as,
    audit_actions,
    group_named,
    memberships,
    tenant_session,
)


async def build(engine, school: School) -> dict[str, uuid.UUID]:
    """Grade 7 > (7A, 7B > 7B-Science), Grade 8 > 8A; the teacher leads 7B, the manager 8A."""
    ids: dict[str, uuid.UUID] = {}
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        g7 = await service.create_group(session, admin, name="Grade 7")
        g8 = await service.create_group(session, admin, name="Grade 8")
        a7 = await service.create_group(session, admin, name="7A", parent_id=g7.id)
        b7 = await service.create_group(session, admin, name="7B", parent_id=g7.id)
        sci = await service.create_group(session, admin, name="7B Science", parent_id=b7.id)
        a8 = await service.create_group(session, admin, name="8A", parent_id=g8.id)
        for group in (g7, g8, a7, b7, sci, a8):
            ids[group.name] = group.id
        await service.add_member(session, admin, b7.id, school.teacher.id, "leader")
        await service.add_member(session, admin, a8.id, school.other_teacher.id, "leader")
        for learner in school.learners[:2]:
            await service.add_member(session, admin, b7.id, learner.id)
        await service.add_member(session, admin, a7.id, school.learners[2].id)
    return ids


async def test_kinds_and_depth_follow_the_tenant(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        kinds = dict((await session.execute(select(Group.name, Group.kind))).all())
        depths = dict((await session.execute(select(Group.name, Group.depth))).all())
    assert kinds == {"Grade 7": "grade", "Grade 8": "grade", "7A": "class", "7B": "class", "7B Science": "class",
                     "8A": "class"}
    assert depths == {"Grade 7": 0, "Grade 8": 0, "7A": 1, "7B": 1, "7B Science": 2, "8A": 1}
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        with pytest.raises(GroupConflict) as wrong_kind:
            await service.create_group(session, admin, name="Sales", kind="department")
        assert wrong_kind.value.field == "kind"
        with pytest.raises(GroupConflict) as grade_in_class:
            await service.create_group(session, admin, name="Grade 9", kind="grade", parent_id=ids["7A"])
        assert grade_in_class.value.field == "parent_id"


async def test_a_company_has_departments_and_teams(engine, make_school):
    company = await make_school("grpc", kind="company", learners=0)
    async with tenant_session(engine, company.tenant) as session:
        admin = await acting_as(session, company.admin)
        top = await service.create_group(session, admin, name="Sales")
        team = await service.create_group(session, admin, name="Field sales", parent_id=top.id)
        assert (top.kind, team.kind) == ("department", "team")
        with pytest.raises(GroupConflict):
            await service.create_group(session, admin, name="Grade 1", kind="grade")
        assert service.vocabulary()["tops"] == "Departments"
    with tenant_context(company.tenant):
        assert service.vocabulary()["leaves"] == "Teams"


async def test_names_are_unique_per_parent_case_insensitively(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        with pytest.raises(GroupConflict) as taken:
            await service.create_group(session, admin, name="  7a ", parent_id=ids["Grade 7"])
        assert taken.value.field == "name"
        with pytest.raises(GroupError) as blank:
            await service.create_group(session, admin, name="   ")
        assert blank.value.field == "name"
        with pytest.raises(GroupError):
            await service.create_group(session, admin, name="x" * 121)
        # The same name under another parent is fine.
        other = await service.create_group(session, admin, name="7A", parent_id=ids["Grade 8"])
        assert other.depth == 1


async def test_the_tree_comes_in_one_query_with_counts(engine, school):
    ids = await build(engine, school)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        async with tenant_session(engine, school.tenant) as session:
            admin = await acting_as(session, school.admin)
            statements.clear()
            roots = await service.group_tree(session, admin.user)
            queries = [s for s in statements if "set_config" not in s]
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    assert len(queries) == 1, queries
    assert [r.group.name for r in roots] == ["Grade 7", "Grade 8"]
    grade7 = roots[0]
    assert [c.group.name for c in grade7.children] == ["7A", "7B"]
    b7 = grade7.children[1]
    assert (b7.members, b7.leaders, b7.leader_names) == (2, 1, [await name_of(engine, school, school.teacher.id)])
    assert [c.group.name for c in b7.children] == ["7B Science"]
    flat = [n.group.name for n in service.flatten(roots)]
    assert flat == ["Grade 7", "7A", "7B", "7B Science", "Grade 8", "8A"]
    assert ids["8A"] == roots[1].children[0].group.id


async def name_of(engine, school, user_id):
    from tajiconnect.domains.accounts.models import User

    async with tenant_session(engine, school.tenant) as session:
        return (await session.get(User, user_id)).name


async def test_leaders_see_their_groups_and_what_is_below_only(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        teacher = await acting_as(session, school.teacher)
        manager = await acting_as(session, school.other_teacher)
        learner = await acting_as(session, school.learners[0])
        assert [n.group.name for n in await service.visible_groups(session, teacher.user)] == ["7B", "7B Science"]
        assert [n.group.name for n in await service.visible_groups(session, manager.user)] == ["8A"]
        assert await service.visible_groups(session, learner.user) == []
        with pytest.raises(GroupNotFound):
            await service.get_group(session, teacher.user, ids["7A"])
        with pytest.raises(GroupNotFound):
            await service.get_group(session, teacher.user, ids["Grade 7"])
        assert (await service.get_group(session, teacher.user, ids["7B Science"])).name == "7B Science"
        listed, total = await service.list_groups(session, teacher.user, per_page=100)
        assert total == 2 and {n.group.name for n in listed} == {"7B", "7B Science"}


async def test_a_leader_manages_members_of_their_groups_only(engine, school):
    ids = await build(engine, school)
    pupil = school.learners[2]  # in 7A
    async with tenant_session(engine, school.tenant) as session:
        teacher = await acting_as(session, school.teacher)
        # Structure: never.
        for attempt in (
            service.create_group(session, teacher, name="New", parent_id=ids["7B"]),
            service.rename_group(session, teacher, ids["7B"], "Renamed"),
            service.move_group(session, teacher, ids["7B Science"], None),
            service.archive_group(session, teacher, ids["7B"]),
            service.delete_group(session, teacher, ids["7B Science"]),
        ):
            with pytest.raises(GroupForbidden):
                await attempt
        # Leaders: never.
        with pytest.raises(GroupForbidden):
            await service.add_member(session, teacher, ids["7B"], school.other_teacher.id, "leader")
        with pytest.raises(GroupForbidden):
            await service.remove_member(session, teacher, ids["7B"], school.teacher.id)
        # A group they do not lead: not even seen.
        with pytest.raises(GroupNotFound):
            await service.add_member(session, teacher, ids["7A"], school.learners[0].id)
        with pytest.raises(GroupNotFound):
            await service.remove_member(session, teacher, ids["7A"], pupil.id)
        with pytest.raises(GroupNotFound):
            await service.move_member(session, teacher, ids["7B"], school.learners[0].id, ids["7A"])
        # Their own group and its subgroup: yes.
        await service.add_member(session, teacher, ids["7B Science"], school.learners[0].id)
        await service.add_member(session, teacher, ids["7B"], pupil.id)
        await service.move_member(session, teacher, ids["7B"], school.learners[1].id, ids["7B Science"])
    assert ("7A", "member", False, None) in await memberships(engine, school.tenant, pupil.id)
    assert [r[:3] for r in await memberships(engine, school.tenant, school.learners[1].id)] == [
        ("7B", "member", True), ("7B Science", "member", False)
    ]


async def test_a_leader_role_is_checked_not_only_the_membership(engine, school, make_user):
    """A leader membership without the manager/teacher role (roles changed since) grants nothing."""
    ids = await build(engine, school)
    from tajiconnect.domains.accounts.models import User

    async with tenant_session(engine, school.tenant) as session:
        user = await session.get(User, school.teacher.id)
        user.roles = ["parent"]
    async with tenant_session(engine, school.tenant) as session:
        former = await acting_as(session, school.teacher)
        assert await service.visible_groups(session, former.user) == []
        with pytest.raises(GroupNotFound):
            await service.add_member(session, former, ids["7B"], school.learners[2].id)


async def test_members_must_be_learners_and_leaders_staff(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        with pytest.raises(GroupConflict, match="not a learner"):
            await service.add_member(session, admin, ids["7A"], school.parent.id, "member")
        with pytest.raises(GroupConflict, match="not a learner"):
            await service.add_member(session, admin, ids["7A"], school.teacher.id, "member")
        with pytest.raises(GroupConflict, match="cannot lead"):
            await service.add_member(session, admin, ids["7A"], school.learners[0].id, "leader")
        with pytest.raises(GroupConflict, match="already in this group"):
            await service.add_member(session, admin, ids["7B"], school.learners[0].id)
        with pytest.raises(GroupNotFound):
            await service.add_member(session, admin, ids["7A"], uuid.uuid4())
        with pytest.raises(GroupError):
            await service.add_member(session, admin, ids["7A"], school.learners[0].id, "owner")
        # An admin may lead a group too.
        await service.add_member(session, admin, ids["7A"], school.admin.id, "leader")


async def test_a_person_may_belong_to_several_groups(engine, school):
    ids = await build(engine, school)
    learner = school.learners[0]
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        await service.add_member(session, admin, ids["7A"], learner.id)
        await service.add_member(session, admin, ids["8A"], learner.id)
    current = [m for m in await memberships(engine, school.tenant, learner.id) if not m[2]]
    assert sorted(m[0] for m in current) == ["7A", "7B", "8A"]


async def test_moving_a_member_keeps_the_history(engine, school):
    ids = await build(engine, school)
    learner = school.learners[0]
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        await service.move_member(session, admin, ids["7B"], learner.id, ids["8A"])
        with pytest.raises(GroupConflict):
            await service.move_member(session, admin, ids["8A"], learner.id, ids["8A"])
        with pytest.raises(GroupNotFound):
            await service.move_member(session, admin, ids["7B"], learner.id, ids["7A"])  # no longer in 7B
        await service.move_member(session, admin, ids["8A"], learner.id, ids["7A"])
        group = await service.get_group(session, admin.user, ids["8A"])
        history, total = await service.group_history(session, group)
        person, mine, mine_total = await service.person_history(session, admin.user, learner.id)
    assert await memberships(engine, school.tenant, learner.id) == [
        ("7B", "member", True, school.admin.email),
        ("8A", "member", True, school.admin.email),
        ("7A", "member", False, None),
    ]
    assert total == 2 and {(h.user.id, h.membership.ended_at is None) for h in history} == {
        (learner.id, False), (school.other_teacher.id, True)
    }
    assert mine_total == 3 and [h.group.name for h in mine] == ["7A", "8A", "7B"]  # latest change first
    assert person.id == learner.id
    actions = [e.action for e in await audit_actions(engine, school.tenant, "group.member.moved")]
    assert actions == ["group.member.moved", "group.member.moved"]


async def test_a_person_history_shows_only_visible_groups_to_a_leader(engine, school):
    ids = await build(engine, school)
    learner = school.learners[0]
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        await service.add_member(session, admin, ids["8A"], learner.id)
        teacher = await acting_as(session, school.teacher)
        _person, rows, total = await service.person_history(session, teacher.user, learner.id)
    assert total == 1 and [r.group.name for r in rows] == ["7B"]


async def test_moving_groups_refuses_cycles_and_keeps_depth(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        for target in ("7B", "7B Science"):
            with pytest.raises(GroupConflict, match="inside itself"):
                await service.move_group(session, admin, ids["7B"], ids[target])
        # 7B (with 7B Science) under 8A: depths 2 and 3.
        await service.move_group(session, admin, ids["7B"], ids["8A"])
    async with tenant_session(engine, school.tenant) as session:
        depths = dict((await session.execute(select(Group.name, Group.depth))).all())
        parent = await session.scalar(select(Group.parent_id).where(Group.id == ids["7B"]))
    assert (depths["7B"], depths["7B Science"], parent) == (2, 3, ids["8A"])
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        # Nothing may go below depth 3, nor a subtree end deeper.
        with pytest.raises(GroupConflict, match="levels"):
            await service.create_group(session, admin, name="Too deep", parent_id=ids["7B Science"])
        with pytest.raises(GroupConflict, match="levels"):
            await service.move_group(session, admin, ids["Grade 8"], ids["Grade 7"])  # 8A>7B>Science would be 4
        # Back to the top: the whole subtree moves up.
        await service.move_group(session, admin, ids["7B"], None)
    async with tenant_session(engine, school.tenant) as session:
        depths = dict((await session.execute(select(Group.name, Group.depth))).all())
    assert (depths["7B"], depths["7B Science"]) == (0, 1)
    moved = [e.details for e in await audit_actions(engine, school.tenant, "group.moved")]
    assert moved[-1]["after"] is None and moved[0]["after"] == str(ids["8A"])


async def test_moving_into_a_parent_with_the_same_name_is_refused(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        await service.create_group(session, admin, name="7A", parent_id=ids["Grade 8"])
        with pytest.raises(GroupConflict) as taken:
            await service.move_group(session, admin, ids["7A"], ids["Grade 8"])
        assert taken.value.field == "name"


async def test_concurrent_moves_cannot_build_a_cycle(engine, make_school):
    school = await make_school("grpr", learners=0)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        a = (await service.create_group(session, admin, name="A", kind="class")).id
        b = (await service.create_group(session, admin, name="B", kind="class")).id

    async def move(child, parent):
        async with tenant_session(engine, school.tenant) as session:
            acting = await acting_as(session, school.admin)
            await service.move_group(session, acting, child, parent)
            await asyncio.sleep(0.2)  # hold the lock while the other one waits

    results = await asyncio.gather(move(a, b), move(b, a), return_exceptions=True)
    assert sum(isinstance(r, GroupConflict) for r in results) == 1, results
    async with tenant_session(engine, school.tenant) as session:
        parents = dict((await session.execute(select(Group.name, Group.parent_id))).all())
    assert None in (parents["A"], parents["B"])


async def test_concurrent_moves_of_one_member_end_one_membership(engine, school):
    ids = await build(engine, school)
    learner = school.learners[0]  # in 7B

    async def move(to):
        async with tenant_session(engine, school.tenant) as session:
            acting = await acting_as(session, school.admin)
            await service.move_member(session, acting, ids["7B"], learner.id, ids[to])
            await asyncio.sleep(0.2)  # hold the row lock while the other one waits

    results = await asyncio.gather(move("7A"), move("8A"), return_exceptions=True)
    assert sum(isinstance(r, GroupNotFound) for r in results) == 1, results
    rows = await memberships(engine, school.tenant, learner.id)
    assert [r[0] for r in rows if not r[2]] in (["7A"], ["8A"]) and len(rows) == 2


async def test_archive_restore_and_delete(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        await service.archive_group(session, admin, ids["7B"])
        tree = [n.group.name for n in await service.visible_groups(session, admin.user)]
        everything = [n.group.name for n in await service.visible_groups(session, admin.user, include_archived=True)]
        assert "7B" not in tree and "7B Science" not in tree and "7B Science" in everything
        with pytest.raises(GroupConflict, match="archived"):
            await service.add_member(session, admin, ids["7B"], school.learners[2].id)
        with pytest.raises(GroupConflict, match="first"):
            await service.restore_group(session, admin, ids["7B Science"])
        await service.restore_group(session, admin, ids["7B"])
        assert (await session.get(Group, ids["7B Science"])).archived_at is None
        with pytest.raises(GroupConflict, match="subgroups"):
            await service.delete_group(session, admin, ids["7B"])
        await service.delete_group(session, admin, ids["7B Science"])
        await service.delete_group(session, admin, ids["7B"])
    assert await group_named(engine, school.tenant, "7B") is None
    actions = [e.action for e in await audit_actions(engine, school.tenant, "group.")]
    assert actions.count("group.deleted") == 2 and "group.archived" in actions and "group.restored" in actions


async def test_removing_a_member_ends_the_membership(engine, school):
    ids = await build(engine, school)
    learner = school.learners[0]
    async with tenant_session(engine, school.tenant) as session:
        teacher = await acting_as(session, school.teacher)
        await service.remove_member(session, teacher, ids["7B"], learner.id)
        with pytest.raises(GroupNotFound):
            await service.remove_member(session, teacher, ids["7B"], learner.id)
        group = await service.get_group(session, teacher.user, ids["7B"])
        rows, total = await service.list_members(session, group, role="member")
    assert total == 1 and rows[0].user.id == school.learners[1].id
    assert await memberships(engine, school.tenant, learner.id) == [("7B", "member", True, school.teacher.email)]
    [entry] = await audit_actions(engine, school.tenant, "group.member.removed")
    assert entry.subject_email == learner.email and entry.actor_email == school.teacher.email


async def test_members_list_is_searchable_and_paginated(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        group = await service.get_group(session, admin.user, ids["7B"])
        rows, total = await service.list_members(session, group, per_page=2)
        assert total == 3 and len(rows) == 2
        rows, total = await service.list_members(session, group, q="learner 1")
        assert total == 1 and rows[0].user.id == school.learners[1].id
        rows, total = await service.list_members(session, group, role="leader")
        assert total == 1 and rows[0].membership.role == "leader"
        found = await service.candidates(session, group, "learner")
        assert [u.id for u in found] == [school.learners[2].id]  # the others are in 7B already
        assert await service.candidates(session, group, "parent") == []
        staff = await service.candidates(session, group, "manager", role="leader")
        assert [u.id for u in staff] == [school.other_teacher.id]


async def test_find_or_create_by_name(engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        assert (await service.find_by_name(session, " 7b  science ")).id == ids["7B Science"]
        assert (await service.find_by_name(session, "grade 7")).id == ids["Grade 7"]  # a top-level grade
        assert await service.find_by_name(session, "9C") is None
        found, created = await service.find_or_create_by_name(session, "7a")
        assert (found.id, created) == (ids["7A"], False)
        made, created = await service.find_or_create_by_name(session, "9C")
        assert created and (made.kind, made.depth, made.parent_id) == ("class", 0, None)
        again, created = await service.find_or_create_by_name(session, "9c")
        assert (again.id, created) == (made.id, False)
        with pytest.raises(GroupError):
            await service.find_or_create_by_name(session, "  ")
        admin = await acting_as(session, school.admin)
        await service.archive_group(session, admin, made.id)
        assert await service.find_by_name(session, "9C") is None
        with pytest.raises(GroupConflict, match="archived"):
            await service.find_or_create_by_name(session, "9C")


async def test_concurrent_find_or_create_makes_one_group(engine, make_school):
    school = await make_school("grpf", learners=0)

    async def create():
        async with tenant_session(engine, school.tenant) as session:
            group, created = await service.find_or_create_by_name(session, "Form 4 North")
            await asyncio.sleep(0.1)
            return group.id, created

    results = await asyncio.gather(*(create() for _ in range(4)))
    assert len({gid for gid, _created in results}) == 1
    assert sum(created for _gid, created in results) == 1


async def test_add_members_bulk(engine, make_school, make_user):
    school = await make_school("grpb", learners=0)
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.service import new_user

    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            users = [
                new_user(email=f"bulk{i}@example.org", name=f"Bulk {i}", password=None, roles=["student"],
                         status="active")
                for i in range(2500)
            ]
            session.add_all(users)
            await session.flush()
            learner_ids = [u.id for u in users]
            deactivated = users[0]
            deactivated.status = "deactivated"
            group, _ = await service.find_or_create_by_name(session, "Bulk class")
            group_id = group.id
    teacher = school.teacher.id
    stranger = uuid.uuid4()
    async with tenant_session(engine, school.tenant) as session:
        result = await service.add_members_bulk(
            session, group_id, [*learner_ids, learner_ids[5], teacher, stranger], added_by_email="import@x.org"
        )
    assert len(result.added) == 2499 and result.already == []
    assert set(result.refused) == {learner_ids[0], teacher, stranger}
    async with tenant_session(engine, school.tenant) as session:
        again = await service.add_members_bulk(session, group_id, learner_ids[:10])
        leaders = await service.add_members_bulk(session, group_id, [teacher], role="leader")
        count = await session.scalar(
            select(func.count()).select_from(GroupMembership).where(GroupMembership.group_id == group_id)
        )
        by = await session.scalar(
            select(GroupMembership.added_by_email).where(GroupMembership.user_id == learner_ids[1])
        )
    assert again.added == [] and len(again.already) == 9 and again.refused == [learner_ids[0]]
    assert leaders.added == [teacher]
    assert count == 2500 and by == "import@x.org"
    with pytest.raises(GroupNotFound):
        async with tenant_session(engine, school.tenant) as session:
            await service.add_members_bulk(session, uuid.uuid4(), learner_ids[:1])


async def test_another_tenants_groups_and_people_do_not_exist_here(engine, school, make_school):
    ids = await build(engine, school)
    other = await make_school("grpo", learners=1)
    async with tenant_session(engine, other.tenant) as session:
        admin = await acting_as(session, other.admin)
        mine = await service.create_group(session, admin, name="Mine")
        for attempt in (
            service.get_group(session, admin.user, ids["7A"]),
            service.rename_group(session, admin, ids["7A"], "Hijacked"),
            service.delete_group(session, admin, ids["7A"]),
            service.add_member(session, admin, ids["7A"], other.learners[0].id),
            service.add_member(session, admin, mine.id, school.learners[0].id),
            service.move_group(session, admin, mine.id, ids["Grade 7"]),
            service.add_members_bulk(session, ids["7A"], [other.learners[0].id]),
        ):
            with pytest.raises(GroupNotFound):
                await attempt
        assert [n.group.name for n in await service.visible_groups(session, admin.user)] == ["Mine"]
        bulk = await service.add_members_bulk(session, mine.id, [school.learners[0].id])
        assert bulk.refused == [school.learners[0].id]
    assert (await group_named(engine, school.tenant, "7A")) is not None
