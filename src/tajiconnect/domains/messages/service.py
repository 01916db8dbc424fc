"""Conversations and messages: start, send, read, history, unread counts, mute/leave, report and moderate.

Every read is by membership (:func:`my_conversation_ids`): a conversation the caller is not a member of is simply
not found (404), whoever asks and from whichever organization (the search path keeps tenants apart).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.messages import access
from tajiconnect.domains.messages.models import Conversation, ConversationMember, Message, MessageReport
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant

BODY_MAX = 4000
REASON_MAX = 500
PAGE_SIZE = 20
HISTORY = 30
#: At most this many messages per member per minute (a 429 beyond).
RATE_PER_MINUTE = 20
FILE_PURPOSE = "attachment"


class MessageError(Exception):
    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def not_found() -> MessageError:
    return MessageError(_("No such conversation."), status=404)


# --- membership -------------------------------------------------------------------------------------------------


def _left(user_id: Any) -> Any:
    return exists().where(ConversationMember.conversation_id == Conversation.id,
                          ConversationMember.user_id == user_id, ConversationMember.left_at.is_not(None))


#: An explicit member of a class conversation (an admin who joined it) stays one while they are an admin.
_STILL_ADMIN = exists().where(User.id == ConversationMember.user_id, User.roles.overlap(["org_admin"]))


def my_conversation_ids(user_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """Ids of the conversations ``user_id`` is a member of: direct ones they are in, and those of the groups they
    currently lead or belong to (unless they left it), or joined as an admin while they still are one."""
    direct = select(ConversationMember.conversation_id).where(ConversationMember.user_id == user_id)
    explicit = select(ConversationMember.conversation_id).where(
        ConversationMember.user_id == user_id, ConversationMember.explicit.is_(True), _STILL_ADMIN)
    my_groups = select(GroupMembership.group_id).where(
        GroupMembership.user_id == user_id, GroupMembership.ended_at.is_(None))
    return select(Conversation.id).where(or_(
        and_(Conversation.kind == "direct", Conversation.id.in_(direct)),
        and_(Conversation.kind == "group", or_(Conversation.group_id.in_(my_groups), Conversation.id.in_(explicit)),
             ~_left(user_id)),
    ))


def member_ids(conversation: Conversation) -> Select[tuple[uuid.UUID]]:
    """Ids of the conversation's current members (active or not)."""
    if conversation.kind == "direct":
        return select(ConversationMember.user_id).where(ConversationMember.conversation_id == conversation.id)
    left = select(ConversationMember.user_id).where(ConversationMember.conversation_id == conversation.id,
                                                    ConversationMember.left_at.is_not(None))
    explicit = select(ConversationMember.user_id).where(ConversationMember.conversation_id == conversation.id,
                                                        ConversationMember.explicit.is_(True), _STILL_ADMIN)
    assert conversation.group_id is not None
    members = access.group_member_ids(conversation.group_id).union(explicit).subquery()
    return select(members.c.user_id).where(members.c.user_id.not_in(left))


def _unread_count(user_id: uuid.UUID, me: Any) -> Any:
    """The unread messages of the conversation in the enclosing query, for ``user_id`` whose member row there is
    ``me`` (an outer-joined alias; no row: nothing read): an index range scan of (conversation_id, seq) above the
    last seq they read, whatever the conversation's length."""
    return select(func.count()).select_from(Message).where(
        Message.conversation_id == Conversation.id, Message.seq > func.coalesce(me.last_read_seq, 0),
        or_(Message.sender_id.is_(None), Message.sender_id != user_id),
    ).scalar_subquery()


def _my_member_row(user_id: uuid.UUID) -> Any:
    me = aliased(ConversationMember)
    return me, and_(me.conversation_id == Conversation.id, me.user_id == user_id)


async def unread_total(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Unread messages across the member's conversations, muted ones excepted: one statement, counting in each
    conversation only what lies above the member's last read seq."""
    me, joined = _my_member_row(user_id)
    per_conversation = (
        select(_unread_count(user_id, me).label("unread"))
        .select_from(Conversation).outerjoin(me, joined)
        .where(Conversation.id.in_(my_conversation_ids(user_id)), func.coalesce(me.muted, False).is_(False))
        .subquery()
    )
    return int(await session.scalar(select(func.coalesce(func.sum(per_conversation.c.unread), 0))) or 0)


@dataclass
class ConversationView:
    conversation: Conversation
    title: str
    unread: int
    muted: bool
    other: User | None = None  # a direct conversation's other member
    group: Group | None = None


def _listing(user_id: uuid.UUID) -> Any:
    me, joined = _my_member_row(user_id)
    other_member = aliased(ConversationMember)
    other_name = select(User.name).join(other_member, other_member.user_id == User.id).where(
        other_member.conversation_id == Conversation.id, other_member.user_id != user_id
    ).limit(1).scalar_subquery()
    unread = _unread_count(user_id, me)
    return (
        select(Conversation, Group.name, other_name, unread, func.coalesce(me.muted, False))
        .outerjoin(Group, Group.id == Conversation.group_id)
        .outerjoin(me, joined)
    )


def _view(row: Any) -> ConversationView:
    conversation, group_name, other_name, unread, muted = row
    title = group_name if conversation.kind == "group" else (other_name or _("(former member)"))
    return ConversationView(conversation, title or "", int(unread or 0), bool(muted))


async def my_conversations(session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = PAGE_SIZE
                           ) -> tuple[list[ConversationView], int]:
    """The member's conversations, latest activity first, with their unread counts: two statements."""
    mine = Conversation.id.in_(my_conversation_ids(user_id))
    total = int(await session.scalar(select(func.count()).select_from(Conversation).where(mine)) or 0)
    rows = (await session.execute(
        _listing(user_id).where(mine)
        .order_by(func.coalesce(Conversation.last_message_at, Conversation.created_at).desc(), Conversation.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).all()
    return [_view(r) for r in rows], total


async def get_conversation(session: AsyncSession, user: Any, conversation_id: Any) -> ConversationView:
    """The conversation if ``user`` is a member (404 otherwise)."""
    key = parse_uuid(conversation_id)
    if key is None:
        raise not_found()
    row = (await session.execute(
        _listing(user.id).where(Conversation.id == key, Conversation.id.in_(my_conversation_ids(user.id)))
    )).first()
    if row is None:
        raise not_found()
    view = _view(row)
    if view.conversation.kind == "direct":
        view.other = await session.scalar(select(User).join(
            ConversationMember, ConversationMember.user_id == User.id).where(
            ConversationMember.conversation_id == key, User.id != user.id))
    else:
        view.group = await session.get(Group, view.conversation.group_id)
    return view


async def members_of(session: AsyncSession, conversation: Conversation, limit: int = 200) -> list[User]:
    return list((await session.scalars(
        select(User).where(User.id.in_(member_ids(conversation))).order_by(User.name).limit(limit))).all())


# --- starting ---------------------------------------------------------------------------------------------------


async def start_direct(session: AsyncSession, sender: User, recipient_id: Any) -> Conversation:
    """The direct conversation between ``sender`` and the recipient, made if missing; 404 when the recipient is
    not someone ``sender`` may write to (no difference made between "no such member" and "not allowed")."""
    key = parse_uuid(recipient_id)
    recipient = await session.get(User, key) if key else None
    if recipient is None or not await access.may_write(session, sender, recipient):
        raise MessageError(_("You cannot write to this person."), status=404, field="to")
    pair = ":".join(sorted((str(sender.id), str(recipient.id))))
    new_id = uuid.uuid4()
    await session.execute(insert(Conversation).values(
        id=new_id, kind="direct", direct_key=pair, created_by_id=sender.id, last_seq=0,
        created_at=_now(), updated_at=_now(),
    ).on_conflict_do_nothing(index_elements=["direct_key"]))
    conversation = await session.scalar(select(Conversation).where(Conversation.direct_key == pair))
    assert conversation is not None
    await session.execute(insert(ConversationMember).values([
        {"id": uuid.uuid4(), "conversation_id": conversation.id, "user_id": uid, "last_read_seq": 0,
         "muted": False, "explicit": False, "created_at": _now(), "updated_at": _now()}
        for uid in (sender.id, recipient.id)
    ]).on_conflict_do_nothing(constraint="uq_conversation_members_pair"))
    return conversation


async def direct_between(session: AsyncSession, one: uuid.UUID, other: uuid.UUID) -> Conversation | None:
    pair = ":".join(sorted((str(one), str(other))))
    return await session.scalar(select(Conversation).where(Conversation.direct_key == pair))


async def conversation_exists(session: AsyncSession, user: User, to: Any, group_id: Any) -> bool:
    """Whether the conversation a start would make exists already (the API's 200 rather than 201)."""
    if to is not None:
        pair = ":".join(sorted((str(user.id), str(to))))
        return bool(await session.scalar(select(Conversation.id).where(Conversation.direct_key == pair)))
    key = parse_uuid(group_id)
    return bool(key and await session.scalar(select(Conversation.id).where(Conversation.group_id == key)))


async def start_group(session: AsyncSession, user: User, group_id: Any) -> Conversation:
    """The class conversation of a group, made if missing: by one of its current leaders or an admin."""
    key = parse_uuid(group_id)
    group = await session.get(Group, key) if key else None
    if group is None or group.archived_at is not None:
        raise MessageError(_("No such group."), status=404, field="group_id")
    if not access.is_admin(user) and await access.group_role(session, group.id, user.id) != "leader":
        raise MessageError(_("Only the group's leaders and admins start its conversation."), status=403)
    await session.execute(insert(Conversation).values(
        id=uuid.uuid4(), kind="group", group_id=group.id, created_by_id=user.id, last_seq=0,
        created_at=_now(), updated_at=_now(),
    ).on_conflict_do_nothing(index_elements=["group_id"]))
    conversation = await session.scalar(select(Conversation).where(Conversation.group_id == group.id))
    assert conversation is not None
    # Someone who had left and starts it again is back in; an admin outside the group joins it.
    in_group = await access.group_role(session, group.id, user.id) is not None
    await _set_read(session, conversation.id, user.id, 0, left_at=None, **({} if in_group else {"explicit": True}))
    return conversation


async def groups_i_lead(session: AsyncSession, user: User, limit: int = 100) -> list[Group]:
    stmt = select(Group).where(Group.archived_at.is_(None)).order_by(Group.name).limit(limit)
    if not access.is_admin(user):
        stmt = stmt.where(Group.id.in_(select(GroupMembership.group_id).where(
            GroupMembership.user_id == user.id, GroupMembership.role == "leader", GroupMembership.ended_at.is_(None))))
    return list((await session.scalars(stmt)).all())


async def recipients(session: AsyncSession, user: User, *, q: str = "", limit: int = 30) -> list[User]:
    """Members ``user`` may start a conversation with, by name or email (the picker)."""
    reachable = access.reachable_ids(user, learners_talk=await access.learners_may_talk(session))
    stmt = select(User).where(User.status == "active", User.id != user.id).order_by(User.name).limit(limit)
    if reachable is not None:
        sub = reachable.subquery()
        stmt = stmt.where(User.id.in_(select(next(iter(sub.c)))))
    needle = q.strip().lower()[:100]
    if needle:
        stmt = stmt.where(or_(func.lower(User.name).contains(needle, autoescape=True),
                              User.email.contains(needle, autoescape=True)))
    return list((await session.scalars(stmt)).all())


async def parents_of_learner(session: AsyncSession, teacher: User, learner_id: Any) -> list[User]:
    """The parents of a learner that ``teacher`` may write to (the grader's "Message the parents"): only for a
    learner ``teacher`` teaches (or an admin), so that nobody learns who is linked to a learner not theirs."""
    from tajiconnect.domains.people.relations import is_teacher_of, parents_of

    key = parse_uuid(learner_id)
    if key is None:
        return []
    if not teacher.has_role("org_admin") and not await is_teacher_of(session, teacher.id, key):
        return []
    found = list((await session.scalars(select(User).where(
        User.id.in_(parents_of(select(literal(key, User.id.type))))).order_by(User.name).limit(20))).all())
    return [p for p in found if await access.may_write(session, teacher, p)]


# --- writing ----------------------------------------------------------------------------------------------------


async def may_send(session: AsyncSession, sender: User, view: ConversationView) -> bool:
    """Checked on every message: the rules of ``access`` as they stand now."""
    conversation = view.conversation
    if conversation.kind == "direct":
        return view.other is not None and await access.may_write(session, sender, view.other)
    assert conversation.group_id is not None
    if view.group is None or view.group.archived_at is not None:  # an archived class: its history, read-only
        return False
    role = await access.group_role(session, conversation.group_id, sender.id)
    if role == "leader":
        return True
    if role is None and access.is_admin(sender):  # an admin who joined it (a member, since they see it)
        return True
    return role == "member" and await access.learners_may_talk(session)


async def send(session: AsyncSession, sender: User, view: ConversationView, body: str,
               attachment_id: Any = None) -> Message:
    """Add a message (text and/or one attachment of the sender's own) and defer its notifications."""
    body = body.strip()
    if len(body) > BODY_MAX:
        raise MessageError(_("A message holds at most %(n)d characters.") % {"n": BODY_MAX}, field="body")
    file_id = None
    if attachment_id not in (None, ""):
        file_id = parse_uuid(attachment_id)
        owned = file_id and await session.scalar(select(StoredFile.id).where(
            StoredFile.id == file_id, StoredFile.status == "ready", StoredFile.purpose == FILE_PURPOSE,
            StoredFile.uploaded_by_id == sender.id))
        if not owned:
            raise MessageError(_("Attach a file you uploaded."), status=422, field="attachment_id")
    if not body and file_id is None:
        raise MessageError(_("Write a message or attach a file."), status=422, field="body")
    if not await may_send(session, sender, view):
        raise MessageError(_("You cannot write in this conversation."), status=403)
    minute_ago = _now() - datetime.timedelta(minutes=1)
    recent = await session.scalar(select(func.count()).select_from(Message).where(
        Message.sender_id == sender.id, Message.created_at > minute_ago))
    if (recent or 0) >= RATE_PER_MINUTE:
        raise MessageError(_("You are sending messages too fast; wait a minute."), status=429)
    # Sends in one organization are serialized until commit, so that seq order is commit order (the stream's
    # "since" query never skips a message committed late).
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"messages:{require_tenant().slug}"})
    message = Message(conversation_id=view.conversation.id, sender_id=sender.id, body=body, attachment_id=file_id)
    session.add(message)
    await session.flush()
    await session.refresh(message, ["seq"])
    now = _now()
    await session.execute(update(Conversation).where(Conversation.id == view.conversation.id).values(
        last_message_at=now, last_seq=message.seq))
    await _set_read(session, view.conversation.id, sender.id, message.seq)
    from tajiconnect.domains.messages.tasks import notify_new_message
    from tajiconnect.tasks.outbox import defer

    await defer(session, notify_new_message, message_id=str(message.id))
    return message


async def _set_read(session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, seq: int,
                    **values: Any) -> None:
    statement = insert(ConversationMember).values(
        id=uuid.uuid4(), conversation_id=conversation_id, user_id=user_id, last_read_seq=seq,
        muted=values.get("muted", False), left_at=values.get("left_at"), explicit=values.get("explicit", False),
        created_at=_now(), updated_at=_now())
    changes: dict[str, Any] = {"last_read_seq": func.greatest(ConversationMember.last_read_seq, seq),
                               "updated_at": _now(), **values}
    await session.execute(statement.on_conflict_do_update(constraint="uq_conversation_members_pair", set_=changes))


async def mark_read(session: AsyncSession, user: User, view: ConversationView) -> None:
    last = await session.scalar(select(Conversation.last_seq).where(Conversation.id == view.conversation.id))
    await _set_read(session, view.conversation.id, user.id, int(last or 0))
    view.unread = 0


async def set_muted(session: AsyncSession, user: User, view: ConversationView, muted: bool) -> None:
    await _set_read(session, view.conversation.id, user.id, 0, muted=muted)


async def leave(session: AsyncSession, user: User, view: ConversationView) -> None:
    """Leave a group conversation (a direct one cannot be left; mute it instead)."""
    if view.conversation.kind != "group":
        raise MessageError(_("Only a class conversation can be left; mute this one instead."), status=409)
    await _set_read(session, view.conversation.id, user.id, 0, left_at=_now())


async def left_conversations(session: AsyncSession, user_id: uuid.UUID, limit: int = 20) -> list[tuple[Any, str]]:
    """Class conversations the member left while still in the group (to rejoin them): (conversation id, name)."""
    my_groups = select(GroupMembership.group_id).where(
        GroupMembership.user_id == user_id, GroupMembership.ended_at.is_(None))
    rows = (await session.execute(
        select(Conversation.id, Group.name).join(Group, Group.id == Conversation.group_id)
        .join(ConversationMember, and_(ConversationMember.conversation_id == Conversation.id,
                                       ConversationMember.user_id == user_id))
        .where(ConversationMember.left_at.is_not(None), Conversation.group_id.in_(my_groups))
        .order_by(Group.name).limit(limit)
    )).all()
    return [(cid, name) for cid, name in rows]


async def rejoin(session: AsyncSession, user: Any, conversation_id: Any) -> uuid.UUID:
    """Come back to a class conversation one left (still a member of the group); 404 otherwise."""
    key = parse_uuid(conversation_id)
    left = {cid for cid, _name in await left_conversations(session, user.id, limit=1000)}
    if key is None or key not in left:
        raise not_found()
    await session.execute(update(ConversationMember).where(
        ConversationMember.conversation_id == key, ConversationMember.user_id == user.id).values(left_at=None))
    return key


# --- reading ----------------------------------------------------------------------------------------------------


@dataclass
class MessageView:
    message: Message
    sender_name: str
    attachment: StoredFile | None


async def history(session: AsyncSession, conversation_id: uuid.UUID, *, before: int | None = None,
                  limit: int = HISTORY) -> tuple[list[MessageView], int | None]:
    """Up to ``limit`` messages before seq ``before`` (the latest without it), oldest first, and the cursor of the
    older ones (None when there are none): one statement."""
    stmt = (select(Message, User.name, StoredFile)
            .outerjoin(User, User.id == Message.sender_id)
            .outerjoin(StoredFile, and_(StoredFile.id == Message.attachment_id, StoredFile.status == "ready"))
            .where(Message.conversation_id == conversation_id).order_by(Message.seq.desc()).limit(limit + 1))
    if before is not None:
        stmt = stmt.where(Message.seq < before)
    rows = (await session.execute(stmt)).all()
    older = rows[limit - 1][0].seq if len(rows) > limit else None
    views = [MessageView(m, name or _("(former member)"), f) for m, name, f in rows[:limit]]
    return list(reversed(views)), older


async def latest_seq(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The newest message's seq in the member's conversations (0: none): where their stream starts. Never the
    organization's newest, which would tell how much everybody else writes."""
    return int(await session.scalar(select(func.coalesce(func.max(Message.seq), 0)).where(
        Message.conversation_id.in_(my_conversation_ids(user_id)))) or 0)


async def events_since(session: AsyncSession, user_id: uuid.UUID, cursor: int, limit: int = 50
                       ) -> list[MessageView]:
    """New messages (seq > ``cursor``) of the member's conversations, in seq order: one indexed statement."""
    rows = (await session.execute(
        select(Message, User.name, StoredFile)
        .outerjoin(User, User.id == Message.sender_id)
        .outerjoin(StoredFile, and_(StoredFile.id == Message.attachment_id, StoredFile.status == "ready"))
        .where(Message.seq > cursor, Message.conversation_id.in_(my_conversation_ids(user_id)))
        .order_by(Message.seq).limit(limit)
    )).all()
    return [MessageView(m, name or "", f) for m, name, f in rows]


async def message_for_member(session: AsyncSession, user: Any, message_id: Any) -> Message:
    """A message of one of the member's conversations (404 otherwise)."""
    key = parse_uuid(message_id)
    found = key and await session.scalar(select(Message).where(
        Message.id == key, Message.conversation_id.in_(my_conversation_ids(user.id))))
    if not found:
        raise MessageError(_("No such message."), status=404)
    return found


# --- reports and moderation -------------------------------------------------------------------------------------


async def report(session: AsyncSession, user: Any, message_id: Any, reason: str) -> MessageReport:
    reason = reason.strip()
    if not reason:
        raise MessageError(_("Say what is wrong with this message."), status=422, field="reason")
    if len(reason) > REASON_MAX:
        raise MessageError(_("At most %(n)d characters.") % {"n": REASON_MAX}, status=422, field="reason")
    message = await message_for_member(session, user, message_id)
    if message.sender_id == user.id:
        raise MessageError(_("You cannot report your own message."), status=409)
    created = (await session.execute(insert(MessageReport).values(
        id=uuid.uuid4(), message_id=message.id, reporter_id=user.id, reason=reason, status="open",
        created_at=_now(), updated_at=_now(),
    ).on_conflict_do_nothing(constraint="uq_message_reports_once").returning(MessageReport.id))).scalar_one_or_none()
    if created is None:
        raise MessageError(_("You already reported this message."), status=409)
    found = await session.get(MessageReport, created)
    assert found is not None
    return found


@dataclass
class ReportView:
    report: MessageReport
    message: Message
    reporter: str
    sender: str


async def open_reports(session: AsyncSession, *, page: int = 1, per_page: int = PAGE_SIZE
                       ) -> tuple[list[ReportView], int]:
    where = MessageReport.status == "open"
    total = int(await session.scalar(select(func.count()).select_from(MessageReport).where(where)) or 0)
    reporter, sender = aliased(User), aliased(User)
    rows = (await session.execute(
        select(MessageReport, Message, reporter.name, sender.name)
        .join(Message, Message.id == MessageReport.message_id)
        .join(reporter, reporter.id == MessageReport.reporter_id)
        .outerjoin(sender, sender.id == Message.sender_id)
        .where(where).order_by(MessageReport.created_at, MessageReport.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).all()
    return [ReportView(r, m, rn or "", sn or "") for r, m, rn, sn in rows], total


async def resolve(session: AsyncSession, admin: Any, actor: Actor, report_id: Any, *, hide: bool,
                  reason: str = "") -> MessageReport:
    """Hide the reported message (with a reason) or dismiss the report; audited. Every open report of the same
    message is resolved with it."""
    key = parse_uuid(report_id)
    found = await session.get(MessageReport, key) if key else None
    if found is None:
        raise MessageError(_("No such report."), status=404)
    reason = reason.strip()
    if hide and not reason:
        raise MessageError(_("Give the reason for hiding it."), status=422, field="reason")
    if len(reason) > REASON_MAX:
        raise MessageError(_("At most %(n)d characters.") % {"n": REASON_MAX}, status=422, field="reason")
    message = await session.get(Message, found.message_id)
    assert message is not None
    status = "hidden" if hide else "dismissed"
    if hide and message.hidden_at is None:
        message.hidden_at, message.hidden_reason, message.hidden_by_id = _now(), reason, admin.id
    await session.execute(update(MessageReport).where(
        MessageReport.message_id == message.id, MessageReport.status == "open"
    ).values(status=status, resolved_by_id=admin.id, resolved_at=_now()))
    await record(session, actor, "message.hidden" if hide else "message.report_dismissed",
                 target_type="message", target_id=message.id, report_id=str(found.id), reason=reason)
    await session.refresh(found)
    return found


async def set_learner_messages(session: AsyncSession, actor: Actor, allowed: bool) -> None:
    """The organization's learner-to-learner setting (admins); audited."""
    from tajiconnect.domains.accounts.service import organization_settings

    settings = await organization_settings(session)
    before = await access.learners_may_talk(session)
    settings.learner_messages = allowed
    await record(session, actor, "org.messages.updated", before=before, learner_messages=allowed)
