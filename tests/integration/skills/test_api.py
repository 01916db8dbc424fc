"""The skills API: the taxonomy (admins change it), my profile and declarations, a course's skills; bad input;
another organization."""

from __future__ import annotations

import datetime
import uuid

from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.skills.tasks import backfill_skill_target
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import audit_entries, bearer_for, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course, enroll

API = "/api/v1/skills"


async def test_the_taxonomy_starts_from_the_starter_set_and_admins_extend_it(new_org, make_user, client_for, engine):
    org = await new_org("skt")
    learner = await make_user(org.tenant, ["student"])
    name = f"Cocoa grading {uuid.uuid4().hex[:6]}"
    async with client_for(org.tenant) as client:
        admin, me = await bearer_for(client, org.admin), await bearer_for(client, learner)
        first = await client.get(API + "/?per_page=5", headers=me)
        assert first.status_code == 200 and first.json()["total"] >= 280 and len(first.json()["items"]) == 5
        assert all(s["starter"] for s in first.json()["items"])
        found = (await client.get(API + "/?q=plumb", headers=me)).json()["items"]
        assert found and all("plumb" in (s["name"] + s["category"]).lower() for s in found)
        problem_of(await client.post(API + "/", json={"name": name, "category": "Agriculture"},
                                     headers=me), 403)
        made = await client.post(API + "/", json={"name": name, "category": "Agriculture",
                                                  "description": "Sorting cocoa beans by quality."}, headers=admin)
        assert made.status_code == 201 and made.json()["starter"] is False
        skill_id = made.json()["id"]
        again = await client.post(API + "/", json={"name": name.upper(), "category": "Other"}, headers=admin)
        assert problem_of(again, 409)["field"] == "name"
        for bad in ({"name": " ", "category": "x"}, {"name": "x"}, {"name": "x" * 121, "category": "x"},
                    {"name": "x", "category": "y", "other": 1}):
            problem_of(await client.post(API + "/", json=bad, headers=admin), 400)
        archived = await client.patch(f"{API}/{skill_id}", json={"archived": True}, headers=admin)
        assert archived.status_code == 200 and archived.json()["archived"] is True
        assert skill_id not in {s["id"] for s in (await client.get(API + f"/?q={name}", headers=me)).json()[
            "items"]}
        assert skill_id in {s["id"] for s in (await client.get(API + f"/?q={name}", headers=admin)).json()[
            "items"]}
        problem_of(await client.patch(f"{API}/{uuid.uuid4()}", json={"archived": True}, headers=admin), 404)
        problem_of(await client.patch(f"{API}/not-an-id", json={"archived": True}, headers=admin), 404)
    assert [e.action for e in await audit_entries(engine, org.tenant, "skill.created")] == ["skill.created"]
    assert len(await audit_entries(engine, org.tenant, "skill.updated")) == 1


async def test_my_profile_shows_evidence_and_what_i_declared(new_org, make_user, client_for, engine):
    org = await new_org("skp")
    teacher, learner = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["student"])
    course = await build_course(engine, org.tenant, kinds=("text",), owner_id=teacher.id, title="Solar basics")
    await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        me, staff = await bearer_for(client, learner), await bearer_for(client, teacher)
        skills = (await client.get(API + "/?per_page=3", headers=me)).json()["items"]
        path = f"/api/v1/courses/{course.id}/skills"
        problem_of(await client.put(path, json={"skills": [{"skill_id": skills[0]["id"], "level": 2}]},
                                    headers=me), 404)  # a learner does not edit the course
        body = {"skills": [{"skill_id": skills[0]["id"], "level": 2}, {"skill_id": skills[1]["id"], "level": 3}]}
        declared = await client.put(path, json=body, headers=staff)
        assert declared.status_code == 200, declared.text
        assert [(i["skill_id"], i["level"]) for i in declared.json()["items"]] == [
            (skills[1]["id"], 3), (skills[0]["id"], 2)]
        assert (await client.get(path, headers=me)).json() == declared.json()  # the learner reads them
        twice = {"skills": [{"skill_id": skills[0]["id"], "level": 2}, {"skill_id": skills[0]["id"], "level": 3}]}
        assert problem_of(await client.put(path, json=twice, headers=staff), 409)["field"] == "skill_id"
        unknown = {"skills": [{"skill_id": str(uuid.uuid4()), "level": 2}]}
        assert problem_of(await client.put(path, json=unknown, headers=staff), 409)["field"] == "skill_id"
        problem_of(await client.put(path, json={"skills": [{"skill_id": skills[0]["id"], "level": 6}]},
                                    headers=staff), 400)

        async with tenant_session(engine, org.tenant) as session:
            await _record_completion(session, learner.id, datetime.datetime.now(datetime.UTC), course_id=course.id)
        from tajiconnect.domains.skills.tasks import record_skill_evidence

        with tenant_context(org.tenant):
            await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)])
        mine = await client.put(f"{API}/me/{skills[2]['id']}", json={"level": 4}, headers=me)
        assert mine.status_code == 200 and mine.json()["declared"] == 4
        assert (await client.put(f"{API}/me/{skills[2]['id']}", json={"level": 1}, headers=me)).json()[
            "declared"] == 1
        profile = (await client.get(API + "/me", headers=me)).json()
        assert profile["total"] == 3
        levels = [(i["skill_id"], i["level"], i["declared"]) for i in profile["items"]]
        assert levels == [(skills[1]["id"], 3, None), (skills[0]["id"], 2, None), (skills[2]["id"], None, 1)]
        evidence = profile["items"][0]["evidence"]
        assert [(e["source"], e["title"], e["level"]) for e in evidence] == [("course", "Solar basics", 3)]
        assert (await client.delete(f"{API}/me/{skills[2]['id']}", headers=me)).status_code == 204
        problem_of(await client.delete(f"{API}/me/{skills[2]['id']}", headers=me), 404)
        problem_of(await client.put(f"{API}/me/{skills[2]['id']}", json={"level": 0}, headers=me), 400)
        assert (await client.get(API + "/me", headers=staff)).json()["total"] == 0  # the teacher has none


async def test_another_organization_reaches_nothing(new_org, make_user, client_for, engine):
    org, other = await new_org("sko"), await new_org("skq")
    learner = await make_user(org.tenant, ["student"])
    course = await build_course(engine, org.tenant, kinds=("text",))
    async with client_for(org.tenant) as client:
        skill_id = (await client.get(API + "/?per_page=1", headers=await bearer_for(client, learner))).json()[
            "items"][0]["id"]
    async with client_for(other.tenant) as client:
        admin = await bearer_for(client, other.admin)
        problem_of(await client.patch(f"{API}/{skill_id}", json={"archived": True}, headers=admin), 404)
        problem_of(await client.get(f"/api/v1/courses/{course.id}/skills", headers=admin), 404)
        problem_of(await client.put(f"/api/v1/courses/{course.id}/skills",
                                    json={"skills": [{"skill_id": skill_id, "level": 1}]}, headers=admin), 404)
        problem_of(await client.put(f"{API}/me/{skill_id}", json={"level": 2}, headers=admin), 404)
    with tenant_context(other.tenant):
        assert await backfill_skill_target({"engine": engine}, target_id=str(uuid.uuid4())) == {"recorded": 0}


async def test_bad_queries_are_400(new_org, client_for):
    org = await new_org("skbq")
    async with client_for(org.tenant) as client:
        me = await bearer_for(client, org.admin)
        for query in ("q=" + "x" * 101, "category=" + "x" * 81, "page=0", "per_page=101", "q=%00"):
            problem_of(await client.get(f"{API}/?{query}", headers=me), 400)


async def test_renaming_to_a_taken_name_and_an_archived_skill_in_a_course(new_org, make_user, client_for, engine):
    org = await new_org("skrn")
    teacher = await make_user(org.tenant, ["teacher"])
    course = await build_course(engine, org.tenant, kinds=("text",), owner_id=teacher.id)
    async with client_for(org.tenant) as client:
        admin, staff = await bearer_for(client, org.admin), await bearer_for(client, teacher)
        a, b, c = (await client.get(API + "/?per_page=3", headers=admin)).json()["items"]
        taken = await client.patch(f"{API}/{a['id']}", json={"name": b["name"].upper()}, headers=admin)
        assert problem_of(taken, 409)["field"] == "name"
        path = f"/api/v1/courses/{course.id}/skills"
        both = {"skills": [{"skill_id": a["id"], "level": 2}, {"skill_id": b["id"], "level": 3}]}
        assert (await client.put(path, json=both, headers=staff)).status_code == 200
        await client.patch(f"{API}/{a['id']}", json={"archived": True}, headers=admin)
        kept = {"skills": [{"skill_id": a["id"], "level": 2}, {"skill_id": c["id"], "level": 1}]}
        changed = await client.put(path, json=kept, headers=staff)  # the archived one may stay
        assert changed.status_code == 200, changed.text
        assert {i["skill_id"] for i in changed.json()["items"]} == {a["id"], c["id"]}
        refused = await client.put(path, json={"skills": [{"skill_id": c["id"], "level": 1}, {
            "skill_id": (await client.patch(f"{API}/{b['id']}", json={"archived": True}, headers=admin)).json()[
                "id"], "level": 2}]}, headers=staff)  # b was dropped, then archived: not added again
        assert problem_of(refused, 409)["field"] == "skill_id"
        mine = await client.put(f"{API}/me/{c['id']}", json={"level": 2}, headers=staff)
        assert mine.json()["declared"] == 2 and mine.json()["level"] is None
