"""``notify_new_message(message_id)`` (queue ``notifications``): tell each other member of the conversation, except
those who muted or left it, through ``notify()`` (category ``message``).

One notification per conversation and member *per unread stretch*: the key is
``message:<conversation id>:<the member's last read seq>``, so ten messages in a row make one notification, a
message after the member read the conversation makes a new one, and a job that runs again notifies nobody twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.messages import service
from tajiconnect.domains.messages.models import Conversation, ConversationMember, Message
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.tasks.base import TaskPolicy, tenant_task

NOTIFICATIONS = TaskPolicy(queue="notifications", timeout=300)


@tenant_task(policy=NOTIFICATIONS)
async def notify_new_message(ctx: dict[str, Any], *, message_id: str) -> dict[str, Any]:
    async with session_scope(ctx["engine"]) as session:
        message = await session.get(Message, message_id)
        if message is None or message.hidden_at is not None:
            return {"skipped": "gone"}
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        sender = await session.get(User, message.sender_id) if message.sender_id else None
        state = aliased(ConversationMember)
        rows = (await session.execute(
            select(User, state.last_read_seq, state.muted)
            .outerjoin(state, and_(state.conversation_id == conversation.id, state.user_id == User.id))
            .where(User.id.in_(service.member_ids(conversation)), User.status == "active",
                   User.id != message.sender_id)
        )).all()
        told = 0
        for user, last_read, muted in rows:
            if muted or (last_read or 0) >= message.seq:
                continue
            created = await notify(
                session, user, "message", key=f"message:{conversation.id}:{last_read or 0}",
                title=N_("New message from %(name)s"), params={"name": sender.name if sender else "?"},
                link=f"/messages/{conversation.id}", data={"conversation_id": str(conversation.id)},
            )
            told += created is not None
    return {"notified": told}
