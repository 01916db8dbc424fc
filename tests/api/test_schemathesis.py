"""Schemathesis over the whole API, in process: every answer must be one the OpenAPI schema declares.

The schema is the app's own ``/schema/openapi.json``, fetched through schemathesis' ASGI transport from an app of
this module. That transport runs the app in an event loop of its own (a thread), so the app gets its own engine
and lifespan and never shares connections with the session's loop. Requests go to a fresh organization's host as
its admin (a bearer token from ``POST /api/v1/auth/token``).

Schemathesis' engine runs what its command line runs: the coverage phase (boundary and invalid values of every
parameter and body member, missing or wrong credentials, undeclared methods), fuzzing (valid and invalid data),
and stateful sequences (an invited member's id reused by ``GET``/``PATCH``/``DELETE``). Every built-in check judges
every answer: no server error, a declared status, content type, headers and body schema, invalid input refused,
valid input accepted, credentials enforced where the schema requires them, ``Allow`` on ``OPTIONS``, and the
rest. Generation is bounded (``MAX_EXAMPLES`` per operation) and deterministic (a fixed seed, no example
database), so the run takes seconds and a failure replays; the stateful phase feeds on the ids the app answers
with, which differ between runs. The failures are listed with their requests and answers.

The engine is driven directly rather than through ``schemathesis.pytest.from_fixture``: that integration sets
``request.node._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

from tests.conftest import ADMIN_PASSWORD, host_of

MAX_EXAMPLES = 30
SEED = 20_261_130
LOGOUT = "/api/v1/auth/logout"


@pytest.fixture(scope="module")
async def api_org(new_org):
    return await new_org("sth")


@pytest.fixture(scope="module")
def api_app(settings) -> Iterator[Any]:
    from tajiconnect.app import create_app

    # Invitations enqueue emails: on a queue of their own, which no other test's worker drains.
    app = create_app(dataclasses.replace(settings, queue_name=f"{settings.queue_name}-schemathesis"))
    yield app
    asgi.shutdown_lifespans()  # the lifespan schemathesis started: engine disposed, queue disconnected


VALID_KEY = re.compile(r"[!-~]{1,255}")  # as web/idempotency.py accepts them


def unique_idempotency_keys() -> Callable[..., None]:
    """A ``before_call`` hook: every generated request is a new request, so a valid ``Idempotency-Key`` is made unique.

    Generated keys come from a handful of short values, so two different requests would share one: the second is
    then refused (422) or, when the same request comes back after its member was deleted, answered with the first
    answer (a replay, as documented). Both are right, and both would hide the operation itself. Keys that are not
    valid stay as generated, so their refusal is still tested; replays are tested in tests/api/test_openapi.py.
    """
    count = itertools.count()

    def before_call(context: Any, case: Any, kwargs: Any) -> None:
        key = (case.headers or {}).get("Idempotency-Key")
        if isinstance(key, str) and VALID_KEY.fullmatch(key):
            suffix = f".{next(count)}"
            case.headers["Idempotency-Key"] = key[: 255 - len(suffix)] + suffix  # still valid, as long as before

    return before_call


@pytest.fixture(scope="module")
def api_schema(api_app, api_org) -> Iterator[Any]:
    host = host_of(api_org.tenant)
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": f"https://{host}",
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # Uploads refuse schema-valid requests for reasons a schema cannot state: the size limit depends on the
            # purpose and the configuration (413), a part's exact size on the upload (422), its bytes' type (415).
            "operations": [{
                "include-path-regex": "^/api/v1/uploads",
                "checks": {"positive_data_acceptance": {"expected-statuses": [
                    "2xx", "3xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]}},
            }],
        }
    )
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", api_app, config=config, headers={"host": host})
    response = (
        schema["/api/v1/auth/token"]["POST"]
        .Case(body={"email": api_org.admin.email, "password": ADMIN_PASSWORD})
        .call()
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]

    # The only exclusion: the admin's token is not sent to logout. A logout whose refresh token names no sign-in
    # (every generated one) revokes the sign-in of the bearer token sent along, which would sign the admin out for
    # the rest of the run. Logout itself is still tested, with the generated bodies and no bearer token.
    @schema.auth(refresh_interval=None).skip_for(method="POST", path=LOGOUT)
    class AdminToken:
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    hook = schemathesis.hook("before_call")(unique_idempotency_keys())  # only global hooks run before calls
    yield schema
    schemathesis.hooks.unregister(hook)


def _clip(value: bytes | str | None, limit: int = 400) -> str:
    if value is None:
        return "-"
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    return text if len(text) <= limit else text[:limit] + "..."


def _failures(event: events.ScenarioFinished | events.FuzzScenarioFinished) -> Iterator[str]:
    recorder = event.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status == Status.SUCCESS:
                continue
            failure = check.failure_info.failure if check.failure_info else None
            interaction = recorder.interactions.get(case_id)
            request = interaction.request if interaction else None
            response = interaction.response if interaction else None
            answer = f"{response.status_code} {_clip(response.content)}" if response else "-"
            steps = check.failure_info.steps if check.failure_info else []
            yield "\n".join(
                [
                    f"{check.name} ({recorder.label}): {failure.title if failure else check.status}",
                    f"  {_clip(failure.message if failure else None)}",
                    f"  request:  {request.method} {request.uri}" if request else "  request: -",
                    f"  body:     {_clip(request.body if request else None)}",
                    f"  response: {answer}",
                    *(f"  step {n}: {_clip(step.curl, 600)}" for n, step in enumerate(steps, 1)),
                ]
            )


def test_the_api_answers_as_its_schema_says(api_schema):
    failures: dict[str, None] = {}  # ordered, without duplicates
    errors: list[str] = []
    tested: set[str] = set()
    finished: events.EngineFinished | None = None
    for event in from_schema(api_schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            if event.recorder.cases:
                tested.add(event.recorder.label)
            failures.update(dict.fromkeys(_failures(event)))
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            finished = event
    assert not errors, "\n".join(errors)
    assert finished is not None and finished.stop_reason == "completed"
    operations = {
        f"{method.upper()} {path}"
        for path, item in api_schema.raw_schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations <= tested, f"never tested: {sorted(operations - tested)}"
    assert not failures, f"{len(failures)} failing checks:\n\n" + "\n\n".join(failures)
