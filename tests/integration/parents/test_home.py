"""The parent's home (``/`` for a parent-only member), a child's page and ``/api/v1/children``: a parent sees their
linked children only, released grades only; everyone else gets nothing (403 for other roles, 404 for a child that
is not theirs, in this organization or another)."""

from __future__ import annotations

import uuid

from tests.integration.conftest import bearer_for, problem_of, statements
from tests.integration.parents.conftest import add_link, build_family


async def test_the_parent_home_shows_each_linked_child(signed_in, school, make_user, engine):
    f = await build_family(engine, school.tenant, make_user)
    async with signed_in(f.parent) as client:
        home = await client.get("/")
    assert home.status_code == 200
    text = home.text
    assert f"Child {f.tag}" in text and f"Class {f.tag}" in text
    # courses and progress
    assert f.course_title in text and 'value="40"' in text
    # released grades and feedback, never a draft
    assert f.released_title in text and "8 / 10" in text and f"Well argued {f.tag}" in text
    assert f"SECRET draft {f.tag}" not in text
    # upcoming and overdue work
    assert f.due_title in text and f.overdue_title in text and "Overdue since" in text
    # certificates, streak, recent activity
    assert f.certificate_title in text and "3 days in a row" in text and f"Intro {f.tag}" in text
    assert "30 minutes of learning in the last 7 days" in text
    # the child's teachers (course staff and class leader), each with a message link
    assert f"Teacher {f.tag}" in text and f"Leader {f.tag}" in text
    assert f'href="/messages/new?to={f.teacher.id}"' in text and f'href="/messages/new?to={f.leader.id}"' in text
    # nothing of the classmate who is not theirs
    assert f"Other {f.tag}" not in text and f.other_title not in text and f"Not yours {f.tag}" not in text


async def test_a_childs_page_shows_the_details_and_only_for_their_parent(signed_in, school, other_school, make_user,
                                                                          engine):
    f = await build_family(engine, school.tenant, make_user)
    stranger = await make_user(school.tenant, ["parent"])
    abroad = await make_user(other_school.tenant, ["parent"])
    async with signed_in(f.parent) as client:
        page = await client.get(f"/children/{f.child.id}")
        assert page.status_code == 200
        assert f.released_title in page.text and f"Well argued {f.tag}" in page.text
        assert f"SECRET draft {f.tag}" not in page.text and f.due_title in page.text
        for other in (f.other_child.id, f.teacher.id, uuid.uuid4(), "x"):
            assert (await client.get(f"/children/{other}")).status_code == 404
        assert (await client.get(f"/children/{f.child.id}?page=0")).status_code == 400
        for bad in ("/?page=99999999999999999999", "/?page=x"):  # the home's page, as every list's: a 400
            assert (await client.get(bad)).status_code == 400
        assert (await client.get("/children/%00")).status_code == 400
    async with signed_in(stranger) as client:  # an unlinked parent: an empty home, and nothing of the child
        home = await client.get("/")
        assert home.status_code == 200 and "No learner is linked to you yet" in home.text
        assert f"Child {f.tag}" not in home.text
        assert (await client.get(f"/children/{f.child.id}")).status_code == 404
    async with signed_in(abroad) as client:  # another organization's parent: the id does not exist there
        assert (await client.get(f"/children/{f.child.id}")).status_code == 404


async def test_other_roles_keep_their_own_home(signed_in, school, make_user, engine):
    f = await build_family(engine, school.tenant, make_user)
    for roles, marker in ((["student"], "My learning"), (["parent", "student"], "My learning")):
        member = await make_user(school.tenant, roles)
        if "parent" in roles:
            await add_link(engine, school.tenant, member.id, f.child.id)
        async with signed_in(member) as client:
            home = await client.get("/")
            assert home.status_code == 200 and marker in home.text and f.released_title not in home.text
    async with signed_in(f.teacher) as client:
        assert f"Well argued {f.tag}" not in (await client.get("/")).text
        assert (await client.get(f"/children/{f.child.id}")).status_code == 403


async def test_the_home_costs_the_same_whatever_the_number_of_children(signed_in, school, make_user, engine):
    one = await build_family(engine, school.tenant, make_user)
    many = await build_family(engine, school.tenant, make_user)
    for _ in range(2):
        more = await build_family(engine, school.tenant, make_user)
        await add_link(engine, school.tenant, many.parent.id, more.child.id)
    async with signed_in(one.parent) as client:
        single = await statements(client, "/")
    async with signed_in(many.parent) as client:
        page = await client.get("/")
        assert page.text.count('class="child-overview"') == 3
        several = await statements(client, "/")
    assert several == single, (single, several)


async def test_the_children_api(client_for, school, other_school, make_user, engine):
    f = await build_family(engine, school.tenant, make_user)
    async with client_for(school.tenant) as client:
        headers = await bearer_for(client, f.parent)
        listed = await client.get("/api/v1/children", headers=headers)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert body["total"] == 1 and [c["child"]["name"] for c in body["items"]] == [f"Child {f.tag}"]
        summary = body["items"][0]["summary"]
        assert summary["released_grades"] == 1 and summary["overdue_work"] == 1 and summary["due_work"] == 1
        assert summary["certificates"] == 1 and summary["streak_days"] == 3 and summary["courses"] == 2
        one = await client.get(f"/api/v1/children/{f.child.id}", headers=headers)
        assert one.status_code == 200
        details = one.json()
        assert [(g["title"], g["score"], g["comment"]) for g in details["grades"]] == [
            (f.released_title, 8.0, f"Well argued {f.tag}")]
        assert {w["title"]: w["overdue"] for w in details["work"]} == {f.due_title: False, f.overdue_title: True}
        assert {t["name"] for t in details["teachers"]} == {f"Teacher {f.tag}", f"Leader {f.tag}"}
        assert f"/messages/new?to={f.teacher.id}" in {t["message_url"] for t in details["teachers"]}
        assert "SECRET" not in one.text and "Not yours" not in one.text
        for other in (f.other_child.id, uuid.uuid4(), "not-an-id"):
            problem_of(await client.get(f"/api/v1/children/{other}", headers=headers), 404)
        assert (await client.get("/api/v1/children?page=0", headers=headers)).status_code == 400
        assert (await client.get("/api/v1/children?per_page=101", headers=headers)).status_code == 400
        for bad in ("/api/v1/children?page=99999999999999999999", "/api/v1/children/%00",
                    "/api/v1/children/%ff%fe", f"/api/v1/children/{'9' * 5000}"):
            answer = await client.get(bad, headers=headers)
            assert 400 <= answer.status_code < 500, (bad, answer.status_code)
        # other roles: refused; an unlinked parent: an empty list and a 404
        for roles in (["student"], ["teacher"], ["manager"], ["org_admin"]):
            member = await make_user(school.tenant, roles)
            problem_of(await client.get("/api/v1/children", headers=await bearer_for(client, member)), 403)
        stranger = await make_user(school.tenant, ["parent"])
        theirs = await bearer_for(client, stranger)
        assert (await client.get("/api/v1/children", headers=theirs)).json()["total"] == 0
        problem_of(await client.get(f"/api/v1/children/{f.child.id}", headers=theirs), 404)
        assert (await client.get("/api/v1/children")).status_code == 401
    abroad = await make_user(other_school.tenant, ["parent"])
    async with client_for(other_school.tenant) as client:
        headers = await bearer_for(client, abroad)
        problem_of(await client.get(f"/api/v1/children/{f.child.id}", headers=headers), 404)
        assert (await client.get("/api/v1/children", headers=headers)).json()["total"] == 0
