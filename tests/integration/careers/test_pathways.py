"""Career pathways: the starter roles in the organization's language, what admins change (pages and API, audited),
bad input, archived roles, another organization's ids."""

from __future__ import annotations

import datetime
import re
import uuid

from sqlalchemy import func, select

from tajiconnect.domains.careers.models import CareerPathway, PathwaySkill
from tajiconnect.domains.careers.pathways import ensure_starter, starter_requirements, starter_roles
from tajiconnect.tenancy.context import tenant_context
from tests.integration.careers.conftest import a_pathway
from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.skills.test_evidence import a_skill


async def test_the_starter_roles_load_once_in_the_organizations_language(engine, new_org):
    org = await new_org("pwsw", locale="sw")
    with tenant_context(org.tenant):
        async with tenant_session(engine, org.tenant) as session:
            assert await ensure_starter(session) is True
            assert await ensure_starter(session) is False
            names = set((await session.scalars(select(CareerPathway.name))).all())
            pairs = await session.scalar(select(func.count()).select_from(PathwaySkill))
    assert names == {r.name for r in starter_roles("sw")} and "Fundi umeme" in names
    assert pairs == len(starter_requirements())


async def test_admins_shape_the_roles_through_the_api(engine, new_org, make_user, signed_in):
    org, other = await new_org("pwapi"), await new_org("pwapo")
    learner = await make_user(org.tenant, ["student"])
    sheets = await a_skill(engine, org.tenant, "Sheets")
    foreign = await a_skill(engine, other.tenant, "Foreign")
    async with signed_in(org.admin) as client:
        headers = await bearer_for(client, org.admin)
        listed = await client.get("/api/v1/pathways?q=electric", headers=headers)
        assert listed.status_code == 200 and [p["name"] for p in listed.json()["items"]] == ["Electrician"]
        made = await client.post("/api/v1/pathways", headers=headers, json={
            "name": "Night clerk", "description": "Keeps the books at night.",
            "skills": [{"skill_id": str(sheets), "level": 4}]})
        assert made.status_code == 201, made.text
        pathway = made.json()
        assert [(s["skill_id"], s["level"]) for s in pathway["skills"]] == [(str(sheets), 4)]
        assert pathway["starter"] is False
        dup = await client.post("/api/v1/pathways", headers=headers, json={"name": "night CLERK"})
        assert problem_of(dup, 409)["field"] == "name"
        for body in ({"name": ""}, {"name": "x" * 121}, {"name": "A", "skills": [{"skill_id": str(sheets),
                                                                                    "level": 6}]},
                     {"name": "A", "extra": 1}, {"name": "A\x00"}):
            assert (await client.post("/api/v1/pathways", headers=headers, json=body)).status_code == 400, body
        url = f"/api/v1/pathways/{pathway['id']}"
        for skills, field in (([{"skill_id": str(foreign), "level": 2}], "skill_id"),
                              ([{"skill_id": str(sheets), "level": 2}] * 2, "skill_id")):
            assert problem_of(await client.put(url + "/skills", headers=headers, json={"skills": skills}),
                              409)["field"] == field
        replaced = await client.put(url + "/skills", headers=headers, json={"skills": []})
        assert replaced.status_code == 200 and replaced.json()["skills"] == []
        archived = await client.patch(url, headers=headers, json={"archived": True})
        assert archived.status_code == 200 and archived.json()["archived"] is True
        assert (await client.get(f"/api/v1/pathways/{uuid.uuid4()}", headers=headers)).status_code == 404
    actions = [e.action for e in await audit_entries(engine, org.tenant) if e.action.startswith("pathway.")]
    assert sorted(actions) == ["pathway.created", "pathway.skills.updated", "pathway.skills.updated",
                               "pathway.updated"]
    async with signed_in(learner) as client:
        headers = await bearer_for(client, learner)
        names = [p["name"] for p in (await client.get("/api/v1/pathways?q=clerk", headers=headers)).json()["items"]]
        assert names == []  # archived: offered to nobody
        assert (await client.get(f"/career/pathways/{pathway['id']}")).status_code == 404
        refused = await client.post("/api/v1/pathways", headers=headers, json={"name": "Mine"})
        assert refused.status_code == 403
        assert (await client.get("/api/v1/pathways?per_page=101", headers=headers)).status_code == 400
    async with signed_in(other.admin) as client:
        headers = await bearer_for(client, other.admin)
        assert (await client.get(f"/api/v1/pathways/{pathway['id']}", headers=headers)).status_code == 404
        assert (await client.patch(f"/api/v1/pathways/{pathway['id']}", headers=headers,
                                   json={"name": "Stolen"})).status_code == 404


async def test_admins_shape_the_roles_on_their_pages(engine, new_org, signed_in):
    org = await new_org("pwpg")
    sheets = await a_skill(engine, org.tenant, "Ledger sheets")
    taken = await a_pathway(engine, org.tenant, "Cashier", {})
    async with signed_in(org.admin) as client:
        listing = await client.get("/admin/pathways?q=plumb")
        assert listing.status_code == 200 and "Plumber" in listing.text
        dup = await post_form(client, "/admin/pathways", {"name": "cashier", "description": "kept"})
        assert dup.status_code == 409 and "exists already" in dup.text and 'value="kept"' in dup.text
        blank = await post_form(client, "/admin/pathways", {"name": "  "})
        assert blank.status_code == 422
        made = await post_form(client, "/admin/pathways", {"name": "Ledger keeper"})
        assert made.status_code == 303
        url = made.headers["location"].split("?")[0]
        found = await client.get(url + "?q=Ledger", headers={"HX-Request": "true", "HX-Target": "skills-found"})
        assert found.status_code == 200 and "<html" not in found.text and str(sheets) in found.text
        bad = await post_form(client, url + "/require", {"skill_id": str(sheets), "level": "9", "q": "Ledger"})
        assert bad.status_code == 422 and "Choose a level from 1 to 5." in bad.text
        assert (await post_form(client, url + "/require", {"skill_id": str(sheets), "level": "4"})).status_code == 303
        page = await client.get(url)
        assert re.findall(r'data-skill="([0-9a-f-]+)"', page.text) == [str(sheets)]
        renamed = await post_form(client, url, {"name": "Cashier", "description": ""})
        assert renamed.status_code == 409
        assert (await post_form(client, url + "/unrequire", {"skill_id": str(sheets)})).status_code == 303
        assert re.findall(r'data-skill="([0-9a-f-]+)"', (await client.get(url)).text) == []
        assert (await client.get(f"/admin/pathways/{uuid.uuid4()}")).status_code == 404
        assert (await post_form(client, f"/admin/pathways/{taken}", {"name": "Cashier", "archived": "on"})
                ).status_code == 303


async def test_an_archived_skill_is_required_of_nobody_and_archived_roles_of_no_learner(engine, new_org, make_user,
                                                                                      signed_in):
    from tajiconnect.domains.skills.models import Skill
    from tests.integration.careers.conftest import evidence

    org = await new_org("pwar")
    learner = await make_user(org.tenant, ["student"])
    kept, dropped = await a_skill(engine, org.tenant, "Kept skill"), await a_skill(engine, org.tenant, "Dropped one")
    pathway = await a_pathway(engine, org.tenant, f"Role {uuid.uuid4().hex[:4]}", {kept: 2, dropped: 3})
    empty = await a_pathway(engine, org.tenant, f"Nothing needed {uuid.uuid4().hex[:4]}", {})
    await evidence(engine, org.tenant, learner.id, kept, 2)
    async with tenant_session(engine, org.tenant) as session:
        (await session.get(Skill, dropped)).archived_at = datetime.datetime.now(datetime.UTC)
    async with signed_in(learner) as client:
        headers = await bearer_for(client, learner)
        gap = (await client.get(f"/api/v1/pathways/{pathway}/gap", headers=headers)).json()
        assert gap["percent"] == 100 and gap["met"] is True
        listing = (await client.get("/career/pathways?q=Role")).text
        assert "You have 100% of it" in listing
        assert (await client.get(f"/api/v1/pathways/{empty}/gap", headers=headers)).json()["percent"] == 100
    async with tenant_session(engine, org.tenant) as session:
        (await session.get(CareerPathway, pathway)).archived_at = datetime.datetime.now(datetime.UTC)
    async with signed_in(learner) as client:
        headers = await bearer_for(client, learner)
        assert (await client.get(f"/api/v1/pathways/{pathway}", headers=headers)).status_code == 404
        assert (await client.get(f"/api/v1/pathways/{pathway}/gap", headers=headers)).status_code == 404
    async with signed_in(org.admin) as client:
        assert (await client.get(f"/api/v1/pathways/{pathway}", headers=await bearer_for(client, org.admin))
                ).status_code == 200
