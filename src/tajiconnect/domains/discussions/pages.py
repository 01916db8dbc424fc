"""Discussion pages under a course, and the moderation queue.

* ``/courses/{id}/discussions``: the course's threads (pinned first, then latest activity; search by title;
  paginated; HTMX swaps ``#discussion-threads``), ``/new`` the form for a new thread or question.
* ``/courses/{id}/discussions/{thread}``: the thread, its posts (paginated) and the reply form. Every action on it
  (reply, follow, pin, lock, accept, report, hide, restore) is a form that works without JavaScript (redirect back)
  and, with HTMX, answers the re-rendered ``#discussion-thread`` fragment instead (refusals too: 422/409).
* ``/teach/moderation``: the open reports of the posts in the courses the member moderates (``?course=`` for one),
  hide the post or dismiss the report.

Who may do what is the service's (``service.py``, ``access.py``): a course or thread the member may not read is a
404, whoever asks.
"""

from __future__ import annotations

import math
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.discussions import service
from tajiconnect.domains.discussions.access import may_moderate
from tajiconnect.domains.discussions.models import THREAD_KINDS
from tajiconnect.domains.discussions.service import DiscussionError, ThreadView
from tajiconnect.web.forms import Form, safe_next, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

SearchParam = FromQuery[str | None]
THREAD_TARGET = "discussion-thread"


def _raise_missing(exc: DiscussionError) -> None:
    if exc.status == 404:
        raise NotFoundException(detail=exc.message) from exc
    if exc.status == 403:
        raise PermissionDeniedException(detail=exc.message) from exc


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def thread_url(view: ThreadView, page: int | None = None) -> str:
    url = f"/courses/{view.course.id}/discussions/{view.thread.id}"
    return f"{url}?page={page}" if page and page > 1 else url


async def _thread_context(request: Request, session: AsyncSession, view: ThreadView, *, page: int | None,
                          errors: dict[str, str] | None = None, form: dict[str, str] | None = None
                          ) -> dict[str, Any]:
    user = request.scope["user"]
    pages = max(1, math.ceil((view.thread.reply_count + 1) / service.POSTS_PER_PAGE))
    chosen = pages if page is None else min(max(page, 1), pages)
    posts, total = await service.list_posts(session, user, view, page=chosen)
    return {
        "view": view, "thread": view.thread, "course": view.course, "moderator": view.moderator,
        "posts": posts, "paging": page_info(total, chosen, service.POSTS_PER_PAGE),
        "subscribed": await service.is_subscribed(session, view.thread.id, user.id),
        "may_accept": view.thread.kind == "question" and (view.moderator or user.id == view.thread.author_id),
        "viewer_id": user.id, "errors": errors or {}, "form": form or {}, "url": thread_url(view),
        "body_max": service.BODY_MAX, "reason_max": service.REASON_MAX,
    }


async def _thread_answer(request: HTMXRequest, session: AsyncSession, view: ThreadView, *,
                         page: int | None = None, status: int = 200, errors: dict[str, str] | None = None,
                         form: dict[str, str] | None = None) -> Template:
    context = await _thread_context(request, session, view, page=page, errors=errors, form=form)
    template = "discussions/_thread.html" if wants_fragment(request, THREAD_TARGET) else "discussions/thread.html"
    return Template(template, context=context, status_code=status)


def _status_of(exc: DiscussionError) -> int:
    return 422 if exc.status == 400 else exc.status


class DiscussionPages(Controller):
    path = "/courses/{course_id:str}/discussions"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="discussions.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                    q: SearchParam = None, page: PageParam = 1, notice: FromQuery[str | None] = None) -> Template:
        try:
            course = await service.course_for(db_session, request.scope["user"], course_id)
        except DiscussionError as exc:
            _raise_missing(exc)
            raise
        query = (q or "").strip()[: service.SEARCH_MAX]
        rows, total = await service.list_threads(db_session, course, q=query, page=page)
        context = {"course": course, "threads": rows, "q": query, "notice": notice,
                   "paging": page_info(total, page, service.PER_PAGE),
                   "moderator": may_moderate(request.scope["user"], course)}
        fragment = wants_fragment(request, "discussion-threads")
        return Template("discussions/_threads.html" if fragment else "discussions/index.html", context=context)

    @get("/new", name="discussions.new")
    async def new(self, request: Request, db_session: DbSession, course_id: FromPath[str],
                  kind: FromQuery[str | None] = None) -> Template:
        try:
            course = await service.course_for(db_session, request.scope["user"], course_id)
        except DiscussionError as exc:
            _raise_missing(exc)
            raise
        chosen = kind if kind in THREAD_KINDS else "discussion"
        return Template("discussions/new.html", context={
            "course": course, "form": {"kind": chosen}, "errors": {}, "title_max": service.TITLE_MAX,
            "body_max": service.BODY_MAX})

    @post("/", name="discussions.create")
    async def create(self, request: Request, db_session: DbSession, course_id: FromPath[str]
                     ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            course = await service.course_for(db_session, request.scope["user"], course_id)
        except DiscussionError as exc:
            _raise_missing(exc)
            raise
        try:
            thread, _post = await service.create_thread(db_session, _acting(request), course, kind=form.get("kind"),
                                                        title=form.get("title"), body=form.get("body"))
        except DiscussionError as exc:
            values = {k: form.get(k) for k in ("kind", "title", "body")}
            return Template("discussions/new.html", status_code=_status_of(exc), context={
                "course": course, "form": values, "errors": {exc.field or "form": exc.message},
                "title_max": service.TITLE_MAX, "body_max": service.BODY_MAX})
        return see_other(f"/courses/{course.id}/discussions/{thread.id}")

    async def _view(self, request: Request, session: AsyncSession, course_id: str, thread_id: str, *,
                    lock: bool = False) -> ThreadView:
        try:
            return await service.thread_for(session, request.scope["user"], thread_id, course_id=course_id,
                                            lock=lock)
        except DiscussionError as exc:
            _raise_missing(exc)
            raise

    @get("/{thread_id:str}", name="discussions.thread")
    async def thread(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                     thread_id: FromPath[str], page: PageParam = 1) -> Template:
        view = await self._view(request, db_session, course_id, thread_id)
        return await _thread_answer(request, db_session, view, page=page)

    async def _after(self, request: HTMXRequest, session: AsyncSession, view: ThreadView,
                     page: int | None = None, anchor: str = "") -> Template | Redirect:
        """The answer to a successful action: the fragment for HTMX, else back to the thread (or ``next``)."""
        if wants_fragment(request, THREAD_TARGET):
            await session.flush()
            return await _thread_answer(request, session, view, page=page)
        form = await Form.read(request)
        back = safe_next(form.get("next"), thread_url(view, page)) + anchor
        return see_other(back)

    async def _refused(self, request: HTMXRequest, session: AsyncSession, view: ThreadView,
                       exc: DiscussionError, form: dict[str, str] | None = None, page: int | None = None
                       ) -> Template:
        _raise_missing(exc)
        return await _thread_answer(request, session, view, page=page, status=_status_of(exc),
                                    errors={exc.field or "form": exc.message}, form=form)

    @post("/{thread_id:str}/replies", name="discussions.reply")
    async def reply(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                    thread_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            view, created = await service.reply(db_session, _acting(request), thread_id, form.get("body"),
                                                course_id=course_id)
        except DiscussionError as exc:
            return await self._refused(request, db_session, view, exc, form={"body": form.get("body")})
        last = max(1, math.ceil((view.thread.reply_count + 1) / service.POSTS_PER_PAGE))
        return await self._after(request, db_session, view, page=last, anchor=f"#post-{created.id}")

    @post("/{thread_id:str}/subscription", name="discussions.subscription")
    async def subscription(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                           thread_id: FromPath[str], page: PageParam = 1) -> Template | Redirect:
        form = await Form.read(request)
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            await service.set_subscribed(db_session, request.scope["user"], view, form.get("subscribed") == "1")
        except DiscussionError as exc:
            return await self._refused(request, db_session, view, exc, page=page)
        return await self._after(request, db_session, view, page=page)

    @post("/{thread_id:str}/flags", name="discussions.flags")
    async def flags(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                    thread_id: FromPath[str], page: PageParam = 1) -> Template | Redirect:
        """``pinned=1|0`` and/or ``locked=1|0`` (moderators)."""
        form = await Form.read(request)
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            for flag in ("pinned", "locked"):
                if form.get(flag) in ("0", "1"):
                    await service.set_flag(db_session, _acting(request), view, flag, form.get(flag) == "1")
        except DiscussionError as exc:
            return await self._refused(request, db_session, view, exc, page=page)
        return await self._after(request, db_session, view, page=page)

    @post("/{thread_id:str}/accept", name="discussions.accept")
    async def accept(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                     thread_id: FromPath[str], page: PageParam = 1) -> Template | Redirect:
        form = await Form.read(request)
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            await service.accept(db_session, _acting(request), view, form.get("post_id") or None)
        except DiscussionError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=exc.message) from exc
            return await self._refused(request, db_session, view, exc, page=page)
        return await self._after(request, db_session, view, page=page)

    @post("/{thread_id:str}/hide", name="discussions.thread.hide")
    async def hide_thread(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                          thread_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            await service.hide_thread(db_session, _acting(request), view, form.get("reason"))
        except DiscussionError as exc:
            return await self._refused(request, db_session, view, exc, form={"thread_reason": form.get("reason")})
        return await self._after(request, db_session, view)

    @post("/{thread_id:str}/restore", name="discussions.thread.restore")
    async def restore_thread(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                             thread_id: FromPath[str]) -> Template | Redirect:
        view = await self._view(request, db_session, course_id, thread_id)
        try:
            await service.restore_thread(db_session, _acting(request), view)
        except DiscussionError as exc:
            return await self._refused(request, db_session, view, exc)
        return await self._after(request, db_session, view)

    async def _post_action(self, request: HTMXRequest, session: AsyncSession, course_id: str, thread_id: str,
                           post_id: str, action: str, page: int) -> Template | Redirect:
        form = await Form.read(request)
        view = await self._view(request, session, course_id, thread_id)
        try:
            post_row, _ = await service.post_for(session, request.scope["user"], post_id)
            if post_row.thread_id != view.thread.id:
                raise service.not_found()
            if action == "report":
                await service.report(session, _acting(request), post_id, form.get("reason"))
            elif action == "hide":
                await service.hide_post(session, _acting(request), post_id, form.get("reason"))
            else:
                await service.restore_post(session, _acting(request), post_id)
        except DiscussionError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=exc.message) from exc
            field = f"{action}-{post_id}" if exc.field == "reason" else (exc.field or "form")
            exc.field = field
            return await self._refused(request, session, view, exc, page=page,
                                       form={f"{action}-{post_id}": form.get("reason")})
        return await self._after(request, session, view, page=page, anchor=f"#post-{post_id}")

    @post("/{thread_id:str}/posts/{post_id:str}/report", name="discussions.post.report")
    async def report_post(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                          thread_id: FromPath[str], post_id: FromPath[str], page: PageParam = 1
                          ) -> Template | Redirect:
        return await self._post_action(request, db_session, course_id, thread_id, post_id, "report", page)

    @post("/{thread_id:str}/posts/{post_id:str}/hide", name="discussions.post.hide")
    async def hide_post(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                        thread_id: FromPath[str], post_id: FromPath[str], page: PageParam = 1
                        ) -> Template | Redirect:
        return await self._post_action(request, db_session, course_id, thread_id, post_id, "hide", page)

    @post("/{thread_id:str}/posts/{post_id:str}/restore", name="discussions.post.restore")
    async def restore_post(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
                           thread_id: FromPath[str], post_id: FromPath[str], page: PageParam = 1
                           ) -> Template | Redirect:
        return await self._post_action(request, db_session, course_id, thread_id, post_id, "restore", page)


class ModerationPages(Controller):
    path = "/teach/moderation"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    @get("/", name="discussions.moderation")
    async def queue(self, request: HTMXRequest, db_session: DbSession, course: FromQuery[str | None] = None,
                    page: PageParam = 1, notice: FromQuery[str | None] = None) -> Template:
        try:
            rows, total = await service.open_reports(db_session, request.scope["user"], course_id=course,
                                                     page=page)
        except DiscussionError as exc:
            raise NotFoundException(detail=exc.message) from exc
        context = {"reports": rows, "paging": page_info(total, page, service.PER_PAGE), "course": course or "",
                   "notice": notice, "reason_max": service.REASON_MAX}
        fragment = wants_fragment(request, "moderation-queue")
        return Template("discussions/_queue.html" if fragment else "discussions/moderation.html", context=context)

    @post("/reports/{report_id:str}/dismiss", name="discussions.report.dismiss")
    async def dismiss(self, request: Request, db_session: DbSession, report_id: FromPath[str]) -> Redirect:
        form = await Form.read(request)
        try:
            await service.dismiss_report(db_session, _acting(request), report_id)
        except DiscussionError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=exc.message) from exc
            return see_other(safe_next(form.get("next"), "/teach/moderation"), notice="already_resolved")
        return see_other(safe_next(form.get("next"), "/teach/moderation"), notice="saved")
