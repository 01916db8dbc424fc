"""Idempotency-Key: a retry gets the first answer; a failed first attempt leaves the key free; keys are private."""

from __future__ import annotations

import uuid

from tests.integration.conftest import audit_entries, bearer_for, user_count


async def test_a_key_whose_request_failed_can_be_retried_and_succeeds(client_for, fresh_org, engine):
    org = fresh_org
    email = f"retry-{uuid.uuid4().hex[:8]}@example.org"
    async with client_for(org.tenant) as client:
        admin = await bearer_for(client, org.admin)
        first = await client.post("/api/v1/users", json={"email": email, "roles": ["student"]}, headers=admin)
        assert first.status_code == 201
        key = {**admin, "Idempotency-Key": f"k-{uuid.uuid4()}"}
        body = {"email": email, "roles": ["teacher"]}
        conflict = await client.post("/api/v1/users", json=body, headers=key)
        assert conflict.status_code == 409  # a refusal is not remembered...
        assert (await client.delete(f"/api/v1/users/{first.json()['id']}", headers=admin)).status_code == 204
        retried = await client.post("/api/v1/users", json=body, headers=key)
        assert retried.status_code == 201  # ...so the same key runs again once the obstacle is gone
        assert "idempotent-replayed" not in retried.headers
        replayed = await client.post("/api/v1/users", json=body, headers=key)
        assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == retried.json()
    invited = [e for e in await audit_entries(engine, org.tenant, "user.invited") if e.subject_email == email]
    assert len(invited) == 2  # the first member, then the retried one: never a third


async def test_keys_belong_to_one_member_of_one_tenant(client_for, org, other_org, make_user, engine):
    key = f"shared-{uuid.uuid4()}"
    second_admin = await make_user(org.tenant, ["org_admin"])
    answers = []
    for tenant, member in ((org.tenant, org.admin), (org.tenant, second_admin), (other_org.tenant, other_org.admin)):
        async with client_for(tenant) as client:
            headers = {**await bearer_for(client, member), "Idempotency-Key": key}
            email = f"own-{uuid.uuid4().hex[:8]}@example.org"
            response = await client.post("/api/v1/users", json={"email": email, "roles": ["student"]}, headers=headers)
            assert response.status_code == 201, response.text
            assert "idempotent-replayed" not in response.headers  # nobody else's stored answer
            answers.append(response.json()["email"])
    assert len(set(answers)) == 3


async def test_a_replay_creates_nothing(client_for, org, engine):
    async with client_for(org.tenant) as client:
        headers = {**await bearer_for(client, org.admin), "Idempotency-Key": f"k-{uuid.uuid4()}"}
        body = {"email": f"once-{uuid.uuid4().hex[:8]}@example.org", "roles": ["student"]}
        assert (await client.post("/api/v1/users", json=body, headers=headers)).status_code == 201
        before = await user_count(engine, org.tenant)
        for _ in range(3):
            assert (await client.post("/api/v1/users", json=body, headers=headers)).status_code == 201
        assert await user_count(engine, org.tenant) == before
