"""Groups nest (a department holds teams; a grade level holds classes). Memberships are kept as history: leaving
a group ends the membership (``ended_at``) instead of deleting it, so moves between groups stay visible."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tajiconnect.db.base import TenantModel

GroupKind = Literal["department", "team", "grade", "class"]
GROUP_KINDS: tuple[str, ...] = get_args(GroupKind)
KINDS_BY_TENANT = {"company": ("department", "team"), "school": ("grade", "class")}
MembershipRole = Literal["leader", "member"]
MAX_DEPTH = 4


class Group(TenantModel):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("kind IN ('department', 'team', 'grade', 'class')", name="kind"),
        CheckConstraint("depth >= 0 AND depth < 4", name="depth_range"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        # One name per parent (case-insensitive), top-level names unique among themselves.
        Index(
            "uq_groups_parent_name",
            func.coalesce(text("parent_id"), text("'00000000-0000-0000-0000-000000000000'::uuid")),
            func.lower(text("name")),
            unique=True,
        ),
    )

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), index=True, default=None
    )
    depth: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(String(1000), default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    archived_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class GroupMembership(TenantModel):
    """A person in a group as its leader (manager/teacher) or a member (learner), from ``created_at`` to
    ``ended_at``. At most one current membership per person and group."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        CheckConstraint("role IN ('leader', 'member')", name="role"),
        Index(
            "uq_group_memberships_current",
            "group_id",
            "user_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_group_memberships_user_current", "user_id", postgresql_where=text("ended_at IS NULL")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    added_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    ended_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    ended_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
