"""What ``/schema/openapi.json`` declares: the bearer scheme, the problem answers, the limits; and ``Allow``."""

from __future__ import annotations

import re
import uuid

import pytest

from tajiconnect.web.input_guard import MAX_TEXT_BODY
from tajiconnect.web.openapi import NOT_BLANK
from tests.integration.conftest import bearer_for

PUBLIC = {("post", "/api/v1/auth/token"), ("post", "/api/v1/auth/refresh")}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
async def openapi(app, org) -> dict:
    from tests.conftest import open_client

    async with open_client(app, org.tenant) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def resolve(openapi: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def parameter(operation: dict, name: str) -> dict:
    [found] = [p for p in operation["parameters"] if p["name"] == name]
    return found["schema"]


def test_the_bearer_scheme_is_declared_and_required_where_the_guards_are(openapi):
    assert openapi["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": openapi["components"]["securitySchemes"]["BearerToken"]["description"],
    }
    api = [(method, path, op) for method, path, op in operations(openapi) if path.startswith("/api/v1/")]
    # auth 3, users 8 (me included), audit 1, license 1, seats 6, teams 8, parents 6, imports 7, roster export 1,
    # courses 19 (courses 13, modules 4, lessons 2), learning 6 (lessons, progress), uploads 6,
    # enrollments and assignments 5, paths 9, gradebook 9 (gradebook 1, categories 4, overrides 2, quiz analytics 1,
    # similarity 1), grading 15 (learner's submission 3, grading queue 3, release 1, rubrics 5, comment bank 3)
    # assessments 13 (assessments 9, quiz slots 1, attempts 3), question banks 12, reports 4, notifications 5 (list,
    # read, read-all, preferences get and put), certificates 4 (mine, a learner's, one, revoke), announcements 5
    # (list, create, one, change, cancel), children 2 (mine, one), messages 7 (conversations list, start, one,
    # messages list and send, read, report), discussions 11 (course threads 2, thread get/patch 2, posts 2, report 1,
    # hide/restore posts 2 and threads 2), live sessions 7 (list, create, one, change, cancel, attendance get, put),
    # skills 12 (taxonomy list, add, change; mine, declare, take back; a course's, path's, assessment's get, put)
    # career pathways 7 (list, add, one, change, required skills, gap, team)
    # résumés 10 (readable list, mine get and patch, entries add, change, delete, share on and off, one, pdf)
    # jobs 9 (search or own, write, one, change, delete, submit, close, apply, a job's applications), applications 3
    assert len(api) == 221
    for method, path, operation in api:
        if (method, path) in PUBLIC:
            assert "security" not in operation, (method, path)
        elif path == "/api/v1/auth/logout":
            assert operation["security"] == [{}, {"BearerToken": []}]  # the refresh token in the body suffices
        else:
            assert operation["security"] == [{"BearerToken": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_error_answer_is_a_problem_body(openapi):
    for method, path, operation in operations(openapi):
        for status, response in operation["responses"].items():
            if int(status) < 400 or path == "/health":
                continue
            assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            schema = resolve(openapi, response["content"]["application/problem+json"]["schema"])
            assert {"type", "title", "status", "detail"} <= set(schema["properties"]), (method, path, status)
            assert set(schema["required"]) == {"type", "title", "status"}
    token = openapi["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert set(token) == {"200", "400", "401", "403", "413", "429", "503"}
    oauth = resolve(openapi, token["401"]["content"]["application/problem+json"]["schema"])
    assert {"error", "error_description"} <= set(oauth["properties"])
    invalid = resolve(openapi, token["400"]["content"]["application/problem+json"]["schema"])
    assert {"errors", "field"} <= set(invalid["properties"])
    one = openapi["paths"]["/api/v1/users/{user_id}"]
    assert set(one["get"]["responses"]) == {"200", "400", "401", "403", "404", "503"}
    assert set(one["patch"]["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "422", "503"}
    assert set(one["delete"]["responses"]) == {"204", "400", "401", "403", "404", "409", "422", "503"}
    assert set(openapi["paths"]["/api/v1/users"]["post"]["responses"]) == {
        "201", "400", "401", "403", "409", "413", "422", "429", "503"
    }
    assert set(openapi["paths"]["/health"]["get"]["responses"]) == {"200", "503"}


def test_every_api_operation_declares_malformed_input_and_an_unreachable_database(openapi):
    for method, path, operation in operations(openapi):
        if not path.startswith("/api/"):
            continue
        assert {"400", "503"} <= set(operation["responses"]), (method, path)
        assert operation["responses"]["503"]["headers"]["Retry-After"]["required"] is True


def test_writes_of_the_users_api_declare_idempotency_keys(openapi):
    writes = [
        (method, path, operation)
        for method, path, operation in operations(openapi)
        if path.startswith("/api/v1/users") and method != "get"
    ]
    assert len(writes) == 5
    for method, path, operation in writes:
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header" and key["required"] is False
        assert key["schema"]["maxLength"] == 255
        assert {"409", "422"} <= set(operation["responses"]), (method, path)
        success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        assert "Idempotent-Replayed" in success["headers"]


def test_limits_in_the_schema_are_the_ones_validated(openapi):
    users = openapi["paths"]["/api/v1/users"]["get"]
    assert parameter(users, "page").items() >= {"minimum": 1, "maximum": 10_000}.items()
    assert parameter(users, "per_page").items() >= {"minimum": 1, "maximum": 100}.items()
    assert parameter(users, "q")["maxLength"] == 100
    assert [r for r in parameter(users, "role")["enum"] if r] == [
        "org_admin", "manager", "teacher", "student", "parent", "employer"
    ]
    assert [s for s in parameter(users, "status")["enum"] if s] == ["invited", "active", "deactivated"]
    audit = openapi["paths"]["/api/v1/audit-log"]["get"]
    assert parameter(audit, "per_page")["maximum"] == 200
    assert parameter(audit, "action")["maxLength"] == 64
    schemas = openapi["components"]["schemas"]
    for body in ("TokenRequest", "RefreshRequest", "InviteRequest", "UserPatch"):
        assert schemas[body]["additionalProperties"] is False, body  # unknown members are refused
    assert schemas["InviteRequest"]["properties"]["roles"]["minItems"] == 1
    # Text never holds a NUL (the input guard refuses it), said on every free-text parameter and body member.
    no_nul = "^[^\\x00]*$"
    assert parameter(users, "q")["pattern"] == no_nul
    assert schemas["TokenRequest"]["properties"]["password"]["pattern"] == no_nul
    name = schemas["UserPatch"]["properties"]["name"]  # its own "not blank" says "no NUL" too
    assert name["pattern"] == NOT_BLANK and "allOf" not in name and re.search(NOT_BLANK, "a\x00") is None
    assert openapi["paths"]["/api/v1/auth/logout"]["post"]["requestBody"]["required"] is True


async def test_limits_are_enforced_with_problem_bodies(browser, org):
    async with browser(org.tenant) as client:
        admin = await bearer_for(client, org.admin)
        for query in ("page=0", "page=10001", "page=9223372036854775808", "per_page=0", "per_page=101",
                      "q=" + "x" * 101, "role=king", "status=sleeping"):
            response = await client.get(f"/api/v1/users?{query}", headers=admin)
            assert response.status_code == 400, query
            assert response.headers["content-type"].startswith("application/problem+json")
            [error] = response.json()["errors"]
            assert error["source"] == "query" and error["key"] == query.split("=")[0]
        for query in ("page=9223372036854775808", "per_page=201", "action=" + "a" * 65, "until=soon"):
            response = await client.get(f"/api/v1/audit-log?{query}", headers=admin)
            assert response.status_code == 400, query
        too_large = await client.post(
            "/api/v1/auth/token", content=b" " * (MAX_TEXT_BODY + 1), headers={"content-type": "application/json"}
        )
        assert too_large.status_code == 413
        assert too_large.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/v1/users?page=10000", headers=admin)).json()["items"] == []
        assert (await client.get("/api/v1/audit-log?until=9999-12-31", headers=admin)).status_code == 200


async def test_out_of_range_pages_of_html_lists_are_400_pages(signed_in, org):
    async with signed_in(org.admin) as client:
        for path in ("/admin/users", "/admin/audit"):
            for page in ("0", "10001", "9223372036854775808", "x"):
                response = await client.get(f"{path}?page={page}")
                assert response.status_code == 400, (path, page)
                assert response.headers["content-type"].startswith("text/html")
                assert "Bad request" in response.text
            assert (await client.get(f"{path}?page=10000")).status_code == 200


async def test_options_lists_every_method_of_the_path(browser, org):
    async with browser(org.tenant) as client:
        admin = await bearer_for(client, org.admin)
        for path, allowed in (
            (f"/api/v1/users/{org.admin.id}", "DELETE, GET, OPTIONS, PATCH"),
            ("/api/v1/users", "GET, OPTIONS, POST"),
            ("/api/v1/auth/token", "OPTIONS, POST"),
        ):
            response = await client.options(path, headers=admin)
            assert response.status_code == 204 and response.headers["allow"] == allowed, path
        sign_in = await client.options("/auth/sign-in")
        assert sign_in.status_code == 204 and sign_in.headers["allow"] == "GET, OPTIONS, POST"
        not_allowed = await client.put("/api/v1/users", headers=admin)
        assert not_allowed.status_code == 405 and set(not_allowed.headers["allow"].split(", ")) == {
            "GET", "OPTIONS", "POST"
        }


async def test_idempotency_answers_are_the_declared_ones(browser, org):
    async with browser(org.tenant) as client:
        admin = await bearer_for(client, org.admin)
        key = {**admin, "Idempotency-Key": f"invite-{uuid.uuid4()}"}
        body = {"email": f"idem-{uuid.uuid4().hex[:8]}@example.org", "roles": ["student"]}
        first = await client.post("/api/v1/users", headers=key, json=body)
        again = await client.post("/api/v1/users", headers=key, json=body)
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
        other = await client.post("/api/v1/users", headers=key, json={**body, "name": "Someone else"})
        assert other.status_code == 422
        assert other.headers["content-type"].startswith("application/problem+json")
        bad = await client.post("/api/v1/users", headers={**admin, "Idempotency-Key": "has space"}, json=body)
        assert bad.status_code == 400
