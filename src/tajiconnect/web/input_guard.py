"""Malformed input is a 400 at the door, for every route: never a 500, never a silently altered value.

PostgreSQL cannot store NUL in text, and a decoder told to "replace" turns undecodable bytes into U+FFFD, so
both must be refused before any handler sees them. :class:`InputGuardMiddleware` checks what every request
carries in a form a handler reads as text:

* the path and the query string: percent-decoded, they must be UTF-8 without NUL;
* ``application/x-www-form-urlencoded`` and JSON bodies (at most :data:`MAX_TEXT_BODY` bytes): the same, JSON
  parsed once to look inside its strings and keys.

Multipart bodies are checked field by field where they are parsed (:meth:`tajiconnect.web.forms.Form.read`),
since their files are binary.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

MAX_TEXT_BODY = 1024 * 1024


class MalformedInputError(ClientException):
    """400 with a message saying what was wrong (never echoing the bad bytes)."""


class BodyTooLargeError(ClientException):
    status_code = 413


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise MalformedInputError(detail=f"The {where} contains a NUL character, which is not allowed.")


def check_query(raw: bytes, where: str) -> None:
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedInputError(detail=f"The {where} is not valid UTF-8.") from exc
    for key, value in pairs:
        check_text(key, where)
        check_text(value, where)


def _walk_json(value: Any) -> None:
    if isinstance(value, str):
        check_text(value, "JSON body")
    elif isinstance(value, list):
        for item in value:
            _walk_json(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, "JSON body")
            _walk_json(item)


def check_json(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInputError(detail="The JSON body is not valid UTF-8.") from exc
    try:
        _walk_json(msgspec.json.decode(raw))
    except msgspec.DecodeError as exc:
        raise MalformedInputError(detail="The body is not valid JSON.") from exc


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
            raise MalformedInputError(detail="The address is not valid UTF-8.") from exc
        check_text(path, "address")
        check_query(scope.get("query_string", b""), "query string")
        content_type = _content_type(scope)
        if content_type == "application/x-www-form-urlencoded" or content_type.endswith(("/json", "+json")):
            body, receive = await _buffer(receive)
            if content_type == "application/x-www-form-urlencoded":
                check_query(body, "form")
            elif body:
                check_json(body)
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
            raise BodyTooLargeError(detail=f"The body is larger than {MAX_TEXT_BODY // 1024} KiB.")
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
