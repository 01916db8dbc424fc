"""Resumable uploads: ``/api/v1/uploads`` (bearer token) and ``/uploads`` (the web app's session, CSRF header).

1. ``POST`` with ``purpose``, ``filename`` and ``size``: the upload's ``id``, ``part_size`` and ``part_count``.
2. For each part ``n`` (1..part_count): ``GET .../{id}/parts/{n}`` gives where to ``PUT`` its bytes: a presigned
   S3 URL, or this app (``PUT .../{id}/parts/{n}``, which works with both backends). Every part has exactly
   ``part_size`` bytes, the last one the rest.
3. After a lost connection, ``GET .../{id}`` lists ``done_parts``: send only the others.
4. ``POST .../{id}/complete`` assembles the parts, checks the content's real type and answers the ready file;
   ``DELETE .../{id}`` abandons the upload.

An upload is visible to the member who started it only: anyone else's id, another organization's included, is a
404. Avatars may be uploaded by any member; everything else needs the ``courses.author`` permission.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import FilePurpose, StoredFile, UploadPurpose
from tajiconnect.domains.storage.service import Storage, may_upload
from tajiconnect.i18n import _
from tajiconnect.settings import MIB
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, ApiOperation, problems, refusal

PART_BODY_MAX = 130 * MIB
PartNumber = Annotated[int, Parameter(ge=1, le=10_000, description="The part's number, from 1.")]
Filename = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[^\x00]*\S[^\x00]*$")]

NOT_FOUND = "No such upload by this member in this organization (or no such part of it)."
NOTES = {
    404: NOT_FOUND,
    409: "The upload is already finished (completed, failed or abandoned), or (completing) parts are missing.",
    413: "The file is larger than the limit of its purpose (see docs/storage.md), or the JSON body is too large.",
    415: "The content is not of a type this purpose accepts (found from the bytes, not the name): the upload is "
    "deleted and marked `failed`.",
    422: "The part does not have the size the upload gives it (`part_size`, the last part the rest).",
}


@dataclass
class PartOperation(ApiOperation):
    """The part's raw bytes as the request body (read by the handler itself, so Litestar cannot declare it)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(required=True, description="The part's bytes, exactly its size.",
                                        content={"application/octet-stream": OpenAPIMediaType(schema=binary)})


class UploadCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A file to upload: what it is for, its name (kept for downloads) and its exact size in bytes."""

    purpose: UploadPurpose
    filename: Filename
    size: Annotated[int, Meta(ge=1, le=1 << 40)]


class Upload(msgspec.Struct):
    """An upload and, once ``ready``, the stored file (``content_type`` found from its bytes, ``url`` to read it,
    valid a few minutes; a PDF's ``pages``)."""

    id: uuid.UUID
    purpose: FilePurpose
    status: Literal["uploading", "ready", "failed", "deleted"]
    filename: str
    size: int
    part_size: int
    part_count: int
    done_parts: list[int]
    content_type: str | None
    url: str | None
    pages: int | None


class PartTarget(msgspec.Struct):
    """Where to send part ``number``: ``PUT`` its bytes to ``url`` (absolute for S3, a path of this app otherwise)."""

    number: int
    method: Literal["PUT"]
    url: str
    size: int
    expires_in: int


def storage_of(request: Request) -> Storage:
    return request.app.state.storage


def upload_json(storage: Storage, file: StoredFile, done: list[int]) -> Upload:
    upload = file.upload or {}
    return Upload(
        id=file.id,
        purpose=file.purpose,  # type: ignore[arg-type]  # the CHECK constraint keeps it a FilePurpose
        status=file.status,  # type: ignore[arg-type]
        filename=file.original_name,
        size=int(file.size or upload.get("size", 0)),
        part_size=int(upload.get("part_size", 0)),
        part_count=int(upload.get("part_count", 0)),
        done_parts=done,
        content_type=file.content_type,
        url=storage.url(file) if file.status == "ready" else None,
        pages=(file.details or {}).get("pages"),
    )


class UploadsApi(Controller):
    path = "/api/v1/uploads"
    tags = ["Uploads"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    async def _upload(self, request: Request, db_session: DbSession, upload_id: uuid.UUID) -> StoredFile:
        try:
            return await storage_of(request).get_upload(db_session, upload_id, request.scope["user"])
        except StorageError as exc:
            raise refusal(exc) from exc

    @post("/", name="uploads.create", summary="Start a resumable upload", status_code=HTTP_201_CREATED,
          **problems(*BODY, *GUARDED, 413, notes={**NOTES, 403: "Only members who author courses upload files other "
                                                  "than their own picture."}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[UploadCreate]) -> Upload:
        if not may_upload(request.scope["user"], data.purpose):
            raise HTTPException(status_code=403, detail=_("You may not upload this kind of file."))
        storage = storage_of(request)
        try:
            file = await storage.create_upload(db_session, filename=data.filename, size=data.size,
                                               purpose=data.purpose, user=request.scope["user"])
        except StorageError as exc:
            raise refusal(exc) from exc
        return upload_json(storage, file, [])

    @get("/{upload_id:uuid}", name="uploads.get", summary="An upload and the parts already received",
         **problems(*GUARDED, 404, notes=NOTES))
    async def status(self, request: Request, db_session: DbSession, upload_id: FromPath[uuid.UUID]) -> Upload:
        file = await self._upload(request, db_session, upload_id)
        storage = storage_of(request)
        return upload_json(storage, file, await storage.done_parts(file))

    @get("/{upload_id:uuid}/parts/{number:int}", name="uploads.part", summary="Where to send one part",
         **problems(*GUARDED, 404, 409, notes=NOTES))
    async def part(self, request: Request, db_session: DbSession, upload_id: FromPath[uuid.UUID],
                   number: PartNumber) -> PartTarget:
        file = await self._upload(request, db_session, upload_id)
        storage = storage_of(request)
        try:
            url = storage.part_target(file, number) or f"{self.path}/{file.id}/parts/{number}"
        except StorageError as exc:
            raise refusal(exc) from exc
        return PartTarget(number=number, method="PUT", url=url, size=storage._expected(file, number),
                          expires_in=storage.settings.url_seconds)

    @put("/{upload_id:uuid}/parts/{number:int}", name="uploads.put_part", summary="Send one part's bytes",
         description="The raw bytes of the part (any content type), exactly the part's size. Sending a part again "
         "replaces it. The first part is checked against the purpose's types already (415).",
         status_code=HTTP_204_NO_CONTENT, request_max_body_size=PART_BODY_MAX,
         **{**problems(*GUARDED, 404, 409, 413, 415, 422, notes={**NOTES, 413: "The body is larger than a part."}),
            "operation_class": PartOperation})
    async def put_part(self, request: Request, db_session: DbSession, upload_id: FromPath[uuid.UUID],
                       number: PartNumber) -> None:
        file = await self._upload(request, db_session, upload_id)
        try:
            await storage_of(request).put_part(file, number, await request.body())
        except StorageError as exc:
            raise refusal(exc) from exc

    @post("/{upload_id:uuid}/complete", name="uploads.complete", summary="Finish an upload", status_code=200,
          description="Assembles the parts and checks the content's type from its first bytes. Completing a ready "
          "upload again answers it again.", **problems(*GUARDED, 404, 409, 415, notes=NOTES))
    async def complete(self, request: Request, db_session: DbSession, upload_id: FromPath[uuid.UUID]) -> Upload:
        file = await self._upload(request, db_session, upload_id)
        storage = storage_of(request)
        try:
            await storage.complete(db_session, file)
        except StorageError as exc:
            if file.status == "failed":
                await db_session.commit()  # the refusal is final: the object is gone, say so in the row too
            raise refusal(exc) from exc
        return upload_json(storage, file, [])

    @delete("/{upload_id:uuid}", name="uploads.abort", summary="Abandon an upload", status_code=HTTP_204_NO_CONTENT,
            **problems(*GUARDED, 404, 409, notes=NOTES))
    async def abort(self, request: Request, db_session: DbSession, upload_id: FromPath[uuid.UUID]) -> None:
        file = await self._upload(request, db_session, upload_id)
        try:
            await storage_of(request).abort(db_session, file)
        except StorageError as exc:
            raise refusal(exc) from exc


class UploadPages(UploadsApi):
    """The same uploads for the web app's pages (``static/upload.js``): session cookie, ``X-CSRFToken`` header."""

    path = "/uploads"
    include_in_schema = False
    security = []  # not in the schema anyway
