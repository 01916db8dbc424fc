"""Properties of the JSON API: list parameters (any text, any number), invitation and update bodies (any JSON:
wrong types, huge numbers, deep nesting, NUL and lone surrogates escaped), member actions, and the token,
refresh and logout bodies.

Every refusal is a 4xx ``application/problem+json``; every success is read back (``GET /api/v1/users/{id}``, the
database, or using the tokens it handed out) and must show exactly what the answer acknowledged.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.models import ROLES, RefreshToken, User
from tajiconnect.domains.accounts.service import AccountError, normalize_email
from tajiconnect.domains.accounts.tokens import issue_pair
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.web.openapi import NOT_BLANK
from tests.integration.conftest import PASSWORD, bearer, bearer_for, create_member, load_user
from tests.property.support import (
    BAD_EMAILS,
    DATES,
    FOREIGN_RANDOM,
    HASHING,
    PAGES,
    PROPS,
    SEARCHES,
    Env,
    any_text,
    bad_role_lists,
    canonical,
    check_api,
    check_problem,
    clear_audit,
    decoded,
    in_tenant,
    json_bodies,
    json_values,
    names,
    nested_json,
    new_emails,
    passwords,
    query,
    query_is_clean,
    role_lists,
    segment,
    totp_window,
    users_by_email,
    valid_names,
    valid_page,
)

pytestmark = FOREIGN_RANDOM


@pytest.fixture(scope="module")
async def api_org(new_org):
    return await new_org("pap")


@pytest.fixture
async def api_env(api_org, client_for):
    """The organization's admin calling the API with a bearer token."""
    async with client_for(api_org.tenant) as client:
        client.headers.update(await bearer_for(client, api_org.admin))
        yield Env(api_org.tenant, client, [api_org.admin])


def member_json(user: User) -> dict[str, Any]:
    """What the API says about a member, from the database."""
    return {
        "id": str(user.id), "email": user.email, "name": user.name, "roles": list(user.roles), "status": user.status,
        "locale": user.locale, "time_zone": user.time_zone, "email_verified": user.email_verified_at is not None,
        "two_factor_enabled": user.totp_enabled,
        "last_sign_in_at": user.last_sign_in_at.isoformat() if user.last_sign_in_at else None,
        "created_at": user.created_at.isoformat(),
    }


def is_str(value: Any, max_length: int, min_length: int = 0) -> bool:
    return isinstance(value, str) and min_length <= len(value) <= max_length


def is_roles(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 1 and all(isinstance(r, str) and r in ROLES for r in value)


def members_match(value: Any, spec: dict[str, Any], required: set[str]) -> bool:
    """An object whose members are known (``spec``: name -> check), with the ``required`` ones present."""
    return isinstance(value, dict) and set(value) <= set(spec) and required <= set(value) and all(
        spec[k](v) for k, v in value.items())


# --- list parameters ----------------------------------------------------------------------------------------------

ROLE_PARAMS = st.one_of(st.none(), st.sampled_from(ROLES), st.sampled_from(["", "admin", "Student"]), any_text(10))
STATUS_PARAMS = st.one_of(st.none(), st.sampled_from(["active", "invited", "deactivated", "", "Active"]), any_text(8))


@PROPS
@given(q=st.one_of(st.none(), st.sampled_from(SEARCHES), any_text(20)), role=ROLE_PARAMS, status=STATUS_PARAMS,
       page=st.one_of(st.none(), PAGES), per_page=st.one_of(st.none(), PAGES))
@example(q="_", role=None, status=None, page=None, per_page=None)
@example(q=None, role=None, status=None, page="2.9999999999999999", per_page=None)
async def test_users_list_parameters(list_env, engine, q, role, status, page, per_page):
    env = list_env
    raw = query(q=q, role=role, status=status, page=page, per_page=per_page)
    response = await env.client.get(f"/api/v1/users?{raw}", headers=await bearer_for(env.client, env.members[0]))
    number, size = valid_page(page), valid_page(per_page, 100) if per_page is not None else 25
    valid = (
        query_is_clean(raw.encode()) and number is not None and size is not None
        and (q is None or len(q) <= 100) and role in (None, *ROLES) and status in (None, "active", "invited",
                                                                                  "deactivated")
    )
    unsure = role == "" or status == ""  # an empty value may be read as "absent"
    if not valid and not unsure:
        check_problem(response, {400})
        return
    if not check_api(response, {200}, {400}):
        assert unsure
        return
    body = response.json()
    assert (body["page"], body["per_page"]) == (number, size)
    wanted = (q or "").strip().lower()
    items = body["items"]
    assert len(items) <= size
    for item in items:
        assert not wanted or wanted in item["email"] or wanted in item["name"].lower(), (wanted, item)
        assert not role or role in item["roles"]
        assert not status or item["status"] == status
    assert body["total"] >= len(items) and (items or body["total"] <= (number - 1) * size)
    members = (await users_by_email(engine, env.tenant)).values()
    if wanted.isascii() and all(u.name.isascii() for u in members):  # case folding agrees with PostgreSQL
        matching = [u for u in members if (not wanted or wanted in u.email or wanted in u.name.lower())
                    and (not role or role in u.roles) and (not status or u.status == status)]
        assert body["total"] == len(matching)
        assert len(items) == len(matching[(number - 1) * size:][:size])


@PROPS
@given(action=st.one_of(st.none(), st.sampled_from(["auth", "test.action_", "%", "_"]), any_text(20)),
       actor=st.one_of(st.none(), st.sampled_from(["_", "%", "a_b", "EXAMPLE"]), any_text(20)),
       since=st.one_of(st.none(), DATES), until=st.one_of(st.none(), DATES),
       page=st.one_of(st.none(), PAGES), per_page=st.one_of(st.none(), PAGES))
@example(action="test.action%", actor=None, since=None, until=None, page=None, per_page=None)
async def test_audit_log_parameters(audit_env, action, actor, since, until, page, per_page):
    env = audit_env
    raw = query(action=action, actor=actor, since=since, until=until, page=page, per_page=per_page)
    response = await env.client.get(f"/api/v1/audit-log?{raw}", headers=await bearer_for(env.client, env.members[0]))

    def day(value: str | None) -> datetime.date | str | None:
        if value is None:
            return None
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                return "bad"
        return "bad"

    days = day(since), day(until)
    number, size = valid_page(page), valid_page(per_page, 200) if per_page is not None else 50
    valid = (query_is_clean(raw.encode()) and number is not None and size is not None and "bad" not in days
             and (action is None or len(action) <= 64) and (actor is None or len(actor) <= 320))
    if not check_api(response, {200}, {400}):
        assert not valid, response.text
        return
    assert valid, raw
    body = response.json()
    assert (body["page"], body["per_page"]) == (number, size)
    a, who = (action or "").strip(), (actor or "").strip().lower()
    stamps = [item["occurred_at"] for item in body["items"]]
    assert stamps == sorted(stamps, reverse=True)
    for item in body["items"]:
        assert item["action"].startswith(a), (a, item["action"])
        assert not who or who in (item["actor_email"] or "").lower() or who in (item["subject_email"] or "").lower()
        when = datetime.datetime.fromisoformat(item["occurred_at"]).date()
        assert not isinstance(days[0], datetime.date) or when >= days[0]
        assert not isinstance(days[1], datetime.date) or when <= days[1]


# --- invitations --------------------------------------------------------------------------------------------------

CONTENT_TYPES = ("application/json", "application/json", "application/json; charset=utf-8", "text/plain", None,
                 "application/x-www-form-urlencoded", "application/merge-patch+json")


def idempotency_keys() -> st.SearchStrategy[str | None]:
    visible = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
    odd = st.sampled_from(["", " ", "a b", "x" * 256, "\u00e9"])
    return st.one_of(st.none(), st.none(), visible, odd)


_keys = iter(range(10**9))


def headers_for(content_type: str | None, key: str | None) -> tuple[dict[str, Any], bool]:
    """Request headers, and whether the Idempotency-Key (if any) is one the API accepts (then made unique)."""
    headers: dict[str, Any] = {"content-type": content_type} if content_type else {}
    valid = True
    if key is not None:
        valid = 1 <= len(key) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in key)
        headers["idempotency-key"] = f"{key[:200]}.{next(_keys)}" if valid else key.encode("utf-8")
    return headers, valid


INVITE = {
    "email": st.one_of(new_emails(), new_emails(), st.sampled_from(BAD_EMAILS), any_text()),
    "roles": st.one_of(role_lists(), role_lists(), bad_role_lists()),
    "name": st.one_of(valid_names(), names()),
}


@PROPS
@given(body=json_bodies(INVITE, required=("email", "roles")), content_type=st.sampled_from(CONTENT_TYPES),
       key=idempotency_keys())
@example(body=b'{"email": "a.b@example.org", "roles": ["student"], "name": "\\u0000"}', content_type="text/plain",
         key=None)
@example(body=b'{"email": "\xff@example.org", "roles": ["student"]}', content_type=None, key=None)
async def test_invite_body(api_env, engine, body, content_type, key):
    env = api_env
    await clear_audit(engine, env.tenant, "user.invited")
    existing = next(iter(await users_by_email(engine, env.tenant)))
    body = body.replace(b"EXISTING", existing.encode())
    headers, key_ok = headers_for(content_type, key)
    before = await users_by_email(engine, env.tenant)
    response = await env.client.post("/api/v1/users", content=body, headers=headers)
    after = await users_by_email(engine, env.tenant)

    ok_json, value = decoded(body)
    shaped = ok_json and members_match(value, {"email": lambda v: is_str(v, 320), "roles": is_roles,
                                               "name": lambda v: is_str(v, 200)}, {"email", "roles"})
    if not (shaped and key_ok):
        check_problem(response, {400})
        assert after.keys() == before.keys()
        return
    try:
        email: str | None = normalize_email(value["email"])
    except AccountError:
        email = None
    if email is None or email in before:
        check_problem(response, {400} if email is None else {409})
        assert after.keys() == before.keys()
        return
    assert check_api(response, {201})
    echoed = response.json()
    name = value.get("name", "").strip() or email.split("@")[0]
    assert (echoed["email"], echoed["name"], echoed["roles"], echoed["status"]) == (
        email, name, canonical(value["roles"]), "invited")
    assert member_json(after[email]) == echoed
    assert (await env.client.get(f"/api/v1/users/{echoed['id']}")).json() == echoed


# --- updates ------------------------------------------------------------------------------------------------------

TARGETS = ("member", "member", "other_admin", "self", "text")


async def api_target(engine: Any, env: Env, kind: str, text: str) -> tuple[str, User | None]:
    if kind == "text":
        return text, None
    if kind == "self":
        return str(env.members[0].id), await load_user(engine, env.tenant, env.members[0].id)
    member = await create_member(engine, env.tenant, ["org_admin"] if kind == "other_admin" else ["teacher"],
                                 name="Target Member")
    return str(member.id), await load_user(engine, env.tenant, member.id)


PATCH = {"name": st.one_of(valid_names(), names(), st.none()), "roles": st.one_of(role_lists(), bad_role_lists())}


@PROPS
@given(kind=st.sampled_from(TARGETS), text=any_text(40), body=json_bodies(PATCH),
       content_type=st.sampled_from(CONTENT_TYPES), key=idempotency_keys())
@example(kind="member", text="", body=b'{"name": "  Zo\\u00eb  "}', content_type="application/json", key=None)
@example(kind="member", text="", body=b'{"name": "a\\u0000b"}', content_type="text/plain", key=None)
@example(kind="member", text="", body=b"[" * 5000 + b"]" * 5000, content_type="application/json", key=None)
async def test_update_body(api_env, engine, kind, text, body, content_type, key):
    env = api_env
    user_id, target = await api_target(engine, env, kind, text)
    headers, key_ok = headers_for(content_type, key)
    response = await env.client.patch(f"/api/v1/users/{segment(user_id)}", content=body, headers=headers)
    after = await load_user(engine, env.tenant, target.id) if target else None

    ok_json, value = decoded(body)
    shaped = ok_json and members_match(value, {
        "name": lambda v: v is None or (is_str(v, 200, 1) and re.search(NOT_BLANK, v) is not None),
        "roles": lambda v: v is None or is_roles(v),
    }, set())
    if not (shaped and key_ok):
        check_problem(response, {400, 404, 405})
        assert target is None or (after.name, after.roles) == (target.name, target.roles)
        return
    if target is None:
        check_problem(response, {400, 404, 405})
        return
    name = value["name"].strip() if value.get("name") is not None else target.name
    roles = canonical(value["roles"]) if value.get("roles") is not None else target.roles
    if kind == "self" and "org_admin" not in roles:
        check_problem(response, {409})
        assert (after.name, after.roles) == (target.name, target.roles)  # nothing half done
        return
    assert check_api(response, {200})
    echoed = response.json()
    assert (echoed["name"], echoed["roles"]) == (name, roles)
    assert member_json(after) == echoed
    assert (await env.client.get(f"/api/v1/users/{echoed['id']}")).json() == echoed


@PROPS
@given(action=st.sampled_from(["get", "deactivate", "reactivate", "delete"]), kind=st.sampled_from(TARGETS),
       text=any_text(40), key=idempotency_keys())
async def test_member_actions(api_env, engine, action, kind, text, key):
    env = api_env
    user_id, target = await api_target(engine, env, kind, text)
    headers, key_ok = headers_for(None, key if action != "get" else None)
    path = f"/api/v1/users/{segment(user_id)}"
    if action == "get":
        response = await env.client.get(path)
    elif action == "delete":
        response = await env.client.delete(path, headers=headers)
    else:
        response = await env.client.post(f"{path}/{action}", headers=headers)
    after = await load_user(engine, env.tenant, target.id) if target else None

    if target is None or not key_ok:
        check_problem(response, {400, 404, 405})
        assert target is None or after.status == target.status
        return
    if kind == "self" and action in ("deactivate", "delete"):
        check_problem(response, {409})
        assert after is not None and after.status == target.status
        return
    if action == "delete":
        assert check_api(response, {204}) and after is None
        assert (await env.client.get(path)).status_code == 404
        return
    assert check_api(response, {200})
    expected = {"get": target.status, "deactivate": "deactivated", "reactivate": "active"}[action]
    assert response.json()["status"] == after.status == expected
    assert response.json() == member_json(after) == (await env.client.get(path)).json()


# --- tokens -------------------------------------------------------------------------------------------------------


@pytest.fixture
async def token_env(new_org, make_user, client_for):
    org = await new_org("ptk")
    members = [await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"], with_2fa=True)]
    async with client_for(org.tenant) as client:
        yield Env(org.tenant, client, members)


@st.composite
def token_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A token request body (as a dict, some members of the wrong type) aimed at every answer."""
    who = draw(st.integers(0, 1))
    body: dict[str, Any] = {
        "email": draw(st.one_of(st.just(f"MEMBER{who}"), st.just(f"MEMBER{who}"), any_text(), json_values())),
        "password": draw(st.one_of(st.just(PASSWORD), st.just(PASSWORD), passwords(), json_values())),
    }
    if draw(st.booleans()):
        body["totp_code"] = draw(st.one_of(st.just("TOTP"), st.just("TOTP"), st.none(), st.just(""), any_text(8),
                                           json_values()))
    if not draw(st.integers(0, 7)):
        body[draw(any_text(8))] = draw(json_values())
    if not draw(st.integers(0, 7)):
        del body[draw(st.sampled_from(["email", "password"]))]
    return body


@HASHING
@given(request=token_requests(), padding=st.sampled_from(["", " ", "\u00a0", "\t"]), upper=st.booleans(),
       content_type=st.sampled_from(CONTENT_TYPES))
async def test_token_body(token_env, engine, request, padding, upper, content_type):
    env = token_env
    request = dict(request)  # the drawn example stays as drawn (hypothesis may replay it)
    await clear_audit(engine, env.tenant, "auth.sign_in.failure", "auth.two_factor.failure")
    for n, member in enumerate(env.members):
        if request.get("email") == f"MEMBER{n}":
            request["email"] = padding + (member.email.upper() if upper else member.email) + padding
    secret = env.members[1].totp_secret or ""
    last_step = (await load_user(engine, env.tenant, env.members[1].id)).totp_last_step
    if request.get("totp_code") == "TOTP":
        request["totp_code"] = totp.code_for(secret, at=time.time())
    body = json.dumps(request).encode()
    window = totp_window(secret, last_step)
    response = await env.client.post("/api/v1/auth/token", content=body,
                                     headers={"content-type": content_type} if content_type else {})
    window_after = totp_window(secret, last_step)

    shaped = members_match(request, {"email": lambda v: is_str(v, 320), "password": lambda v: isinstance(v, str),
                                     "totp_code": lambda v: v is None or isinstance(v, str)}, {"email", "password"})
    shaped = shaped and decoded(body)[0]
    if not shaped:
        check_problem(response, {400})
        return
    typed = request["email"].strip().lower()[:320]
    who = next((m for m in env.members if m.email == typed and request["password"] == m.password), None)
    if who is None:
        assert check_problem(response, {401})["error"] == "invalid_grant"
        return
    if who is env.members[1]:
        code = request.get("totp_code")
        if not code:
            assert check_problem(response, {401})["error"] == "totp_required"
            return
        digits = "".join(c for c in code if c in "0123456789")
        if response.status_code != 200:
            assert check_problem(response, {401})["error"] == "invalid_grant"
            assert digits not in window or digits not in window_after
            return
        assert digits in window or digits in window_after
    assert check_api(response, {200}) and response.headers["cache-control"] == "no-store"
    tokens = response.json()
    me = await env.client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == who.email


async def live_pair(engine: Any, env: Env, settings_: Any) -> Any:
    member = env.members[0]

    async def work(session: Any) -> Any:
        return await issue_pair(session, settings_.secret_key.get(), env.tenant, await session.get(User, member.id))

    with tenant_context(env.tenant):
        return await in_tenant(engine, env.tenant, work)


async def family_revoked(engine: Any, env: Env, refresh: str) -> bool:
    from tajiconnect.domains.accounts.crypto import token_hash

    async def work(session: Any) -> bool:
        row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh)))
        return row is not None and row.revoked_at is not None

    return await in_tenant(engine, env.tenant, work)


@PROPS
@given(endpoint=st.sampled_from(["refresh", "logout"]),
       token=st.one_of(st.sampled_from(["LIVE", "LIVE", "SPENT"]), any_text(60), json_values()),
       extra=st.one_of(st.none(), st.none(), st.none(), json_values()), content_type=st.sampled_from(CONTENT_TYPES))
async def test_refresh_and_logout_bodies(token_env, engine, settings, endpoint, token, extra, content_type):
    env = token_env
    pair = await live_pair(engine, env, settings)
    if token == "SPENT":
        assert (await env.client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})).status_code \
            == 200
    request: dict[str, Any] = {"refresh_token": pair.refresh_token if token in ("LIVE", "SPENT") else token}
    if extra is not None:
        request["other"] = extra
    body = json.dumps(request).encode()
    response = await env.client.post(f"/api/v1/auth/{endpoint}", content=body,
                                     headers={"content-type": content_type} if content_type else {})

    if not (decoded(body)[0] and extra is None and isinstance(request["refresh_token"], str)):
        check_problem(response, {400})
        assert not await family_revoked(engine, env, pair.refresh_token)
        return
    if token != "LIVE":
        if endpoint == "logout" and token == "SPENT":  # a known token names its sign-in, spent or not
            assert check_api(response, {204}) and await family_revoked(engine, env, pair.refresh_token)
            return
        problem = check_problem(response, {401})
        assert endpoint == "logout" or problem["error"] == "invalid_grant"
        # A spent token presented again revokes its whole sign-in (reuse detection); any other text, nothing.
        assert await family_revoked(engine, env, pair.refresh_token) == (token == "SPENT")
        return
    if endpoint == "logout":
        assert check_api(response, {204})
        assert await family_revoked(engine, env, pair.refresh_token)
        again = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
        assert again.status_code == 401
        return
    assert check_api(response, {200}) and response.headers["cache-control"] == "no-store"
    fresh = response.json()
    me = await env.client.get("/api/v1/users/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == str(env.members[0].id)
    nxt = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert nxt.status_code == 200  # the new one works, once


# --- regressions found by the properties above --------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("body", [b'{"name": "a\\u0000b"}', b'{"name": "\xff\xfe"}'], ids=["nul", "not-utf8"])
async def test_regression_json_read_whatever_its_label_is_checked(api_env, engine, content_type, body):
    """Litestar decodes a handler's JSON body whatever the Content-Type says, but the guard only looked inside bodies
    labelled JSON: a NUL sent as text/plain reached PostgreSQL (500), and so did invalid UTF-8."""
    env = api_env
    member = await create_member(engine, env.tenant, ["student"], name="Kept Name")
    headers = {"content-type": content_type} if content_type else {}
    response = await env.client.patch(f"/api/v1/users/{member.id}", content=body, headers=headers)
    check_problem(response, {400})
    assert (await load_user(engine, env.tenant, member.id)).name == "Kept Name"


@pytest.mark.parametrize("levels", [65, 990, 5000])
async def test_regression_deep_json_is_a_400(api_env, engine, levels):
    """The guard walked JSON recursively: a few hundred levels raised RecursionError (a 500)."""
    member = await create_member(engine, api_env.tenant, ["student"])
    for body in (nested_json(levels, "list"), nested_json(levels, "object")):
        response = await api_env.client.patch(f"/api/v1/users/{member.id}", content=body,
                                              headers={"content-type": "application/json"})
        check_problem(response, {400})


async def test_regression_api_filters_take_wildcards_literally(audit_env):
    headers = await bearer_for(audit_env.client, audit_env.members[0])
    users = (await audit_env.client.get("/api/v1/users?q=_", headers=headers)).json()
    assert users["items"] and all("_" in u["name"] or "_" in u["email"] for u in users["items"])
    entries = (await audit_env.client.get("/api/v1/audit-log?actor=a_b", headers=headers)).json()
    assert entries["items"] and all("a_b" in (e["subject_email"] or "") for e in entries["items"])


@pytest.mark.parametrize("param", ["page", "per_page"])
async def test_regression_api_integers_are_integers_as_written(api_env, param):
    for value in ("2.9999999999999999", "1e1", "1.0"):
        body = check_problem(await api_env.client.get(f"/api/v1/users?{param}={value}"), {400})
        assert body["errors"][0]["key"] == param
