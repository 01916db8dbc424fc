"""Admin pages of the roster import (``/admin/imports``) and the roster export (``/admin/roster/export.csv``).

One page per import shows the step it is at: the column mapping (format not recognized), a progress bar that
HTMX refreshes every second (checking or applying in the background), the preview with its errors and the
Confirm button, or the result.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.roster import apply as applying
from tajiconnect.domains.roster import service
from tajiconnect.domains.roster.api import UPLOAD_BODY_MAX
from tajiconnect.domains.roster.files import MAX_BYTES, MAX_ROWS, RosterFileError
from tajiconnect.domains.roster.formats import FIELD_NAMES, template_csv
from tajiconnect.domains.roster.models import RosterImport
from tajiconnect.domains.roster.service import ImportRefusedError, ImportStateError, TooLargeError
from tajiconnect.domains.roster.tasks import save_refusal
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

IMPORTS_PER_PAGE = 20
IN_PROGRESS = ("validating", "applying")
MULTIPLE = ("roles", "groups")


def _csv(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def _target(session: AsyncSession, import_id: str, *, lock: bool = False) -> RosterImport:
    """The import, 404 when this organization has none with that id; ``lock``: one change at a time."""
    imp = await service.get_import(session, import_id, lock=lock)
    if imp is None:
        raise NotFoundException(detail=_("There is no such import."))
    return imp


def _mapped(imp: RosterImport) -> dict[str, list[str]]:
    return {name: service.columns_of((imp.mapping or {}).get(name)) for name in FIELD_NAMES}


async def _index_context(session: AsyncSession, page: int) -> dict[str, Any]:
    imports, total = await service.list_imports(session, page=page, per_page=IMPORTS_PER_PAGE)
    return {
        "imports": imports,
        "paging": page_info(total, page, IMPORTS_PER_PAGE),
        "usage": await seats.usage(session),
        "max_mib": MAX_BYTES // 2**20,
        "max_rows": MAX_ROWS,
        "errors": {},
    }


async def _detail_context(session: AsyncSession, imp: RosterImport, page: int = 1) -> dict[str, Any]:
    rows: list[Any] = []
    paging = page_info(0, 1, service.PAGE_SIZE)
    if imp.status in ("ready", "applied", "failed") and imp.summary:
        rows, total = await service.list_rows(session, imp.id, page=page)
        paging = page_info(total, page, service.PAGE_SIZE)
    return {
        "imp": imp,
        "format_label": service.label_of(imp),
        "summary": imp.summary or {},
        "rows": rows,
        "paging": paging,
        "usage": await seats.usage(session),
        "fields": FIELD_NAMES,
        "multiple": MULTIPLE,
        "mapped": _mapped(imp),
        "in_progress": imp.status in IN_PROGRESS,
        "errors": {},
    }


class ImportPages(Controller):
    path = "/admin/imports"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    @get("/", name="admin.imports")
    async def index(
        self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1
    ) -> Template:
        context = await _index_context(db_session, page)
        fragment = wants_fragment(request, "imports-list")
        return Template("admin/imports/_list.html" if fragment else "admin/imports/index.html", context=context)

    @get("/template.csv", name="admin.imports.template")
    async def template(self) -> Response[bytes]:
        return _csv(template_csv(), "roster-template.csv")

    @post("/", name="admin.imports.upload", request_max_body_size=UPLOAD_BODY_MAX)
    async def upload(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        upload = form.data.get("file")
        status, message = 422, _("Choose a CSV or Excel (.xlsx) file.")
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_BYTES + 1)
            try:
                imp = await service.create_import(
                    db_session, data=content, filename=upload.filename, actor=actor_of(request)
                )
            except TooLargeError as exc:
                status, message = 413, str(exc)
            except RosterFileError as exc:
                message = exc.message
            else:
                return see_other(f"/admin/imports/{imp.id}")
        context = await _index_context(db_session, 1)
        context["errors"] = {"file": message}
        return Template("admin/imports/index.html", context=context, status_code=status)

    @get("/{import_id:str}", name="admin.imports.detail")
    async def detail(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        import_id: FromPath[str],
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        imp = await _target(db_session, import_id)
        context = await _detail_context(db_session, imp, page)
        context["notice"] = notice
        if wants_fragment(request, "import-rows"):
            return Template("admin/imports/_rows.html", context=context)
        return Template("admin/imports/detail.html", context=context)

    @get("/{import_id:str}/progress", name="admin.imports.progress")
    async def progress(
        self, request: HTMXRequest, db_session: DbSession, import_id: FromPath[str]
    ) -> Template | Response[None] | Redirect:
        """The progress bar's content; once the work is done, HTMX is told to load the import's page again."""
        imp = await _target(db_session, import_id)
        if not request.htmx:
            return see_other(f"/admin/imports/{imp.id}")
        if imp.status not in IN_PROGRESS:
            return Response(None, status_code=200, headers={"HX-Redirect": f"/admin/imports/{imp.id}"})
        return Template("admin/imports/_progress.html", context={"imp": imp})

    @post("/{import_id:str}/mapping", name="admin.imports.mapping")
    async def mapping(self, request: Request, db_session: DbSession, import_id: FromPath[str]) -> Template | Redirect:
        imp = await _target(db_session, import_id, lock=True)
        form = await Form.read(request)
        chosen = {
            name: form.getlist(f"map_{name}") if name in MULTIPLE else form.get(f"map_{name}") or None
            for name in FIELD_NAMES
        }
        try:
            problems = await service.set_mapping(db_session, imp, chosen)
        except ImportStateError as exc:
            problems, status = [str(exc)], 409
        else:
            status = 422
        if not problems:
            return see_other(f"/admin/imports/{imp.id}")
        context = await _detail_context(db_session, imp)
        context["mapped"] = {k: v if isinstance(v, list) else [v] if v else [] for k, v in chosen.items()}
        context["errors"] = {"mapping": problems}
        return Template("admin/imports/detail.html", context=context, status_code=status)

    @post("/{import_id:str}/check", name="admin.imports.check")
    async def check(self, db_session: DbSession, import_id: FromPath[str]) -> Template | Redirect:
        """Check the file again (seats were bought, members changed since the preview)."""
        imp = await _target(db_session, import_id, lock=True)
        if imp.status not in ("ready", "failed") or not imp.headers:
            context = await _detail_context(db_session, imp)
            context["errors"] = {"form": _("This import cannot be checked again now.")}
            return Template("admin/imports/detail.html", context=context, status_code=409)
        await service.start_validation(db_session, imp)
        return see_other(f"/admin/imports/{imp.id}")

    @post("/{import_id:str}/apply", name="admin.imports.apply")
    async def apply(self, request: Request, db_session: DbSession, import_id: FromPath[str]) -> Template | Redirect:
        imp = await _target(db_session, import_id)
        key, actor = imp.id, actor_of(request)
        try:
            await applying.confirm(db_session, imp, actor)
        except ImportStateError as exc:
            message = str(exc)
        except ImportRefusedError as exc:
            await db_session.rollback()
            await save_refusal(request.app.state.engine, key, exc, status="ready", actor=actor)
            message = str(exc)
        else:
            return see_other(f"/admin/imports/{key}", notice=imp.status)
        imp = await _target(db_session, str(key))
        context = await _detail_context(db_session, imp)
        context["errors"] = {"form": message}
        return Template("admin/imports/detail.html", context=context, status_code=409)

    @get("/{import_id:str}/errors.csv", name="admin.imports.errors_csv")
    async def errors_csv(self, db_session: DbSession, import_id: FromPath[str]) -> Response[bytes]:
        imp = await _target(db_session, import_id)
        return _csv(await service.error_report(db_session, imp), f"import-errors-{imp.id}.csv")


@get(
    "/admin/roster/export.csv",
    name="admin.roster.export",
    guards=[requires_permission(Permission.MANAGE_USERS)],
    include_in_schema=False,
)
async def export_roster(db_session: DbSession) -> Response[bytes]:
    """Every member in the import template's columns: edit it in a spreadsheet and import it back."""
    return _csv(await service.export_roster(db_session), "roster.csv")
