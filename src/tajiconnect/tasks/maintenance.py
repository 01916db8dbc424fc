"""Platform upkeep tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.tasks.base import tenant_task
from tajiconnect.tenancy.context import require_tenant


@tenant_task
async def count_users(ctx: dict[str, Any]) -> dict[str, Any]:
    """Count the active users of the tenant in scope (used by health reports and the seat check later)."""
    tenant = require_tenant()
    async with session_scope(ctx["engine"]) as session:
        active = await session.scalar(select(func.count()).select_from(User).where(User.status == "active"))
    return {"tenant": tenant.slug, "active_users": int(active or 0)}
