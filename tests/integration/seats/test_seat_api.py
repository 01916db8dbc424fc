"""The license and seats API: figures, holders and history (paginated), assign / reclaim / reassign with 409
problems naming the missing seats, 404 for other organizations' ids, admins only."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.service import set_license
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import audit_entries, bearer, bearer_for, problem_of, tokens_for
from tests.integration.seats.conftest import add_learner, seat_events, seat_of, seats_used


@pytest.fixture(scope="module")
async def school(new_org, engine):
    """4 seats: Ann and Bob hold one, Cat has none."""
    org = await new_org("seatapi", seats=4)
    people = {
        "ann": await add_learner(engine, org.tenant, name="Ann Api"),
        "bob": await add_learner(engine, org.tenant, name="Bob Api"),
        "cat": await add_learner(engine, org.tenant, name="Cat Api", seat=False),
    }
    return org, people


async def test_license_and_seat_figures(browser, school, engine):
    org, _people = school
    until = datetime.date.today() + datetime.timedelta(days=365)
    await set_license(engine, org.tenant.slug, plan="standard", until=until)
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        lic = await client.get("/api/v1/license", headers=auth)
        counts = await client.get("/api/v1/seats", headers=auth)
    assert lic.status_code == 200, lic.text
    body = lic.json()
    assert body["plan"]["code"] == "standard" and body["plan"]["name"]
    assert body["seats"] == 4 and body["status"] == "active"
    assert body["term_end"] == until.isoformat() and datetime.date.fromisoformat(body["term_start"]) <= until
    assert counts.json() == {
        "purchased": 4, "used": 2, "available": 2, "over_by": 0, "near_limit": True, "status": "active"
    }


async def test_holders_are_paginated_and_searchable(browser, new_org, engine):
    org = await new_org("seatholders", seats=50)
    for i in range(7):
        await add_learner(engine, org.tenant, name=f"Holder {i}", seat=i != 3, password=None)
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        first = (await client.get("/api/v1/seats/holders?per_page=4", headers=auth)).json()
        second = (await client.get("/api/v1/seats/holders?per_page=4&page=2", headers=auth)).json()
        found = (await client.get("/api/v1/seats/holders?q=HOLDER 5", headers=auth)).json()
        not_holding = (await client.get("/api/v1/seats/holders?q=holder 3", headers=auth)).json()
        bad = await client.get("/api/v1/seats/holders?per_page=101", headers=auth)
    assert first["total"] == 6 and first["page"] == 1 and first["per_page"] == 4
    assert [h["name"] for h in first["items"]] == ["Holder 0", "Holder 1", "Holder 2", "Holder 4"]
    assert [h["name"] for h in second["items"]] == ["Holder 5", "Holder 6"]
    assert all(h["seat_assigned_at"] for h in first["items"] + second["items"])
    assert [h["name"] for h in found["items"]] == ["Holder 5"]
    assert not_holding == {"items": [], "total": 0, "page": 1, "per_page": 25}
    problem_of(bad, 400)


async def test_assign_reclaim_reassign_and_the_history(browser, new_org, engine):
    org = await new_org("seatapiact", seats=1)
    ann = await add_learner(engine, org.tenant, name="Ann", seat=False)
    bob = await add_learner(engine, org.tenant, name="Bob", seat=False)
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        given = await client.post("/api/v1/seats/assign", json={"user_id": str(ann.id), "reason": "new"},
                                  headers=auth)
        assert given.status_code == 200, given.text
        assert given.json()["learner"]["id"] == str(ann.id) and given.json()["learner"]["seat_assigned_at"]
        assert given.json()["seats"]["used"] == 1 and given.json()["seats"]["available"] == 0
        # The only seat is taken: Bob cannot get one, but a reassign moves Ann's to him.
        full = await client.post("/api/v1/seats/assign", json={"user_id": str(bob.id)}, headers=auth)
        body = problem_of(full, 409)
        assert body["missing_seats"] == 1 and "1 more seat is needed" in body["detail"]
        moved = await client.post(
            "/api/v1/seats/reassign",
            json={"from_user_id": str(ann.id), "to_user_id": str(bob.id), "reason": "swap"},
            headers=auth,
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["released"]["seat_assigned_at"] is None
        assert moved.json()["assigned"]["id"] == str(bob.id) and moved.json()["assigned"]["seat_assigned_at"]
        assert moved.json()["seats"]["used"] == 1
        back = await client.post("/api/v1/seats/reclaim", json={"user_id": str(bob.id)}, headers=auth)
        assert back.status_code == 200 and back.json()["seats"]["available"] == 1
        again = await client.post("/api/v1/seats/reclaim", json={"user_id": str(bob.id)}, headers=auth)
        assert problem_of(again, 409)["field"] == "user_id"
        events = (await client.get("/api/v1/seats/events?per_page=2", headers=auth)).json()
        older = (await client.get("/api/v1/seats/events?per_page=2&page=2", headers=auth)).json()
        of_ann = (await client.get(f"/api/v1/seats/events?user_id={ann.id}", headers=auth)).json()
    assert events["total"] == 4
    newest_first = events["items"] + older["items"]
    assert [(e["user_email"], e["change"], e["reason"], e["note"]) for e in newest_first] == [
        (bob.email, "released", "reclaimed", None),
        (bob.email, "assigned", "reassigned", "swap"),
        (ann.email, "released", "reassigned", "swap"),
        (ann.email, "assigned", "assigned", "new"),
    ]
    assert all(e["actor_email"] == org.admin.email for e in newest_first)
    assert [e["change"] for e in of_ann["items"]] == ["released", "assigned"]
    assert [e.action for e in await audit_entries(engine, org.tenant) if e.action.startswith("seat.")] == [
        "seat.assigned", "seat.reassigned", "seat.reclaimed"
    ]


async def test_a_lowered_license_refuses_reassign_naming_the_overshoot(browser, new_org, engine):
    org = await new_org("seatapilow", seats=2)
    a = await add_learner(engine, org.tenant, name="A")
    await add_learner(engine, org.tenant, name="B")
    c = await add_learner(engine, org.tenant, name="C", seat=False)
    await set_license(engine, org.tenant.slug, seats=1)
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        counts = (await client.get("/api/v1/seats", headers=auth)).json()
        refused = await client.post(
            "/api/v1/seats/reassign", json={"from_user_id": str(a.id), "to_user_id": str(c.id)}, headers=auth
        )
    assert counts["over_by"] == 1 and counts["available"] == 0
    assert problem_of(refused, 409)["missing_seats"] == 1
    assert await seat_of(engine, org.tenant, a.id) is not None and await seat_of(engine, org.tenant, c.id) is None


async def test_a_suspended_license_gives_no_seat(browser, new_org, engine):
    """A suspended license makes the organization read-only (domains/billing/read_only.py): the write is refused
    before the seat check (403, the reason in ``detail``); reading still works."""
    org = await new_org("seatapisus", seats=5)
    d = await add_learner(engine, org.tenant, name="D", seat=False)
    await set_license(engine, org.tenant.slug, status="suspended")
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        refused = await client.post("/api/v1/seats/assign", json={"user_id": str(d.id)}, headers=auth)
        status = (await client.get("/api/v1/license", headers=auth)).json()["status"]
    body = problem_of(refused, 403)
    assert "read-only" in body["detail"] and "the license is suspended" in body["detail"]
    assert status == "suspended"
    # Behind it, the seat service refuses too (imports and tasks do not pass through the read-only check).
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            with pytest.raises(seats.LicenseClosedError):
                await seats.claim(session, 1)
    assert await seat_of(engine, org.tenant, d.id) is None


async def test_bodies_are_validated(browser, school, engine):
    org, people = school
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        for body in (
            {},
            {"user_id": "not-a-uuid"},
            {"user_id": str(people["cat"].id), "reason": "x" * 501},
            {"user_id": str(people["cat"].id), "extra": 1},
        ):
            problem_of(await client.post("/api/v1/seats/assign", json=body, headers=auth), 400)
        same = await client.post(
            "/api/v1/seats/reassign",
            json={"from_user_id": str(people["ann"].id), "to_user_id": str(people["ann"].id)},
            headers=auth,
        )
        assert problem_of(same, 409)["field"] == "to_user_id"
        problem_of(await client.get("/api/v1/seats/events?user_id=nope", headers=auth), 400)
    assert await seat_of(engine, org.tenant, people["cat"].id) is None
    assert await seat_of(engine, org.tenant, people["ann"].id) is not None


async def test_other_organizations_ids_are_404_and_untouched(browser, school, new_org, engine):
    org, people = school
    other = await new_org("seatapioth", seats=5)
    theirs = await add_learner(engine, other.tenant, name="Theirs", seat=False)
    their_holder = await add_learner(engine, other.tenant, name="Their holder")
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        calls = [
            ("/api/v1/seats/assign", {"user_id": str(theirs.id)}),
            ("/api/v1/seats/reclaim", {"user_id": str(their_holder.id)}),
            ("/api/v1/seats/reassign", {"from_user_id": str(their_holder.id), "to_user_id": str(people["cat"].id)}),
            ("/api/v1/seats/reassign", {"from_user_id": str(people["ann"].id), "to_user_id": str(theirs.id)}),
            ("/api/v1/seats/assign", {"user_id": str(uuid.uuid4())}),
        ]
        for path, body in calls:
            problem_of(await client.post(path, json=body, headers=auth), 404)
        holders = (await client.get("/api/v1/seats/holders?per_page=100", headers=auth)).json()
        history = (await client.get(f"/api/v1/seats/events?user_id={their_holder.id}", headers=auth)).json()
    assert str(their_holder.id) not in {h["id"] for h in holders["items"]}
    assert history["total"] == 0
    assert await seat_of(engine, other.tenant, theirs.id) is None
    assert await seat_of(engine, other.tenant, their_holder.id) is not None
    assert await seat_of(engine, org.tenant, people["ann"].id) is not None
    assert len(await seat_events(engine, other.tenant)) == 1
    # And another organization's token opens nothing here.
    async with browser(other.tenant) as there:
        their_token = (await tokens_for(there, other.admin))["access_token"]
    async with browser(org.tenant) as client:
        problem_of(await client.get("/api/v1/seats", headers=bearer(their_token)), 401)


@pytest.mark.parametrize("roles", [["teacher"], ["manager"], ["student"]])
async def test_only_admins(browser, school, make_user, engine, roles):
    org, people = school
    member = await make_user(org.tenant, roles)
    async with browser(org.tenant) as client:
        auth = bearer((await tokens_for(client, member))["access_token"])
        for path in ("/api/v1/license", "/api/v1/seats", "/api/v1/seats/holders", "/api/v1/seats/events"):
            problem_of(await client.get(path, headers=auth), 403)
            problem_of(await client.get(path), 401)
        problem_of(await client.post("/api/v1/seats/assign", json={"user_id": str(people["cat"].id)}, headers=auth),
                   403)
        problem_of(await client.post("/api/v1/seats/reclaim", json={"user_id": str(people["ann"].id)}, headers=auth),
                   403)
    assert await seat_of(engine, org.tenant, people["cat"].id) is None
    assert await seat_of(engine, org.tenant, people["ann"].id) is not None
    assert await seats_used(engine, org.tenant) == 2


async def test_the_schema_declares_the_seat_operations(client_for, school):
    org, _people = school
    async with client_for(org.tenant) as client:
        schema = (await client.get("/schema/openapi.json")).json()
    paths, components = schema["paths"], schema["components"]["schemas"]
    for path in ("/api/v1/license", "/api/v1/seats", "/api/v1/seats/holders", "/api/v1/seats/events"):
        operation = paths[path]["get"]
        assert operation["security"] == [{"BearerToken": []}], path
        assert {"200", "400", "401", "403", "503"} <= set(operation["responses"]), path
    holders = {p["name"]: p["schema"] for p in paths["/api/v1/seats/holders"]["get"]["parameters"]}
    assert holders["per_page"]["maximum"] == 100 and holders["page"]["maximum"] == 10_000
    assert holders["q"]["maxLength"] == 100
    for action in ("assign", "reclaim", "reassign"):
        operation = paths[f"/api/v1/seats/{action}"]["post"]
        assert {"200", "400", "401", "403", "404", "409", "413", "422", "503"} <= set(operation["responses"]), action
        assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"]), action
        conflict = operation["responses"]["409"]["content"]["application/problem+json"]["schema"]
        assert conflict["$ref"].endswith("/ConflictProblem")
    assert "missing_seats" in components["ConflictProblem"]["properties"]
    for body in ("SeatRequest", "ReassignRequest"):
        assert components[body]["additionalProperties"] is False
    reason = components["SeatRequest"]["properties"]["reason"]
    assert reason["maxLength"] == 500 and reason["pattern"] == "^[^\\x00]*$"
    assert components["SeatEventRecord"]["properties"]["change"]["enum"] == ["assigned", "released"]
