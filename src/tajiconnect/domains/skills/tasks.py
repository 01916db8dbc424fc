"""Skill evidence in the background (queue ``default``): each job is :func:`evidence.record`, safe to repeat.

* ``record_skill_evidence(user_ids)``: deferred by a completion or a grade release, in its transaction;
* ``backfill_skill_target(target_id)``: deferred when a course, assessment or path starts building a skill;
* ``record_recent_evidence`` (hourly, every tenant): the backstop for the learners who completed something or had
  a grade released in the last :data:`BACKSTOP_WINDOW` (a completion committed while a declaration was being
  made could be missed by both jobs).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import select, union

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.skills import evidence
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.schedule import scheduled

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


BACKSTOP_WINDOW = datetime.timedelta(hours=2)


@scheduled("hourly")
@tenant_task(policy=TaskPolicy(timeout=600))
async def record_recent_evidence(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, Any]:
    since = datetime.datetime.now(datetime.UTC) - BACKSTOP_WINDOW
    async with session_scope(ctx["engine"]) as session:
        learners = union(
            select(LearningCompletion.user_id).where(LearningCompletion.completed_at >= since),
            select(Grade.user_id).where(Grade.status == "released", Grade.released_at >= since),
        ).subquery()
        ids = list((await session.scalars(select(learners.c.user_id))).all())
        added = await evidence.record(session, user_ids=ids)
    return {"learners": len(ids), "recorded": len(added)}
