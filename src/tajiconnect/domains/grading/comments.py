"""A teacher's comment bank: reusable comments, their own only (another teacher's entries are not found).

Listed most used first (``sort="used"``) or most recently used first (``sort="recent"``); inserting one into a
grade's comment counts a use (:func:`use`). Adding a comment the teacher already has returns that entry.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.grading.models import CommentBankEntry
from tajiconnect.i18n import gettext as _

TEXT_MAX = 2000
ENTRIES_MAX = 500  # per teacher
Sort = Literal["used", "recent"]


class CommentError(ValueError):
    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


async def list_entries(session: AsyncSession, user: Any, *, sort: Sort = "used", limit: int = 50,
                       offset: int = 0) -> list[CommentBankEntry]:
    order = ((CommentBankEntry.uses.desc(), CommentBankEntry.last_used_at.desc().nulls_last())
             if sort == "used" else (CommentBankEntry.last_used_at.desc().nulls_last(), CommentBankEntry.uses.desc()))
    stmt = (select(CommentBankEntry).where(CommentBankEntry.user_id == user.id)
            .order_by(*order, CommentBankEntry.created_at.desc(), CommentBankEntry.id).limit(limit).offset(offset))
    return list((await session.scalars(stmt)).all())


async def add(session: AsyncSession, user: Any, text: str) -> tuple[CommentBankEntry, bool]:
    """The entry for ``text`` (stripped): created, or the teacher's existing one. ``(entry, created)``."""
    text = (text or "").strip()
    if not text:
        raise CommentError(_("Write the comment."), field="text")
    if len(text) > TEXT_MAX:
        raise CommentError(_("At most %(max)d characters.") % {"max": TEXT_MAX}, field="text")
    existing = await session.scalar(select(CommentBankEntry).where(
        CommentBankEntry.user_id == user.id, CommentBankEntry.text == text).limit(1))
    if existing is not None:
        return existing, False
    count = await session.scalar(select(func.count()).select_from(CommentBankEntry).where(
        CommentBankEntry.user_id == user.id))
    if (count or 0) >= ENTRIES_MAX:
        raise CommentError(_("The comment bank is full (%(max)d comments): delete some first.") % {
            "max": ENTRIES_MAX}, status=409)
    entry = CommentBankEntry(id=uuid.uuid4(), user_id=user.id, text=text, uses=0)
    session.add(entry)
    await session.flush()
    return entry, True


async def get(session: AsyncSession, user: Any, entry_id: Any) -> CommentBankEntry:
    key = parse_uuid(entry_id)
    entry = None if key is None else await session.scalar(select(CommentBankEntry).where(
        CommentBankEntry.id == key, CommentBankEntry.user_id == user.id))
    if entry is None:
        raise CommentError(_("No such comment here."), status=404)
    return entry


async def use(session: AsyncSession, user: Any, entry_id: Any) -> CommentBankEntry:
    """Count one use of the teacher's entry (inserted into a comment)."""
    entry = await get(session, user, entry_id)
    entry.uses += 1
    entry.last_used_at = datetime.datetime.now(datetime.UTC)
    await session.flush()
    return entry


async def delete(session: AsyncSession, user: Any, entry_id: Any) -> None:
    entry = await get(session, user, entry_id)
    await session.delete(entry)
    await session.flush()
