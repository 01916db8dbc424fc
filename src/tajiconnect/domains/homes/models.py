"""The manager's nudges: one row per learner and assignment, the last time they were nudged and how often.

The throttle is one statement: ``INSERT ... ON CONFLICT (assignment_id, learner_id) DO UPDATE ... WHERE
last_sent_at <= now() - 24 h RETURNING`` returns a row only when a nudge may go out now, so two managers pressing
"nudge" at the same moment send one (``manager.nudge``).
"""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel


class Nudge(TenantModel):
    __tablename__ = "nudges"
    __table_args__ = (
        Index("uq_nudges_assignment_learner", "assignment_id", "learner_id", unique=True),
        Index("ix_nudges_learner", "learner_id"),
        CheckConstraint("sent_count >= 1", name="sent_count"),
    )

    assignment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learning_assignments.id", ondelete="CASCADE"))
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_sent_at: Mapped[datetime.datetime]
    sent_count: Mapped[int] = mapped_column(Integer, default=1)
    last_sent_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
