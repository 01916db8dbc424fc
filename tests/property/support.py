"""What the property tests share: hypothesis settings, strategies, request builders and the checks of an answer.

The rule every property checks (issue 6): malformed input is a 4xx, never a 500 or a silently altered value.

* No answer is ever 5xx.
* A refusal is a 4xx: on pages our own HTML (the error page for 400/403/404/405/413, the form again with its
  errors otherwise), on the API an ``application/problem+json`` body whose ``status`` is the answer's.
* A success (2xx/3xx) is followed by a read (the database, or a GET) showing exactly what was acknowledged.

Forms are built here byte by byte (:class:`SentForm`), urlencoded or multipart, so that a value can be text
(NUL and control characters included) or raw bytes (invalid UTF-8 included), and a multipart part can declare
any ``charset``. :meth:`SentForm.fields` is the oracle for what a handler must see: the text of each field, or
``None`` when the body is malformed (a 400 at the door, ``web/input_guard.py``).
"""

from __future__ import annotations

import datetime
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, quote_from_bytes, unquote, unquote_to_bytes

import markupsafe
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.tenancy.context import tenant_context
from tests.conftest import host_of
from tests.integration.conftest import SESSION_COOKIE, csrf

# Bounded and deterministic: the same examples on every run (no example database), no deadline (the database and
# argon2 set the pace). Fixtures are opened once per property and shared by its examples, on purpose.
PROPS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

#: Every property module carries this mark. Litestar's test client runs the app's lifespan on a thread of its own
#: (an anyio portal), whose background tasks (the task queue's connection pool) touch the global ``random`` now and
#: then. Hypothesis compares the global random state around each draw and, when such a task ran meanwhile, blames
#: the strategy with this deprecation warning (an error in this suite), although no strategy here uses ``random``.
FOREIGN_RANDOM = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)

#: For properties that pay an argon2id hash (about 0.1 s) on most examples: fewer examples, still on every path.
HASHING = settings(PROPS, max_examples=20)

ERROR_PAGE_STATUSES = frozenset({400, 403, 404, 405, 413})
LAYOUT_MARKER = 'class="skip-link"'  # templates/layouts/base.html: every page of ours has it

# --- strategies ---------------------------------------------------------------------------------------------------

#: Values that find bugs more often than uniform draws: NUL, controls, odd whitespace, case-mapping oddities, LIKE
#: wildcards, escapes, markup, lengths at and over the limits, digits that are not ASCII.
SPECIAL_TEXT = (
    "", " ", "\t", "\x00", "a\x00b", "\x01\x1f\x7f", "\x0b\x0c\x1c\x1d\x1e", "\x85", "\xa0", "\u2028\u2029",
    "\ufeff", "\u200b", "\U0001f4a5", "\u0130", "\u00df", "\u212a", "\u01c5", "%", "_", "\\", "%_\\", "%00",
    "%ff", "'\"<>&", "<script>alert(1)</script>", "\r\n", "\u0661\u0662\u0663\u0664\u0665\u0666",
    "\uff11\uff12\uff13\uff14\uff15\uff16", "\u00b9\u00b2\u00b3\u2074\u2075\u2076",
    "\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4", "null", "[]", "{}", "0", "-1",
)


def long_text() -> st.SearchStrategy[str]:
    """Text at and over the limits (200 characters for names, 256 for passwords, 320 for emails...)."""
    unit = st.sampled_from(["a", " ", "\u00e9", "\U0001f4a5"])
    return st.tuples(unit, st.sampled_from([199, 200, 201, 257, 321, 700])).map(lambda pair: pair[0] * pair[1])


#: Every character UTF-8 can carry (no lone surrogates: text in a form is UTF-8), NUL and controls included.
CHARS = st.characters(codec="utf-8")


def any_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.one_of(st.text(CHARS, max_size=max_size), st.sampled_from(SPECIAL_TEXT), st.text(max_size=8), long_text())


def padded(value: str) -> st.SearchStrategy[str]:
    """``value`` with whitespace around it (ASCII and not), in any case mix."""
    space = st.sampled_from(["", " ", "\t", "\u00a0", "\u2003", "\n "])
    return st.tuples(space, st.sampled_from([value, value.upper(), value.title()]), space).map("".join)


def raw_bytes(max_size: int = 24) -> st.SearchStrategy[bytes]:
    """Bytes as a value: often invalid UTF-8 or with NUL, sometimes fine."""
    return st.one_of(
        st.binary(max_size=max_size),
        st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"a\x00b", b"\xc3\xa9", b"ok"]),
    )


STRONG_PASSWORDS = (
    "lemon-tractor-violin-harbour", "quiet meadow copper lantern", "Zo\u00eb-\u00d1and\u00fa-kettle-9-orbit"
)


def strong_passwords() -> st.SearchStrategy[str]:
    """Passwords the rules accept, with edges that must be kept exactly (spaces, NBSP, emoji, near 256 long)."""
    edge = st.one_of(st.sampled_from(["", " ", "  ", "\u00a0", "\t", "\U0001f4a5", "\u0130"]),
                     st.just(200).map("x".__mul__))
    return st.tuples(edge, st.sampled_from(STRONG_PASSWORDS), edge).map("".join)


def passwords() -> st.SearchStrategy[str]:
    """Any password: strong, weak, too long, empty, arbitrary."""
    weak = st.one_of(st.sampled_from(["short", "password1234", "", " " * 12, "\x00" * 12]),
                     st.just(257).map("a".__mul__))
    return st.one_of(strong_passwords(), weak, any_text(30))


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value: wrong types, huge and negative numbers, unicode, NUL and controls, nesting."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 0, -1]),
        st.floats(allow_nan=False, allow_infinity=False),
        any_text(30),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(any_text(8), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@st.composite
def json_bodies(draw: st.DrawFn, members: dict[str, st.SearchStrategy[Any]], required: Iterable[str] = ()) -> bytes:
    """A JSON object body: the known ``members`` (each present or not, well typed or not), maybe unknown members,
    encoded with or without ASCII escapes; sometimes with a lone surrogate or NUL escaped into a string."""
    required = set(required)
    obj: dict[str, Any] = {}
    for name, strategy in members.items():
        if name in required or draw(st.integers(0, 4)):
            obj[name] = draw(st.one_of(strategy, strategy, strategy, json_values()))
    if not draw(st.integers(0, 5)):
        obj[draw(any_text(10))] = draw(json_values())
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    trick = draw(st.integers(0, 9))
    if trick == 0 and '": "' in text:  # a lone surrogate, escaped (valid JSON syntax, not valid Unicode)
        text = text.replace('": "', '": "\\ud800', 1)
    elif trick == 1 and '": "' in text:
        text = text.replace('": "', '": "\\u0000', 1)
    elif trick == 2 and '": "' in text:
        text = text.replace('": "', '": "\\udbff\\udfff\\udc00', 1)
    return text.encode("utf-8")


def nested_json(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- forms --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One field of a form. ``value`` is text (sent as UTF-8) or raw bytes. Multipart only: ``charset`` declared
    in the part's Content-Type, ``filename`` (a file part when not empty)."""

    name: str
    value: str | bytes
    charset: str | None = None
    filename: str | None = None
    content_type: str | None = None

    @property
    def data(self) -> bytes:
        return self.value.encode("utf-8") if isinstance(self.value, str) else self.value

    @property
    def is_file(self) -> bool:
        return bool(self.filename)


@dataclass(frozen=True)
class SentForm:
    parts: tuple[Part, ...]
    multipart: bool
    boundary: str = "property-tests-boundary-5f1c0e9a7b"  # never in generated data

    def body(self, csrf_token: str) -> tuple[bytes, str]:
        """The body (with the CSRF token as its last field) and its Content-Type."""
        parts = (*self.parts, Part("_csrf_token", csrf_token))
        if not self.multipart:
            encoded = [f"{quote_from_bytes(p.name.encode('utf-8'), safe='')}={quote_from_bytes(p.data, safe='')}"
                       for p in parts]
            return "&".join(encoded).encode("ascii"), "application/x-www-form-urlencoded"
        out = bytearray()
        for p in parts:
            disposition = f'form-data; name="{p.name}"'
            if p.filename is not None:
                disposition += f'; filename="{quote(p.filename, safe=" ")}"'
            out += f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            if p.content_type or p.charset:
                out += f"Content-Type: {p.content_type or 'text/plain'}".encode()
                out += f"; charset={p.charset}\r\n".encode() if p.charset else b"\r\n"
            out += b"\r\n" + p.data + b"\r\n"
        out += f"--{self.boundary}--\r\n".encode()
        return bytes(out), f"multipart/form-data; boundary={self.boundary}"

    def fields(self) -> dict[str, Part | str] | None:
        """What the handler must see: each field's text (or its :class:`Part` for a file), or ``None`` when the
        form is malformed (text that is not valid in its charset, an unknown charset, or a NUL)."""
        seen: dict[str, Part | str] = {}
        for p in self.parts:
            if "\x00" in p.name:
                return None
            if self.multipart and p.is_file:
                seen[p.name] = p
                continue
            try:
                text = p.data.decode(p.charset or "utf-8") if self.multipart else p.data.decode("utf-8")
            except (LookupError, UnicodeError):
                return None
            if "\x00" in text or not is_unicode(text):
                return None
            seen[p.name] = text
        return seen

    def text(self, name: str) -> str:
        """``Form.get(name)``: the field's text, ``""`` when absent or a file."""
        found = (self.fields() or {}).get(name, "")
        return found if isinstance(found, str) else ""

    def values(self, name: str) -> list[str]:
        """``Form.getlist(name)`` for list fields: every value of ``name``, else of ``name[]``."""
        fields = [(p, t) for p, t in zip(self.parts, self._texts(), strict=True) if isinstance(t, str)]
        named = [t for p, t in fields if p.name == name]
        return named if any(p.name == name for p in self.parts) else [t for p, t in fields if p.name == f"{name}[]"]

    def _texts(self) -> list[str | None]:
        out: list[str | None] = []
        for p in self.parts:
            if self.multipart and p.is_file:
                out.append(None)
            else:
                out.append(p.data.decode(p.charset or "utf-8") if self.multipart else p.data.decode("utf-8"))
        return out

    def has(self, name: str) -> bool:
        return any(p.name == name for p in self.parts)


CHARSETS = ("utf-8", "UTF-8", "latin-1", "utf-16", "ascii", "idna", "utf-7", "unicode_escape", "rot13",
            "x-no-such-charset", "base64")
MULTIPART_NAME = st.text(st.sampled_from("abcxyz_-[]0123456789"), min_size=1, max_size=8)


@st.composite
def aimed(
    draw: st.DrawFn, valid: dict[str, st.SearchStrategy[Any]], invalid: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """Field values aimed at every path of a handler: all valid (half the time: decorated, at the limits, but
    valid), valid but for one field, or all arbitrary. A field missing from ``invalid`` is drawn from ``valid``."""
    aim = draw(st.sampled_from(["valid", "valid", "one-off", "arbitrary"]))
    values = {name: draw(strategy) for name, strategy in valid.items()}
    if aim == "one-off" and invalid:
        name = draw(st.sampled_from(sorted(invalid)))
        values[name] = draw(invalid[name])
    elif aim == "arbitrary":
        values.update({name: draw(strategy) for name, strategy in invalid.items()})
    return values


@st.composite
def forms(
    draw: st.DrawFn,
    known: dict[str, st.SearchStrategy[Any]] | st.SearchStrategy[dict[str, Any]],
    *,
    lists: Iterable[str] = (),
    files: dict[str, st.SearchStrategy[tuple[str, bytes, str]]] | None = None,
    multipart: bool | None = None,
    extras: bool = True,
) -> SentForm:
    """A form with the ``known`` fields (text; a drawn ``None`` leaves the field out), list fields (``lists``: a
    list of texts, sent under ``name`` or ``name[]``), files (multipart only: ``(filename, bytes, content type)``)
    and maybe unknown fields, urlencoded or multipart.

    One form in five is "wild": some values become raw bytes (often not UTF-8) and multipart parts declare a
    charset (some unknown, some that decode to lone surrogates). The others carry text only, so that most examples
    get past the door and exercise the handler.
    """
    is_multipart = draw(st.booleans()) if multipart is None else multipart
    wild = not draw(st.integers(0, 4))
    parts: list[Part] = []

    def part(name: str, text: str) -> Part:
        data: str | bytes = draw(raw_bytes()) if wild and not draw(st.integers(0, 2)) else text
        charset = draw(st.one_of(st.none(), st.sampled_from(CHARSETS))) if wild and is_multipart else None
        return Part(name, data, charset)

    drawn_fields = draw(known) if isinstance(known, st.SearchStrategy) else {k: draw(v) for k, v in known.items()}
    for name, drawn in drawn_fields.items():
        if drawn is None:
            continue
        if name in lists:
            key = draw(st.sampled_from([name, name, f"{name}[]"]))
            parts.extend(part(key, v) for v in drawn)
        else:
            parts.append(part(name, drawn))
    if is_multipart and files:
        for name, strategy in files.items():
            if draw(st.integers(0, 3)):
                filename, data, content_type = draw(strategy)
                parts.append(Part(name, data, filename=filename, content_type=content_type))
    if extras and not draw(st.integers(0, 3)):
        reserved = {*drawn_fields, *(f"{n}[]" for n in drawn_fields), "_csrf_token", *(files or {})}
        name_strategy = MULTIPART_NAME if is_multipart else any_text(12)
        for _ in range(draw(st.integers(1, 3))):
            name = draw(name_strategy.filter(lambda n: n not in reserved))
            parts.append(part(name, draw(any_text(20))))
    order = draw(st.permutations(parts)) if len(parts) < 8 else parts
    return SentForm(tuple(order), is_multipart)


def urlencoded_is_clean(body: bytes) -> bool:
    """Whether an urlencoded body is well formed: ASCII, each name and value percent-decoding to UTF-8 without NUL."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return False
    for pair in text.split("&"):
        for piece in pair.split("=", 1) if pair else ():
            try:
                decoded = unquote_to_bytes(piece.replace("+", " ")).decode("utf-8")
            except UnicodeDecodeError:
                return False
            if "\x00" in decoded:
                return False
    return True


def query_is_clean(raw: bytes) -> bool:
    return urlencoded_is_clean(raw)


# --- requests -----------------------------------------------------------------------------------------------------


async def csrf_token(client: Any, path: str = "/") -> str:
    """The client's CSRF token (from a GET of a form page of the host when it has none yet)."""
    return client.cookies.get("csrftoken") or await csrf(client, "/platform/sign-in" if path.startswith("/platform")
                                                         else "/auth/sign-in")


async def submit(client: Any, path: str, form: SentForm, **kwargs: Any) -> Any:
    """POST ``form`` with the client's CSRF token."""
    body, content_type = form.body(await csrf_token(client, path))
    return await client.post(path, content=body, headers={"content-type": content_type}, **kwargs)


async def post_raw(client: Any, path: str, body: bytes, content_type: str | None, *, with_csrf: bool = True) -> Any:
    headers = {"content-type": content_type} if content_type else {}
    if with_csrf:
        headers["x-csrftoken"] = await csrf_token(client, path)
    return await client.post(path, content=body, headers=headers)


def segment(text: str) -> str:
    """``text`` as one path segment (every reserved character percent-encoded)."""
    return quote(text, safe="")


_loop_stores: dict[int, Any] = {}


def session_store(app: Any) -> Any:
    """The app's member session store, usable from the test's event loop.

    The database store works from any loop. A Redis client is bound to the loop it was made on, and the app's
    was made on the test client's lifespan loop: with Redis, an equivalent store (same keys) on this loop.
    """
    if getattr(app.state, "redis", None) is None:
        return app.state.session_store
    import asyncio

    from redis.asyncio import Redis

    from tajiconnect.domains.accounts.sessions import RedisSessionStore

    loop = id(asyncio.get_running_loop())
    if loop not in _loop_stores:
        _loop_stores[loop] = RedisSessionStore(Redis.from_url(app.state.settings.redis_url.get()))
    return _loop_stores[loop]


async def open_session(client: Any, member: Any) -> str:
    """A brand-new full session for ``member`` from the app's own store (no password hash to pay), set as the
    client's session cookie. Returns the token."""
    with tenant_context(member.tenant):
        token = await session_store(client.app).create(member.id, "full", "127.0.0.1", "property-tests")
    client.cookies.set(SESSION_COOKIE, token, domain=host_of(member.tenant))
    return token


async def session_alive(client: Any, member: Any, token: str) -> bool:
    with tenant_context(member.tenant):
        return await session_store(client.app).get(token) is not None


async def in_tenant(engine: Any, tenant: Any, work: Any) -> Any:
    """``await work(session)`` inside the tenant's schema, committed."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await work(session)


# --- JSON as the API reads it -------------------------------------------------------------------------------


def decoded(body: bytes) -> tuple[bool, Any]:
    """(whether the body is JSON the API reads: UTF-8, no NUL, no lone surrogate, not deeper than 64, the value)."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None
    return depth(value) <= 64 and all(is_unicode(t) and "\x00" not in t for t in texts(value)), value


def depth(value: Any) -> int:
    """How deep lists and objects nest (iteratively: the documents tested may be deeper than the stack)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, level + 1)
            pending.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def texts(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            found.extend(item)
            pending.extend(item.values())
    return found


# --- checking answers ---------------------------------------------------------------------------------------------


def describe(response: Any) -> str:
    return f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:300]!r}"


def check_page(response: Any, allowed: Iterable[int] | None = None) -> int:
    """An answer of the HTML side: never 5xx; 4xx and 2xx bodies are our pages; 3xx stay on this site."""
    status = response.status_code
    assert status < 500, describe(response)
    if allowed is not None:
        assert status in set(allowed), describe(response)
    if 300 <= status < 400:
        assert_local_redirect(response)
    elif status != 204:
        assert response.headers.get("content-type", "").startswith("text/html"), describe(response)
        assert LAYOUT_MARKER in response.text, describe(response)
        if status in ERROR_PAGE_STATUSES:
            assert f'<p class="error-code">{status}</p>' in response.text, describe(response)
    return status


def check_refused_page(response: Any, status: int | Iterable[int]) -> None:
    statuses = {status} if isinstance(status, int) else set(status)
    check_page(response, statuses)


def assert_local_redirect(response: Any) -> str:
    """A redirect whose target, as a browser reads it, is on this host (no open redirect)."""
    location = response.headers.get("location", "")
    # Browsers drop tabs and newlines from URLs and read a backslash as a slash.
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//"), describe(response) + f" location={location!r}"
    return location


def check_problem(response: Any, allowed: Iterable[int] | None = None) -> dict[str, Any]:
    """An API refusal: a 4xx ``application/problem+json`` whose ``status`` is the answer's."""
    status = response.status_code
    assert 400 <= status < 500, describe(response)
    if allowed is not None:
        assert status in set(allowed), describe(response)
    assert response.headers.get("content-type", "").startswith("application/problem+json"), describe(response)
    body = response.json()
    assert body["status"] == status and isinstance(body.get("title"), str), describe(response)
    return body


def check_api(response: Any, success: Iterable[int], refusals: Iterable[int] | None = None) -> bool:
    """Never 5xx; a success has a status of ``success``, anything else is a problem body. True on success."""
    assert response.status_code < 500, describe(response)
    if response.status_code < 400:
        assert response.status_code in set(success), describe(response)
        if response.status_code != 204:
            assert response.headers.get("content-type", "").startswith("application/json"), describe(response)
        return True
    check_problem(response, refusals)
    return False


def shown(text: str) -> str:
    """``text`` as our templates print it (autoescaped)."""
    return str(markupsafe.escape(text))


def location_of(response: Any) -> str:
    return unquote(response.headers.get("location", ""))


def new_uuid() -> str:
    return str(uuid.uuid4())


def is_unicode(text: str) -> bool:
    """No lone surrogate (which some codecs, ``utf-7`` for one, decode to)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- the domain: members, roles, codes, lists ---------------------------------------------------------------------


@dataclass
class Env:
    tenant: Any
    client: Any
    members: list[Any] = field(default_factory=list)
    started: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))


async def clear_audit(engine: Any, tenant: Any, *actions: str) -> None:
    """Forget the entries the throttles count (this organization belongs to the property)."""

    async def work(session: Any) -> None:
        await session.execute(delete(AuditEntry).where(AuditEntry.action.in_(actions)))

    await in_tenant(engine, tenant, work)


async def entries(engine: Any, tenant: Any, action: str) -> list[AuditEntry]:
    async def work(session: Any) -> list[AuditEntry]:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())

    return await in_tenant(engine, tenant, work)


def totp_window(secret: str, last_step: int | None) -> dict[str, int]:
    """Code -> step of every code the server accepts right now (one step of drift, never a used step)."""
    now = int(time.time() // totp.STEP_SECONDS)
    steps = [s for s in range(now - totp.DRIFT_STEPS, now + totp.DRIFT_STEPS + 1) if last_step is None or s > last_step]
    return {totp.code_for(secret, at=s * totp.STEP_SECONDS): s for s in steps}


def ascii_digits(code: str) -> str:
    return "".join(ch for ch in code if ch in "0123456789")


@st.composite
def second_factors(draw: st.DrawFn) -> tuple[str, Any]:
    """What a member may type as a code: a spec resolved at request time (TOTP codes depend on the clock)."""
    kind = draw(st.sampled_from(["text", "digits", "totp", "totp", "recovery", "recovery"]))
    if kind == "text":
        return kind, draw(any_text(20))
    if kind == "digits":  # six digits of any script (some mixed with ASCII ones): only ASCII ones make a code
        digit = st.one_of(st.characters(categories=["Nd"]), st.sampled_from("0123456789\u00b2\u00b3\u00b9"))
        return kind, draw(st.text(digit, min_size=6, max_size=6))
    if kind == "totp":
        sep = draw(st.sampled_from(["", " ", "-", "\u00a0", "\u2003"]))
        return kind, (draw(st.sampled_from([0, 0, 1, -3])), sep, draw(padded("")))
    return kind, (draw(st.integers(0, 9)), draw(st.sampled_from(["same", "upper", "spaced"])), draw(padded("")))


VALID_NAMES = ("Amina", "  Zo\u00eb \u00d1and\u00fa  ", "\u0130stanbul \u212a", "<b>&amp;</b>", "Line\u2028Break",
               "tab\tinside")


def valid_names() -> st.SearchStrategy[str]:
    """Names the forms accept: 1-200 characters once stripped, however decorated."""
    visible = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"])
    core = st.text(visible, min_size=1, max_size=30)
    inner = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
    pad = st.sampled_from(["", " ", "\t", "\u00a0", "\u2003 "])
    built = st.tuples(pad, core, inner, core, pad).map(lambda t: t[0] + (t[1] + t[2] + t[3])[:200].strip() + t[4])
    at_limit = st.sampled_from([" ", ""]).map(lambda pad: pad + "y" * 200 + pad)
    return st.one_of(st.sampled_from(VALID_NAMES), built, at_limit).filter(lambda t: 0 < len(t.strip()) <= 200)


def names() -> st.SearchStrategy[str]:
    """Names refused (empty once stripped, over 200 characters) and any text."""
    refused = st.one_of(st.sampled_from(["", "\u00a0\u2003", "\n\t", " " * 5]),
                        st.sampled_from([201, 250, 3000]).map("z".__mul__), st.just(" " + "w" * 201 + " "))
    return st.one_of(refused, refused, any_text(30))


async def users_by_email(engine: Any, tenant: Any) -> dict[str, User]:
    async def work(session: Any) -> dict[str, User]:
        return {u.email: u for u in (await session.scalars(select(User))).all()}

    return await in_tenant(engine, tenant, work)


def canonical(roles: list[str]) -> list[str]:
    return [r for r in ROLES if r in roles]


def role_lists() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(ROLES), min_size=1, max_size=4)


def bad_role_lists() -> st.SearchStrategy[list[str]]:
    odd = st.sampled_from(["admin", "Student", " student", "student ", "org-admin", "", "\u0455tudent"])
    some = st.lists(st.one_of(odd, any_text(12), st.sampled_from(ROLES)), min_size=1, max_size=4)
    return st.one_of(st.just([]), some)


# --- invite -------------------------------------------------------------------------------------------------------


@st.composite
def new_emails(draw: st.DrawFn) -> str:
    """An address nobody has yet, as a person might type it (case, spaces, accents, an IDN domain)."""
    local = f"new.{draw(st.uuids(version=4)).hex[:12]}"
    domain = draw(st.sampled_from(["example.org", "Example.ORG", "b\u00fccher.example", "sub.example.co.ke"]))
    local = draw(st.sampled_from([local, local.upper(), "\u00f1and\u00fa." + local]))
    email = draw(padded(f"{local}@{domain}"))
    return email if draw(st.booleans()) else email.lower()


BAD_EMAILS = ("no-at-sign", "a@b", "a@@example.org", "@example.org", "a@example..org", "a b@example.org",
              "a@example.org\n", "EXISTING", "x" * 250 + "@example.org")


SEARCHES = ("%", "_", "\\", "a_b", "50%", "O'Brien", "ZO\u00cb", "\u00e9", "example", "@", " ", "x" * 101)


PAGES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["1", "2", "10000", "10001", "0", "-1", "01", "+1", " 1", "1.0", "1e3", "", "abc", "\u0661"]),
)


def query(**params: Any) -> str:
    from urllib.parse import quote

    return "&".join(f"{quote(k, safe='')}={quote(v.encode('utf-8') if isinstance(v, str) else v, safe='')}"
                    for k, v in params.items() if v is not None)


def valid_page(raw: str | None, limit: int = 10_000) -> int | None:
    """The page number the server must accept (an integer written plainly, 1-limit), or None: every other spelling
    ("1.0", "1e1", "+1", " 1", "01", other scripts' digits) is refused, never read as some other number."""
    if raw is None:
        return 1
    return int(raw) if re.fullmatch(r"[1-9][0-9]*", raw) and int(raw) <= limit else None


DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-02-30", "2024-13-01", "20240101", "2024-W01-1", "0001-01-01", "9999-12-31", "", "today",
                     "2024-01-01T00:00", "2024-1-1", "\u0662\u0660\u0662\u0664-01-01", "x&action=auth"]),
    any_text(12),
)


def resolved(form: SentForm, **values: str) -> SentForm:
    """Replace placeholder values (``CURRENT``, ``SAME``: a copy of the password field) with real ones."""
    password = next((p.value for p in form.parts if p.name == "password"), "")
    table = {"SAME": password, **values}
    parts = tuple(replace(p, value=table[p.value]) if isinstance(p.value, str) and p.value in table else p
                  for p in form.parts)
    return SentForm(parts, form.multipart, form.boundary)
