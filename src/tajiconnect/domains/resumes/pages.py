"""Résumé pages.

* ``/career/resume``: the member's résumé editor, each section a form saved in place (HTMX swaps the section; a
  plain POST and redirect without JavaScript): details, experience, education, references, languages, what it
  shows (layout, certificates, self-declared skills); the PDF in each layout; the private share link (made,
  replaced, revoked); reviews (ask a teacher or adviser, read and answer their comments, close).
* ``/career/reviews``: the reviews asked of a staff member; ``/career/reviews/{id}``: the résumé, its comments and
  a comment form (the reviewer while the review is open, the member always); its PDF.
* ``/r/{token}`` and ``/r/{token}.pdf``: a shared résumé, without signing in, while the link is alive.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.people import relations
from tajiconnect.domains.resumes import reviews, service
from tajiconnect.domains.resumes.models import ENTRY_KINDS, RESUME_LAYOUTS, SECTIONS
from tajiconnect.domains.resumes.pdf import language_word, level_word, pdf_response, period, render
from tajiconnect.domains.resumes.service import LANGUAGE_LEVELS, LANGUAGES_MAX, ResumeError
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

LayoutParam = Annotated[str | None, Parameter(max_length=12)]
Notice = Annotated[str | None, Parameter(max_length=40)]
NO_STORE = {"Cache-Control": "private, no-store"}
SECTION_TEMPLATES = {"details": "resumes/_details.html", "languages": "resumes/_languages.html",
                     "settings": "resumes/_settings.html", **{k: "resumes/_entries.html" for k in ENTRY_KINDS}}


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def helpers() -> dict[str, Any]:
    return {"level_word": level_word, "language_word": language_word, "period": period,
            "language_levels": LANGUAGE_LEVELS, "layouts": RESUME_LAYOUTS, "entry_kinds": ENTRY_KINDS,
            "sections": SECTIONS, "languages_max": LANGUAGES_MAX}


def _entry_values(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k) for k in ("title", "organization", "place", "start_month",
                                                       "end_month", "description")}
    values["current"] = form.get("current") == "on"
    return values


class ResumePages(Controller):
    path = "/career/resume"
    guards = [requires_user]
    include_in_schema = False

    async def _context(self, request: Request, session: AsyncSession, **extra: Any) -> dict[str, Any]:
        me = request.scope["user"]
        resume = await service.mine(session, me)
        found = await service.content(session, resume, me)
        mine = await reviews.of_member(session, me)
        teachers = (await session.scalars(select(User.email).where(User.id.in_(relations.teachers_of(me.id)))
                                          .order_by(User.email).limit(30))).all()
        return {"c": found, "resume": resume, "completeness": service.completeness(found), "reviews": mine,
                "comments": await reviews.comments(session, [r.review.id for r in mine]),
                "teachers": teachers, "errors": {}, "form": {}, "saved": None, "share_url": None,
                "notice": None, **helpers(), **extra}

    async def _answer(self, request: HTMXRequest, session: AsyncSession, section: str, *, status: int = 200,
                      **extra: Any) -> Template | Redirect:
        """After a save: the section alone for HTMX, else the page (refused) or a redirect to it (saved)."""
        if request.htmx:
            context = await self._context(request, session, **extra)
            return Template(SECTION_TEMPLATES[section], context={**context, "kind": section}, status_code=status)
        if status >= 400:
            context = await self._context(request, session, **extra)
            return Template("resumes/edit.html", context=context, status_code=status)
        return see_other(f"/career/resume#resume-{section}", notice="saved")

    @get("/", name="resumes.edit")
    async def edit(self, request: Request, db_session: DbSession, notice: FromQuery[Notice] = None) -> Template:
        context = await self._context(request, db_session, notice=notice)
        return Template("resumes/edit.html", context=context, headers=NO_STORE)

    @post("/details", name="resumes.details")
    async def details(self, request: HTMXRequest, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("headline", "summary", "phone", "location", "website")}
        try:
            await service.update(db_session, request.scope["user"], **values)
        except ResumeError as exc:
            return await self._answer(request, db_session, "details", status=422, form=values,
                                      errors={exc.field or "form": exc.message})
        return await self._answer(request, db_session, "details", saved="details")

    @post("/languages", name="resumes.languages")
    async def languages(self, request: HTMXRequest, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        rows = [{"name": form.get(f"language_{i}"), "level": form.get(f"level_{i}")} for i in range(LANGUAGES_MAX)]
        try:
            await service.update(db_session, request.scope["user"],
                                 languages=[r for r in rows if r["name"].strip()])
        except ResumeError as exc:
            return await self._answer(request, db_session, "languages", status=422,
                                      errors={"languages": exc.message})
        return await self._answer(request, db_session, "languages", saved="languages")

    @post("/settings", name="resumes.settings")
    async def settings(self, request: HTMXRequest, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        me = request.scope["user"]
        shown = set(form.getlist("certificate"))
        every = await service.certificates_of(db_session, me.id)
        try:
            await service.update(db_session, me, layout=form.get("layout"),
                                 show_declared_skills=form.get("show_declared_skills") == "on",
                                 hidden_certificate_ids=[str(c.id) for c in every if str(c.id) not in shown])
        except ResumeError as exc:
            return await self._answer(request, db_session, "settings", status=422,
                                      errors={"settings": exc.message})
        return await self._answer(request, db_session, "settings", saved="settings")

    @post("/entries", name="resumes.entries.add")
    async def add_entry(self, request: HTMXRequest, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        kind = form.get("kind")
        if kind not in ENTRY_KINDS:
            raise NotFoundException()
        values = _entry_values(form)
        try:
            await service.add_entry(db_session, request.scope["user"], kind, values)
        except ResumeError as exc:
            return await self._answer(request, db_session, kind, status=422 if exc.status != 409 else 409,
                                      form={**values, "kind": kind}, errors={exc.field or "form": exc.message})
        return await self._answer(request, db_session, kind, saved=kind)

    @post("/entries/{entry_id:str}", name="resumes.entries.change")
    async def change_entry(self, request: HTMXRequest, db_session: DbSession,
                           entry_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        action = form.get("action") or "save"
        me = request.scope["user"]
        try:
            kind = (await service.entry_of(db_session, me, entry_id)).kind
            if action == "delete":
                await service.delete_entry(db_session, me, entry_id)
            elif action in ("up", "down"):
                await service.move_entry(db_session, me, entry_id, action)
            else:
                await service.update_entry(db_session, me, entry_id, _entry_values(form))
        except ResumeError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            return await self._answer(request, db_session, kind, status=422,
                                      errors={f"entry-{entry_id}": exc.message}, form=_entry_values(form))
        return await self._answer(request, db_session, kind, saved=kind)

    @post("/share", name="resumes.share")
    async def share(self, request: Request, db_session: DbSession) -> Template:
        token = await service.new_share_link(db_session, _acting(request))
        context = await self._context(request, db_session, share_url=service.share_url(token))
        return Template("resumes/edit.html", context=context, headers=NO_STORE)

    @post("/share/revoke", name="resumes.share.revoke")
    async def revoke(self, request: Request, db_session: DbSession) -> Redirect:
        await service.revoke_share_link(db_session, _acting(request))
        return see_other("/career/resume#resume-share", notice="share_revoked")

    @post("/reviews", name="resumes.reviews.ask")
    async def ask_review(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await reviews.request(db_session, request.scope["user"], form.get("reviewer"), form.get("message"))
        except ResumeError as exc:
            context = await self._context(request, db_session, form={"reviewer": form.get("reviewer")[:320],
                                                                     "message": form.get("message")[:500]},
                                          errors={exc.field or "review": exc.message})
            return Template("resumes/edit.html", context=context, status_code=422)
        return see_other("/career/resume#reviews", notice="review_asked")

    @post("/reviews/{review_id:str}/close", name="resumes.reviews.close")
    async def close_review(self, request: Request, db_session: DbSession, review_id: FromPath[str]) -> Redirect:
        try:
            await reviews.close(db_session, request.scope["user"], review_id)
        except ResumeError as exc:
            raise NotFoundException() if exc.status == 404 else PermissionDeniedException() from exc
        return see_other("/career/resume#reviews", notice="saved")

    @get("/pdf", name="resumes.pdf")
    async def pdf(self, request: Request, db_session: DbSession, layout: FromQuery[LayoutParam] = None
                  ) -> Response[bytes]:
        me = request.scope["user"]
        if layout is not None and layout not in RESUME_LAYOUTS:
            raise NotFoundException()
        found = await service.content(db_session, await service.mine(db_session, me), me)
        return pdf_response(await render(found, layout=layout), found.name)


class ReviewPages(Controller):
    path = "/career/reviews"
    guards = [requires_user]
    include_in_schema = False

    async def _reviewed(self, request: Request, session: AsyncSession, review_id: str
                        ) -> tuple[reviews.ReviewView, service.ResumeContent]:
        try:
            return await reviews.content_of(session, request.scope["user"], review_id)
        except ResumeError as exc:
            raise NotFoundException() from exc

    async def _page(self, request: Request, session: AsyncSession, review_id: str, *, errors: dict[str, str]
                    | None = None, form: dict[str, str] | None = None, status: int = 200) -> Template:
        view, found = await self._reviewed(request, session, review_id)
        return Template("resumes/review.html", status_code=status, headers=NO_STORE, context={
            "view": view, "c": found, "comments": (await reviews.comments(session, [view.review.id])).get(
                view.review.id, []), "errors": errors or {}, "form": form or {}, **helpers()})

    @get("/", name="reviews.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        found, total = await reviews.for_reviewer(db_session, request.scope["user"], page=page)
        context = {"reviews": found, "paging": page_info(total, page, reviews.PER_PAGE), "base_query": ""}
        if wants_fragment(request, "review-list"):
            return Template("resumes/_review_list.html", context=context)
        return Template("resumes/reviews.html", context=context)

    @get("/{review_id:str}", name="reviews.show")
    async def show(self, request: Request, db_session: DbSession, review_id: FromPath[str]) -> Template:
        return await self._page(request, db_session, review_id)

    @post("/{review_id:str}/comments", name="reviews.comment")
    async def comment(self, request: Request, db_session: DbSession, review_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        try:
            made = await reviews.comment(db_session, request.scope["user"], review_id, form.get("body"),
                                         form.get("section") or "general")
        except ResumeError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            return await self._page(request, db_session, review_id, errors={exc.field or "form": exc.message},
                                    form={"body": form.get("body")[:2000], "section": form.get("section")[:16]},
                                    status=409 if exc.status == 409 else 422)
        if form.get("back") == "resume":
            return see_other("/career/resume#reviews", notice="saved")
        return see_other(f"/career/reviews/{made.review_id}#comments")  # the comment itself shows it was sent

    @get("/{review_id:str}/pdf", name="reviews.pdf")
    async def pdf(self, request: Request, db_session: DbSession, review_id: FromPath[str]) -> Response[bytes]:
        _view, found = await self._reviewed(request, db_session, review_id)
        return pdf_response(await render(found), found.name)


class SharedResumePages(Controller):
    """``/r/{token}``: a résumé shared by its private link (no sign-in)."""

    path = "/r"
    include_in_schema = False

    async def _found(self, session: AsyncSession, token: str) -> service.ResumeContent:
        found = await service.by_token(session, token)
        if found is None:
            raise NotFoundException()
        return await service.content(session, found[0], found[1])

    @get("/{name:str}", name="resumes.shared", opt={"anonymous": True})
    async def shared(self, db_session: DbSession, name: FromPath[str]) -> Template | Response[bytes]:
        if name.endswith(".pdf"):
            found = await self._found(db_session, name.removesuffix(".pdf"))
            return pdf_response(await render(found), found.name)
        found = await self._found(db_session, name)
        return Template("resumes/shared.html", context={"c": found, "token": name, **helpers()},
                        headers={**NO_STORE, "X-Robots-Tag": "noindex"})
