"""The API: a parent's children (admins: anyone's; a parent: their own), links by admins, pairing codes."""

from __future__ import annotations

import datetime
import re
import uuid

from sqlalchemy import func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.groups.models import Group
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.web.idempotency import IdempotentRequest
from tests.integration.conftest import audit_entries, bearer_for, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.parents.conftest import add_group, add_link, links_of

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


async def test_a_parent_reads_their_own_children_and_nobody_elses(browser, school, make_user, engine):
    tag = uuid.uuid4().hex[:6]
    parent = await make_user(school.tenant, ["parent"])
    other_parent = await make_user(school.tenant, ["parent"])
    teacher = await make_user(school.tenant, ["teacher"], name=f"Teacher {tag}")
    kids = [await make_user(school.tenant, ["student"], name=f"Kid {tag} {i}") for i in range(3)]
    group = await add_group(engine, school.tenant, f"Class {tag}", leaders=[teacher.id], members=[kids[0].id])
    for kid in kids[:2]:
        await add_link(engine, school.tenant, parent.id, kid.id)
    await add_link(engine, school.tenant, other_parent.id, kids[2].id)
    async with browser(school.tenant) as client:
        mine = await bearer_for(client, parent)
        page = await client.get(f"/api/v1/parents/{parent.id}/children?per_page=1", headers=mine)
        assert page.status_code == 200
        body = page.json()
        assert (body["total"], body["page"], body["per_page"]) == (2, 1, 1)
        [first] = body["items"]
        assert first["id"] == str(kids[0].id) and first["source"] == "admin"
        assert first["groups"] == [{"id": str(group), "name": f"Class {tag}", "kind": "class",
                                    "leaders": [{"id": str(teacher.id), "name": f"Teacher {tag}"}]}]
        assert first["teachers"] == [{"id": str(teacher.id), "name": f"Teacher {tag}"}]
        second = await client.get(f"/api/v1/parents/{parent.id}/children?page=2&per_page=1", headers=mine)
        assert [c["id"] for c in second.json()["items"]] == [str(kids[1].id)]
        one = await client.get(f"/api/v1/parents/{parent.id}/children/{kids[1].id}", headers=mine)
        assert one.status_code == 200 and one.json()["name"] == f"Kid {tag} 1"
        # Another parent's learner, through one's own id or through theirs: refused.
        problem_of(await client.get(f"/api/v1/parents/{parent.id}/children/{kids[2].id}", headers=mine), 404)
        problem_of(await client.get(f"/api/v1/parents/{other_parent.id}/children", headers=mine), 403)
        problem_of(await client.get(f"/api/v1/parents/{other_parent.id}/children/{kids[2].id}", headers=mine), 403)
        # Neither a teacher nor a learner reads anyone's children; without a token: 401.
        for member in (teacher, kids[0]):
            headers = await bearer_for(client, member)
            problem_of(await client.get(f"/api/v1/parents/{parent.id}/children", headers=headers), 403)
        problem_of(await client.get(f"/api/v1/parents/{parent.id}/children"), 401)
        # An admin reads anyone's.
        admin = await bearer_for(client, school.admin)
        theirs = await client.get(f"/api/v1/parents/{other_parent.id}/children", headers=admin)
        assert [c["id"] for c in theirs.json()["items"]] == [str(kids[2].id)]
        problem_of(await client.get(f"/api/v1/parents/{uuid.uuid4()}/children", headers=admin), 404)
        problem_of(await client.get("/api/v1/parents/not-an-id/children", headers=admin), 404)


async def test_admins_link_and_unlink_others_may_not(browser, school, make_user, engine):
    parent = await make_user(school.tenant, ["parent"])
    kid = await make_user(school.tenant, ["student"])
    teacher = await make_user(school.tenant, ["teacher"])
    async with browser(school.tenant) as client:
        admin = await bearer_for(client, school.admin)
        path = f"/api/v1/parents/{parent.id}/children"
        made = await client.post(path, json={"learner_id": str(kid.id)}, headers=admin)
        assert made.status_code == 201 and made.json()["id"] == str(kid.id)
        again = await client.post(path, json={"learner_id": str(kid.id)}, headers=admin)
        assert again.status_code == 200 and again.json()["source"] == "admin"
        wrong_role = await client.post(path, json={"learner_id": str(teacher.id)}, headers=admin)
        assert problem_of(wrong_role, 409)["field"] == "learner_id"
        not_parent = await client.post(f"/api/v1/parents/{teacher.id}/children", json={"learner_id": str(kid.id)},
                                       headers=admin)
        assert problem_of(not_parent, 409)["field"] == "parent_id"
        problem_of(await client.post(path, json={"learner_id": str(uuid.uuid4())}, headers=admin), 404)
        problem_of(await client.post(path, json={"learner_id": "nope"}, headers=admin), 400)
        problem_of(await client.post(path, json={"learner_id": str(kid.id), "extra": 1}, headers=admin), 400)
        for member in (parent, teacher, kid):
            headers = await bearer_for(client, member)
            problem_of(await client.post(path, json={"learner_id": str(kid.id)}, headers=headers), 403)
            problem_of(await client.delete(f"{path}/{kid.id}", headers=headers), 403)
        gone = await client.delete(f"{path}/{kid.id}", headers=admin)
        assert gone.status_code == 204
        problem_of(await client.delete(f"{path}/{kid.id}", headers=admin), 404)
    assert await links_of(engine, school.tenant, parent.id) == set()
    actions = [e.action for e in await audit_entries(engine, school.tenant)
               if e.subject_email == parent.email and e.action.startswith("parent_link.")]
    assert actions == ["parent_link.created", "parent_link.removed"]


async def test_another_organizations_ids_are_404(browser, school, other_school, make_user, engine):
    parent = await make_user(school.tenant, ["parent"])
    kid = await make_user(school.tenant, ["student"])
    await add_link(engine, school.tenant, parent.id, kid.id)
    here_parent = await make_user(other_school.tenant, ["parent"])
    async with browser(other_school.tenant) as client:
        admin = await bearer_for(client, other_school.admin)
        problem_of(await client.get(f"/api/v1/parents/{parent.id}/children", headers=admin), 404)
        problem_of(await client.get(f"/api/v1/parents/{parent.id}/children/{kid.id}", headers=admin), 404)
        problem_of(await client.delete(f"/api/v1/parents/{parent.id}/children/{kid.id}", headers=admin), 404)
        linked = await client.post(f"/api/v1/parents/{here_parent.id}/children", json={"learner_id": str(kid.id)},
                                   headers=admin)
        problem_of(linked, 404)
        code = await client.post("/api/v1/pairing-codes", json={"learner_id": str(kid.id)}, headers=admin)
        problem_of(code, 404)
    assert await links_of(engine, school.tenant, parent.id) == {kid.id}
    assert await links_of(engine, other_school.tenant, here_parent.id) == set()


async def test_who_may_make_pairing_codes_for_whom(browser, school, make_user, engine):
    teacher = await make_user(school.tenant, ["teacher"])
    mine = await make_user(school.tenant, ["student"])
    other = await make_user(school.tenant, ["student"])
    parent = await make_user(school.tenant, ["parent"])
    await add_group(engine, school.tenant, f"Class {uuid.uuid4().hex[:6]}", leaders=[teacher.id], members=[mine.id])
    last_year = await add_group(engine, school.tenant, f"Old {uuid.uuid4().hex[:6]}", leaders=[teacher.id],
                                members=[other.id])
    async with tenant_session(engine, school.tenant) as session:  # an archived class is nobody's class
        (await session.get(Group, last_year)).archived_at = datetime.datetime.now(datetime.UTC)
    async with browser(school.tenant) as client:
        learner = await bearer_for(client, mine)
        own = await client.post("/api/v1/pairing-codes", json={}, headers=learner)
        assert own.status_code == 201 and own.headers["cache-control"] == "no-store"
        assert CODE.match(own.json()["code"]) and own.json()["learner_id"] == str(mine.id)
        assert (await client.post("/api/v1/pairing-codes", json={"learner_id": str(mine.id)},
                                  headers=learner)).status_code == 201
        problem_of(await client.post("/api/v1/pairing-codes", json={"learner_id": str(other.id)}, headers=learner),
                   404)
        lead = await bearer_for(client, teacher)
        assert (await client.post("/api/v1/pairing-codes", json={"learner_id": str(mine.id)},
                                  headers=lead)).status_code == 201
        problem_of(await client.post("/api/v1/pairing-codes", json={"learner_id": str(other.id)}, headers=lead), 404)
        problem_of(await client.post("/api/v1/pairing-codes", json={}, headers=lead), 409)  # not a learner
        problem_of(await client.post("/api/v1/pairing-codes", json={}, headers=await bearer_for(client, parent)), 403)
        admin = await bearer_for(client, school.admin)
        assert (await client.post("/api/v1/pairing-codes", json={"learner_id": str(other.id)},
                                  headers=admin)).status_code == 201
        problem_of(await client.post("/api/v1/pairing-codes", json={"learner_id": str(parent.id)}, headers=admin), 409)
        problem_of(await client.post("/api/v1/pairing-codes", json={"learner_id": 5}, headers=admin), 400)
        problem_of(await client.post("/api/v1/pairing-codes", json={}), 401)


async def test_a_new_code_is_never_stored_readable_for_replay(browser, school, make_user, engine):
    kid = await make_user(school.tenant, ["student"])
    async with browser(school.tenant) as client:
        headers = {**await bearer_for(client, kid), "Idempotency-Key": f"code-{uuid.uuid4()}"}
        first = await client.post("/api/v1/pairing-codes", json={}, headers=headers)
        second = await client.post("/api/v1/pairing-codes", json={}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["code"] != second.json()["code"]  # not a replay: a new code each time
    with tenant_context(school.tenant):
        async with session_scope(engine) as session:
            stored = await session.scalar(
                select(func.count()).select_from(IdempotentRequest).where(IdempotentRequest.user_id == kid.id)
            )
    assert stored == 0


async def test_a_parent_redeems_a_code_through_the_api(browser, school, make_user, engine):
    kid = await make_user(school.tenant, ["student"], name="Api Kid")
    parent = await make_user(school.tenant, ["parent"])
    teacher = await make_user(school.tenant, ["teacher"])
    async with browser(school.tenant) as client:
        code = (await client.post("/api/v1/pairing-codes", json={}, headers=await bearer_for(client, kid))).json()
        problem_of(await client.post("/api/v1/pairing-codes/redeem", json={"code": code["code"]},
                                     headers=await bearer_for(client, teacher)), 403)
        problem_of(await client.post("/api/v1/pairing-codes/redeem", json={"code": ""},
                                     headers=await bearer_for(client, parent)), 400)
        redeemed = await client.post("/api/v1/pairing-codes/redeem", json={"code": code["code"]},
                                     headers=await bearer_for(client, parent))
        assert redeemed.status_code == 200
        assert redeemed.json()["created"] is True and redeemed.json()["child"]["name"] == "Api Kid"
        assert redeemed.json()["child"]["source"] == "code"
        listed = await client.get(f"/api/v1/parents/{parent.id}/children", headers=await bearer_for(client, parent))
        assert [c["id"] for c in listed.json()["items"]] == [str(kid.id)]
