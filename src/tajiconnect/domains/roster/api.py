"""The imports API under ``/api/v1/imports`` and the roster export ``/api/v1/roster.csv`` (admins only).

An upload (multipart, field ``file``) answers 201 with the import: its detected ``format``, ``status``,
``summary`` and the first rows with errors. Small files are checked before the answer (``status`` ``ready``);
larger ones in the background (``validating``: poll ``GET /api/v1/imports/{id}`` until ``processed_rows`` reaches
``total_rows``). ``POST .../apply`` applies a ``ready`` import as a whole or answers 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body, FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.roster import apply as applying
from tajiconnect.domains.roster import service
from tajiconnect.domains.roster.files import MAX_BYTES, MAX_ROWS
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.domains.roster.service import ImportRefusedError, ImportStateError, TooLargeError
from tajiconnect.domains.roster.tasks import save_refusal
from tajiconnect.web.openapi import (
    GUARDED,
    IDEMPOTENCY_CONFLICT,
    REQUIRES_BEARER,
    Problem,
    Timestamp,
    closed_form,
    problem_response,
    problems,
    refuse_unknown_parts,
)
from tajiconnect.web.paging import PageParam

#: The multipart body may carry the file and a little more (part headers, boundaries).
UPLOAD_BODY_MAX = MAX_BYTES + 64 * 1024
#: Rows with errors in the answers of the upload, mapping and apply calls (the rest: ``/errors``).
ERRORS_SHOWN = 100
PerPage = Annotated[int, Parameter(ge=1, le=500, description="Rows per page.")]
ImportsPerPage = Annotated[int, Parameter(ge=1, le=100, description="Imports per page.")]
Column = Annotated[str, Meta(max_length=1000)]  # "" (like null): not in the file
Columns = Annotated[list[Column], Meta(max_length=100)]
CSV = "text/csv; charset=utf-8"


@closed_form
@dataclass
class UploadForm:
    """``file``: the roster, as CSV (UTF-8, Windows-1252 or Latin-1; comma, semicolon or tab) or Excel .xlsx."""

    file: UploadFile


class ColumnMapping(msgspec.Struct, forbid_unknown_fields=True):
    """Which column of the file holds each field (a header of the file, or null). ``name``, or ``first_name``
    and/or ``last_name``, and ``email`` are needed; ``roles`` and ``groups`` may combine several columns."""

    email: Column | None = None
    name: Column | None = None
    first_name: Column | None = None
    last_name: Column | None = None
    roles: Column | Columns | None = None
    groups: Column | Columns | None = None
    parent_email: Column | None = None
    external_id: Column | None = None


class MappingRequest(msgspec.Struct, forbid_unknown_fields=True):
    mapping: ColumnMapping


class RowErrors(msgspec.Struct):
    """One line of the file that cannot be imported as it is, and why."""

    line: int
    email: str
    errors: list[str]
    warnings: list[str]


class RowErrorsPage(msgspec.Struct):
    items: list[RowErrors]
    total: int
    page: int
    per_page: int


class ImportSummary(msgspec.Struct):
    """What applying will do (or did: ``applied``). ``seats_needed`` are the seats the import adds, net of those
    it releases; ``missing_seats`` how many the license lacks for it. ``blocking`` says why it cannot be applied."""

    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    skipped: int = 0
    parents_new: int = 0
    parents_updated: int = 0
    seats_needed: int = 0
    seats_used: int = 0
    seats_purchased: int = 0
    seats_available: int = 0
    missing_seats: int = 0
    groups_to_create: list[str] = msgspec.field(default_factory=list)
    groups_to_create_count: int = 0
    warnings: list[str] = msgspec.field(default_factory=list)
    blocking: list[str] = msgspec.field(default_factory=list)
    can_apply: bool = False
    applied: dict[str, int] | None = None


class ImportOut(msgspec.Struct):
    """A roster import. ``status``: ``needs_mapping`` (choose the columns: ``POST .../mapping``), ``validating``,
    ``ready``, ``applying``, ``applied`` or ``failed``; ``failure`` says why the last step did not go through."""

    id: uuid.UUID
    filename: str
    status: str
    format: str | None
    format_label: str
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    mapping: dict[str, Any]
    total_rows: int
    processed_rows: int
    summary: ImportSummary | None
    errors: list[RowErrors]
    failure: str | None
    created_at: Timestamp
    created_by_email: str
    applied_at: Timestamp | None
    applied_by_email: str | None


class ImportPage(msgspec.Struct):
    items: list[ImportOut]
    total: int
    page: int
    per_page: int


class ImportConflictProblem(Problem, kw_only=True):
    """409: why the import cannot be applied; ``missing_seats`` when the license lacks seats for it."""

    missing_seats: int = 0


def _summary(imp: RosterImport) -> ImportSummary | None:
    if not imp.summary:
        return None
    known = set(ImportSummary.__struct_fields__)
    return msgspec.convert({k: v for k, v in imp.summary.items() if k in known}, ImportSummary)


def _row(row: RosterImportRow) -> RowErrors:
    return RowErrors(line=row.line, email=str(row.data.get("email") or ""), errors=list(row.errors or []),
                     warnings=list(row.warnings or []))


async def import_json(session: AsyncSession, imp: RosterImport, *, errors: bool = True) -> ImportOut:
    shown: list[RowErrors] = []
    if errors and imp.status in ("ready", "applied", "failed"):
        rows, _total = await service.list_rows(session, imp.id, page=1, per_page=ERRORS_SHOWN, only_errors=True)
        shown = [_row(r) for r in rows]
    return ImportOut(
        id=imp.id, filename=imp.filename, status=imp.status, format=imp.format, format_label=service.label_of(imp),
        encoding=imp.encoding, delimiter=imp.delimiter, headers=list(imp.headers or []),
        mapping=dict(imp.mapping or {}), total_rows=imp.total_rows, processed_rows=imp.processed_rows,
        summary=_summary(imp), errors=shown, failure=imp.failure, created_at=imp.created_at.isoformat(),
        created_by_email=imp.created_by_email,
        applied_at=imp.applied_at.isoformat() if imp.applied_at else None, applied_by_email=imp.applied_by_email,
    )


async def target(session: AsyncSession, import_id: str, *, lock: bool = False) -> RosterImport:
    imp = await service.get_import(session, import_id, lock=lock)
    if imp is None:
        raise NotFoundException(detail="no such import")
    return imp


def conflict(message: str, missing: int = 0) -> HTTPException:
    return HTTPException(status_code=409, detail=message, extra={"missing_seats": missing})


NOT_FOUND = "No such import in this organization."
APPLY_CONFLICT = (
    "The import cannot be applied: it is not `ready` (still validating, already applied...), rows have errors "
    "(fix the file and upload it again), or the license lacks seats for it (`missing_seats` says how many)."
)
UPLOAD_NOTES = {
    400: "No `file` part, a part the form does not declare, or a malformed form.",
    413: f"The file is over {MAX_BYTES // 2**20} MiB.",
}


def _with_conflict(spec: dict[str, Any], note: str) -> dict[str, Any]:
    """The 409 of an idempotent write, described as ours (with ``missing_seats``) and as the idempotency one."""
    spec["responses"][409] = problem_response(409, f"{note} {IDEMPOTENCY_CONFLICT}", ImportConflictProblem)
    return spec


def _csv(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                       "Cache-Control": "no-store"},
    )


class ImportsApi(Controller):
    path = "/api/v1/imports"
    tags = ["imports"]
    guards = [requires_permission(Permission.MANAGE_USERS)]
    security = REQUIRES_BEARER

    @get("/", name="api.imports.list", summary="Roster imports, newest first", **problems(400, *GUARDED))
    async def list_imports(
        self, db_session: DbSession, page: PageParam = 1, per_page: ImportsPerPage = 20
    ) -> ImportPage:
        items, total = await service.list_imports(db_session, page=page, per_page=per_page)
        return ImportPage(
            items=[await import_json(db_session, imp, errors=False) for imp in items],
            total=total, page=page, per_page=per_page,
        )

    @post(
        "/",
        name="api.imports.create",
        summary="Upload a roster (CSV or XLSX) to check it",
        description=(
            "Recognizes the format by its headers (this product's template, Moodle, Canvas, OneRoster, Google "
            "Workspace); anything else answers with `status` `needs_mapping` and a guessed `mapping`. Files of up "
            f"to {service.INLINE_MAX_ROWS} rows are checked before the answer; larger ones in the background. A file "
            "that cannot be read as a roster (not CSV or .xlsx, empty, no header row, more than "
            f"{MAX_ROWS:,} rows) makes a `failed` import whose `failure` says why."
        ),
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_BODY_MAX,
        **problems(400, 413, *GUARDED, notes=UPLOAD_NOTES, idempotent=True),
    )
    async def upload(
        self,
        request: Request,
        db_session: DbSession,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportOut:
        await refuse_unknown_parts(request, UploadForm)
        upload = data.file
        if not isinstance(upload, UploadFile):
            raise HTTPException(status_code=400, detail="send the roster as the file part `file`")
        content = await upload.read(MAX_BYTES + 1)
        try:
            imp = await service.create_import(
                db_session, data=content, filename=upload.filename, actor=actor_of(request), keep_unreadable=True
            )
        except TooLargeError as exc:
            raise HTTPException(status_code=413, detail=str(exc)) from exc
        return await import_json(db_session, imp)

    @get("/{import_id:str}", name="api.imports.get", summary="One import", **problems(*GUARDED, 404,
                                                                                       notes={404: NOT_FOUND}))
    async def get_import(self, db_session: DbSession, import_id: FromPath[str]) -> ImportOut:
        return await import_json(db_session, await target(db_session, import_id))

    @get(
        "/{import_id:str}/errors",
        name="api.imports.errors",
        summary="The rows of an import that have errors, by line",
        **problems(400, *GUARDED, 404, notes={404: NOT_FOUND}),
    )
    async def errors(
        self, db_session: DbSession, import_id: FromPath[str], page: PageParam = 1, per_page: PerPage = 100
    ) -> RowErrorsPage:
        imp = await target(db_session, import_id)
        rows, total = await service.list_rows(db_session, imp.id, page=page, per_page=per_page, only_errors=True)
        return RowErrorsPage(items=[_row(r) for r in rows], total=total, page=page, per_page=per_page)

    @get(
        "/{import_id:str}/errors.csv",
        name="api.imports.errors_csv",
        summary="The error report as CSV (line, email, errors)",
        media_type=CSV,
        **problems(*GUARDED, 404, notes={404: NOT_FOUND}),
    )
    async def errors_csv(self, db_session: DbSession, import_id: FromPath[str]) -> Response[bytes]:
        imp = await target(db_session, import_id)
        return _csv(await service.error_report(db_session, imp), f"import-errors-{imp.id}.csv")

    @post(
        "/{import_id:str}/mapping",
        name="api.imports.mapping",
        summary="Choose the columns of a file whose format was not recognized, and check it again",
        status_code=200,
        **_with_conflict(
            problems(400, 413, *GUARDED, 404, 409, notes={404: NOT_FOUND}, idempotent=True),
            "The mapping does not fit the file: it names a column the file does not have, or lacks the email column "
            "or the name columns (`detail` says which). Or the import is being checked or applied, was applied, or "
            "could not be read: its columns cannot change.",
        ),
    )
    async def mapping(
        self, db_session: DbSession, import_id: FromPath[str], data: JSONBody[MappingRequest]
    ) -> ImportOut:
        imp = await target(db_session, import_id, lock=True)
        try:
            problems_found = await service.set_mapping(db_session, imp, msgspec.to_builtins(data.mapping))
        except ImportStateError as exc:
            raise conflict(str(exc)) from exc
        if problems_found:
            raise conflict(" ".join(problems_found))
        return await import_json(db_session, imp)

    @post(
        "/{import_id:str}/apply",
        name="api.imports.apply",
        summary="Apply a checked import, as a whole",
        description=(
            "Small imports are applied before the answer (`status` `applied`); larger ones in the background "
            "(`applying`: poll the import). Either way the import is checked again against the organization as it "
            "is at that moment, and refused as a whole if a row turned into an error or seats ran out. New members "
            "are invited afterwards, in batches."
        ),
        status_code=200,
        **_with_conflict(problems(*GUARDED, 404, 409, notes={404: NOT_FOUND}, idempotent=True), APPLY_CONFLICT),
    )
    async def apply(self, request: Request, db_session: DbSession, import_id: FromPath[str]) -> ImportOut:
        imp = await target(db_session, import_id)
        key = imp.id
        actor = actor_of(request)
        try:
            await applying.confirm(db_session, imp, actor)
        except ImportStateError as exc:
            raise conflict(str(exc)) from exc
        except ImportRefusedError as exc:
            await db_session.rollback()
            await save_refusal(request.app.state.engine, key, exc, status="ready", actor=actor)
            raise conflict(str(exc), exc.missing_seats) from exc
        return await import_json(db_session, imp)


class RosterApi(Controller):
    path = "/api/v1/roster.csv"
    tags = ["imports"]
    guards = [requires_permission(Permission.MANAGE_USERS)]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.roster.export",
        summary="The roster as CSV, in the import template's columns (re-importable)",
        media_type=CSV,
        **problems(*GUARDED),
    )
    async def export(self, db_session: DbSession) -> Response[bytes]:
        return _csv(await service.export_roster(db_session), "roster.csv")
