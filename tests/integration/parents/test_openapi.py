"""What the schema declares for the parent-link API: every status it answers, 429 included, and no
Idempotency-Key on the write whose answer holds a secret."""

from __future__ import annotations

import pytest

from tests.conftest import open_client


@pytest.fixture(scope="module")
async def openapi(app, school) -> dict:
    async with open_client(app, school.tenant) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_statuses_are_declared(openapi):
    paths = openapi["paths"]
    children = paths["/api/v1/parents/{parent_id}/children"]
    assert set(children["get"]["responses"]) == {"200", "400", "401", "403", "404", "503"}
    assert set(children["post"]["responses"]) == {"200", "201", "400", "401", "403", "404", "409", "413", "422",
                                                  "503"}
    one = paths["/api/v1/parents/{parent_id}/children/{learner_id}"]
    assert set(one["get"]["responses"]) == {"200", "400", "401", "403", "404", "503"}
    assert set(one["delete"]["responses"]) == {"204", "400", "401", "403", "404", "409", "422", "503"}
    redeem = paths["/api/v1/pairing-codes/redeem"]["post"]
    assert set(redeem["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503"}
    reason = redeem["responses"]["409"]["content"]["application/problem+json"]["schema"]
    schema = openapi["components"]["schemas"][reason["$ref"].rsplit("/", 1)[-1]]
    assert {"reason", "field"} <= set(schema["properties"])
    create = paths["/api/v1/pairing-codes"]["post"]
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "503"}
    assert create["responses"]["201"]["headers"]["Cache-Control"]["schema"]
    assert "Idempotency-Key" not in {p["name"] for p in create.get("parameters", [])}
    assert "Idempotency-Key" in {p["name"] for p in redeem["parameters"]}
    per_page = next(p for p in children["get"]["parameters"] if p["name"] == "per_page")["schema"]
    assert (per_page["minimum"], per_page["maximum"]) == (1, 100)
    code = openapi["components"]["schemas"]["RedeemRequest"]
    assert code["additionalProperties"] is False and code["properties"]["code"]["maxLength"] == 64


def test_the_children_api_declares_its_statuses(openapi):
    paths = openapi["paths"]
    assert set(paths["/api/v1/children"]["get"]["responses"]) == {"200", "400", "401", "403", "503"}
    assert set(paths["/api/v1/children/{learner_id}"]["get"]["responses"]) == {"200", "400", "401", "403", "404",
                                                                              "503"}
    details = openapi["components"]["schemas"]["ChildDetails"]["properties"]
    assert {"grades", "work", "courses", "certificates", "teachers", "summary"} <= set(details)
