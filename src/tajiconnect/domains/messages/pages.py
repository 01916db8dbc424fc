"""Message pages (signed-in members, their own conversations only; docs/messages.md):

* ``/messages``: my conversations, latest first, unread counts; ``/messages/count``: the navigation's badge.
* ``/messages/new``: the recipient picker (``?to=<id>`` to write to someone, ``?parents_of=<learner id>`` for the
  grader's "Message the parents"), class conversations for the groups I lead; ``POST`` starts (or reopens) one.
* ``/messages/{id}``: the history (newest last, ``?before=<seq>`` loads older ones), the send form (text and an
  optional attachment), mark read, mute, leave (class conversations), report a message.
* ``/messages/stream``: server-sent events (``message`` events, ``id`` = the message's seq; ``Last-Event-ID``
  resumes), only the member's own conversations in their own organization; it ends with the session.
* ``/messages/attachments/{message id}``: a short-lived signed URL of the attachment, for members only.
* ``/admin/messages``: reported messages for admins: hide (with a reason, audited) or dismiss.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import i18n, localtime
from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.messages import access, service
from tajiconnect.domains.messages.service import MessageError
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant, tenant_context
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

STREAM_SECONDS = 300.0
STREAM_POLL_SECONDS = 1.5
SeqParam = Annotated[int | None, Parameter(ge=0, le=2**62, description="Messages before this seq.")]
Search = Annotated[str | None, Parameter(max_length=100)]
IdParam = Annotated[str | None, Parameter(max_length=64)]


async def _me(request: Request, db_session: AsyncSession) -> User:
    user = await get_user(db_session, request.scope["user"].id)
    if user is None:
        raise NotFoundException()
    return user


def _http(exc: MessageError) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=exc.message)


def event_of(view: service.MessageView, user_id: Any) -> dict[str, Any]:
    """What the stream (and the API) says about a message; a hidden one says only that."""
    m = view.message
    hidden = m.hidden_at is not None
    return {
        "id": str(m.id), "seq": m.seq, "conversation_id": str(m.conversation_id),
        "sender_id": str(m.sender_id) if m.sender_id else None, "sender": view.sender_name,
        "mine": m.sender_id == user_id, "body": "" if hidden else m.body, "hidden": hidden,
        "attachment": None if hidden or view.attachment is None else {
            "name": view.attachment.original_name, "url": f"/messages/attachments/{m.id}"},
        "at": m.created_at.isoformat(),
    }


class MessagePages(Controller):
    path = "/messages"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="messages.list")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        me = request.scope["user"]
        items, total = await service.my_conversations(db_session, me.id, page=page)
        context = {"items": items, "paging": page_info(total, page, service.PAGE_SIZE),
                   "left": await service.left_conversations(db_session, me.id)}
        fragment = wants_fragment(request, "conversations")
        return Template("messages/_list.html" if fragment else "messages/index.html", context=context)

    @get("/count", name="messages.count")
    async def count(self, request: Request, db_session: DbSession) -> Template:
        return Template("messages/_count.html",
                        context={"unread": await service.unread_total(db_session, request.scope["user"].id)})

    async def _new_page(self, request: Request, db_session: AsyncSession, *, q: str = "", to: User | None = None,
                        parents: list[User] | None = None, errors: dict[str, str] | None = None,
                        form: dict[str, Any] | None = None, status: int = 200) -> Template:
        me = await _me(request, db_session)
        found = await service.recipients(db_session, me, q=q) if to is None and parents is None else []
        return Template("messages/new.html", status_code=status, context={
            "q": q, "to": to, "parents": parents, "found": found, "errors": errors or {}, "form": form or {},
            "groups": await service.groups_i_lead(db_session, me) if access.is_staff(me) else [],
        })

    @get("/new", name="messages.new")
    async def new(self, request: Request, db_session: DbSession, to: FromQuery[IdParam] = None,
                  parents_of: FromQuery[IdParam] = None, q: FromQuery[Search] = None) -> Template | Redirect:
        me = await _me(request, db_session)
        if parents_of:
            parents = await service.parents_of_learner(db_session, me, parents_of)
            return await self._new_page(request, db_session, parents=parents)
        if to:
            key = parse_uuid(to)
            person = await get_user(db_session, key) if key else None
            if person is None or not await access.may_write(db_session, me, person):
                raise NotFoundException(detail=_("You cannot write to this person."))
            existing = await service.direct_between(db_session, me.id, person.id)
            if existing is not None:
                return see_other(f"/messages/{existing.id}")
            return await self._new_page(request, db_session, to=person)
        return await self._new_page(request, db_session, q=(q or "").strip()[:100])

    @post("/new", name="messages.start")
    async def start(self, request: Request, db_session: DbSession) -> Template | Redirect:
        me = await _me(request, db_session)
        form = await Form.read(request)
        try:
            if form.get("group_id"):
                conversation = await service.start_group(db_session, me, form.get("group_id"))
            else:
                conversation = await service.start_direct(db_session, me, form.get("to"))
        except MessageError as exc:
            if exc.status in (403, 404):
                raise _http(exc) from exc
            return await self._new_page(request, db_session, errors={"form": exc.message}, status=422)
        body = form.get("body").strip()
        if body:
            view = await service.get_conversation(db_session, me, conversation.id)
            try:
                await service.send(db_session, me, view, body)
            except MessageError as exc:
                person = view.other
                return await self._new_page(request, db_session, to=person, status=422 if exc.status < 500 else 500,
                                            errors={"body": exc.message}, form={"body": body[:service.BODY_MAX]})
        return see_other(f"/messages/{conversation.id}")

    @get("/stream", name="messages.stream")
    async def stream(self, request: Request, db_session: DbSession, after: FromQuery[str | None] = None
                     ) -> ServerSentEvent:
        """``message`` events for the member's conversations, after ``Last-Event-ID`` (a reconnection), else after
        ``after`` (the last message the page shows, so nothing sent while it loaded is missed), else from now."""
        app, tenant, viewer, locale = request.app, require_tenant(), request.scope["user"], i18n.current_locale()
        user_id = viewer.id
        engine, store = app.state.engine, app.state.session_store
        auth = request.scope.get("auth")
        token = getattr(auth, "session_token", None)
        given = [v for v in (request.headers.get("last-event-id", ""), after or "")
                 if v.isascii() and v.isdigit() and len(v) < 19]  # "²".isdigit(), yet int() refuses it
        cursor = int(given[0]) if given else await service.latest_seq(db_session, user_id)
        await db_session.rollback()  # release the request's connection while the stream lasts

        async def still_signed_in() -> bool:
            if token is None:
                return False
            record = await store.get(token)
            return record is not None and record.user_id == user_id and record.is_full

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            nonlocal cursor
            deadline = time.monotonic() + STREAM_SECONDS
            # With an id, so that a reconnection before any message still resumes from here (Last-Event-ID).
            yield ServerSentEventMessage(event="ready", data=str(cursor), id=str(cursor), retry=3000)
            while time.monotonic() < deadline:
                with tenant_context(tenant):
                    if not await still_signed_in():
                        yield ServerSentEventMessage(event="signed_out", data="")
                        return
                    async with session_scope(engine) as session:
                        found = await service.events_since(session, user_id, cursor)
                for view in found:
                    cursor = view.message.seq
                    data = {**event_of(view, user_id),  # with the time as the page writes it, for the reader
                            "at_label": localtime.local_time(view.message.created_at, viewer, "short", locale=locale)}
                    yield ServerSentEventMessage(data=json.dumps(data), event="message", id=str(cursor))
                await asyncio.sleep(STREAM_POLL_SECONDS)

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @get("/attachments/{message_id:str}", name="messages.attachment")
    async def attachment(self, request: Request, db_session: DbSession, message_id: FromPath[str]) -> Redirect:
        try:
            message = await service.message_for_member(db_session, request.scope["user"], message_id)
        except MessageError as exc:
            raise _http(exc) from exc
        file = await db_session.get(StoredFile, message.attachment_id) if message.attachment_id else None
        if file is None or message.hidden_at is not None or file.status != "ready":
            raise NotFoundException()
        try:
            url = request.app.state.storage.url(file, download=True)
        except StorageError as exc:
            raise NotFoundException() from exc
        return Redirect(path=str(url), status_code=303, headers={"Cache-Control": "no-store"})

    async def _conversation_page(self, request: HTMXRequest, db_session: AsyncSession, view: service.ConversationView,
                                 *, before: int | None = None, errors: dict[str, str] | None = None,
                                 form: dict[str, Any] | None = None, status: int = 200) -> Template:
        me = request.scope["user"]
        messages, older = await service.history(db_session, view.conversation.id, before=before)
        context = {"view": view, "messages": messages, "older": older, "me": me, "errors": errors or {},
                   "form": form or {}}
        if before is not None and wants_fragment(request, "older"):
            return Template("messages/_older.html", context=context)
        if before is None:
            await service.mark_read(db_session, me, view)
        context["may_send"] = await service.may_send(db_session, await _me(request, db_session), view)
        context["members"] = await service.members_of(db_session, view.conversation, limit=50) \
            if view.conversation.kind == "group" else []
        return Template("messages/conversation.html", context=context, status_code=status)

    async def _view(self, request: Request, db_session: AsyncSession, conversation_id: str
                    ) -> service.ConversationView:
        try:
            return await service.get_conversation(db_session, request.scope["user"], conversation_id)
        except MessageError as exc:
            raise _http(exc) from exc

    @get("/{conversation_id:str}", name="messages.conversation")
    async def conversation(self, request: HTMXRequest, db_session: DbSession, conversation_id: FromPath[str],
                           before: SeqParam = None) -> Template:
        view = await self._view(request, db_session, conversation_id)
        return await self._conversation_page(request, db_session, view, before=before)

    @post("/{conversation_id:str}/send", name="messages.send")
    async def send(self, request: HTMXRequest, db_session: DbSession, conversation_id: FromPath[str]
                   ) -> Template | Redirect:
        view = await self._view(request, db_session, conversation_id)
        me = await _me(request, db_session)
        form = await Form.read(request)
        body = form.get("body")
        attachment_id, stored = None, None
        upload = form.data.get("file")
        try:
            # Nothing is stored for a member who may not write here.
            if not await service.may_send(db_session, me, view):
                raise MessageError(_("You cannot write in this conversation."), status=403)
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read()
                if data:
                    stored = await request.app.state.storage.save(
                        db_session, data, filename=upload.filename, purpose=service.FILE_PURPOSE, user=me)
                    await db_session.flush()
                    attachment_id = stored.id
            try:
                await service.send(db_session, me, view, body, attachment_id)
            except MessageError:
                if stored is not None:  # the refused message's file goes with it (its row is rolled back)
                    await request.app.state.storage.delete(db_session, stored)
                raise
        except StorageError as exc:
            return await self._conversation_page(request, db_session, view, errors={"file": exc.message},
                                                 form={"body": body[:service.BODY_MAX]}, status=exc.status)
        except MessageError as exc:
            if exc.status in (403, 404):
                raise _http(exc) from exc
            return await self._conversation_page(request, db_session, view, errors={exc.field or "body": exc.message},
                                                 form={"body": body[:service.BODY_MAX]},
                                                 status=429 if exc.status == 429 else 422)
        if request.htmx:
            return await self._conversation_page(request, db_session, view)
        return see_other(f"/messages/{view.conversation.id}#end")

    @post("/{conversation_id:str}/read", name="messages.read", opt={"read_only_ok": True})
    async def read(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]) -> Template:
        view = await self._view(request, db_session, conversation_id)
        await service.mark_read(db_session, request.scope["user"], view)
        return Template("messages/_count.html",
                        context={"unread": await service.unread_total(db_session, request.scope["user"].id)})

    @post("/{conversation_id:str}/mute", name="messages.mute", opt={"read_only_ok": True})
    async def mute(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]) -> Redirect:
        view = await self._view(request, db_session, conversation_id)
        form = await Form.read(request)
        await service.set_muted(db_session, request.scope["user"], view, form.get("muted") == "1")
        return see_other(f"/messages/{view.conversation.id}")

    @post("/{conversation_id:str}/leave", name="messages.leave")
    async def leave(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]) -> Redirect:
        view = await self._view(request, db_session, conversation_id)
        try:
            await service.leave(db_session, request.scope["user"], view)
        except MessageError as exc:
            raise _http(exc) from exc
        return see_other("/messages")

    @post("/{conversation_id:str}/rejoin", name="messages.rejoin")
    async def rejoin(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]) -> Redirect:
        try:
            key = await service.rejoin(db_session, request.scope["user"], conversation_id)
        except MessageError as exc:
            raise _http(exc) from exc
        return see_other(f"/messages/{key}")

    @post("/m/{message_id:str}/report", name="messages.report")
    async def report(self, request: Request, db_session: DbSession, message_id: FromPath[str]) -> Template:
        form = await Form.read(request)
        try:
            await service.report(db_session, request.scope["user"], message_id, form.get("reason")[:1000])
        except MessageError as exc:
            if exc.status == 404:
                raise _http(exc) from exc
            return Template("messages/_reported.html", context={"error": exc.message},
                            status_code=422 if exc.status == 422 else 409)
        return Template("messages/_reported.html", context={"error": None}, status_code=201)


class MessageModerationPages(Controller):
    """``/admin/messages``: reported messages; hide (reason required, audited) or dismiss."""

    path = "/admin/messages"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    async def _page(self, db_session: AsyncSession, page: int = 1, *, errors: dict[str, str] | None = None,
                    status: int = 200, notice: str | None = None) -> Template:
        reports, total = await service.open_reports(db_session, page=page)
        return Template("messages/moderation.html", status_code=status, context={
            "reports": reports, "paging": page_info(total, page, service.PAGE_SIZE), "errors": errors or {},
            "moderation_notice": notice})

    @get("/", name="messages.moderation")
    async def index(self, db_session: DbSession, page: PageParam = 1, notice: FromQuery[Search] = None) -> Template:
        return await self._page(db_session, page, notice=notice)

    @post("/{report_id:str}/{action:str}", name="messages.moderation.resolve")
    async def resolve(self, request: Request, db_session: DbSession, report_id: FromPath[str],
                      action: FromPath[str]) -> Template | Redirect:
        if action not in ("hide", "dismiss"):
            raise NotFoundException()
        form = await Form.read(request)
        try:
            await service.resolve(db_session, request.scope["user"], actor_of(request), report_id,
                                  hide=action == "hide", reason=form.get("reason")[:1000])
        except MessageError as exc:
            if exc.status == 404:
                raise _http(exc) from exc
            return await self._page(db_session, errors={str(report_id): exc.message}, status=422)
        return see_other("/admin/messages", notice="hidden" if action == "hide" else "dismissed")

    @post("/settings", name="messages.settings")
    async def settings(self, request: Request, db_session: DbSession) -> Redirect:
        """The learner-to-learner setting (a form on ``/admin/security``); audited."""
        form = await Form.read(request)
        await service.set_learner_messages(db_session, actor_of(request), form.get("learner_messages") == "on")
        return see_other("/admin/security", notice="saved")


PAGES = [MessagePages, MessageModerationPages]
