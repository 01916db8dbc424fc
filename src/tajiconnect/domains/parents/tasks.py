"""The parents' background work: the weekly digest (``digest.py``), fanned out to every active tenant by the
weekly tick (``worker.SCHEDULE``: Fridays 14:23 UTC)."""

from __future__ import annotations

import datetime
from typing import Any

from tajiconnect.domains.parents.digest import send_weekly_digests
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.tasks.schedule import scheduled

#: Many parents in one organization: batches of 200, each in its own transaction; a retry notifies nobody twice.
DIGEST_POLICY = TaskPolicy(timeout=1800, retries=3)


@scheduled("weekly")
@tenant_task(policy=DIGEST_POLICY)
async def send_weekly_digest(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, int]:
    """Tell each parent of this organization their children's week (``weekly_digest:<iso week>``, once)."""

    async def dispatch(session: Any) -> None:
        await dispatch_committed(session, ctx.get("queue"))

    return await send_weekly_digests(ctx["engine"], datetime.datetime.now(datetime.UTC), after_batch=dispatch)
