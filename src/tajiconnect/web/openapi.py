"""What the OpenAPI schema (``/schema/openapi.json``) says about errors and authentication, declared once.

Every answer of the API that is not 2xx is an RFC 9457 problem body (``web/errors.py``). A handler lists the
error statuses it can actually answer, ``@get(..., **problems(401, 403, 404))``, and this module turns them into
``application/problem+json`` responses with the schemas below. Litestar also documents error responses on its own
(a ``{"status_code", "detail", "extra"}`` JSON body for 400 wherever a handler has parameters); this app never
sends that body, so :class:`ApiOperation` leaves those out.

Access tokens are bearer JWTs: ``BEARER_SCHEME`` goes into the schema's components, and a controller whose guards
need a signed-in member declares ``security = REQUIRES_BEARER``.

Request bodies are msgspec structs with ``forbid_unknown_fields=True`` (an unknown member is a 400):
:class:`ClosedStructSchemaPlugin` documents them with ``additionalProperties: false``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin  # Litestar's own, extended below
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Operation, Schema, SecurityRequirement, SecurityScheme
from litestar.typing import FieldDefinition
from msgspec import UNSET, UnsetType

PROBLEM_JSON = "application/problem+json"

BEARER = "BearerToken"
BEARER_SCHEME = SecurityScheme(
    type="http",
    scheme="bearer",
    bearer_format="JWT",
    description=(
        "An access token from `POST /api/v1/auth/token` (or `/auth/refresh`), sent as `Authorization: Bearer "
        "<token>`. It is valid for 15 minutes, on the organization that issued it only, and until its sign-in is "
        "revoked (logout, deactivation, refresh-token reuse)."
    ),
)
REQUIRES_BEARER: list[SecurityRequirement] = [{BEARER: []}]
BEARER_OPTIONAL: list[SecurityRequirement] = [{}, {BEARER: []}]


# A timestamp sent as ``datetime.isoformat()`` text (RFC 3339, with its UTC offset).
Timestamp = Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"format": "date-time"}})]


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: ``type`` is ``about:blank``, ``title`` the status's title, ``detail`` what went wrong."""

    type: str
    title: str
    status: int
    detail: str | UnsetType = UNSET


class ValidationError(msgspec.Struct, kw_only=True):
    """One input that did not validate: where (``source``: ``query``, ``body``, ...), which (``key``) and why."""

    message: str
    key: str | UnsetType = UNSET
    source: str | UnsetType = UNSET


class InvalidRequestProblem(Problem, kw_only=True):
    """400: ``errors`` lists the inputs that did not validate; ``field`` names an input the server refused."""

    errors: list[ValidationError] | UnsetType = UNSET
    field: str | UnsetType = UNSET


class ConflictProblem(Problem, kw_only=True):
    """409: ``field`` names the input in conflict, when there is one (``email``: already a member)."""

    field: str | UnsetType = UNSET


class OAuthProblem(Problem, kw_only=True):
    """An OAuth 2.0 error response (RFC 6749 §5.2) inside the problem: ``error`` is the machine-readable code."""

    error: str | UnsetType = UNSET
    error_description: str | UnsetType = UNSET


DESCRIPTIONS: dict[int, str] = {
    400: (
        "The request does not validate: `errors` lists each query parameter or body member that does not (a "
        "malformed JSON body has none), or the server refused a value (`field` names it when it can)."
    ),
    401: "No valid access token: missing, malformed, expired, revoked, or issued by another organization.",
    403: (
        "Forbidden: the member's roles lack the permission, the member must set up two-step verification in the web "
        "app first, or the organization is suspended."
    ),
    404: "No such member in this organization.",
    409: "The change conflicts with the current state of the organization or of the member.",
    413: "The request body is larger than 10 MB.",
    429: "Too many requests of this kind recently; try again later.",
}
SCHEMAS: dict[int, type[Problem]] = {400: InvalidRequestProblem, 409: ConflictProblem}
# What a guarded operation can always answer: no token (401); no permission, 2FA enrolment due or suspended (403).
GUARDED = (401, 403)
# What an operation that reads a JSON body can answer about it: it does not validate (400), or it is larger than
# Litestar's request_max_body_size (10 MB: 413).
BODY = (400, 413)
# A suspended organization answers 403 on all of its routes, these included.
SUSPENDED = "The organization is suspended."


def problem_response(status: int, description: str | None = None, schema: type[Problem] | None = None) -> ResponseSpec:
    return ResponseSpec(
        data_container=schema or SCHEMAS.get(status, Problem),
        description=description or DESCRIPTIONS.get(status, "An error."),
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )


@dataclass
class ApiOperation(Operation):
    """An operation whose error responses are all problem bodies: Litestar's own error declarations are dropped."""

    def __post_init__(self) -> None:
        if self.responses:
            self.responses = {
                code: response
                for code, response in self.responses.items()
                if not code.startswith(("4", "5")) or PROBLEM_JSON in (getattr(response, "content", None) or {})
            }


def problems(
    *statuses: int, oauth: Collection[int] = (), notes: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """The ``responses`` and ``operation_class`` of a route handler that can answer ``statuses`` besides success.

    ``oauth`` statuses carry the OAuth ``error`` members; ``notes`` replaces the default description of a status.
    """
    notes = notes or {}
    responses = {
        status: problem_response(status, notes.get(status), OAuthProblem if status in oauth else None)
        for status in sorted({*statuses, *oauth})
    }
    return {"responses": responses, "operation_class": ApiOperation}


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """A struct that refuses unknown fields is an object with ``additionalProperties: false``."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and bool(
            getattr(field_definition.type_, "__struct_config__", None)
            and field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
