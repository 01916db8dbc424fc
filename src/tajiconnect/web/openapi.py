"""What the OpenAPI schema (``/schema/openapi.json``) says about errors and authentication, declared once.

Every answer of the API that is not 2xx is an RFC 9457 problem body (``web/errors.py``). A handler lists the
error statuses it can actually answer, ``@get(..., **problems(401, 403, 404))``, and this module turns them into
``application/problem+json`` responses with the schemas below. Litestar also documents error responses on its own
(a ``{"status_code", "detail", "extra"}`` JSON body for 400 wherever a handler has parameters); this app never
sends that body, so :class:`ApiOperation` leaves those out.

Access tokens are bearer JWTs: ``BEARER_SCHEME`` goes into the schema's components, and a controller whose guards
need a signed-in member declares ``security = REQUIRES_BEARER``.

Request bodies are msgspec structs with ``forbid_unknown_fields=True`` (an unknown member is a 400):
:class:`ClosedStructSchemaPlugin` documents them with ``additionalProperties: false``. Text in requests never holds
a NUL (``web/input_guard.py`` refuses it): :data:`NO_NUL` says so on every string parameter and body member.

The schema is browsable at ``/schema`` with Swagger UI served from this server (:class:`SelfHostedSwagger`).
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from litestar import Request, Router
from litestar._openapi.schema_generation.plugins import (  # Litestar's own, extended below
    DataclassSchemaPlugin,
    StructSchemaPlugin,
)
from litestar.enums import ParamType
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.typing import FieldDefinition
from msgspec import UNSET, UnsetType

from tajiconnect.web.assets import static_url
from tajiconnect.web.input_guard import MAX_TEXT_BODY

PROBLEM_JSON = "application/problem+json"

# Swagger UI, committed under static/vendor/ from the npm package swagger-ui-dist (see its README).
SWAGGER_JS = "vendor/swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = "vendor/swagger-ui-5.35.0.css"

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
    """409: ``field`` names the input in conflict, when there is one (``email``: already a member);
    ``missing_seats``, when a change needs seats: how many more it would need (0: the license gives none);
    ``missing``, when an enrollment waits for prerequisites: the titles of the courses still to complete."""

    field: str | UnsetType = UNSET
    missing_seats: int | UnsetType = UNSET
    missing: list[str] | UnsetType = UNSET


class OAuthProblem(Problem, kw_only=True):
    """An OAuth 2.0 error response (RFC 6749 §5.2) inside the problem: ``error`` is the machine-readable code."""

    error: str | UnsetType = UNSET
    error_description: str | UnsetType = UNSET


DESCRIPTIONS: dict[int, str] = {
    400: (
        "The request is malformed or does not validate. Malformed: a NUL character or invalid UTF-8 in the path, the "
        "query or the body, a bad Host header (refused before any handler runs). Not valid: `errors` lists each "
        "query parameter or body member that does not validate (a body that is not JSON has none), or the server "
        "refused a value (`field` names it when it can)."
    ),
    401: "No valid access token: missing, malformed, expired, revoked, or issued by another organization.",
    403: (
        "Forbidden: the member's roles lack the permission, the member must set up two-step verification in the web "
        "app first, or the organization is suspended. A write (POST, PUT, PATCH, DELETE) is also refused while the "
        "organization is read-only: a payment overdue beyond the grace period, a trial ended, or a cancelled or "
        "suspended license (`detail` says which); reading still works."
    ),
    404: "No such member in this organization.",
    409: "The change conflicts with the current state of the organization or of the member.",
    413: f"The request body is too large: a JSON body over {MAX_TEXT_BODY // 1024} KiB.",
    422: "This `Idempotency-Key` was already used for a different request (method, path or body).",
    429: "Too many requests of this kind recently; try again later.",
    503: "The database cannot be reached right now; try again after `Retry-After` seconds.",
}
SCHEMAS: dict[int, type[Problem]] = {400: InvalidRequestProblem, 409: ConflictProblem}
# What every API operation can answer: malformed input, refused at the door (400: web/input_guard.py), and the
# database out of reach (503: web/errors.py::database_error_handler). ``problems()`` always adds them.
ALWAYS = (400, 503)
# "Holds a character that is not white space, and no NUL", meaning the same to msgspec (Python's ``re``, which
# searches) and to clients (ECMA-262, as JSON Schema reads ``pattern``): ``\S`` differs between them (Python counts
# \x1c-\x1f and \x85 as space, ECMA counts \ufeff), so a schema-valid name could be refused; the class lists the
# union of both. Anchored, and holding no NUL as NO_NUL says, so that one pattern says both: generators (the API's
# fuzzer) then build valid values of any length at once, where an unanchored class beside NO_NUL left them searching.
_BLANK = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = rf"^[{_BLANK}]*[^\x00{_BLANK}][^\x00]*$"  # blanks, the first other character, no NUL: linear to match
# What a guarded operation can always answer: no token (401); no permission, 2FA enrolment due or suspended (403).
GUARDED = (401, 403)
# What an operation that reads a JSON body can answer about it: it does not validate (400) or is too large (413).
BODY = (400, 413)
# A suspended organization answers 403 on all of its routes, these included.
SUSPENDED = "The organization is suspended, or read-only for writes (its license is overdue, ended or cancelled)."
IDEMPOTENCY_CONFLICT = "A request with this `Idempotency-Key` is still being processed."

RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER), required=True, description="Seconds to wait before retrying."
)
IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern="^[!-~]+$"),
    description=(
        "Makes the write safe to retry: a repeat of the same request with the same key (1-255 visible ASCII "
        "characters, per member, kept 24 hours) gets the first successful answer again instead of a second effect."
    ),
)
IDEMPOTENT_REPLAYED = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
    required=False,
    description="Present when this answer is the stored answer to an earlier request with the same Idempotency-Key.",
)


def problem_response(status: int, description: str | None = None, schema: type[Problem] | None = None) -> ResponseSpec:
    return ResponseSpec(
        data_container=schema or SCHEMAS.get(status, Problem),
        description=description or DESCRIPTIONS.get(status, "An error."),
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )


# The input guard refuses a NUL character in any text the API reads (path, query, JSON strings and keys): every
# string a request carries is declared with this pattern, in parameters (ApiOperation) and bodies
# (ClosedStructSchemaPlugin). Documentation only: the guard enforces it.
NO_NUL = r"^[^\x00]*$"
#: Patterns that already keep a string free of NUL.
NUL_FREE = frozenset({NO_NUL, NOT_BLANK})


def _is_free_text(schema: Schema) -> bool:
    """A string (or a string-or-null) that no ``format``, ``enum`` or ``const`` already keeps free of NUL."""
    if schema.enum or schema.const is not None or schema.format:
        return False
    types = schema.type if isinstance(schema.type, list) else [schema.type]
    variants = [v for v in (schema.one_of or []) if isinstance(v, Schema)]
    return OpenAPIType.STRING in types or any(v.type == OpenAPIType.STRING and not v.format for v in variants)


def forbid_nul(schema: Schema | Any) -> None:
    """Declare that the string ``schema`` describes holds no NUL (kept with a pattern it already has); the items of
    a list of strings too (directly or as a variant of a union), and the strings of a union within a union."""
    if not isinstance(schema, Schema):
        return
    variants = [v for v in (schema.one_of or []) if isinstance(v, Schema)]
    for holder in (schema, *variants):
        if isinstance(holder.items, Schema):
            forbid_nul(holder.items)
    for variant in variants:
        if variant.one_of:  # a union within a union (a member annotated as a whole)
            forbid_nul(variant)
    if not _is_free_text(schema):
        return
    if schema.pattern is None:
        schema.pattern = NO_NUL
    elif schema.pattern not in NUL_FREE:
        schema.all_of = [*(schema.all_of or []), Schema(pattern=NO_NUL)]


@dataclass
class ApiOperation(Operation):
    """An operation whose error responses are all problem bodies: Litestar's own error declarations are dropped.

    A 503 declares its ``Retry-After`` header; text parameters declare that they hold no NUL.
    """

    def __post_init__(self) -> None:
        for parameter in self.parameters or []:
            forbid_nul(getattr(parameter, "schema", None))
        if self.responses:
            self.responses = {
                code: response
                for code, response in self.responses.items()
                if not code.startswith(("4", "5")) or PROBLEM_JSON in (getattr(response, "content", None) or {})
            }
            unavailable = self.responses.get("503")
            if isinstance(unavailable, OpenAPIResponse):
                unavailable.headers = {**(unavailable.headers or {}), "Retry-After": RETRY_AFTER}


@dataclass
class IdempotentOperation(ApiOperation):
    """An API write that honours ``Idempotency-Key`` (``web/idempotency.py``): the header, and the replay marker."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY]
        for code, response in (self.responses or {}).items():
            if code.startswith("2") and isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "Idempotent-Replayed": IDEMPOTENT_REPLAYED}


def problems(
    *statuses: int,
    oauth: Collection[int] = (),
    notes: Mapping[int, str] | None = None,
    idempotent: bool = False,
) -> dict[str, Any]:
    """The ``responses`` and ``operation_class`` of an API route handler that can answer ``statuses`` besides success.

    ``ALWAYS`` (400, 503) is added to every operation. ``oauth`` statuses carry the OAuth ``error`` members; ``notes``
    replaces the default description of a status. ``idempotent``: a signed-in write that honours
    ``Idempotency-Key``, which adds its header and its refusals (409 while the first request runs, 422 when the
    key was used for another request).
    """
    notes = dict(notes or {})
    wanted = {*ALWAYS, *statuses, *oauth}
    if idempotent:
        wanted |= {409, 422}
        notes[409] = f"{notes[409]} {IDEMPOTENCY_CONFLICT}" if 409 in notes else IDEMPOTENCY_CONFLICT
    responses = {
        status: problem_response(status, notes.get(status), OAuthProblem if status in oauth else None)
        for status in sorted(wanted)
    }
    return {"responses": responses, "operation_class": IdempotentOperation if idempotent else ApiOperation}


#: What a domain error's problem body carries besides its message, when the error has it set.
PROBLEM_EXTRAS = ("field", "missing", "problems", "revision")


def refusal(exc: Exception, *, status: int | None = None, refused_value: bool = False) -> HTTPException:
    """The problem answering a domain service's refusal ``exc`` (raise it ``from exc``).

    * The status is ``status``, else the error's ``status`` attribute (400 when it has none). With
      ``refused_value``, a 400 becomes 409: the body already passed the schema, so what the service refused is a
      value the current data does not allow (the API convention, README "The API").
    * The detail is the error's ``message`` attribute or its text, for the person acting.
    * The extras in :data:`PROBLEM_EXTRAS` the error carries (``field``, ``missing``, ``problems``, ``revision``),
      except on 403 and 404, which say nothing more than that.
    """
    code = status or int(getattr(exc, "status", 400) or 400)
    if refused_value and code == 400:
        code = 409
    extra: dict[str, Any] = {}
    if code not in (403, 404):
        for name in PROBLEM_EXTRAS:
            value = getattr(exc, name, None)
            if value not in (None, "", [], ()):
                extra[name] = value
    detail = getattr(exc, "message", None) or str(exc)
    return HTTPException(status_code=code, detail=detail, extra=extra or None)


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
        for member in (schema.properties or {}).values():
            forbid_nul(member)  # request bodies: the input guard refuses NUL in their strings
        restore_lost_bounds(field_definition.type_, schema)
        return schema


CLOSED_FORM = "__closed_form__"


def closed_form(cls: Any) -> Any:
    """Mark a multipart form's dataclass as closed: its schema has ``additionalProperties: false`` and
    :func:`refuse_unknown_parts` answers 400 to a form with any other part."""
    setattr(cls, CLOSED_FORM, True)
    return cls


class ClosedFormSchemaPlugin(DataclassSchemaPlugin):
    """A form dataclass marked with :func:`closed_form` is an object with ``additionalProperties: false``."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) and bool(
            getattr(field_definition.type_, CLOSED_FORM, False)
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        for member in (schema.properties or {}).values():
            forbid_nul(member)
        return schema


async def refuse_unknown_parts(request: Request, form: Any) -> None:
    """400 when the multipart body has a part that the closed form ``form`` (a dataclass) does not declare."""
    from dataclasses import fields

    from litestar.exceptions import HTTPException

    known = {f.name for f in fields(form)}
    unknown = sorted(set((await request.form()).keys()) - known)
    if unknown:
        raise HTTPException(status_code=400, detail=f"Unknown form field: {unknown[0][:50]!r}.")


_ZERO_BOUNDS = (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusive_minimum"), ("lt", "exclusive_maximum"))


def _metas(annotation: Any) -> list[msgspec.Meta]:
    """Every ``msgspec.Meta`` in an annotation, through unions and ``Annotated``."""
    found: list[msgspec.Meta] = []
    if get_origin(annotation) is Annotated:
        found.extend(m for m in get_args(annotation)[1:] if isinstance(m, msgspec.Meta))
        return found + _metas(get_args(annotation)[0])
    for arg in get_args(annotation):
        found.extend(_metas(arg))
    return found


def _list_items(annotation: Any) -> Any:
    """The element annotation of the ``list[...]`` in an annotation (through unions and ``Annotated``), if any."""
    if get_origin(annotation) is Annotated:
        return _list_items(get_args(annotation)[0])
    if get_origin(annotation) is list:
        return get_args(annotation)[0]
    for arg in get_args(annotation):
        found = _list_items(arg)
        if found is not None:
            return found
    return None


def _items_schemas(member: Schema) -> list[Schema]:
    found = [member.items] if isinstance(member.items, Schema) else []
    for option in member.one_of or []:
        if isinstance(option, Schema) and isinstance(option.items, Schema):
            found.append(option.items)
    return found


def _literal_keys(annotation: Any) -> tuple[Any, ...] | None:
    """The allowed keys of a ``dict[Literal[...], ...]`` annotation (through ``Annotated``), else None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is not dict:
        return None
    key = get_args(annotation)[0]
    return get_args(key) if get_origin(key) is Literal else None


def _dict_value(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_args(annotation)[1]


def restore_lost_bounds(struct: Any, schema: Schema) -> None:
    """Put back the limits Litestar leaves out of a struct's schema, so it states every limit the server enforces:
    a bound of 0 (``Meta(ge=0)``) on a field that may also be null or unset (Litestar tests the bound for truth),
    the limits of a list's elements (``list[Annotated[str, Meta(max_length=40)]]``) inside a union, and the keys a
    mapping takes (``dict[Literal["a", "b"], ...]``: ``propertyNames``)."""
    properties = schema.properties or {}
    for field in msgspec.structs.fields(struct):
        member = properties.get(field.encode_name)
        if not isinstance(member, Schema):
            continue
        keys = _literal_keys(field.type)
        if keys is not None and member.property_names is None:
            member.property_names = Schema(type=OpenAPIType.STRING, enum=list(keys))
        values = member.additional_properties
        if keys is not None and isinstance(values, Schema) and values.type == OpenAPIType.ARRAY:
            for meta in _metas(_dict_value(field.type)):
                if meta.max_length is not None and values.max_items is None:
                    values.max_items = meta.max_length
                if meta.min_length is not None and values.min_items is None:
                    values.min_items = meta.min_length
        for meta in _metas(field.type):
            for attribute, key in _ZERO_BOUNDS:
                if getattr(meta, attribute, None) == 0 and getattr(member, key, None) is None:
                    setattr(member, key, 0.0)
        element = _list_items(field.type)
        if element is None:
            continue
        for meta in _metas(element):
            for items in _items_schemas(member):
                for attribute in ("max_length", "min_length", "pattern"):
                    value = getattr(meta, attribute, None)
                    if value is not None and getattr(items, attribute, None) is None:
                        setattr(items, attribute, value)


class SelfHostedSwagger(SwaggerRenderPlugin):
    """Swagger UI at ``/schema`` (and ``/schema/swagger``) from this server's own files, under the strict CSP.

    Litestar's plugin loads its scripts from a CDN (blocked by ``script-src 'self'``, unreachable offline) and
    starts them with an inline script (blocked too). Here the page links the copy in ``static/vendor/`` and
    ``static/swagger-init.js``, which loads the schema from ``/schema/openapi.json``: no inline script at all.
    The API authenticates with bearer tokens only, so the OAuth2 redirect page is not served.
    """

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        config = request.app.openapi_config
        base = (config.path if config is not None and config.path else "/schema").rstrip("/")
        spec_url = f"{base}/openapi.json"
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return (
            "<!doctype html>\n"
            '<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
            '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"  <title>{title}</title>\n"
            f'  <link rel="icon" href="{static_url("favicon.svg")}" type="image/svg+xml">\n'
            f'  <link rel="stylesheet" href="{static_url(SWAGGER_CSS)}">\n'
            f'  <script src="{static_url(SWAGGER_JS)}" defer></script>\n'
            f'  <script src="{static_url("swagger-init.js")}" defer></script>\n'
            "</head>\n<body>\n"
            f'  <main id="swagger-ui" data-spec-url="{html.escape(spec_url)}"></main>\n'
            "</body>\n</html>\n"
        ).encode()

    def receive_router(self, router: Router) -> None:
        """No ``oauth2-redirect.html``: no OAuth2 flow to finish (and its inline script would be refused)."""
