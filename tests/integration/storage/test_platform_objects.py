"""Platform-level objects on both backends: a tenant's export archive is stored from a local file under
``platform/exports/``, outlives the tenant, and deleting the tenant removes every object under its prefix."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.service import SYSTEM
from tajiconnect.domains.licensing.service import set_license
from tajiconnect.domains.storage import keys
from tajiconnect.platform import tenants
from tajiconnect.platform.exports import request_export, run_export
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import get_tenant
from tests.integration.storage.conftest import BUCKET, png_bytes
from tests.integration.storage.test_storage import save


async def test_an_export_is_stored_and_outlives_its_tenant_whose_objects_go(storage, engine, new_org):
    org = await new_org("stexp")
    data = png_bytes()
    file = await save(engine, org.tenant, storage, data)
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            export = await request_export(session, SYSTEM, await get_tenant(session, org.tenant.slug))
    done = await run_export(engine, storage, export.id)
    assert done is not None and done.status == "ready" and done.storage_key == keys.export_key(export.id)
    archive = zipfile.ZipFile(io.BytesIO(await storage.backend.read(done.storage_key)))
    assert archive.read(f"files/{file.id}/original") == data
    assert await storage.backend.size(done.storage_key) == done.size_bytes

    await set_license(engine, org.tenant.slug, status="cancelled")  # only a cancelled organization is deleted
    await tenants.delete_tenant(engine, storage.backend, SYSTEM, org.tenant.slug, confirm=org.tenant.slug,
                                override_retention=True, retention_days=90)
    assert await storage.backend.size(file.key) is None
    assert await storage.backend.size(done.storage_key) == done.size_bytes


async def test_s3_deletes_more_than_one_listing_of_a_prefix(s3_storage):
    prefix = keys.tenant_prefix(uuid.uuid4())
    client = s3_storage.backend.client

    def put(n: int) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}files/x/{n}", Body=b"x")

    await asyncio.gather(*(asyncio.to_thread(put, n) for n in range(1005)))
    await s3_storage.backend.delete_prefix(prefix)
    assert client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount") == 0
