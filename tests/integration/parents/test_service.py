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
from tests.integration.conftest import audit_entries, load_user
from tests.integration.parents.conftest import add_group, add_link, links_of

ACTOR = Actor(email="importer@example.org", ip="192.0.2.1")
NAMES = {"New.Dad@bulk.example": "Dad"}  # names are matched whatever the case of the email


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


async def test_bulk_link_invites_new_parents_adds_the_role_and_is_idempotent(engine, new_org, make_user):
    org = await new_org("parb", kind="school")
    learners = [await make_user(org.tenant, ["student"], email=f"kid{i}@bulk.example") for i in range(3)]
    teacher = await make_user(org.tenant, ["teacher"], email="teacher.parent@bulk.example")
    already = await make_user(org.tenant, ["parent"], email="mum@bulk.example")
    await add_link(engine, org.tenant, already.id, learners[0].id)
    ghost = uuid.uuid4()  # no such learner (an id of another organization looks just the same)
    pairs = [
        (learners[0].id, "mum@bulk.example"),  # already linked
        (learners[1].id, " Mum@Bulk.example "),  # same parent, written differently
        (learners[1].id, "new.dad@bulk.example"),  # a new member
        (learners[2].id, "new.dad@bulk.example"),
        (learners[2].id, "NEW.DAD@bulk.example"),  # a repeat of the line above
        (learners[2].id, "teacher.parent@bulk.example"),  # gets the parent role
        (learners[0].id, "not an email"),
        (ghost, "someone@bulk.example"),
        (learners[1].id, "kid1@bulk.example"),  # the learner's own email
        (teacher.id, "mum@bulk.example"),  # not a learner
    ]
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            preview = await service.link_by_email_bulk(session, pairs, actor=ACTOR, names=NAMES, dry_run=True)
        async with session_scope(engine) as session:
            result = await service.link_by_email_bulk(session, pairs, actor=ACTOR, names=NAMES)
            invited = [(u.email, u.name, u.status, u.roles, u.password_hash) for u in result.invited]
    assert invited == [("new.dad@bulk.example", "Dad", "invited", ["parent"], None)]
    assert [u.email for u in result.roles_added] == ["teacher.parent@bulk.example"]
    assert result.created == 4 and result.unchanged == 1
    assert [e.index for e in result.errors] == [6, 7, 8, 9]
    assert "valid email" in result.errors[0].message
    # The dry run foresaw the same and wrote nothing.
    assert (preview.created, preview.unchanged, [e.index for e in preview.errors]) == (4, 1, [6, 7, 8, 9])
    assert [u.email for u in preview.invited] == ["new.dad@bulk.example"]
    assert (await load_user(engine, org.tenant, teacher.id)).roles == ["teacher", "parent"]
    dad = result.invited[0].id
    assert await links_of(engine, org.tenant, dad) == {learners[1].id, learners[2].id}
    assert await links_of(engine, org.tenant, already.id) == {learners[0].id, learners[1].id}
    assert await links_of(engine, org.tenant, teacher.id) == {learners[2].id}
    [summary] = await audit_entries(engine, org.tenant, "parent_link.bulk_linked")
    expected = {"linked": 4, "unchanged": 1, "invited": 1, "roles_added": 1, "skipped": 4}
    assert summary.details.items() >= expected.items()
    # The same file again: nothing new, no second member, no second audit entry.
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            again = await service.link_by_email_bulk(session, pairs, actor=ACTOR)
            dads = (await session.scalars(select(User).where(User.email == "new.dad@bulk.example"))).all()
    assert (again.created, again.unchanged, again.invited, again.roles_added) == (0, 5, [], [])
    assert len(dads) == 1
    assert len(await audit_entries(engine, org.tenant, "parent_link.bulk_linked")) == 1


async def test_bulk_link_of_thousands_runs_a_constant_number_of_statements(engine, new_org):
    from tajiconnect.domains.accounts.service import new_user

    org = await new_org("parn", kind="school")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            kids = [new_user(email=f"kid{i}@many.example", name=f"Kid {i}", password=None, roles=["student"])
                    for i in range(3000)]
            session.add_all(kids)
            await session.flush()
            ids = [k.id for k in kids]
    # 3,000 learners, 1,500 new parents (two children each), and the admin as the parent of ten (gets the role).
    pairs = [(kid, f"parent{i // 2}@many.example") for i, kid in enumerate(ids)]
    pairs += [(kid, org.admin.email) for kid in ids[:10]]
    with tenant_context(org.tenant), statements(engine) as seen:
        async with session_scope(engine) as session:
            result = await service.link_by_email_bulk(session, pairs, actor=ACTOR)
    assert result.created == 3010 and len(result.invited) == 1500 and len(result.roles_added) == 1
    # Reads, the inserts of members in batches, two INSERTs of links, the audit entry: never one per pair.
    assert len(seen) < 40, len(seen)
    with tenant_context(org.tenant), statements(engine) as seen_again:
        async with session_scope(engine) as session:
            again = await service.link_by_email_bulk(session, pairs, actor=ACTOR)
    assert again.created == 0 and again.unchanged == 3010 and again.invited == []
    assert len(seen_again) < 10, len(seen_again)


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
    assert one_page_queries <= 4  # count, page, groups, leaders
    assert total == 3 and [c.name for c in children] == ["Kid A", "Kid B", "Kid C"]
    by_name = {c.name: c for c in children}
    assert [(g.id, g.kind) for g in by_name["Kid B"].groups] == [(math, "class")]  # the class left is gone
    assert {g.id for g in by_name["Kid C"].groups} == {math, grade}
    assert [t.name for t in by_name["Kid A"].teachers] == ["Grace Teacher"]  # a deactivated leader is not shown
    assert [c.name for c in first] == ["Kid A"]
    assert [p.id for p in parents] == [parent.id]
    assert none is None


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
            # The bulk link does not see another organization's learner either.
            result = await service.link_by_email_bulk(session, [(learner.id, "x@other.example")], actor=ACTOR)
    assert result.created == 0 and [e.index for e in result.errors] == [0]
