"""``Idempotency-Key`` on the API's writes: a retried request gets the first answer instead of a second effect.

A client that sends ``Idempotency-Key: <1-255 visible ASCII characters>`` with a POST, PATCH or DELETE under
``/api/`` (signed in) gets, for a repeat of the same request with the same key, the stored answer of the first
successful one (with ``Idempotent-Replayed: true``), however often it retries after a lost answer. The key is
claimed in the request's own transaction and its answer stored in it just before the commit, so either both the
effect and the stored answer exist, or neither does and the retry simply runs again. Keys belong to one member;
the same key with a different method, path or body is refused (422), and a key whose first request is still
running is refused with 409. Keys are kept for :data:`KEEP` (then purged by ``sweep_outbox``'s upkeep).

Answers that are secrets are never stored, so such writes ignore the key: the sign-in routes (``/api/v1/auth/``)
and any route declared with ``opt={SECRET_ANSWER: True}`` (e.g. a new private link shown once).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from typing import Any

import msgspec
from advanced_alchemy.types import GUID
from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantBase

HEADER = "idempotency-key"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
KEEP = datetime.timedelta(hours=24)
EXEMPT_PREFIX = "/api/v1/auth/"
SECRET_ANSWER = "secret_answer"  # noqa: S105 - the name of a route option, not a secret
ABANDONED = datetime.timedelta(minutes=2)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class IdempotentRequest(TenantBase):
    """A claimed key and, once its request succeeded, the answer to replay."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(default=_now, index=True)


def _valid_key(value: str) -> bool:
    return 1 <= len(value) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in value)


class ReplayError(Exception):
    """Not an error: the request was already answered; the exception handler sends :attr:`response` again."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__("idempotent replay")
        self.response = response


def replay_handler(request: Request, exc: ReplayError) -> Response[Any]:
    return exc.response


def _reads_form(request: Request) -> bool:
    """The request is multipart, or its handler reads a form (which then reads the body itself)."""
    if request.content_type[0] == "multipart/form-data":
        return True
    data = getattr(request.scope.get("route_handler"), "parsed_data_field", None)
    media = getattr(getattr(data, "kwarg_definition", None), "media_type", None)
    return media in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED)


async def _form_digest(request: Request) -> bytes:
    """What identifies a multipart body: its parts, files by name and content. The input guard has already read the
    body into the form (kept in the scope), so ``request.body()`` would wait for bytes that never come."""
    digest = hashlib.sha256()
    for key, value in (await request.form()).multi_items():
        digest.update(key.encode() + b"\0")
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            digest.update(b"file\0" + (value.filename or "").encode() + b"\0" + hashlib.sha256(content).digest())
        else:
            digest.update(b"text\0" + str(value).encode() + b"\0")
    return digest.digest()


async def claim(request: Request, session: AsyncSession) -> tuple[uuid.UUID, str] | None:
    """Before the handler runs: claim the request's key (returns what to remember the answer under), or raise
    :class:`ReplayError` with the stored answer; ``None`` when the request carries no key."""
    value = request.headers.get(HEADER)
    user = request.scope.get("user")
    if value is None or request.method not in WRITE_METHODS or user is None:
        return None
    handler = request.scope.get("route_handler")
    if request.url.path.startswith(EXEMPT_PREFIX) or (handler is not None and handler.opt.get(SECRET_ANSWER)):
        return None  # the answer is a secret: never stored, never replayed
    if not _valid_key(value):
        raise HTTPException(status_code=400, detail="Idempotency-Key must be 1-255 visible ASCII characters")
    body = await _form_digest(request) if _reads_form(request) else await request.body()
    fingerprint = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
    inserted = await session.execute(
        insert(IdempotentRequest)
        .values(user_id=user.id, key=value, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotentRequest.key)
    )
    if inserted.first() is not None:
        return user.id, value  # ours: the handler runs, and remember() stores its answer
    row = await session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_id == user.id, IdempotentRequest.key == value)
    )
    if row is not None and row.status_code is None and row.created_at < _now() - ABANDONED:
        row.fingerprint, row.created_at = fingerprint, _now()  # its request died half-way: run it again
        await session.flush()
        return user.id, value
    if row is None or row.status_code is None:
        raise HTTPException(status_code=409, detail="a request with this Idempotency-Key is still being processed")
    if row.fingerprint != fingerprint:
        raise HTTPException(
            status_code=422, detail="this Idempotency-Key was used for a different request (method, path or body)"
        )
    raise ReplayError(Response(
        row.body or b"",
        status_code=row.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    ))


async def remember(session: AsyncSession, user_id: uuid.UUID, key: str, status: int, content: Any) -> None:
    """Store the successful answer with the effect (same transaction, just before its commit)."""
    body = b"" if content is None else msgspec.json.encode(content)
    row = await session.get(IdempotentRequest, (user_id, key))
    if row is not None:
        row.status_code, row.body = status, body
        await session.flush()


async def purge_expired(session: AsyncSession) -> None:
    await session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < _now() - KEEP))
