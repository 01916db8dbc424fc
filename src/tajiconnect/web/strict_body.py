"""JSON bodies are checked strictly: ``0`` is not ``false`` and ``"5"`` is not ``5``.

Litestar converts a handler's arguments with msgspec in *lax* mode (query strings arrive as text, so it lets
``"5"`` become ``5``), and that applies to the JSON body too: an API would then accept what its schema refuses
(``"allow_download": 0``) and silently alter it. This ``before_request`` hook checks the body of every JSON API
request once more, strictly, against the handler's ``data`` type, and refuses a mismatch with the same 400
problem Litestar gives for other validation errors. The handler still gets Litestar's decoding of the same bytes.

One thing JSON Schema and msgspec's strict mode disagree on: ``5.0`` is an ``integer`` to JSON Schema (a number
without a fractional part), a float to msgspec. Such numbers count as integers here, as the schema says.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


@cache
def _checkable(annotation: Any) -> bool:
    try:
        msgspec.json.Decoder(annotation, strict=True)
    except TypeError:  # not a type msgspec decodes by itself (e.g. a DTO): leave it to Litestar
        return False
    return True


def _integral(value: Any) -> Any:
    """``5.0`` as ``5`` (JSON Schema's integers), through lists and objects; everything else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def _body_type(request: Request) -> Any:
    handler = request.scope.get("route_handler")
    field = getattr(handler, "parsed_data_field", None)
    if field is None:
        return None
    annotation = field.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None


async def strict_json_body(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        return
    body_type = _body_type(request)
    if body_type is None or not _checkable(body_type):
        return
    body = await request.body()
    if not body:
        return  # an empty body: Litestar answers it (or the handler accepts none)
    try:
        msgspec.convert(_integral(msgspec.json.decode(body)), body_type, strict=True)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        key = path.rstrip("`").removeprefix("$.").removeprefix("$") if path else ""
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": message, "key": key, "source": "body"}],
        ) from exc
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own decoding refuses it with its usual answer
