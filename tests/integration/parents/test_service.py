"""Parent links in the service: the rules, the bulk link of the roster import, and reading lists without N+1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.parents import service
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import audit_entries
from tests.integration.groups.conftest import tenant_session
from tests.integration.parents.conftest import add_group, add_link, links_of

ACTOR = Actor(email="importer@example.org", ip="192.0.2.1")


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block (besides the search path of each transaction)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "set_config('search_path'" not in statement:  # the start of each transaction, not a query
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_link_refuses_anything_but_a_parent_and_a_learner(engine, school, make_user):
    parent = await make_user(school.tenant, ["parent"])
    learner = await make_user(school.tenant, ["student"])
    teacher = await make_user(school.tenant, ["teacher"])
    both = await make_user(school.tenant, ["student", "parent"])
    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            users = {m.id: await session.get(User, m.id) for m in (parent, learner, teacher, both)}
            for p, lrn, field in ((teacher, learner, "parent_id"), (parent, teacher, "learner_id"),
                                  (both, both, "learner_id")):
                with pytest.raises(service.LinkError) as refused:
                    await service.link(session, users[p.id], users[lrn.id], source="admin", actor=ACTOR)
                assert refused.value.field == field
            assert await service.link(session, users[parent.id], users[learner.id], source="admin", actor=ACTOR)
            # Linking again changes nothing and says so.
            assert not await service.link(session, users[parent.id], users[learner.id], source="code", actor=ACTOR)
            assert await service.unlink(session, users[parent.id], users[both.id], actor=ACTOR) is False
    assert await links_of(engine, school.tenant, parent.id) == {learner.id}
    created = [e for e in await audit_entries(engine, school.tenant, "parent_link.created")
               if e.subject_email == parent.email]
    assert len(created) == 1 and created[0].target_id == str(learner.id) and created[0].details["source"] == "admin"


async def test_children_come_with_their_current_groups_and_teachers_in_a_few_queries(engine, school, make_user):
    parent = await make_user(school.tenant, ["parent"], name="Parent P")
    teacher = await make_user(school.tenant, ["teacher"], name="Grace Teacher")
    gone = await make_user(school.tenant, ["teacher"], name="Gone Teacher", status="deactivated")
    kids = [await make_user(school.tenant, ["student"], name=f"Kid {c}") for c in "BCA"]
    stranger = await make_user(school.tenant, ["student"], name="Not Mine")
    suffix = uuid.uuid4().hex[:6]
    math = await add_group(engine, school.tenant, f"4A {suffix}", leaders=[teacher.id, gone.id],
                           members=[k.id for k in kids] + [stranger.id])
    await add_group(engine, school.tenant, f"Old class {suffix}", members=[], ended=[kids[0].id])
    grade = await add_group(engine, school.tenant, f"Grade 4 {suffix}", kind="grade", members=[kids[1].id])
    for kid in kids:
        await add_link(engine, school.tenant, parent.id, kid.id)
    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            with statements(engine) as seen:
                children, total = await service.children_of(session, parent.id)
            one_page_queries = len(seen)
            with statements(engine) as seen:
                first, _ = await service.children_of(session, parent.id, per_page=1)
            assert len(seen) == one_page_queries  # the same few queries for 1 child or 3: no query per child
            parents, _ = await service.parents_of(session, kids[0].id)
            none = await service.child_of(session, parent.id, stranger.id)
    assert one_page_queries <= 5  # count, page, groups, leaders, teachers
    assert total == 3 and [c.name for c in children] == ["Kid A", "Kid B", "Kid C"]
    by_name = {c.name: c for c in children}
    assert [(g.id, g.kind) for g in by_name["Kid B"].groups] == [(math, "class")]  # the class left is gone
    assert {g.id for g in by_name["Kid C"].groups} == {math, grade}
    assert [t.name for t in by_name["Kid A"].teachers] == ["Grace Teacher"]  # a deactivated leader is not shown
    assert [c.name for c in first] == ["Kid A"]
    assert [p.id for p in parents] == [parent.id]
    assert none is None
    async with tenant_session(engine, school.tenant) as session:  # a child leaves the school
        (await session.get(User, kids[2].id)).status = "deactivated"
    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            mine, mine_total = await service.children_of(session, parent.id, active_only=True)
            assert mine_total == 2 and [c.name for c in mine] == ["Kid B", "Kid C"]  # Kid A left
            assert await service.child_of(session, parent.id, kids[2].id, active_only=True) is None
            assert (await service.child_of(session, parent.id, kids[2].id)).status == "deactivated"  # the admin's


async def test_link_candidates_are_the_right_role_and_not_linked_yet(engine, school, make_user):
    tag = uuid.uuid4().hex[:6]
    parent = await make_user(school.tenant, ["parent"], name=f"Cand parent {tag}")
    linked = await make_user(school.tenant, ["student"], name=f"Cand linked {tag}")
    free = await make_user(school.tenant, ["student"], name=f"Cand free {tag}")
    await make_user(school.tenant, ["teacher"], name=f"Cand teacher {tag}")
    await make_user(school.tenant, ["student"], name=f"Cand gone {tag}", status="deactivated")
    await add_link(engine, school.tenant, parent.id, linked.id)
    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            me = await session.get(User, parent.id)
            learners = await service.link_candidates(session, me, want="learner", q=f"cand % {tag}")
            assert learners == []  # "%" matches itself, not anything
            learners = await service.link_candidates(session, me, want="learner", q=tag)
            kid = await session.get(User, free.id)
            parents = await service.link_candidates(session, kid, want="parent", q=tag.upper())
    assert [u.id for u in learners] == [free.id]
    assert [u.id for u in parents] == [parent.id]


async def test_a_link_lives_only_in_its_organization(engine, school, other_school, make_user):
    parent = await make_user(school.tenant, ["parent"])
    learner = await make_user(school.tenant, ["student"])
    await add_link(engine, school.tenant, parent.id, learner.id)
    with tenant_context(other_school.tenant):
        async with session_scope(engine) as session:
            assert await service.children_of(session, parent.id) == ([], 0)
            assert await session.scalar(select(ParentLink).where(ParentLink.parent_id == parent.id)) is None
            # Nor does the other organization see the learner, so no link can be made to them from there.
            assert await session.get(User, learner.id) is None
            assert await service.parents_of(session, learner.id) == ([], 0)
