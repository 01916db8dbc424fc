"""The /groups pages over HTTP: who gets in, the tree, forms and their errors, members, moves and history."""

from __future__ import annotations

import re
import uuid

import pytest

from tajiconnect.domains.groups import service
from tests.integration.conftest import post_form, sign_in
from tests.integration.groups.conftest import School, acting_as, audit_actions, group_named, memberships, tenant_session


async def build(engine, school: School) -> dict[str, uuid.UUID]:
    """Grade 7 > (7A, 7B); Grade 8 > 8A. The teacher leads 7B (learners 0 and 1); learner 2 is in 7A."""
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        g7 = await service.create_group(session, admin, name="Grade 7")
        g8 = await service.create_group(session, admin, name="Grade 8")
        a7 = await service.create_group(session, admin, name="7A", parent_id=g7.id)
        b7 = await service.create_group(session, admin, name="7B", parent_id=g7.id)
        a8 = await service.create_group(session, admin, name="8A", parent_id=g8.id)
        await service.add_member(session, admin, b7.id, school.teacher.id, "leader")
        for learner in school.learners[:2]:
            await service.add_member(session, admin, b7.id, learner.id)
        await service.add_member(session, admin, a7.id, school.learners[2].id)
        return {g.name: g.id for g in (g7, g8, a7, b7, a8)}


def tree_names(html: str) -> list[str]:
    return re.findall(r'<li id="group-[0-9a-f-]+">\s*<a href="/groups/[0-9a-f-]+">([^<]+)</a>', html)


def member_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="member-([0-9a-f-]+)">', html)


def field_error(html: str, name: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="e-{name}">([^<]*)</p>', html)
    return match.group(1) if match else None


@pytest.mark.parametrize("roles", [["student"], ["parent"], ["employer"]])
async def test_people_who_lead_nothing_by_role_get_403(browser, school, make_user, roles):
    member = await make_user(school.tenant, roles)
    async with browser(school.tenant) as client:
        await sign_in(client, member.email)
        for path in ("/groups", "/groups/new", f"/groups/{uuid.uuid4()}"):
            assert (await client.get(path)).status_code == 403, path
        home = await client.get("/account/profile")
        assert 'href="/groups"' not in home.text


async def test_anonymous_visitors_are_sent_to_sign_in(browser, school):
    async with browser(school.tenant) as client:
        response = await client.get("/groups")
        assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in?next=/groups"


async def test_the_admin_sees_the_whole_tree_with_counts(signed_in, engine, school):
    ids = await build(engine, school)
    async with signed_in(school.admin) as client:
        page = await client.get("/groups")
    assert page.status_code == 200
    assert "<h1>Grade levels and classes</h1>" in page.text
    assert tree_names(page.text) == ["Grade 7", "7A", "7B", "Grade 8", "8A"]
    assert 'href="/groups">Classes</a>' in page.text  # the navigation names them by the tenant's kind
    item = page.text[page.text.index(f'id="group-{ids["7B"]}"'):]
    assert "2 learners" in item[:600] and "Led by Teacher" in item[:600]
    assert 'href="/groups/new"' in page.text


async def test_a_company_says_departments_and_teams(signed_in, make_school, engine):
    company = await make_school("grpw", kind="company", learners=0)
    async with signed_in(company.admin) as client:
        page = await client.get("/groups")
        form = await client.get("/groups/new")
    assert "<h1>Departments and teams</h1>" in page.text and 'href="/groups">Teams</a>' in page.text
    assert "There are no departments or teams yet." in page.text
    assert '<option value="department" selected>Department</option>' in form.text
    assert '<option value="team" >Team</option>' in form.text


async def test_a_teacher_sees_only_the_groups_they_lead(signed_in, engine, school):
    ids = await build(engine, school)
    async with signed_in(school.teacher) as client:
        page = await client.get("/groups")
        assert tree_names(page.text) == ["7B"]
        assert 'href="/groups/new"' not in page.text and 'href="/groups">Classes</a>' in page.text
        own = await client.get(f"/groups/{ids['7B']}")
        assert own.status_code == 200 and len(member_ids(own.text)) == 2
        assert "/edit" not in own.text and "/archive" not in own.text
        assert f'href="/groups/{ids["Grade 7"]}"' not in own.text  # not even in the breadcrumb
        for name in ("7A", "Grade 7", "8A"):
            assert (await client.get(f"/groups/{ids[name]}")).status_code == 404, name
            assert (await client.get(f"/groups/{ids[name]}/history")).status_code == 404, name
        # Structure: refused even on their own group.
        for path in ("/groups/new", f"/groups/{ids['7B']}/edit", f"/groups/{ids['7B']}/delete"):
            assert (await client.get(path)).status_code == 403, path
        refused = [
            await post_form(client, "/groups/new", {"name": "Mine", "parent_id": str(ids["7B"])}),
            await post_form(client, f"/groups/{ids['7B']}/edit", {"name": "Renamed", "parent_id": ""}),
            await post_form(client, f"/groups/{ids['7B']}/archive"),
            await post_form(client, f"/groups/{ids['7B']}/delete"),
            await post_form(client, f"/groups/{ids['7B']}/members", {"user_id": str(school.other_teacher.id),
                                                                      "role": "leader"}),
            await post_form(client, f"/groups/{ids['7B']}/members/{school.teacher.id}/remove"),
        ]
        assert [r.status_code for r in refused] == [403] * 6
        # Members of a group they do not lead: not found.
        other = await post_form(client, f"/groups/{ids['7A']}/members", {"user_id": str(school.learners[0].id)})
        assert other.status_code == 404
        gone = await post_form(client, f"/groups/{ids['7A']}/members/{school.learners[2].id}/remove")
        assert gone.status_code == 404
    assert (await group_named(engine, school.tenant, "7B")).archived_at is None
    assert await group_named(engine, school.tenant, "Mine") is None
    assert ("7A", "member", False, None) in await memberships(engine, school.tenant, school.learners[2].id)


async def test_a_teacher_adds_removes_and_moves_learners_of_their_class(signed_in, engine, school):
    ids = await build(engine, school)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        science = await service.create_group(session, admin, name="7B Science", parent_id=ids["7B"])
    pupil, first = school.learners[2], school.learners[0]
    async with signed_in(school.teacher) as client:
        found = await client.get(f"/groups/{ids['7B']}", params={"find": "learner"},
                                 headers={"HX-Request": "true", "HX-Target": "candidates"})
        assert "<html" not in found.text and f'value="{pupil.id}"' in found.text
        assert f'value="{first.id}"' not in found.text  # already in 7B
        added = await post_form(client, f"/groups/{ids['7B']}/members", {"user_id": str(pupil.id), "role": "member"})
        assert added.status_code == 303 and added.headers["location"] == f"/groups/{ids['7B']}?notice=member_added"
        page = await client.get(added.headers["location"])
        assert "The learner was added." in page.text and str(pupil.id) in member_ids(page.text)
        again = await post_form(client, f"/groups/{ids['7B']}/members", {"user_id": str(pupil.id)})
        assert again.status_code == 409 and "is already in this group" in again.text
        move_page = await client.get(f"/groups/{ids['7B']}/members/{first.id}/move")
        assert move_page.status_code == 200
        assert f'<option value="{science.id}"' in move_page.text and f'value="{ids["7A"]}"' not in move_page.text
        hidden = await post_form(client, f"/groups/{ids['7B']}/members/{first.id}/move",
                                 {"to_group_id": str(ids["7A"])})
        assert hidden.status_code == 422 and field_error(hidden.text, "to_group_id") == "No such group."
        moved = await post_form(client, f"/groups/{ids['7B']}/members/{first.id}/move",
                                {"to_group_id": str(science.id)})
        assert moved.status_code == 303 and moved.headers["location"] == f"/groups/{science.id}?notice=member_moved"
        removed = await post_form(client, f"/groups/{ids['7B']}/members/{pupil.id}/remove")
        assert removed.status_code == 303
        history = await client.get(f"/groups/{ids['7B']}/history")
        person = await client.get(f"/groups/people/{first.id}")
    assert history.status_code == 200 and "4 memberships" in history.text  # the leader and 3 learners
    assert person.status_code == 200 and "2 memberships" in person.text
    assert person.text.index("7B Science") < person.text.index(">7B<")  # latest first
    assert await memberships(engine, school.tenant, first.id) == [
        ("7B", "member", True, school.teacher.email), ("7B Science", "member", False, None)
    ]
    actions = [e.action for e in await audit_actions(engine, school.tenant, "group.member.")]
    assert actions[-3:] == ["group.member.added", "group.member.moved", "group.member.removed"]


async def test_admin_creates_groups_and_forms_show_errors(signed_in, engine, school):
    async with signed_in(school.admin) as client:
        blank = await post_form(client, "/groups/new", {"name": "  ", "kind": "grade"})
        assert blank.status_code == 422 and field_error(blank.text, "name") == "Enter a name."
        grade = await post_form(client, "/groups/new", {"name": "Form 1", "kind": "grade", "description": "First"})
        assert grade.status_code == 303
        grade_id = grade.headers["location"].split("/")[2].split("?")[0]
        form = await client.get(f"/groups/new?parent={grade_id}")
        assert '<option value="class" selected>Class</option>' in form.text
        assert f'<option value="{grade_id}" selected>' in form.text
        made = await post_form(client, "/groups/new", {"name": "1 North", "kind": "class", "parent_id": grade_id})
        assert made.status_code == 303
        taken = await post_form(client, "/groups/new", {"name": "1 NORTH", "kind": "class", "parent_id": grade_id})
        assert taken.status_code == 409 and field_error(taken.text, "name")
        assert 'value="1 NORTH"' in taken.text  # what was typed is kept
        wrong = await post_form(client, "/groups/new", {"name": "X", "kind": "team"})
        assert wrong.status_code == 409 and field_error(wrong.text, "kind")
        unknown = await post_form(client, "/groups/new", {"name": "X", "parent_id": str(uuid.uuid4())})
        assert unknown.status_code == 422 and field_error(unknown.text, "parent_id")
        page = await client.get(f"/groups/{grade_id}")
        assert "1 North" in page.text and "First" in page.text
    grade_row = await group_named(engine, school.tenant, "Form 1")
    north = await group_named(engine, school.tenant, "1 North")
    assert (grade_row.kind, north.kind, north.parent_id, north.depth) == ("grade", "class", grade_row.id, 1)
    created = [e for e in await audit_actions(engine, school.tenant, "group.created")]
    assert [e.details["group"] for e in created] == ["Form 1", "1 North"]
    assert created[0].actor_email == school.admin.email


async def test_admin_edits_moves_archives_and_deletes(signed_in, engine, school):
    ids = await build(engine, school)
    async with signed_in(school.admin) as client:
        edit = await client.get(f"/groups/{ids['Grade 7']}/edit")
        # Neither the group itself nor a group inside it is offered as its parent.
        assert f'<option value="{ids["7A"]}"' not in edit.text and f'<option value="{ids["Grade 8"]}"' in edit.text
        cycle = await post_form(client, f"/groups/{ids['Grade 7']}/edit",
                                {"name": "Grade 7", "parent_id": str(ids["7A"])})
        assert cycle.status_code == 409 and "inside itself" in field_error(cycle.text, "parent_id")
        inside = await post_form(client, f"/groups/{ids['Grade 7']}/edit", {"name": "Grade 7", "parent_id": "x"})
        assert inside.status_code == 422
        moved = await post_form(client, f"/groups/{ids['7B']}/edit",
                                {"name": "7 Blue", "description": "", "parent_id": str(ids["Grade 8"])})
        assert moved.status_code == 303
        assert (await client.get("/groups")).text.count("7 Blue") == 1
        refused = await post_form(client, f"/groups/{ids['Grade 8']}/delete")
        assert refused.status_code == 409 and "subgroups" in refused.text
        archived = await post_form(client, f"/groups/{ids['Grade 8']}/archive")
        assert archived.status_code == 303
        tree = await client.get("/groups")
        assert "Grade 8" not in tree_names(tree.text) and "7 Blue" not in tree_names(tree.text)
        everything = await client.get("/groups?archived=1")
        assert {"Grade 8", "7 Blue", "8A"} <= set(tree_names(everything.text))
        blocked = await post_form(client, f"/groups/{ids['7B']}/members", {"user_id": str(school.learners[2].id)})
        assert blocked.status_code == 409 and "archived" in blocked.text
        assert (await post_form(client, f"/groups/{ids['Grade 8']}/restore")).status_code == 303
        assert (await post_form(client, f"/groups/{ids['8A']}/delete")).status_code == 303
        gone = await client.get(f"/groups/{ids['8A']}")
        assert gone.status_code == 404
    blue = await group_named(engine, school.tenant, "7 Blue")
    assert (blue.parent_id, blue.depth, blue.archived_at) == (ids["Grade 8"], 1, None)
    actions = [e.action for e in await audit_actions(engine, school.tenant)]
    for action in ("group.renamed", "group.moved", "group.archived", "group.restored", "group.deleted"):
        assert action in actions, action


async def test_admin_adds_leaders_and_learners_checked_by_role(signed_in, engine, school):
    ids = await build(engine, school)
    async with signed_in(school.admin) as client:
        leaders = await client.get(f"/groups/{ids['7A']}", params={"find": "manager", "add_role": "leader"})
        assert f'value="{school.other_teacher.id}"' in leaders.text
        learners = await client.get(f"/groups/{ids['7A']}", params={"find": "manager"})
        assert f'value="{school.other_teacher.id}"' not in learners.text
        lead = await post_form(client, f"/groups/{ids['7A']}/members",
                               {"user_id": str(school.other_teacher.id), "role": "leader"})
        assert lead.status_code == 303 and lead.headers["location"].endswith("notice=leader_added")
        parent = await post_form(client, f"/groups/{ids['7A']}/members", {"user_id": str(school.parent.id)})
        assert parent.status_code == 409 and "is not a learner" in parent.text
        nobody = await post_form(client, f"/groups/{ids['7A']}/members", {"user_id": "not-an-id"})
        assert nobody.status_code == 422
        page = await client.get(f"/groups/{ids['7A']}")
    assert 'id="group-leaders"' in page.text and school.other_teacher.email in page.text


async def test_members_are_searchable_and_paginated_with_htmx(signed_in, engine, make_school):
    school = await make_school("grpp", learners=30)
    async with tenant_session(engine, school.tenant) as session:
        admin = await acting_as(session, school.admin)
        group = await service.create_group(session, admin, name="Big class", kind="class")
        await service.add_members_bulk(session, group.id, [m.id for m in school.learners])
    async with signed_in(school.admin) as client:
        first = await client.get(f"/groups/{group.id}")
        second = await client.get(f"/groups/{group.id}?page=2", headers={"HX-Request": "true",
                                                                          "HX-Target": "members-results"})
        search = await client.get(f"/groups/{group.id}?q=learner 2", headers={"HX-Request": "true",
                                                                               "HX-Target": "members-results"})
        bad = await client.get(f"/groups/{group.id}?page=0")
    assert "30 learners" in first.text and len(member_ids(first.text)) == 25 and "Page 1 of 2" in first.text
    assert "<html" not in second.text and len(member_ids(second.text)) == 5
    assert set(member_ids(first.text)).isdisjoint(member_ids(second.text))
    assert "<html" not in search.text and "11 learners" in search.text  # Learner 2, 20..29
    assert bad.status_code == 400


async def test_another_tenants_groups_are_404_and_its_people_cannot_be_added(signed_in, engine, school, make_school):
    ids = await build(engine, school)
    other = await make_school("grpx", learners=1)
    async with tenant_session(engine, other.tenant) as session:
        admin = await acting_as(session, other.admin)
        mine = await service.create_group(session, admin, name="Ours", kind="class")
    victim = ids["7B"]
    async with signed_in(other.admin) as client:
        for path in (f"/groups/{victim}", f"/groups/{victim}/edit", f"/groups/{victim}/history",
                     f"/groups/{victim}/delete", f"/groups/{victim}/members/{school.learners[0].id}/move",
                     f"/groups/people/{school.learners[0].id}"):
            assert (await client.get(path)).status_code == 404, path
        for path, data in (
            (f"/groups/{victim}/edit", {"name": "Hijacked"}),
            (f"/groups/{victim}/archive", {}),
            (f"/groups/{victim}/delete", {}),
            (f"/groups/{victim}/members", {"user_id": str(other.learners[0].id)}),
            (f"/groups/{victim}/members/{school.learners[0].id}/remove", {}),
            (f"/groups/{victim}/members/{school.learners[0].id}/move", {"to_group_id": str(mine.id)}),
        ):
            assert (await post_form(client, path, data)).status_code == 404, path
        foreign = await post_form(client, f"/groups/{mine.id}/members", {"user_id": str(school.learners[2].id)})
        assert foreign.status_code == 422 and "No such person" in foreign.text
        into = await post_form(client, "/groups/new", {"name": "Inside", "parent_id": str(victim)})
        assert into.status_code == 422 and field_error(into.text, "parent_id")
        tree = await client.get("/groups")
        assert tree_names(tree.text) == ["Ours"]
        search = await client.get(f"/groups/{mine.id}", params={"find": school.learners[0].email})
        assert str(school.learners[0].id) not in search.text
    seven_b = await group_named(engine, school.tenant, "7B")
    assert seven_b.name == "7B" and seven_b.archived_at is None
    assert [m[2] for m in await memberships(engine, school.tenant, school.learners[0].id)] == [False]
