"""JSON bodies are decoded strictly: ``0`` is not ``false`` and ``"5"`` is not ``5``.

Litestar converts a handler's arguments with msgspec in *lax* mode (query strings arrive as text, so it lets
``"5"`` become ``5``), and that applies to the JSON body too: an API would then accept what its schema refuses
(``"allow_download": 0``) and silently alter it. This ``before_request`` hook decodes the body of every JSON API
request once more, strictly, against the handler's ``data`` type, and refuses a mismatch with the same 400
problem Litestar gives for other validation errors. The handler still gets Litestar's decoding of the same bytes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException


@cache
def _decoder(annotation: Any) -> msgspec.json.Decoder[Any] | None:
    try:
        return msgspec.json.Decoder(annotation, strict=True)
    except TypeError:  # not a type msgspec decodes by itself (e.g. a DTO): leave it to Litestar
        return None


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
    decoder = _decoder(body_type) if body_type is not None else None
    if decoder is None:
        return
    body = await request.body()
    if not body:
        return  # an empty body: Litestar answers it (or the handler accepts none)
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        key = path.rstrip("`").removeprefix("$.").removeprefix("$") if path else ""
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": message, "key": key, "source": "body"}],
        ) from exc
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own decoding refuses it with its usual answer
