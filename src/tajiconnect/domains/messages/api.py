"""The messages API under ``/api/v1`` (bearer token; the caller's own conversations only, docs/messages.md):

* ``GET /conversations`` (paginated, with ``unread`` per conversation and ``unread_total``), ``POST /conversations``
  (``to``: a member -> the direct conversation, made if missing; ``group_id``: a group's class conversation, by its
  leaders or admins) answering 201 when made, 200 when it existed;
* ``GET /conversations/{id}``: one conversation with its members;
* ``GET /conversations/{id}/messages?before=<seq>&limit=``: newest last, ``older`` is the cursor for the previous
  ones; ``POST /conversations/{id}/messages``: text and/or an ``attachment_id`` (a ready ``attachment`` upload of
  the caller's, ``/api/v1/uploads``); the who-may-write rules are checked on every message (403);
* ``POST /conversations/{id}/read``; ``POST /messages/{id}/report`` (once per message and member: 409 again).

A conversation or message the caller is not a member of, another organization's included, is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.messages import service
from tajiconnect.domains.messages.models import Conversation
from tajiconnect.domains.messages.pages import event_of
from tajiconnect.domains.messages.service import ConversationView, MessageError
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Conversations per page.")]
Limit = Annotated[int, Parameter(ge=1, le=100, description="Messages per page.")]
Before = Annotated[int | None, Parameter(ge=1, le=2**62, description="Only messages before this `seq` (the "
                                                                     "`older` cursor of the previous answer).")]
Body = Annotated[str, Meta(max_length=service.BODY_MAX, description="The message's text (plain text).")]
Reason = Annotated[str, Meta(min_length=1, max_length=service.REASON_MAX)]
Kind = Literal["direct", "group"]

NOT_FOUND = "No such conversation among yours (another organization's ids never are yours)."
FORBIDDEN = f"Signed-in members only. {SUSPENDED}"


class MemberOut(msgspec.Struct):
    id: uuid.UUID
    name: str


class ConversationOut(msgspec.Struct):
    id: uuid.UUID
    kind: Kind
    title: str
    group_id: uuid.UUID | None
    unread: int
    muted: bool
    last_message_at: Timestamp | None
    created_at: Timestamp


class ConversationDetail(ConversationOut):
    members: list[MemberOut]
    may_write: bool


class ConversationPage(msgspec.Struct):
    items: list[ConversationOut]
    total: int
    unread_total: int
    page: int
    per_page: int


class NewConversation(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of ``to`` (a member: the direct conversation) and ``group_id`` (a class conversation)."""

    to: uuid.UUID | UnsetType = UNSET
    group_id: uuid.UUID | UnsetType = UNSET


class AttachmentOut(msgspec.Struct):
    name: str
    url: str


class MessageOut(msgspec.Struct):
    id: uuid.UUID
    seq: int
    conversation_id: uuid.UUID
    sender_id: uuid.UUID | None
    sender: str
    mine: bool
    body: str
    hidden: bool
    attachment: AttachmentOut | None
    at: Timestamp


class MessagePage(msgspec.Struct):
    """Messages oldest first; ``older`` is the ``before`` value for the previous page (null: none)."""

    items: list[MessageOut]
    older: int | None


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    body: Body = ""
    attachment_id: uuid.UUID | None = None


class ReadState(msgspec.Struct):
    unread_total: int


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class ReportOut(msgspec.Struct):
    id: uuid.UUID
    message_id: uuid.UUID
    status: Literal["open", "hidden", "dismissed"]


def conversation_json(view: ConversationView) -> ConversationOut:
    c = view.conversation
    return ConversationOut(id=c.id, kind=c.kind, title=view.title, group_id=c.group_id,  # type: ignore[arg-type]
                           unread=view.unread, muted=view.muted,
                           last_message_at=c.last_message_at.isoformat() if c.last_message_at else None,
                           created_at=c.created_at.isoformat())


def message_json(view: service.MessageView, user_id: uuid.UUID) -> MessageOut:
    return msgspec.convert(event_of(view, user_id), MessageOut)


async def _me(request: Request, db_session: DbSession) -> User:
    user = await get_user(db_session, request.scope["user"].id)
    if user is None:
        raise HTTPException(status_code=401)
    return user


async def _view(request: Request, db_session: DbSession, conversation_id: str) -> ConversationView:
    try:
        return await service.get_conversation(db_session, request.scope["user"], conversation_id)
    except MessageError as exc:
        raise refusal(exc) from exc


START = problems(*BODY, *GUARDED, 404, 409, notes={
    403: f"Only a group's leaders and admins start its conversation. {FORBIDDEN}",
    404: "No such member whom you may write to, or no such group.",
    409: "Give exactly one of `to` and `group_id`."}, idempotent=True)
START["responses"][200] = ResponseSpec(data_container=ConversationDetail, description="It existed already.",
                                       generate_examples=False)


class ConversationsApi(Controller):
    path = "/api/v1/conversations"
    tags = ["messages"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.conversations.list", summary="My conversations, latest activity first",
         **problems(*GUARDED, notes={403: FORBIDDEN}))
    async def list_conversations(self, request: Request, db_session: DbSession, page: PageParam = 1,
                                 per_page: PerPage = 20) -> ConversationPage:
        user_id = request.scope["user"].id
        items, total = await service.my_conversations(db_session, user_id, page=page, per_page=per_page)
        return ConversationPage(items=[conversation_json(v) for v in items], total=total, page=page,
                                per_page=per_page, unread_total=await service.unread_total(db_session, user_id))

    @post("/", name="api.conversations.start", summary="Start (or find) a conversation", status_code=HTTP_201_CREATED,
          **START)
    async def start(self, request: Request, db_session: DbSession, data: JSONBody[NewConversation]
                    ) -> Response[ConversationDetail]:
        me = await _me(request, db_session)
        has_to, has_group = data.to is not UNSET, data.group_id is not UNSET
        if has_to == has_group:
            raise HTTPException(status_code=409, detail=_("Give exactly one of `to` and `group_id`."))
        existed_before = await service.conversation_exists(
            db_session, me, data.to if has_to else None, data.group_id if has_group else None)
        try:
            conversation: Conversation = (
                await service.start_direct(db_session, me, data.to) if has_to
                else await service.start_group(db_session, me, data.group_id))
        except MessageError as exc:
            raise refusal(exc) from exc
        detail = await _detail(request, db_session, str(conversation.id))
        return Response(detail, status_code=HTTP_200_OK if existed_before else HTTP_201_CREATED)

    @get("/{conversation_id:str}", name="api.conversations.get", summary="One of my conversations",
         **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_FOUND}))
    async def get_one(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]
                      ) -> ConversationDetail:
        return await _detail(request, db_session, conversation_id)

    @get("/{conversation_id:str}/messages", name="api.conversations.messages",
         summary="A conversation's messages, newest last", **problems(*GUARDED, 404, notes={
             403: FORBIDDEN, 404: NOT_FOUND}))
    async def messages(self, request: Request, db_session: DbSession, conversation_id: FromPath[str],
                       before: Before = None, limit: Limit = 30) -> MessagePage:
        view = await _view(request, db_session, conversation_id)
        items, older = await service.history(db_session, view.conversation.id, before=before, limit=limit)
        user_id = request.scope["user"].id
        return MessagePage(items=[message_json(v, user_id) for v in items], older=older)

    @post("/{conversation_id:str}/messages", name="api.conversations.send", summary="Send a message",
          status_code=HTTP_201_CREATED, **problems(*BODY, *GUARDED, 404, 422, 429, notes={
              403: f"You may not write in this conversation (now). {FORBIDDEN}", 404: NOT_FOUND,
              422: "Nothing to send (no text, no attachment), or `attachment_id` is not a ready attachment you "
                   "uploaded (`field` names it); or the `Idempotency-Key` was used for another request.",
              429: f"More than {service.RATE_PER_MINUTE} messages in a minute."}, idempotent=True))
    async def send(self, request: Request, db_session: DbSession, conversation_id: FromPath[str],
                   data: JSONBody[NewMessage]) -> MessageOut:
        view = await _view(request, db_session, conversation_id)
        me = await _me(request, db_session)
        try:
            message = await service.send(db_session, me, view, data.body, data.attachment_id)
        except MessageError as exc:
            raise refusal(exc) from exc
        found, _older = await service.history(db_session, view.conversation.id, before=message.seq + 1, limit=1)
        return message_json(found[-1], me.id)

    @post("/{conversation_id:str}/read", name="api.conversations.read", summary="Mark a conversation read",
          status_code=HTTP_200_OK, opt={"read_only_ok": True},
          **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_FOUND}, idempotent=True))
    async def read(self, request: Request, db_session: DbSession, conversation_id: FromPath[str]) -> ReadState:
        view = await _view(request, db_session, conversation_id)
        await service.mark_read(db_session, request.scope["user"], view)
        return ReadState(unread_total=await service.unread_total(db_session, request.scope["user"].id))


async def _detail(request: Request, db_session: DbSession, conversation_id: str) -> ConversationDetail:
    view = await _view(request, db_session, conversation_id)
    base = conversation_json(view)
    members = await service.members_of(db_session, view.conversation)
    return ConversationDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        members=[MemberOut(id=u.id, name=u.name) for u in members],
        may_write=await service.may_send(db_session, await _me(request, db_session), view),
    )


class MessagesApi(Controller):
    path = "/api/v1/messages"
    tags = ["messages"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post("/{message_id:str}/report", name="api.messages.report", summary="Report a message to the admins",
          status_code=HTTP_201_CREATED, **problems(*BODY, *GUARDED, 404, 409, 422, notes={
              403: FORBIDDEN, 404: "No such message in your conversations.",
              409: "You already reported it, or it is your own.", 422: "The reason is blank (`field`: reason), or the "
                                                                     "`Idempotency-Key` was used for another request."},
              idempotent=True))
    async def report(self, request: Request, db_session: DbSession, message_id: FromPath[str],
                     data: JSONBody[ReportIn]) -> ReportOut:
        try:
            found = await service.report(db_session, request.scope["user"], message_id, data.reason)
        except MessageError as exc:
            raise refusal(exc) from exc
        return ReportOut(id=found.id, message_id=found.message_id, status=found.status)  # type: ignore[arg-type]
