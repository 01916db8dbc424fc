"""Malformed input is a 400 at the door, for every route: never a 500, never a silently altered value.

PostgreSQL cannot store NUL in text, and a decoder told to "replace" turns undecodable bytes into U+FFFD, so
both must be refused before any handler sees them. :class:`InputGuardMiddleware` checks what every request
carries in a form a handler reads as text:

* the path and the query string: percent-decoded, they must be UTF-8 without NUL;
* a body the route's handler decodes as JSON, and any body labelled JSON (at most :data:`MAX_TEXT_BODY` bytes):
  UTF-8, JSON (nested at most :data:`MAX_JSON_DEPTH` deep), no NUL in its strings and keys. The handler's
  declaration decides, not the ``Content-Type``: Litestar decodes a handler's ``data`` as JSON whatever the label
  says, so a JSON body sent as ``text/plain`` (or with no type) must be checked all the same;
* ``application/x-www-form-urlencoded`` bodies (same size limit): percent-decoded, UTF-8 without NUL;
* ``multipart/form-data`` bodies: every text part (names and values; files are binary and left alone), parsed
  once here and kept for the handler (and the CSRF check) by Litestar. A part may name its own ``charset``: one
  Python does not know as a text encoding, bytes that do not decode in it, or text it decodes to that is not
  Unicode (``utf-7`` and ``unicode_escape`` can yield lone surrogates) are refused the same way
  (:func:`read_form`). Checking here, not where a handler reads its fields, refuses a malformed form on every
  route, including those whose handler reads none of it (as an urlencoded one is).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import ClientException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.params import ParameterKwarg
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from tajiconnect.i18n import lazy_gettext

MAX_TEXT_BODY = 1024 * 1024
#: Deeper JSON is refused. No request of this API nests beyond a few levels, and a fixed limit far below msgspec's
#: own (a ``RecursionError`` near 1000 levels, fewer the deeper the calling stack) keeps a document that passes
#: here from failing later, when Litestar decodes it again for the handler.
MAX_JSON_DEPTH = 64


# Details shown on the error page (translated there) and in API problems (English). Never the bad bytes.
CONTAINS_NUL = {
    "address": lazy_gettext("The address contains a NUL character, which is not allowed."),
    "query string": lazy_gettext("The query string contains a NUL character, which is not allowed."),
    "form": lazy_gettext("The form contains a NUL character, which is not allowed."),
    "JSON body": lazy_gettext("The JSON body contains a NUL character, which is not allowed."),
}
NOT_UNICODE = {
    "address": lazy_gettext("The address is not valid Unicode text."),
    "query string": lazy_gettext("The query string is not valid Unicode text."),
    "form": lazy_gettext("The form is not valid Unicode text."),
    "JSON body": lazy_gettext("The JSON body is not valid Unicode text."),
}
NOT_UTF8 = {
    "address": lazy_gettext("The address is not valid UTF-8."),
    "query string": lazy_gettext("The query string is not valid UTF-8."),
    "form": lazy_gettext("The form is not valid UTF-8."),
    "JSON body": lazy_gettext("The JSON body is not valid UTF-8."),
}
TOO_DEEP = lazy_gettext("The JSON body is nested too deeply (at most 64 levels).")


class MalformedInputError(ClientException):
    """400 with a message saying what was wrong (never echoing the bad bytes)."""


class BodyTooLargeError(ClientException):
    status_code = 413


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise MalformedInputError(detail=CONTAINS_NUL[where])
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no text column (nor any UTF-8 output) can hold it
            raise MalformedInputError(detail=NOT_UNICODE[where]) from exc


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """``request.form()``, with undecodable text a 400 instead of an unhandled error.

    Litestar decodes each multipart text part with the ``charset`` the part declares: an unknown one raises
    ``LookupError``, a codec that refuses its input ``UnicodeError`` (not always ``UnicodeDecodeError``).
    """
    try:
        return await request.form()
    except UnicodeError as exc:
        raise MalformedInputError(detail=NOT_UTF8["form"]) from exc
    except LookupError as exc:
        raise MalformedInputError(detail=lazy_gettext("The form names a character set that is not known.")) from exc


def check_query(raw: bytes, where: str) -> None:
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedInputError(detail=NOT_UTF8[where]) from exc
    for key, value in pairs:
        check_text(key, where)
        check_text(value, where)


def _walk_json(value: Any) -> None:
    """Check every string and key (iteratively: a deep document must not exhaust the stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            check_text(item, "JSON body")
        elif isinstance(item, list | dict):
            if depth > MAX_JSON_DEPTH:
                raise MalformedInputError(detail=TOO_DEEP)
            if isinstance(item, dict):
                for key in item:
                    check_text(key, "JSON body")
                pending.extend((v, depth + 1) for v in item.values())
            else:
                pending.extend((v, depth + 1) for v in item)


def check_json(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInputError(detail=NOT_UTF8["JSON body"]) from exc
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedInputError(detail=lazy_gettext("The body is not valid JSON.")) from exc
    except RecursionError as exc:  # msgspec's own limit on nesting
        raise MalformedInputError(detail=TOO_DEEP) from exc
    _walk_json(document)


def _reads_json(scope: Scope) -> bool:
    """Whether the route's handler takes its ``data`` from the body as JSON (whatever the Content-Type says)."""
    data = getattr(scope.get("route_handler"), "parsed_data_field", None)
    if data is None:
        return False
    return getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON) == RequestEncodingType.JSON


_INTEGER = re.compile(r"-?[0-9]+")


#: handler id -> (handler, its integer query parameters): a signature is read once, not on every request.
_integer_params_cache: dict[int, tuple[Any, frozenset[str]]] = {}


def _integer_query_params(handler: Any) -> frozenset[str]:
    """The query parameters of ``handler`` declared as integers (by the name they have in the query string)."""
    cached = _integer_params_cache.get(id(handler))
    if cached is not None and cached[0] is handler:
        return cached[1]
    names = frozenset(_read_integer_query_params(handler))
    _integer_params_cache[id(handler)] = (handler, names)
    return names


def _read_integer_query_params(handler: Any) -> set[str]:
    names = set()
    signature = getattr(handler, "parsed_fn_signature", None)
    for name, field in signature.parameters.items() if signature is not None else ():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
            continue
        types = [t.annotation for t in field.inner_types] if field.is_optional else [field.annotation]
        if int in types:
            names.add(kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name)
    return names


def check_integer_params(scope: Scope) -> None:
    """An integer query parameter must be written as one: msgspec would read ``2.9999999999999999`` as 3 and
    ``1e1`` as 10 (values nobody typed), so anything but digits after an optional minus sign is refused here."""
    names = _integer_query_params(scope.get("route_handler"))
    if not names:
        return
    for key, value in parse_qsl(scope.get("query_string", b"").decode("ascii"), keep_blank_values=True):
        if key in names and not _INTEGER.fullmatch(value):
            raise ValidationException(  # the same 400 problem as Litestar's own parameter validation
                detail=f"Validation failed for {scope.get('method')} {scope['path']}",
                extra=[{"message": "Expected an integer", "key": key, "source": "query"}],
            )


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


class InputGuardMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            path = unquote_to_bytes(scope.get("raw_path") or scope["path"].encode()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInputError(detail=NOT_UTF8["address"]) from exc
        check_text(path, "address")
        check_text(scope["path"], "address")  # what routing reads, should a server have decoded it differently
        check_query(scope.get("query_string", b""), "query string")
        check_integer_params(scope)
        content_type = _content_type(scope)
        if _reads_json(scope) or content_type.endswith(("/json", "+json")):
            body, receive = await _buffer(receive)
            if body:
                check_json(body)
        elif content_type == "application/x-www-form-urlencoded":
            body, receive = await _buffer(receive)
            check_query(body, "form")
        elif content_type == "multipart/form-data":
            form = await read_form(Request(scope, receive))  # Litestar keeps the parsed form in the scope
            for key, value in form.multi_items():
                check_text(key, "form")
                if isinstance(value, str):
                    check_text(value, "form")
        await next_app(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (refusing more than :data:`MAX_TEXT_BODY`), and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_TEXT_BODY:
            raise BodyTooLargeError(detail=lazy_gettext("The body is too large: at most 1 MiB of text is accepted."))
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay
