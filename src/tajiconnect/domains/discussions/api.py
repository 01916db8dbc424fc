"""The discussions API under ``/api/v1`` (bearer token; the same rules as the pages, docs/discussions.md).

* ``GET/POST /courses/{id}/threads``: a course's threads (pinned first, then latest activity; ``q`` searches
  titles), a new thread with its opening post.
* ``GET/PATCH /threads/{id}``: one thread; PATCH sets ``pinned``/``locked`` (moderators), ``accepted_post_id``
  (the question's author or moderators; null unmarks), ``subscribed`` (the caller's own following).
* ``GET/POST /threads/{id}/posts``: its posts, oldest first; a reply (409 when the thread is locked).
* ``POST /posts/{id}/report``: report a post once (409 the second time).
* ``POST /posts/{id}/hide`` / ``restore``, ``POST /threads/{id}/hide`` / ``restore``: moderators, audited.

A course, thread or post the caller may not read (another organization's included) is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, patch, post
from litestar import get as get_route
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.discussions import service
from tajiconnect.domains.discussions.access import may_moderate
from tajiconnect.domains.discussions.models import DiscussionPost, DiscussionReport
from tajiconnect.domains.discussions.service import DiscussionError, PostRow, ThreadRow, ThreadView
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Search = Annotated[str | None, Parameter(max_length=service.SEARCH_MAX, description="Words in the title.")]
Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Body = Annotated[str, Meta(min_length=1, max_length=service.BODY_MAX, pattern=NOT_BLANK,
                           description="Markdown; `@name` mentions a member of the course.")]
Reason = Annotated[str, Meta(min_length=1, max_length=service.REASON_MAX, pattern=NOT_BLANK)]
COURSE_404 = "No such course here, or not one whose discussions the caller may read."
THREAD_404 = "No such thread here, or not one the caller may read."
POST_404 = "No such post here, or not one the caller may read."
MODERATORS = "Only the course's teachers (owner, co-teachers) and admins moderate."


class ThreadOut(msgspec.Struct):
    """A thread. For a reader who is not a moderator, a hidden thread has ``hidden`` true and no title."""

    id: uuid.UUID
    course_id: uuid.UUID
    kind: Literal["discussion", "question"]
    title: str | None
    author_id: uuid.UUID | None
    author_name: str | None
    pinned: bool
    locked: bool
    hidden: bool
    accepted_post_id: uuid.UUID | None
    reply_count: int
    created_at: Timestamp
    last_activity_at: Timestamp


class ThreadDetail(ThreadOut):
    """A thread with the caller's view of it."""

    subscribed: bool = False
    may_moderate: bool = False
    hidden_reason: str | None = None


class ThreadPage(msgspec.Struct):
    items: list[ThreadOut]
    total: int
    page: int
    per_page: int


class PostOut(msgspec.Struct):
    """A post: for a reader who is not a moderator, a hidden post has ``hidden`` true and no body."""

    id: uuid.UUID
    thread_id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str | None
    is_opening: bool
    accepted: bool
    hidden: bool
    body: str | None
    body_html: str | None
    mentioned_ids: list[uuid.UUID]
    created_at: Timestamp
    hidden_reason: str | None = None


class PostPage(msgspec.Struct):
    items: list[PostOut]
    total: int
    page: int
    per_page: int


class ReportOut(msgspec.Struct):
    id: uuid.UUID
    post_id: uuid.UUID
    reason: str
    status: Literal["open", "dismissed", "hidden"]
    created_at: Timestamp


class NewThread(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    body: Body
    kind: Literal["discussion", "question"] = "discussion"


class ThreadPatch(msgspec.Struct, forbid_unknown_fields=True):
    pinned: bool | UnsetType = UNSET
    locked: bool | UnsetType = UNSET
    subscribed: bool | UnsetType = UNSET
    accepted_post_id: uuid.UUID | UnsetType | None = UNSET


class NewPost(msgspec.Struct, forbid_unknown_fields=True):
    body: Body


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


def thread_json(row: ThreadRow | ThreadView, moderator: bool, author_name: str | None = None) -> ThreadOut:
    t = row.thread
    name = row.author_name if isinstance(row, ThreadRow) else author_name
    hidden = t.hidden_at is not None
    return ThreadOut(
        id=t.id, course_id=t.course_id, kind=t.kind,  # type: ignore[arg-type]
        title=None if hidden and not moderator else t.title, author_id=t.author_id, author_name=name,
        pinned=t.pinned, locked=t.locked, hidden=hidden, accepted_post_id=t.accepted_post_id,
        reply_count=t.reply_count, created_at=t.created_at.isoformat(), last_activity_at=t.last_activity_at.isoformat())


def post_json(row: PostRow, moderator: bool, accepted_id: uuid.UUID | None) -> PostOut:
    p = row.post
    hidden = p.hidden_at is not None
    secret = hidden and not moderator
    return PostOut(
        id=p.id, thread_id=p.thread_id, author_id=p.author_id, author_name=row.author_name,
        is_opening=p.is_opening, accepted=p.id == accepted_id, hidden=hidden,
        body=None if secret else p.body, body_html=None if secret else p.body_html,
        mentioned_ids=[] if secret else list(p.mentioned_ids or []), created_at=p.created_at.isoformat(),
        hidden_reason=p.hidden_reason if moderator else None)


def report_json(r: DiscussionReport) -> ReportOut:
    return ReportOut(id=r.id, post_id=r.post_id, reason=r.reason, status=r.status,  # type: ignore[arg-type]
                     created_at=r.created_at.isoformat())


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


class DiscussionsApi(Controller):
    path = "/api/v1"
    tags = ["discussions"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    async def _detail(self, request: Request, session: DbSession, view: ThreadView) -> ThreadDetail:
        await session.flush()
        await session.refresh(view.thread)
        name = None
        if view.thread.author_id is not None:
            author = await session.get(User, view.thread.author_id)
            name = author.name if author else None
        base = thread_json(view, view.moderator, name)
        fields = {n: getattr(base, n) for n in base.__struct_fields__}
        return ThreadDetail(**fields, subscribed=await service.is_subscribed(
            session, view.thread.id, request.scope["user"].id), may_moderate=view.moderator,
            hidden_reason=view.thread.hidden_reason if view.moderator else None)

    @get_route("/courses/{course_id:str}/threads", name="api.discussions.threads",
               summary="A course's discussion threads (pinned first, then latest activity)",
               **problems(*GUARDED, 404, notes={404: COURSE_404}))
    async def threads(self, request: Request, db_session: DbSession, course_id: FromPath[str], q: Search = None,
                      page: PageParam = 1, per_page: PerPage = service.PER_PAGE) -> ThreadPage:
        user = request.scope["user"]
        try:
            course = await service.course_for(db_session, user, course_id)
        except DiscussionError as exc:
            raise refusal(exc) from exc
        rows, total = await service.list_threads(db_session, course, q=q or "", page=page, per_page=per_page)
        moderator = may_moderate(user, course)
        return ThreadPage(items=[thread_json(r, moderator) for r in rows], total=total, page=page, per_page=per_page)

    @post("/courses/{course_id:str}/threads", name="api.discussions.create", status_code=201,
          summary="Start a thread (a discussion or a question) in a course",
          **problems(*BODY, *GUARDED, 404, 429, idempotent=True, notes={
              404: COURSE_404, 429: "Too many posts in the last minute; try again later."}))
    async def create(self, request: Request, db_session: DbSession, course_id: FromPath[str],
                     data: JSONBody[NewThread]) -> ThreadDetail:
        try:
            course = await service.course_for(db_session, request.scope["user"], course_id)
            thread, _post = await service.create_thread(db_session, _acting(request), course, kind=data.kind,
                                                        title=data.title, body=data.body)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._detail(request, db_session, ThreadView(thread, course,
                                                                  may_moderate(request.scope["user"], course)))

    @get_route("/threads/{thread_id:str}", name="api.discussions.thread", summary="One thread",
               **problems(*GUARDED, 404, notes={404: THREAD_404}))
    async def thread(self, request: Request, db_session: DbSession, thread_id: FromPath[str]) -> ThreadDetail:
        try:
            view = await service.thread_for(db_session, request.scope["user"], thread_id)
        except DiscussionError as exc:
            raise refusal(exc) from exc
        return await self._detail(request, db_session, view)

    @patch("/threads/{thread_id:str}", name="api.discussions.update",
           summary="Pin, lock, accept an answer, follow or stop following a thread",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: f"Pinning and locking: {MODERATORS} Accepting: also the question's author.",
               404: f"{THREAD_404} Or `accepted_post_id` is not a reply of this thread (`field`).",
               409: ("The thread is not a question, or the post cannot be accepted (the opening post, a hidden one), "
                    "or the thread is hidden (following it).")
           }))
    async def update(self, request: Request, db_session: DbSession, thread_id: FromPath[str],
                     data: JSONBody[ThreadPatch]) -> ThreadDetail:
        acting = _acting(request)
        try:
            view = await service.thread_for(db_session, acting.user, thread_id, lock=True)
            for flag in ("pinned", "locked"):
                value = getattr(data, flag)
                if value is not UNSET:
                    await service.set_flag(db_session, acting, view, flag, bool(value))
            if data.accepted_post_id is not UNSET:
                await service.accept(db_session, acting, view, data.accepted_post_id)
            if data.subscribed is not UNSET:
                await service.set_subscribed(db_session, acting.user, view, bool(data.subscribed))
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._detail(request, db_session, view)

    @get_route("/threads/{thread_id:str}/posts", name="api.discussions.posts",
               summary="A thread's posts, oldest first (the opening post first)",
               **problems(*GUARDED, 404, notes={404: THREAD_404}))
    async def posts(self, request: Request, db_session: DbSession, thread_id: FromPath[str], page: PageParam = 1,
                    per_page: PerPage = service.POSTS_PER_PAGE) -> PostPage:
        user = request.scope["user"]
        try:
            view = await service.thread_for(db_session, user, thread_id)
        except DiscussionError as exc:
            raise refusal(exc) from exc
        rows, total = await service.list_posts(db_session, user, view, page=page, per_page=per_page)
        return PostPage(items=[post_json(r, view.moderator, view.thread.accepted_post_id) for r in rows],
                        total=total, page=page, per_page=per_page)

    @post("/threads/{thread_id:str}/posts", name="api.discussions.reply", status_code=201,
          summary="Reply to a thread",
          **problems(*BODY, *GUARDED, 404, 409, 429, idempotent=True, notes={
              404: THREAD_404, 409: "The thread is locked or hidden: it takes no replies.",
              429: "Too many posts in the last minute; try again later."}))
    async def reply(self, request: Request, db_session: DbSession, thread_id: FromPath[str],
                    data: JSONBody[NewPost]) -> PostOut:
        try:
            view, created = await service.reply(db_session, _acting(request), thread_id, data.body)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        user = request.scope["user"]
        return post_json(PostRow(created, user.name, False), view.moderator, view.thread.accepted_post_id)

    @post("/posts/{post_id:str}/report", name="api.discussions.report", status_code=201,
          summary="Report a post to the course's moderators (once per post)",
          **problems(*BODY, *GUARDED, 404, 409, 429, idempotent=True, notes={
              404: POST_404, 409: "The caller already reported this post, or it is their own.",
              429: "Too many reports in the last hour; try again later."}))
    async def report(self, request: Request, db_session: DbSession, post_id: FromPath[str],
                     data: JSONBody[ReasonIn]) -> ReportOut:
        try:
            found = await service.report(db_session, _acting(request), post_id, data.reason)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        return report_json(found)

    async def _post_out(self, request: Request, session: DbSession, post_row: DiscussionPost) -> PostOut:
        _p, view = await service.post_for(session, request.scope["user"], post_row.id)
        return post_json(PostRow(post_row, None, False), view.moderator, view.thread.accepted_post_id)

    @post("/posts/{post_id:str}/hide", name="api.discussions.post.hide", status_code=200,
          summary="Hide a post with a reason (moderators; audited)",
          **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={403: MODERATORS, 404: POST_404,
                                                         409: "The post is already hidden."}))
    async def hide_post(self, request: Request, db_session: DbSession, post_id: FromPath[str],
                        data: JSONBody[ReasonIn]) -> PostOut:
        try:
            hidden = await service.hide_post(db_session, _acting(request), post_id, data.reason)
            return await self._post_out(request, db_session, hidden)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc

    @post("/posts/{post_id:str}/restore", name="api.discussions.post.restore", status_code=200,
          summary="Show a hidden post again (moderators; audited)",
          **problems(*GUARDED, 404, 409, idempotent=True,
                     notes={403: MODERATORS, 404: POST_404, 409: "The post is not hidden."}))
    async def restore_post(self, request: Request, db_session: DbSession, post_id: FromPath[str]) -> PostOut:
        try:
            shown = await service.restore_post(db_session, _acting(request), post_id)
            return await self._post_out(request, db_session, shown)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc

    @post("/threads/{thread_id:str}/hide", name="api.discussions.thread.hide", status_code=200,
          summary="Hide a thread with a reason (moderators; audited)",
          **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={403: MODERATORS, 404: THREAD_404,
                                                         409: "The thread is already hidden."}))
    async def hide_thread(self, request: Request, db_session: DbSession, thread_id: FromPath[str],
                          data: JSONBody[ReasonIn]) -> ThreadDetail:
        try:
            view = await service.thread_for(db_session, request.scope["user"], thread_id, lock=True)
            await service.hide_thread(db_session, _acting(request), view, data.reason)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._detail(request, db_session, view)

    @post("/threads/{thread_id:str}/restore", name="api.discussions.thread.restore", status_code=200,
          summary="Show a hidden thread again (moderators; audited)",
          **problems(*GUARDED, 404, 409, idempotent=True,
                     notes={403: MODERATORS, 404: THREAD_404, 409: "The thread is not hidden."}))
    async def restore_thread(self, request: Request, db_session: DbSession, thread_id: FromPath[str]
                             ) -> ThreadDetail:
        try:
            view = await service.thread_for(db_session, request.scope["user"], thread_id, lock=True)
            await service.restore_thread(db_session, _acting(request), view)
        except DiscussionError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._detail(request, db_session, view)

