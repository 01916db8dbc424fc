"""The résumés API (bearer token):

* ``GET /api/v1/resumes``: the résumés the caller may read: their own and those they are reviewing (open reviews).
  ``GET /api/v1/resumes/{id}`` one of them in full; ``GET /api/v1/resumes/{id}/pdf?layout=`` its PDF.
* ``GET /api/v1/resumes/me`` the caller's own (made the first time); ``PATCH`` changes what they write;
  ``POST /api/v1/resumes/me/entries`` adds experience, education or a reference, ``PATCH``/``DELETE
  /api/v1/resumes/me/entries/{id}`` change or remove one.
* ``POST /api/v1/resumes/me/share`` makes a new private link (the old one stops; the URL is in this answer only);
  ``DELETE`` turns it off.

A request that does not validate is a 400; a valid value the service refuses a 409 naming its ``field``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import func, or_, select

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.resumes import service
from tajiconnect.domains.resumes.models import Resume, ResumeEntry, ResumeReview
from tajiconnect.domains.resumes.pdf import pdf_response, render
from tajiconnect.domains.resumes.service import ResumeError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.idempotency import SECRET_ANSWER
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Month = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, 1950-2100.")]
Layout = Literal["classic", "modern", "compact"]
LanguageLevel = Literal["basic", "conversational", "fluent", "native"]
EntryKind = Literal["experience", "education", "reference"]
NOT_FOUND = "No such résumé here, or not one the caller may read (their own, or one they are reviewing)."
ENTRY_NOT_FOUND = "No such entry on the caller's résumé."


class LanguageIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=service.LANGUAGE_NAME_MAX, pattern=NOT_BLANK)]
    level: LanguageLevel


class ResumePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are."""

    headline: Annotated[str, Meta(max_length=service.HEADLINE_MAX)] | UnsetType = UNSET
    summary: Annotated[str, Meta(max_length=service.SUMMARY_MAX)] | UnsetType = UNSET
    phone: Annotated[str, Meta(max_length=service.PHONE_MAX)] | UnsetType = UNSET
    location: Annotated[str, Meta(max_length=service.LOCATION_MAX)] | UnsetType = UNSET
    website: Annotated[str, Meta(max_length=service.WEBSITE_MAX)] | UnsetType = UNSET
    languages: Annotated[list[LanguageIn], Meta(max_length=service.LANGUAGES_MAX)] | UnsetType = UNSET
    layout: Layout | UnsetType = UNSET
    hidden_certificate_ids: Annotated[list[uuid.UUID], Meta(max_length=500)] | UnsetType = UNSET
    show_declared_skills: bool | UnsetType = UNSET


class EntryPatch(msgspec.Struct, forbid_unknown_fields=True):
    """The whole entry, as written (its kind stays)."""

    title: Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
    organization: Annotated[str, Meta(max_length=service.ORGANIZATION_MAX)] = ""
    place: Annotated[str, Meta(max_length=service.PLACE_MAX)] = ""
    start_month: Month | None = None
    end_month: Month | None = None
    current: bool = False
    description: Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)] = ""


class EntryIn(EntryPatch, forbid_unknown_fields=True, kw_only=True):
    """A new entry: its kind, and what it says."""

    kind: EntryKind


class EntryOut(msgspec.Struct):
    id: uuid.UUID
    kind: EntryKind
    title: str
    organization: str
    place: str
    start_month: str | None
    end_month: str | None
    current: bool
    description: str


class SkillOut(msgspec.Struct):
    name: str
    level: int
    declared: bool


class CertificateOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    completed_on: str
    verification_url: str
    hidden: bool


class LanguageOut(msgspec.Struct):
    name: str
    level: LanguageLevel


class ResumeOut(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    email: str
    headline: str
    summary: str
    phone: str
    location: str
    website: str
    layout: Layout
    languages: list[LanguageOut]
    show_declared_skills: bool
    shared: bool
    completeness: Annotated[int, Meta(ge=0, le=100)]
    entries: list[EntryOut]
    skills: list[SkillOut]
    certificates: list[CertificateOut]
    updated_at: Timestamp


class ResumeListed(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    headline: str
    mine: bool
    updated_at: Timestamp


class ResumePage(msgspec.Struct):
    items: list[ResumeListed]
    total: int
    page: int
    per_page: int


class ShareOut(msgspec.Struct):
    url: str


def _month(value: datetime.date | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


def entry_json(e: ResumeEntry) -> EntryOut:
    return EntryOut(id=e.id, kind=e.kind, title=e.title, organization=e.organization,  # type: ignore[arg-type]
                    place=e.place, start_month=_month(e.start_month), end_month=_month(e.end_month),
                    current=e.current, description=e.description)


def resume_json(c: service.ResumeContent) -> ResumeOut:
    r = c.resume
    return ResumeOut(
        id=r.id, user_id=r.user_id, name=c.name, email=c.email, headline=r.headline, summary=r.summary,
        phone=r.phone, location=r.location, website=r.website, layout=r.layout,  # type: ignore[arg-type]
        languages=[LanguageOut(name=x["name"], level=x["level"]) for x in r.languages],
        show_declared_skills=r.show_declared_skills, shared=r.share_token_hash is not None,
        completeness=service.completeness(c), entries=[entry_json(e) for kind in c.entries.values() for e in kind],
        skills=[SkillOut(name=s.name, level=s.level, declared=s.declared) for s in c.skills],
        certificates=[CertificateOut(id=x.id, title=x.title, completed_on=x.completed_on.isoformat(),
                                     verification_url=x.url, hidden=x.hidden) for x in c.certificates],
        updated_at=r.updated_at.isoformat())


def _readable(viewer: Any) -> Any:
    """SQL: the résumés ``viewer`` may read (their own; those they review while the review is open)."""
    reviewing = select(ResumeReview.resume_id).where(ResumeReview.reviewer_id == viewer.id,
                                                     ResumeReview.status == "open")
    return or_(Resume.user_id == viewer.id, Resume.id.in_(reviewing))


async def _content(db_session: DbSession, viewer: Any, resume_id: str) -> service.ResumeContent:
    key = parse_uuid(resume_id)
    row = (await db_session.execute(select(Resume, User).join(User, User.id == Resume.user_id).where(
        Resume.id == key, _readable(viewer), User.status == "active"))).first() if key else None
    if row is None:
        raise refusal(ResumeError(_("No such résumé."), status=404))
    return await service.content(db_session, row[0], row[1])


def _entry_values(data: EntryIn | EntryPatch) -> dict[str, Any]:
    return {"title": data.title, "organization": data.organization, "place": data.place,
            "start_month": data.start_month or "", "end_month": data.end_month or "", "current": data.current,
            "description": data.description}


class ResumesApi(Controller):
    path = "/api/v1/resumes"
    tags = ["careers"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.resumes.list", summary="The résumés I may read: mine, and those I am reviewing",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def index(self, request: Request, db_session: DbSession, page: PageParam = 1,
                    per_page: PerPage = 30) -> ResumePage:
        me = request.scope["user"]
        rows = (await db_session.execute(
            select(Resume, User.name, User.email, func.count().over()).join(User, User.id == Resume.user_id)
            .where(_readable(me), User.status == "active")
            .order_by((Resume.user_id == me.id).desc(), Resume.updated_at.desc(), Resume.id)
            .offset((page - 1) * per_page).limit(per_page))).all()
        return ResumePage(items=[ResumeListed(id=r[0].id, user_id=r[0].user_id, name=r[1] or r[2],
                                              headline=r[0].headline, mine=r[0].user_id == me.id,
                                              updated_at=r[0].updated_at.isoformat()) for r in rows],
                          total=int(rows[0][3]) if rows else 0, page=page, per_page=per_page)

    @get("/me", name="api.resumes.mine", summary="My résumé (made the first time)",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def mine(self, request: Request, db_session: DbSession) -> ResumeOut:
        me = request.scope["user"]
        return resume_json(await service.content(db_session, await service.mine(db_session, me), me))

    @patch("/me", name="api.resumes.update", summary="Change what my résumé says",
           **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
               403: SUSPENDED, 409: "A value the résumé refuses: a website that is not http(s), a phone with "
                                    "letters, a language twice (`field`)."}))
    async def update(self, request: Request, db_session: DbSession, data: JSONBody[ResumePatch]) -> ResumeOut:
        me = request.scope["user"]
        values = {f: getattr(data, f) for f in service.FIELDS if getattr(data, f) is not UNSET}
        if "languages" in values:
            values["languages"] = [{"name": x.name, "level": x.level} for x in values["languages"]]
        if "hidden_certificate_ids" in values:
            values["hidden_certificate_ids"] = [str(x) for x in values["hidden_certificate_ids"]]
        try:
            resume = await service.update(db_session, me, **values)
        except ResumeError as exc:
            raise refusal(exc, refused_value=True) from exc
        return resume_json(await service.content(db_session, resume, me))

    @post("/me/entries", name="api.resumes.entries.add", summary="Add experience, education or a reference",
          **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
              403: SUSPENDED, 409: "An end before the start, an end on a current entry, or 30 entries of the kind "
                                   "already (`field`)."}))
    async def add_entry(self, request: Request, db_session: DbSession, data: JSONBody[EntryIn]) -> EntryOut:
        try:
            entry = await service.add_entry(db_session, request.scope["user"], data.kind, _entry_values(data))
        except ResumeError as exc:
            raise refusal(exc, refused_value=True) from exc
        return entry_json(entry)

    @patch("/me/entries/{entry_id:str}", name="api.resumes.entries.update", summary="Change an entry of my résumé",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: SUSPENDED, 404: ENTRY_NOT_FOUND, 409: "An end before the start (`field`)."}))
    async def update_entry(self, request: Request, db_session: DbSession, entry_id: FromPath[str],
                           data: JSONBody[EntryPatch]) -> EntryOut:
        try:
            entry = await service.update_entry(db_session, request.scope["user"], entry_id, _entry_values(data))
        except ResumeError as exc:
            raise refusal(exc, refused_value=True) from exc
        return entry_json(entry)

    @delete("/me/entries/{entry_id:str}", name="api.resumes.entries.delete", status_code=HTTP_204_NO_CONTENT,
            summary="Remove an entry of my résumé",
            **problems(*GUARDED, 404, idempotent=True, notes={403: SUSPENDED, 404: ENTRY_NOT_FOUND}))
    async def delete_entry(self, request: Request, db_session: DbSession, entry_id: FromPath[str]) -> None:
        try:
            await service.delete_entry(db_session, request.scope["user"], entry_id)
        except ResumeError as exc:
            raise refusal(exc) from exc

    @post("/me/share", name="api.resumes.share", summary="Make a new private link to my résumé (shown once)",
          opt={SECRET_ANSWER: True},  # never stored for an Idempotency-Key replay: the link is shown once
          **problems(*GUARDED, notes={403: SUSPENDED}))
    async def share(self, request: Request, db_session: DbSession) -> ShareOut:
        token = await service.new_share_link(db_session, Acting(request.scope["user"], actor_of(request)))
        return ShareOut(url=service.share_url(token))

    @delete("/me/share", name="api.resumes.unshare", status_code=HTTP_204_NO_CONTENT,
            summary="Turn off the private link to my résumé", **problems(*GUARDED, notes={403: SUSPENDED}))
    async def unshare(self, request: Request, db_session: DbSession) -> None:
        await service.revoke_share_link(db_session, Acting(request.scope["user"], actor_of(request)))

    @get("/{resume_id:str}", name="api.resumes.show", summary="A résumé I may read",
         **problems(*GUARDED, 404, notes={403: SUSPENDED, 404: NOT_FOUND}))
    async def show(self, request: Request, db_session: DbSession, resume_id: FromPath[str]) -> ResumeOut:
        return resume_json(await _content(db_session, request.scope["user"], resume_id))

    @get("/{resume_id:str}/pdf", name="api.resumes.pdf", summary="A résumé I may read, as PDF",
         media_type="application/pdf", **problems(*GUARDED, 404, notes={403: SUSPENDED, 404: NOT_FOUND}))
    async def pdf(self, request: Request, db_session: DbSession, resume_id: FromPath[str],
                  layout: FromQuery[Annotated[Layout | None, Parameter(description="Else the résumé's own.")]] = None
                  ) -> Response[bytes]:
        found = await _content(db_session, request.scope["user"], resume_id)
        return pdf_response(await render(found, layout=layout), found.name)
