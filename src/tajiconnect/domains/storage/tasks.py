"""Background work of the storage service: PDF pages as images, and the purge of abandoned uploads."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import ABANDONED_AFTER, Storage
from tajiconnect.logs import get_logger
from tajiconnect.tasks.base import TaskPolicy, platform_task, tenant_task
from tajiconnect.tenancy.context import tenant_context

log = get_logger(__name__)

_storage: dict[int, Storage] = {}


def storage_for(ctx: dict[str, Any]) -> Storage:
    """The worker's storage service (``ctx["storage"]`` when given, else one built from the settings, once)."""
    if ctx.get("storage") is not None:
        return ctx["storage"]
    settings = ctx["settings"]
    if id(settings) not in _storage:
        _storage[id(settings)] = Storage.from_settings(settings)
    return _storage[id(settings)]


@tenant_task(policy=TaskPolicy(timeout=900, heartbeat=60))
async def render_document_pages(ctx: dict[str, Any], *, file_id: str) -> int:
    """Render a PDF's pages as ``page-N`` WebP renditions; idempotent (the same keys are written again)."""
    storage = storage_for(ctx)
    async with session_scope(ctx["engine"]) as session:
        file = await session.get(StoredFile, uuid.UUID(file_id), with_for_update=True)
        if file is None:
            return 0
        return await storage.render_pages(session, file)


async def purge_tenant(engine: AsyncEngine, storage: Storage, tenant: Any,
                       older_than: datetime.timedelta = ABANDONED_AFTER) -> int:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await storage.purge_abandoned(session, older_than)


async def purge_all(engine: AsyncEngine, storage: Storage, older_than: datetime.timedelta = ABANDONED_AFTER
                    ) -> dict[str, Any]:
    """Abandoned uploads of every active tenant, one transaction per tenant; one failure stops nothing."""
    from tajiconnect.tenancy.service import list_tenants

    purged, failed = 0, []
    for tenant in await list_tenants(engine):
        if not tenant.is_active:
            continue
        try:
            purged += await purge_tenant(engine, storage, tenant, older_than)
        except Exception as exc:
            failed.append(tenant.slug)
            log.warning("storage purge failed for a tenant", tenant=tenant.slug, error=type(exc).__name__)
    return {"purged": purged, "failed": failed}


@platform_task
async def purge_abandoned_uploads(ctx: dict[str, Any]) -> dict[str, Any]:
    """Uploads still unfinished after 24 hours, in every tenant (to be scheduled: see docs/storage.md)."""
    return await purge_all(ctx["engine"], storage_for(ctx))
