"""Certificate pages.

* ``/learn/certificates``: my certificates, paginated, with download links.
* ``/certificates/{id}/download``: a redirect to the stored PDF's short-lived URL, for those who may see it
  (``service.get_visible``); anyone else, another organization included, gets 404.
* ``/people/{user_id}/certificates``: a learner's certificates, for their parents, leaders, teachers, admins.
* ``/admin/certificates``: admins list (search, paginated), open one and revoke it with a reason, choose the
  organization's layout (``/admin/certificates/layout``) with a PDF preview of each, drawn on the fly.
* ``/verify/{code}`` (and ``/verify/{code}.json``): public, no sign-in, on the tenant's host: valid, revoked or
  unknown. The JSON answers 200 for valid and revoked and 404 ``{"status": "unknown"}`` for a code unknown here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.certificates import service
from tajiconnect.domains.certificates.models import CERTIFICATE_LAYOUTS, Certificate
from tajiconnect.domains.certificates.pdf import date_text, render_certificate
from tajiconnect.domains.certificates.service import CertificateError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import content_disposition
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

NO_STORE = {"cache-control": "no-store"}
SearchParam = FromQuery[str | None]


def _missing(exc: CertificateError) -> NotFoundException:
    return NotFoundException(detail=exc.message)


async def download_url(request: Request, session: AsyncSession, certificate: Certificate) -> str | None:
    """The stored PDF's short-lived URL, or None while it is being made."""
    if certificate.file_id is None:
        return None
    file = await session.get(StoredFile, certificate.file_id)
    if file is None or file.status != "ready":
        return None
    return str(request.app.state.storage.url(file, download=True))


def _helpers() -> dict[str, Any]:
    locale = require_tenant().locale
    return {"date_text": lambda moment: date_text(moment.date(), locale), "grouped": service.grouped}


class CertificatePages(Controller):
    guards = [requires_user]
    include_in_schema = False

    @get("/learn/certificates", name="certificates.mine")
    async def mine(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        rows, total = await service.mine(db_session, request.scope["user"], page=page)
        context = {"certificates": rows, "paging": page_info(total, page, service.PER_PAGE), "learner": None,
                   **_helpers()}
        fragment = wants_fragment(request, "certificates-list")
        return Template("certificates/_list.html" if fragment else "certificates/mine.html", context=context)

    @get("/people/{user_id:str}/certificates", name="certificates.of_learner")
    async def of_learner(self, request: HTMXRequest, db_session: DbSession, user_id: FromPath[str],
                         page: PageParam = 1) -> Template:
        try:
            learner, rows, total = await service.of_learner(db_session, request.scope["user"], user_id, page=page)
        except CertificateError as exc:
            raise _missing(exc) from exc
        context = {"certificates": rows, "paging": page_info(total, page, service.PER_PAGE), "learner": learner,
                   **_helpers()}
        fragment = wants_fragment(request, "certificates-list")
        return Template("certificates/_list.html" if fragment else "certificates/learner.html", context=context)

    @get("/certificates/{certificate_id:str}/download", name="certificates.download")
    async def download(self, request: Request, db_session: DbSession, certificate_id: FromPath[str]) -> Redirect:
        try:
            certificate = await service.get_visible(db_session, request.scope["user"], certificate_id)
        except CertificateError as exc:
            raise _missing(exc) from exc
        url = await download_url(request, db_session, certificate)
        if url is None:
            raise NotFoundException(detail="the certificate's file is still being made")
        return Redirect(path=url, status_code=303, headers=NO_STORE)


class AdminCertificatePages(Controller):
    path = "/admin/certificates"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    @get("/", name="admin.certificates")
    async def index(self, request: HTMXRequest, db_session: DbSession, q: SearchParam = None,
                    page: PageParam = 1, notice: FromQuery[str | None] = None) -> Template:
        query = (q or "")[: service.SEARCH_MAX]
        rows, total = await service.admin_list(db_session, request.scope["user"], q=query, page=page)
        context = {"certificates": rows, "paging": page_info(total, page, service.PER_PAGE), "q": query,
                   "notice": notice, **_helpers()}
        fragment = wants_fragment(request, "admin-certificates-list")
        return Template("certificates/_admin_list.html" if fragment else "certificates/admin.html", context=context)

    async def _detail(self, request: Request, session: AsyncSession, certificate_id: str,
                      **extra: Any) -> dict[str, Any]:
        try:
            certificate = await service.get_visible(session, request.scope["user"], certificate_id)
        except CertificateError as exc:
            raise _missing(exc) from exc
        return {"certificate": certificate, "download": await download_url(request, session, certificate),
                "verify_path": f"/verify/{certificate.code}", "errors": {}, "form": {}, **_helpers(), **extra}

    @get("/{certificate_id:str}", name="admin.certificates.detail")
    async def detail(self, request: Request, db_session: DbSession, certificate_id: FromPath[str],
                     notice: FromQuery[str | None] = None) -> Template:
        return Template("certificates/admin_detail.html",
                        context=await self._detail(request, db_session, certificate_id, notice=notice))

    @post("/{certificate_id:str}/revoke", name="admin.certificates.revoke")
    async def revoke(self, request: Request, db_session: DbSession, certificate_id: FromPath[str]
                     ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            certificate = await service.revoke(db_session, Acting(request.scope["user"], actor_of(request)),
                                               certificate_id, form.get("reason"))
        except CertificateError as exc:
            if exc.status == 404:
                raise _missing(exc) from exc
            context = await self._detail(request, db_session, certificate_id)
            context.update(errors={exc.field or "form": exc.message}, form={"reason": form.get("reason")})
            return Template("certificates/admin_detail.html", context=context, status_code=422)
        return see_other(f"/admin/certificates/{certificate.id}", notice="saved")

    @get("/layout", name="admin.certificates.layout")
    async def layout(self, db_session: DbSession, notice: FromQuery[str | None] = None) -> Template:
        return Template("certificates/layout.html", context={
            "current": await service.organization_layout(db_session), "layouts": CERTIFICATE_LAYOUTS,
            "notice": notice, "errors": {}})

    @post("/layout", name="admin.certificates.layout.save")
    async def save_layout(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await service.set_layout(db_session, Acting(request.scope["user"], actor_of(request)), form.get("layout"))
        except CertificateError as exc:
            return Template("certificates/layout.html", status_code=422, context={
                "current": await service.organization_layout(db_session), "layouts": CERTIFICATE_LAYOUTS,
                "errors": {exc.field or "form": exc.message}})
        return see_other("/admin/certificates/layout", notice="saved")

    @get("/preview/{layout:str}", name="admin.certificates.preview")
    async def preview(self, layout: FromPath[str]) -> Response[bytes]:
        """A sample certificate in ``layout`` (``classic.pdf`` or ``classic``), drawn now and not stored."""
        name = layout.removesuffix(".pdf")
        if name not in CERTIFICATE_LAYOUTS:
            raise NotFoundException()
        data = await asyncio.to_thread(render_certificate, service.sample_content(require_tenant(), name))
        return Response(data, media_type="application/pdf", headers={
            "content-disposition": content_disposition(f"certificate-{name}-preview.pdf", download=False),
            **NO_STORE})


def verification(certificate: Certificate | None) -> dict[str, Any]:
    """What ``/verify/{code}.json`` says (and the page shows)."""
    if certificate is None:
        return {"status": "unknown"}
    tenant = require_tenant()
    answer: dict[str, Any] = {
        "status": "valid" if certificate.status == "issued" else "revoked",
        "code": certificate.code, "learner_name": certificate.learner_name, "title": certificate.title,
        "kind": "course" if certificate.course_id is not None else "path",
        "completed_on": certificate.completed_at.date().isoformat(),
        "issued_at": certificate.issued_at.isoformat(), "organization": tenant.name,
    }
    if certificate.status == "revoked":
        answer["revoked_at"] = certificate.revoked_at.isoformat() if certificate.revoked_at else None
        answer["revoked_reason"] = certificate.revoked_reason
    return answer


@get("/verify/{code:str}", name="certificates.verify", opt={"anonymous": True}, include_in_schema=False)
async def verify_page(db_session: DbSession, code: FromPath[str]) -> Template | Response[dict[str, Any]]:
    """The public verification page, or its JSON twin when the path ends in ``.json``."""
    as_json = code.endswith(".json")
    certificate = await service.verify(db_session, code.removesuffix(".json"))
    answer = verification(certificate)
    if as_json:
        return Response(answer, media_type=MediaType.JSON, status_code=200 if certificate else 404,
                        headers={"cache-control": "no-cache"})
    return Template("certificates/verify.html", status_code=200 if certificate else 404,
                    context={"answer": answer, "certificate": certificate, "tenant": require_tenant(),
                             **_helpers()}, headers={"cache-control": "no-cache"})
