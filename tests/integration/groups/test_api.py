"""``/api/v1/teams``: CRUD, members, filters and pages, problem bodies, leaders' limits, other tenants' ids."""

from __future__ import annotations

import uuid

from tests.integration.conftest import bearer_for, problem_of
from tests.integration.groups.conftest import audit_actions, memberships


async def test_admin_crud_of_teams(browser, engine, school):
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        grade = await client.post("/api/v1/teams", headers=admin, json={"name": "Grade 5", "external_id": "G5"})
        assert grade.status_code == 201, grade.text
        grade = grade.json()
        assert (grade["kind"], grade["depth"], grade["parent_id"], grade["member_count"]) == ("grade", 0, None, 0)
        klass = await client.post("/api/v1/teams", headers=admin, json={"name": "5 East", "parent_id": grade["id"]})
        assert klass.status_code == 201 and klass.json()["kind"] == "class" and klass.json()["depth"] == 1
        klass = klass.json()
        west = (await client.post("/api/v1/teams", headers=admin,
                                  json={"name": "5 West", "parent_id": grade["id"], "kind": "class"})).json()

        body = problem_of(await client.post("/api/v1/teams", headers=admin,
                                            json={"name": "5 east", "parent_id": grade["id"]}), 409)
        assert body["field"] == "name"
        assert problem_of(await client.post("/api/v1/teams", headers=admin,
                                            json={"name": "Sales", "kind": "department"}), 409)["field"] == "kind"
        assert problem_of(await client.post("/api/v1/teams", headers=admin,
                                            json={"name": "X", "parent_id": str(uuid.uuid4())}), 404)
        assert problem_of(await client.post("/api/v1/teams", headers=admin,
                                            json={"name": "Y", "external_id": "G5"}), 409)["field"] == "external_id"
        for bad in ({"name": ""}, {"name": "   "}, {"name": "x" * 121}, {"name": "Z", "colour": "red"},
                    {"name": "Z", "kind": "club"}, {"name": "Z", "parent_id": "nope"}):
            assert (await client.post("/api/v1/teams", headers=admin, json=bad)).status_code == 400, bad

        one = await client.get(f"/api/v1/teams/{klass['id']}", headers=admin)
        assert one.status_code == 200 and one.json() == klass

        listing = (await client.get("/api/v1/teams", headers=admin)).json()
        assert [t["name"] for t in listing["items"]] == ["5 East", "5 West", "Grade 5"]
        assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 25
        children = (await client.get("/api/v1/teams", headers=admin, params={"parent_id": grade["id"]})).json()
        assert [t["name"] for t in children["items"]] == ["5 East", "5 West"]
        top = (await client.get("/api/v1/teams", headers=admin, params={"top_level": "true"})).json()
        assert [t["name"] for t in top["items"]] == ["Grade 5"]
        grades = (await client.get("/api/v1/teams", headers=admin, params={"kind": "grade"})).json()
        assert grades["total"] == 1
        found = (await client.get("/api/v1/teams", headers=admin, params={"q": "WEST"})).json()
        assert [t["id"] for t in found["items"]] == [west["id"]]
        paged = (await client.get("/api/v1/teams", headers=admin, params={"per_page": 2, "page": 2})).json()
        assert [t["name"] for t in paged["items"]] == ["Grade 5"] and paged["total"] == 3

        renamed = await client.patch(f"/api/v1/teams/{klass['id']}", headers=admin,
                                     json={"name": "5 Blue", "description": "Mornings"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "5 Blue"
        assert renamed.json()["description"] == "Mornings"
        to_top = await client.patch(f"/api/v1/teams/{klass['id']}", headers=admin, json={"parent_id": None})
        assert to_top.json()["parent_id"] is None and to_top.json()["depth"] == 0
        back = await client.patch(f"/api/v1/teams/{klass['id']}", headers=admin, json={"parent_id": grade["id"]})
        assert back.json()["parent_id"] == grade["id"] and back.json()["depth"] == 1
        cycle = await client.patch(f"/api/v1/teams/{grade['id']}", headers=admin, json={"parent_id": klass["id"]})
        assert problem_of(cycle, 409)["field"] == "parent_id"
        archived = await client.patch(f"/api/v1/teams/{grade['id']}", headers=admin, json={"status": "archived"})
        assert archived.json()["status"] == "archived" and archived.json()["archived_at"]
        assert (await client.get("/api/v1/teams", headers=admin)).json()["total"] == 0
        assert (await client.get("/api/v1/teams", headers=admin,
                                 params={"include_archived": "true"})).json()["total"] == 3
        restored = await client.patch(f"/api/v1/teams/{grade['id']}", headers=admin, json={"status": "active"})
        assert restored.json()["status"] == "active" and restored.json()["archived_at"] is None
        unchanged = await client.patch(f"/api/v1/teams/{grade['id']}", headers=admin, json={})
        assert unchanged.status_code == 200 and unchanged.json()["name"] == "Grade 5"
        for bad in ({"status": 0}, {"status": "gone"}, {"archived": True}, {"name": ""}, {"parent_id": "x"}):
            response = await client.patch(f"/api/v1/teams/{grade['id']}", headers=admin, json=bad)
            assert problem_of(response, 400)["errors"], bad

        refused = problem_of(await client.delete(f"/api/v1/teams/{grade['id']}", headers=admin), 409)
        assert "subgroups" in refused["detail"]
        for team in (klass, west, grade):
            assert (await client.delete(f"/api/v1/teams/{team['id']}", headers=admin)).status_code == 204
        problem_of(await client.get(f"/api/v1/teams/{grade['id']}", headers=admin), 404)
        problem_of(await client.get("/api/v1/teams/not-a-uuid", headers=admin), 404)
    actions = [e.action for e in await audit_actions(engine, school.tenant)]
    assert actions.count("group.created") == 3 and actions.count("group.deleted") == 3
    assert {"group.renamed", "group.updated", "group.moved", "group.archived", "group.restored"} <= set(actions)


async def test_members_api(browser, engine, school):
    learner, teacher = school.learners[0], school.teacher
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        team = (await client.post("/api/v1/teams", headers=admin, json={"name": "6C", "kind": "class"})).json()
        url = f"/api/v1/teams/{team['id']}/members"
        added = await client.post(url, headers=admin, json={"user_id": str(learner.id)})
        assert added.status_code == 201, added.text
        assert added.json()["role"] == "member" and added.json()["added_by"] == school.admin.email
        lead = await client.post(url, headers=admin, json={"user_id": str(teacher.id), "role": "leader"})
        assert lead.status_code == 201 and lead.json()["roles"] == ["teacher"]
        for user_id, role in ((learner.id, "member"), (school.parent.id, "member"), (learner.id, "leader")):
            body = problem_of(await client.post(url, headers=admin, json={"user_id": str(user_id), "role": role}), 409)
            assert body["field"] == "user_id"
        problem_of(await client.post(url, headers=admin, json={"user_id": str(uuid.uuid4())}), 404)
        boss = await client.post(url, headers=admin, json={"user_id": str(learner.id), "role": "boss"})
        assert boss.status_code == 400

        everyone = (await client.get(url, headers=admin)).json()
        assert [m["role"] for m in everyone["items"]] == ["member", "leader"]  # Learner 0 before Teacher ...
        assert everyone["total"] == 2
        leaders = (await client.get(url, headers=admin, params={"role": "leader"})).json()
        assert [m["user_id"] for m in leaders["items"]] == [str(teacher.id)]
        named = (await client.get(url, headers=admin, params={"q": learner.email})).json()
        assert named["total"] == 1
        team_now = (await client.get(f"/api/v1/teams/{team['id']}", headers=admin)).json()
        assert (team_now["member_count"], team_now["leader_count"]) == (1, 1)

        assert (await client.delete(f"{url}/{learner.id}", headers=admin)).status_code == 204
        problem_of(await client.delete(f"{url}/{learner.id}", headers=admin), 404)
        problem_of(await client.delete(f"{url}/not-an-id", headers=admin), 404)
        assert (await client.get(url, headers=admin)).json()["total"] == 1
    assert await memberships(engine, school.tenant, learner.id) == [("6C", "member", True, school.admin.email)]


async def test_a_leader_sees_and_manages_members_of_their_team_only(browser, school):
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        mine = (await client.post("/api/v1/teams", headers=admin, json={"name": "Mine", "kind": "class"})).json()
        below = (await client.post("/api/v1/teams", headers=admin,
                                   json={"name": "Below", "parent_id": mine["id"]})).json()
        other = (await client.post("/api/v1/teams", headers=admin, json={"name": "Other", "kind": "class"})).json()
        await client.post(f"/api/v1/teams/{mine['id']}/members", headers=admin,
                          json={"user_id": str(school.teacher.id), "role": "leader"})

        teacher = await bearer_for(client, school.teacher)
        listing = (await client.get("/api/v1/teams", headers=teacher)).json()
        assert sorted(t["name"] for t in listing["items"]) == ["Below", "Mine"]
        problem_of(await client.get(f"/api/v1/teams/{other['id']}", headers=teacher), 404)
        problem_of(await client.get(f"/api/v1/teams/{other['id']}/members", headers=teacher), 404)
        problem_of(await client.post(f"/api/v1/teams/{other['id']}/members", headers=teacher,
                                     json={"user_id": str(school.learners[0].id)}), 404)
        problem_of(await client.post("/api/v1/teams", headers=teacher, json={"name": "New", "kind": "class"}), 403)
        problem_of(await client.patch(f"/api/v1/teams/{mine['id']}", headers=teacher, json={"name": "Renamed"}), 403)
        problem_of(await client.delete(f"/api/v1/teams/{below['id']}", headers=teacher), 403)
        problem_of(await client.post(f"/api/v1/teams/{mine['id']}/members", headers=teacher,
                                     json={"user_id": str(school.other_teacher.id), "role": "leader"}), 403)
        problem_of(await client.delete(f"/api/v1/teams/{mine['id']}/members/{school.teacher.id}", headers=teacher),
                   403)
        for team in (mine, below):
            added = await client.post(f"/api/v1/teams/{team['id']}/members", headers=teacher,
                                      json={"user_id": str(school.learners[1].id)})
            assert added.status_code == 201, added.text
        assert (await client.delete(f"/api/v1/teams/{below['id']}/members/{school.learners[1].id}",
                                    headers=teacher)).status_code == 204
        name = (await client.get(f"/api/v1/teams/{mine['id']}", headers=admin)).json()["name"]
        assert name == "Mine"


async def test_learners_and_anonymous_callers_are_refused(browser, school):
    async with browser(school.tenant) as client:
        problem_of(await client.get("/api/v1/teams"), 401)
        learner = await bearer_for(client, school.learners[0])
        problem_of(await client.get("/api/v1/teams", headers=learner), 403)
        problem_of(await client.post("/api/v1/teams", headers=learner, json={"name": "Mine"}), 403)


async def test_limits_are_400_problems(browser, school):
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        for query in ("page=0", "page=10001", "per_page=0", "per_page=101", "q=" + "x" * 101, "kind=club",
                      "parent_id=nope", "include_archived=maybe"):
            response = await client.get(f"/api/v1/teams?{query}", headers=admin)
            assert problem_of(response, 400)["errors"], query
        team = (await client.post("/api/v1/teams", headers=admin, json={"name": "Lim", "kind": "class"})).json()
        for query in ("role=owner", "per_page=101"):
            problem_of(await client.get(f"/api/v1/teams/{team['id']}/members?{query}", headers=admin), 400)


async def test_another_tenants_ids_are_404_and_its_people_cannot_be_added(browser, school, make_school):
    other = await make_school("grpa", learners=1)
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        victim = (await client.post("/api/v1/teams", headers=admin, json={"name": "Victim", "kind": "class"})).json()
        await client.post(f"/api/v1/teams/{victim['id']}/members", headers=admin,
                          json={"user_id": str(school.learners[0].id)})
    async with browser(other.tenant) as client:
        intruder = await bearer_for(client, other.admin)
        ours = (await client.post("/api/v1/teams", headers=intruder, json={"name": "Ours", "kind": "class"})).json()
        base = f"/api/v1/teams/{victim['id']}"
        for response in (
            await client.get(base, headers=intruder),
            await client.patch(base, headers=intruder, json={"name": "Hijacked"}),
            await client.delete(base, headers=intruder),
            await client.get(f"{base}/members", headers=intruder),
            await client.post(f"{base}/members", headers=intruder, json={"user_id": str(other.learners[0].id)}),
            await client.delete(f"{base}/members/{school.learners[0].id}", headers=intruder),
            await client.post(f"/api/v1/teams/{ours['id']}/members", headers=intruder,
                              json={"user_id": str(school.learners[0].id)}),
            await client.post("/api/v1/teams", headers=intruder, json={"name": "In", "parent_id": victim["id"]}),
            await client.patch(f"/api/v1/teams/{ours['id']}", headers=intruder, json={"parent_id": victim["id"]}),
        ):
            problem_of(response, 404)
        listing = (await client.get("/api/v1/teams", headers=intruder)).json()
        assert [t["name"] for t in listing["items"]] == ["Ours"]
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        still = (await client.get(f"/api/v1/teams/{victim['id']}", headers=admin)).json()
        assert (still["name"], still["member_count"]) == ("Victim", 1)
