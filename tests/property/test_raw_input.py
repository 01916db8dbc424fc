"""Raw input on every route: bodies of arbitrary bytes under every content type (urlencoded, multipart, JSON, none),
and arbitrary query strings (raw bytes, not only what a client library would encode).

What these properties check is the door: malformed text (not UTF-8, NUL, bad JSON, nested too deep) is a 400 in the
route's own language (our error page, or a problem body on the API) whatever the route and whatever the content
type says, and nothing is ever a 5xx. What a well-formed request does is checked by the other modules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tajiconnect.tenancy.context import tenant_context
from tests.conftest import host_of
from tests.integration.conftest import SESSION_COOKIE, bearer_for, create_member
from tests.property.support import (
    FOREIGN_RANDOM,
    PROPS,
    Env,
    check_page,
    check_problem,
    csrf_token,
    decoded,
    json_bodies,
    json_values,
    nested_json,
    open_session,
    raw_bytes,
    session_store,
    urlencoded_is_clean,
)
from tests.support import asgi_request

pytestmark = FOREIGN_RANDOM

FORM_ROUTES = (
    ("anon", "/auth/sign-in"), ("anon", "/auth/two-factor"), ("anon", "/auth/sign-out"),
    ("anon", "/auth/forgot-password"), ("anon", "/auth/reset-password/x"), ("anon", "/auth/invitation/x"),
    ("anon", "/auth/verify-email/x"),
    ("member", "/account/profile"), ("member", "/account/password"), ("member", "/account/two-factor/enable"),
    ("member", "/account/two-factor/disable"), ("member", "/account/two-factor/recovery-codes"),
    ("member", "/account/sessions/x/revoke"), ("member", "/account/sessions/revoke-all"),
    ("member", "/account/verify-email"),
    ("admin", "/admin/users/invite"), ("admin", "/admin/users/TARGET/roles"),
    ("admin", "/admin/users/TARGET/deactivate"),
    ("admin", "/admin/users/TARGET/reactivate"), ("admin", "/admin/users/TARGET/resend-invitation"),
    ("admin", "/admin/users/TARGET/delete"), ("admin", "/admin/security"),
    ("apex", "/platform/sign-in"), ("apex", "/platform/sign-out"), ("apex", "/platform/2fa"),
    ("apex", "/platform/2fa/setup"), ("apex", "/platform/security/recovery-codes"),
)
FIELD_NAMES = ("email", "password", "password_confirm", "current_password", "name", "code", "next", "locale",
               "time_zone", "roles", "roles[]", "require_2fa_roles", "confirm_email", "remove_avatar", "avatar_file_id",
               "_csrf_token")
BOUNDARY = "raw-property-boundary"
FORM_TYPES = (
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1", f"multipart/form-data; boundary={BOUNDARY}",
    "multipart/form-data", "application/json", "text/plain", None,
)


@st.composite
def urlencoded_bodies(draw: st.DrawFn) -> bytes:
    """Bodies of name=value pairs (known names, raw bytes percent-encoded or not), or any bytes at all."""
    if not draw(st.integers(0, 3)):
        return draw(st.binary(max_size=200))
    pairs = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.one_of(st.sampled_from(FIELD_NAMES), raw_bytes(8).map(lambda b: b.decode("latin-1"))))
        data = draw(raw_bytes(30))
        encoded = quote_from_bytes(data, safe="") if draw(st.booleans()) else data.decode("latin-1")
        pairs.append(f"{quote_from_bytes(name.encode('latin-1'), safe='[]')}={encoded}")
    joiner = draw(st.sampled_from(["&", "&", ";", "&&"]))
    return joiner.join(pairs).encode("latin-1") + draw(st.sampled_from([b"", b"%", b"%z", b"+", b"=", b"&="]))


@st.composite
def multipart_bodies(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(FIELD_NAMES))
        header = f'Content-Disposition: form-data; name="{name}"'.encode()
        if draw(st.booleans()):
            header += b'; filename="' + draw(raw_bytes(10)).replace(b'"', b"") + b'"'
        if draw(st.booleans()):
            header += b"\r\nContent-Type: text/plain; charset=" + draw(st.sampled_from(
                [b"utf-8", b"latin-1", b"utf-7", b"bogus", b"unicode_escape", b"idna", b"\xff"]))
        parts.append(b"--" + BOUNDARY.encode() + b"\r\n" + header + b"\r\n\r\n" + draw(raw_bytes(40)) + b"\r\n")
    tail = draw(st.sampled_from([b"--" + BOUNDARY.encode() + b"--\r\n", b"", b"--" + BOUNDARY.encode()]))
    return b"".join(parts) + tail if parts or draw(st.booleans()) else draw(st.binary(max_size=100))


@dataclass
class RawEnv(Env):
    apex: Any = None
    target: Any = None


@pytest.fixture
async def raw_env(new_org, make_user, browser):
    org = await new_org("prw")
    member = await make_user(org.tenant, ["teacher"])
    async with browser(org.tenant) as client, browser(None) as apex:
        yield RawEnv(org.tenant, client, [org.admin, member], apex=apex)


@PROPS
@given(route=st.sampled_from(FORM_ROUTES), content_type=st.sampled_from(FORM_TYPES),
       body=st.one_of(urlencoded_bodies(), multipart_bodies(), json_bodies({"email": json_values()})),
       csrf_in=st.sampled_from(["header", "body", "none"]))
async def test_raw_form_bodies(raw_env, engine, route, content_type, body, csrf_in):
    env = raw_env
    who, path = route
    client = env.apex if who == "apex" else env.client
    client.cookies.delete(SESSION_COOKIE)
    if who in ("member", "admin"):
        await open_session(client, env.members[0 if who == "admin" else 1])
    if "TARGET" in path:
        path = path.replace("TARGET", str((await create_member(engine, env.tenant, ["student"])).id))
    token = await csrf_token(client, path)
    headers = {"content-type": content_type} if content_type else {}
    if csrf_in == "header":
        headers["x-csrftoken"] = token
    elif csrf_in == "body":
        body = body + b"&_csrf_token=" + token.encode()
    response = await client.post(path, content=body, headers=headers)

    kind = (content_type or "").split(";")[0]
    if kind == "application/x-www-form-urlencoded" and not urlencoded_is_clean(body):
        check_page(response, {400})
    elif kind == "application/json" and body and not decoded(body)[0]:
        check_page(response, {400})
    else:
        check_page(response)  # any answer of ours; what a well-formed form does is checked elsewhere
    if who == "admin":
        await reset_security(engine, env)


async def reset_security(engine: Any, env: Env) -> None:
    from sqlalchemy import update

    from tajiconnect.domains.accounts.models import OrganizationSettings
    from tests.property.support import in_tenant

    async def work(session: Any) -> None:
        await session.execute(update(OrganizationSettings).values(require_2fa_roles=[]))

    await in_tenant(engine, env.tenant, work)


JSON_ROUTES = (
    ("POST", "/api/v1/auth/token", True), ("POST", "/api/v1/auth/refresh", True),
    ("POST", "/api/v1/auth/logout", True), ("POST", "/api/v1/users", True), ("PATCH", "/api/v1/users/TARGET", True),
    ("POST", "/api/v1/users/TARGET/deactivate", False), ("POST", "/api/v1/users/TARGET/reactivate", False),
    ("DELETE", "/api/v1/users/TARGET", False), ("GET", "/api/v1/users/me", False),
)
JSON_TYPES = (
    "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
    "text/plain", None, "application/x-www-form-urlencoded", f"multipart/form-data; boundary={BOUNDARY}",
    "application/problem+json", "text/json",
)


def raw_json() -> st.SearchStrategy[bytes]:
    """Bodies a JSON route may get: JSON of any shape, JSON with escapes that are not text, deep nesting, bytes."""
    anything = st.one_of(json_values(12), json_values(3)).map(lambda v: json.dumps(v).encode())
    deep = st.tuples(st.sampled_from([10, 63, 64, 65, 100, 990, 1000, 5000]), st.sampled_from(["list", "object"]))
    return st.one_of(
        json_bodies({"email": json_values(), "password": json_values(), "refresh_token": json_values(),
                     "name": json_values(), "roles": json_values()}),
        anything, deep.map(lambda d: nested_json(*d)), st.binary(max_size=120),
        st.sampled_from([b"", b"null", b"{", b'{"a":1}{', b'"\\ud800"', b'{"\\u0000": 1}', b"\xef\xbb\xbf{}",
                         b'{"name": "\\udfff\\ud800"}', b"1e99999", b"-0", b"[" * 64 + b"]" * 64]),
    )


@PROPS
@given(route=st.sampled_from(JSON_ROUTES), content_type=st.sampled_from(JSON_TYPES), body=raw_json())
@example(route=("POST", "/api/v1/users", True), content_type="text/plain",
         body=b'{"email": "nul@example.org", "roles": ["student"], "name": "a\\u0000b"}')
@example(route=("PATCH", "/api/v1/users/TARGET", True), content_type=None, body=b'{"name": "\xff\xfe"}')
@example(route=("PATCH", "/api/v1/users/TARGET", True), content_type="application/json", body=b"[" * 990 + b"]" * 990)
async def test_raw_json_bodies(raw_env, engine, route, content_type, body):
    env = raw_env
    method, path, reads_json = route
    if "TARGET" in path:
        path = path.replace("TARGET", str((await create_member(engine, env.tenant, ["student"])).id))
    headers = {} if path.startswith("/api/v1/auth/") else dict(await bearer_for(env.client, env.members[0]))
    if content_type:
        headers["content-type"] = content_type
    response = await env.client.request(method, path, content=body, headers=headers)

    assert response.status_code < 500, (route, content_type, body[:80], response.text[:300])
    labelled_json = (content_type or "").split(";")[0].endswith(("/json", "+json"))
    if (reads_json or (labelled_json and body)) and not decoded(body)[0]:
        check_problem(response, {400})
    elif response.status_code >= 400:
        check_problem(response)


# --- query strings ------------------------------------------------------------------------------------------------

GET_ROUTES = (
    ("admin", "page", "/auth/sign-in"), ("anon", "page", "/auth/two-factor"), ("anon", "page", "/auth/forgot-password"),
    ("anon", "page", "/auth/reset-password/x"), ("anon", "page", "/auth/invitation/x"),
    ("anon", "page", "/auth/verify-email/x"), ("admin", "page", "/account/profile"),
    ("admin", "page", "/account/password"), ("member", "page", "/account/two-factor"),
    ("admin", "page", "/account/sessions"), ("admin", "page", "/admin/users"), ("admin", "page", "/admin/users/invite"),
    ("admin", "page", "/admin/users/ADMIN"), ("admin", "page", "/admin/users/ADMIN/delete"),
    ("admin", "page", "/admin/security"), ("admin", "page", "/admin/audit"), ("admin", "page", "/avatars/ADMIN"),
    ("admin", "page", "/"), ("anon", "any", "/health"), ("bearer", "api", "/api/v1/users"),
    ("bearer", "api", "/api/v1/users/me"), ("bearer", "api", "/api/v1/users/ADMIN"),
    ("bearer", "api", "/api/v1/audit-log"),
    ("apex", "page", "/platform"), ("apex", "page", "/platform/sign-in"), ("apex", "page", "/"),
    ("apex", "page", "/platform/2fa"), ("apex", "page", "/platform/2fa/setup"), ("apex", "page", "/platform/security"),
)
PARAM_NAMES = (b"q", b"role", b"status", b"page", b"per_page", b"action", b"actor", b"since", b"until", b"next",
               b"notice", b"")


@st.composite
def query_strings(draw: st.DrawFn) -> bytes:
    """Raw query strings: name=value pairs of raw bytes (percent-encoded or not, so maybe not even ASCII), or any
    bytes."""
    if not draw(st.integers(0, 3)):
        return draw(st.binary(max_size=120))
    pairs = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(PARAM_NAMES))
        data = draw(st.one_of(raw_bytes(30), st.integers(-(2**80), 2**80).map(lambda n: str(n).encode()),
                              st.sampled_from([b"1.0", b"1e3", b"2.9999999999999999", b"+1", b"%2B1", b"0"])))
        encoded = quote_from_bytes(data, safe="").encode() if draw(st.booleans()) else data
        pairs.append(name + b"=" + encoded)
    return b"&".join(pairs)


class Answer:
    """An ASGI answer shaped like an httpx response, for the checks in ``support``."""

    def __init__(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, body
        self.text = body.decode("utf-8", "replace")
        self.request = type("Request", (), {"method": method, "url": path})()

    def json(self) -> Any:
        return json.loads(self.content)


@PROPS
@given(route=st.sampled_from(GET_ROUTES), raw=query_strings())
@example(route=("bearer", "api", "/api/v1/users"), raw=b"page=2.9999999999999999")
@example(route=("admin", "page", "/admin/users"), raw=b"q=%ff")
async def test_raw_query_strings(raw_env, app, engine, route, raw):
    env = raw_env
    who, kind, path = route
    admin, member = env.members
    path = path.replace("ADMIN", str(admin.id))
    headers = [(b"host", host_of(None if who == "apex" else env.tenant).encode())]
    if who in ("admin", "member"):
        with tenant_context(env.tenant):
            token = await session_store(env.client.app).create(
                (admin if who == "admin" else member).id, "full", "127.0.0.1", "raw")
        headers.append((b"cookie", f"{SESSION_COOKIE}={token}".encode()))
    elif who == "bearer":
        headers.append((b"authorization", (await bearer_for(env.client, admin))["authorization"].encode()))
    status, out_headers, body = await asgi_request(app, "GET", path, headers=headers, query=raw)
    answer = Answer("GET", f"{path}?{raw!r}", status, out_headers, body)

    assert status < 500, (route, raw, answer.text[:300])
    if kind == "api":
        if not urlencoded_is_clean(raw):
            check_problem(answer, {400})
        elif status >= 400:
            check_problem(answer)
    elif kind == "page":
        check_page(answer, {400} if not urlencoded_is_clean(raw) else None)
