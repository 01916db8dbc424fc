"""The certificates API under ``/api/v1``.

* ``GET /certificates``: the caller's own, newest first, paginated.
* ``GET /users/{user_id}/certificates``: a learner's, for those who may see them (the learner, their linked
  parents, the teachers and managers leading one of their groups, admins; a course's staff see that course's);
  404 for anyone else and for another organization's ids.
* ``GET /certificates/{id}``: one, with a short-lived ``download_url`` once its PDF is stored.
* ``POST /certificates/{id}/revoke``: admins, with a reason; 409 when already revoked.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, post
from litestar import get as get_route
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.certificates import service
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.certificates.pages import download_url
from tajiconnect.domains.certificates.service import CertificateError
from tajiconnect.tenancy.urls import tenant_url
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Certificates per page.")]
Reason = Annotated[str, Meta(min_length=1, max_length=service.REASON_MAX, pattern=NOT_BLANK,
                             description="Why it is revoked: shown on the public verification page.")]
NOT_FOUND = "No such certificate here, or not one the caller may see (another organization's ids never are)."
LEARNER_404 = "No such member here, or not a learner whose certificates the caller may see."


class CertificateOut(msgspec.Struct):
    """A certificate: what it says, its verification code and page, and its status."""

    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID | None
    path_id: uuid.UUID | None
    learner_name: str
    title: str
    completed_at: Timestamp
    issued_at: Timestamp
    code: str
    verify_url: str
    layout: Literal["classic", "modern", "minimal"]
    status: Literal["issued", "revoked"]
    revoked_at: Timestamp | None
    revoked_reason: str | None
    #: True once the PDF is stored (the detail then carries ``download_url``).
    ready: bool


class CertificateDetail(CertificateOut):
    """A certificate with a short-lived URL of its PDF (null while it is being made)."""

    download_url: str | None = None


class CertificatePage(msgspec.Struct):
    items: list[CertificateOut]
    total: int
    page: int
    per_page: int


class RevokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


def certificate_json(c: Certificate) -> CertificateOut:
    return CertificateOut(
        id=c.id, user_id=c.user_id, course_id=c.course_id, path_id=c.path_id, learner_name=c.learner_name,
        title=c.title, completed_at=c.completed_at.isoformat(), issued_at=c.issued_at.isoformat(), code=c.code,
        verify_url=tenant_url(f"/verify/{c.code}"), layout=c.layout,  # type: ignore[arg-type]
        status=c.status,  # type: ignore[arg-type]
        revoked_at=c.revoked_at.isoformat() if c.revoked_at else None, revoked_reason=c.revoked_reason,
        ready=c.file_id is not None,
    )


async def detail_json(request: Request, session: AsyncSession, c: Certificate) -> CertificateDetail:
    base = certificate_json(c)
    fields = {name: getattr(base, name) for name in base.__struct_fields__}
    return CertificateDetail(**fields, download_url=await download_url(request, session, c))


class CertificatesApi(Controller):
    path = "/api/v1"
    tags = ["certificates"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get_route("/certificates", name="api.certificates.mine", summary="The caller's certificates",
               **problems(*GUARDED))
    async def mine(self, request: Request, db_session: DbSession, page: PageParam = 1,
                   per_page: PerPage = service.PER_PAGE) -> CertificatePage:
        rows, total = await service.mine(db_session, request.scope["user"], page=page, per_page=per_page)
        return CertificatePage(items=[certificate_json(c) for c in rows], total=total, page=page, per_page=per_page)

    @get_route("/users/{user_id:str}/certificates", name="api.certificates.of_learner",
               summary="A learner's certificates (for the learner, their parents, leaders, teachers and admins)",
               **problems(*GUARDED, 404, notes={404: LEARNER_404}))
    async def of_learner(self, request: Request, db_session: DbSession, user_id: FromPath[str],
                         page: PageParam = 1, per_page: PerPage = service.PER_PAGE) -> CertificatePage:
        try:
            _learner, rows, total = await service.of_learner(db_session, request.scope["user"], user_id,
                                                             page=page, per_page=per_page)
        except CertificateError as exc:
            raise refusal(exc) from exc
        return CertificatePage(items=[certificate_json(c) for c in rows], total=total, page=page, per_page=per_page)

    @get_route("/certificates/{certificate_id:str}", name="api.certificates.detail",
               summary="One certificate, with a short-lived download URL once its PDF is stored",
               **problems(*GUARDED, 404, notes={404: NOT_FOUND}))
    async def detail(self, request: Request, db_session: DbSession, certificate_id: FromPath[str]
                     ) -> CertificateDetail:
        try:
            certificate = await service.get_visible(db_session, request.scope["user"], certificate_id)
        except CertificateError as exc:
            raise refusal(exc) from exc
        return await detail_json(request, db_session, certificate)

    @post("/certificates/{certificate_id:str}/revoke", name="api.certificates.revoke", status_code=200,
          summary="Revoke a certificate with a reason (admins)",
          **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
              403: f"Only admins revoke certificates. {SUSPENDED}", 404: NOT_FOUND,
              409: "The certificate is already revoked (`field`: `status`)."}))
    async def revoke(self, request: Request, db_session: DbSession, certificate_id: FromPath[str],
                     data: JSONBody[RevokeRequest]) -> CertificateDetail:
        try:
            certificate = await service.revoke(db_session, Acting(request.scope["user"], actor_of(request)),
                                               certificate_id, data.reason)
        except CertificateError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await detail_json(request, db_session, certificate)
