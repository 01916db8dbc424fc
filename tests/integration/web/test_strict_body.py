"""JSON bodies are decoded strictly: what the schema refuses is refused, never coerced (0 is not false)."""

from __future__ import annotations

from tests.integration.conftest import bearer_for, problem_of


async def test_a_json_body_is_not_coerced(org, client_for):
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        for bad in ({"title": "Coerced", "self_enroll": 0}, {"title": "Coerced", "estimated_minutes": "30"},
                    {"title": "Coerced", "tags": "solar"}):
            answer = await client.post("/api/v1/courses", json=bad, headers=auth)
            body = problem_of(answer, 400)
            field = next(iter(set(bad) - {"title"}))
            assert body["errors"][0]["key"] == field and body["errors"][0]["source"] == "body", body
        good = await client.post("/api/v1/courses", json={"title": "Strict", "self_enroll": False,
                                                           "estimated_minutes": 30}, headers=auth)
        assert good.status_code == 201, good.text
        listed = await client.get("/api/v1/courses?q=Coerced", headers=auth)
    assert listed.json()["total"] == 0  # nothing half-made by the refused ones
