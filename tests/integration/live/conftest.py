"""The live-class tests' school (``tests/integration/school.py``) and helpers: a session's body, reminders run."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from tajiconnect.domains.live.models import LiveSession
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.tasks.outbox import sweep_tenant
from tajiconnect.tenancy.context import TenantRef
from tests.integration.conftest import drain
from tests.integration.groups.conftest import tenant_session
from tests.integration.school import School, build_school


@pytest.fixture(scope="session")
async def live_school(engine, new_org, make_user) -> School:
    return await build_school(engine, new_org, make_user, "live")


def soon(**delta: Any) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(**delta)


def session_body(school: School, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Photosynthesis Q&A", "starts_at": soon(days=2).isoformat(), "duration_minutes": 45,
        "time_zone": "Africa/Nairobi", "meeting_url": "https://meet.jit.si/Form2Biology",
        "group_id": str(school.group_id), "include_parents": True,
    }
    body.update(values)
    return {k: v for k, v in body.items() if v is not None}


async def create_session(engine: Any, tenant: TenantRef, **values: Any) -> uuid.UUID:
    """A session straight in the database (no announcement): for tests about what follows."""
    defaults: dict[str, Any] = {"title": "Live", "starts_at": soon(days=2), "duration_minutes": 60,
                                "time_zone": "UTC", "meeting_url": "https://meet.jit.si/room", "provider": "jitsi",
                                "announced_at": soon(days=-3)}
    async with tenant_session(engine, tenant) as session:
        live = LiveSession(**{**defaults, **values})
        session.add(live)
        await session.flush()
        return live.id


async def set_session(engine: Any, tenant: TenantRef, session_id: uuid.UUID, **values: Any) -> None:
    async with tenant_session(engine, tenant) as session:
        await session.execute(update(LiveSession).where(LiveSession.id == session_id).values(**values))


async def live_notifications(engine: Any, tenant: TenantRef, user_id: uuid.UUID) -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(
            select(Notification).where(Notification.user_id == user_id, Notification.category == "live_class")
            .order_by(Notification.created_at))).all())


async def dispatch(engine: Any, tenant: TenantRef, run_jobs: Any) -> int:
    """Hand the tenant's deferred tasks to the queue (as the request's commit does) and run every job."""
    await run_jobs()
    await sweep_tenant(engine, run_jobs.queues, tenant, older_than=datetime.timedelta(0))
    return await drain(run_jobs)
