"""Conversations, their members' reading state, messages and reports (docs/messages.md).

* A **direct** conversation has two members, one ``conversation_members`` row each; ``direct_key`` (the two ids,
  sorted) makes it unique per pair.
* A **group** conversation belongs to a group (one per group): its members are the group's *current* leaders and
  members, read from ``group_memberships`` at every use, so it follows the group, plus the admins who started or
  opened it (``explicit`` rows). Otherwise a ``conversation_members`` row only keeps a member's reading state,
  mute and leave.
* ``messages.seq`` is a per-tenant increasing number, the live stream's cursor (``Last-Event-ID``): sends in a
  tenant are serialized by a transaction advisory lock, so seq order is commit order and a "since" poll never
  skips a message committed late.
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

CONVERSATION_KINDS = ("direct", "group")
REPORT_STATUSES = ("open", "hidden", "dismissed")


class Conversation(TenantModel):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("kind IN ('direct', 'group')", name="kind"),
        CheckConstraint("(kind = 'direct') = (direct_key IS NOT NULL)", name="direct_key"),
        CheckConstraint("(kind = 'group') = (group_id IS NOT NULL)", name="group_id"),
    )

    kind: Mapped[str] = mapped_column(String(8))
    direct_key: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), unique=True, default=None
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    last_message_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ConversationMember(TenantModel):
    """A member of a direct conversation, or a group conversation's member's own state (read, muted, left)."""

    __tablename__ = "conversation_members"
    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id", name="uq_conversation_members_pair"),
        Index("ix_conversation_members_user", "user_id"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    muted: Mapped[bool] = mapped_column(default=False)
    left_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    #: A member of a group conversation who is not in the group: an admin who started or joined it.
    explicit: Mapped[bool] = mapped_column(default=False)


class Message(TenantModel):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
        Index("ix_messages_sender_created", "sender_id", "created_at"),
        CheckConstraint("length(body) <= 4000", name="body_length"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), default=None
    )
    hidden_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    hidden_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    hidden_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class MessageReport(TenantModel):
    """A member's report of a message (once per message and member); admins hide the message or dismiss it."""

    __tablename__ = "message_reports"
    __table_args__ = (
        UniqueConstraint("message_id", "reporter_id", name="uq_message_reports_once"),
        CheckConstraint("status IN ('open', 'hidden', 'dismissed')", name="status"),
        Index("ix_message_reports_open", "created_at", postgresql_where=text("status = 'open'")),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolved_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
