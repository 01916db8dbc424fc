"""Skill evidence in the background (queue ``default``): each job is :func:`evidence.record`, safe to repeat.

* ``record_skill_evidence(user_ids)``: deferred by a completion or a grade release, in its transaction;
* ``backfill_skill_target(target_id)``: deferred when a course, assessment or path starts building a skill.
"""

from __future__ import annotations

from typing import Any

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.skills import evidence
from tajiconnect.tasks.base import TaskPolicy, tenant_task

SKILLS = TaskPolicy(timeout=120)


@tenant_task(policy=SKILLS)
async def record_skill_evidence(ctx: dict[str, Any], *, user_ids: list[str]) -> dict[str, Any]:
    keys = [k for k in (parse_uuid(u) for u in user_ids) if k is not None]
    async with session_scope(ctx["engine"]) as session:
        added = await evidence.record(session, user_ids=keys)
    return {"recorded": len(added)}


@tenant_task(policy=SKILLS)
async def backfill_skill_target(ctx: dict[str, Any], *, target_id: str) -> dict[str, Any]:
    key = parse_uuid(target_id)
    if key is None:
        return {"skipped": "bad id"}
    async with session_scope(ctx["engine"]) as session:
        added = await evidence.record(session, target_id=key)
    return {"recorded": len(added)}
