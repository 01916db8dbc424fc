"""Tenant exports: a complete archive of one organization, built in the background for an operator.

The ZIP archive holds ``manifest.json`` (the tenant, its license, the tenant migration revision, every table with
its row count and columns, every entry with its size and SHA-256), ``schema.sql`` (the schema's DDL, made from the
catalogs without ``pg_dump``; run it with ``search_path`` set to an empty schema), ``tables/<table>.csv`` for every
table of the tenant schema (PostgreSQL ``COPY ... TO STDOUT WITH (FORMAT csv, HEADER)``, streamed) and
``files/<file id>/<rendition>`` for every ready stored file. Tables and the file list are read in one
``REPEATABLE READ`` read-only transaction, so that the counts, the rows and the files agree.

The archive is written to a temporary file, then to storage under ``platform/exports/<export id>.zip``
(``storage/keys.py::export_key``); the :class:`TenantExport` row records its key, size and SHA-256. Operators
request one from the tenant's console page (``export_tenant`` task) or run one inline
(``tajiconnect tenants export SLUG``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from psycopg import sql
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.licensing.models import License
from tajiconnect.domains.storage import keys
from tajiconnect.domains.storage.service import Storage
from tajiconnect.domains.storage.tasks import storage_for
from tajiconnect.logs import get_logger
from tajiconnect.platform.models import TenantExport
from tajiconnect.tasks.base import TaskPolicy, enqueue, platform_task
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant, TenantDomain

log = get_logger(__name__)

ARCHIVE_TYPE = "application/zip"
CHUNK = 256 * 1024
IN_PROGRESS = ("pending", "running")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def request_export(session: AsyncSession, actor: Actor, tenant: Tenant, **context: Any) -> TenantExport:
    """A new pending export of ``tenant`` (or the one already pending or running), recorded as
    ``platform.tenant.export_requested`` in the caller's public transaction. The caller enqueues it after the
    commit (:func:`enqueue_export`)."""
    current = await session.scalar(
        select(TenantExport).where(TenantExport.tenant_id == tenant.id, TenantExport.status.in_(IN_PROGRESS))
        .order_by(TenantExport.created_at.desc()).limit(1)
    )
    if current is not None:
        return current
    export = TenantExport(tenant_id=tenant.id, slug=tenant.slug, status="pending",
                          requested_by=(actor.email or "system")[:320])
    session.add(export)
    await session.flush()
    await record(session, actor, "platform.tenant.export_requested", target_type="tenant", target_id=tenant.slug,
                 model=PlatformAuditEntry, tenant=tenant.slug, export_id=str(export.id), before=None,
                 after={"export_id": str(export.id), "status": "pending"}, **context)
    return export


async def enqueue_export(queue: Any, export_id: uuid.UUID) -> None:
    """Queue the export (keyed by its id: asking twice queues it once)."""
    await enqueue(queue, export_tenant, key=f"export:{export_id}", export_id=str(export_id))


async def recent_exports(session: AsyncSession, tenant_id: uuid.UUID, limit: int = 5) -> list[TenantExport]:
    rows = await session.scalars(select(TenantExport).where(TenantExport.tenant_id == tenant_id)
                                 .order_by(TenantExport.created_at.desc()).limit(limit))
    return list(rows.all())


async def orphan_exports(session: AsyncSession, limit: int = 20) -> list[TenantExport]:
    """Ready archives of organizations deleted since (their only copy of the data), newest first."""
    rows = await session.scalars(select(TenantExport).where(TenantExport.tenant_id.is_(None),
                                                            TenantExport.status == "ready")
                                 .order_by(TenantExport.created_at.desc()).limit(limit))
    return list(rows.all())


@platform_task(policy=TaskPolicy(retries=2, timeout=3600, heartbeat=120, queue="reports"))
async def export_tenant(ctx: dict[str, Any], *, export_id: str) -> dict[str, Any]:
    """Build the archive of a requested export (see the module's docstring); a ready export is left as it is."""
    export = await run_export(ctx["engine"], storage_for(ctx), uuid.UUID(export_id))
    return {"status": export.status if export else "gone", "size": export.size_bytes if export else None}


async def run_export(engine: AsyncEngine, storage: Storage, export_id: uuid.UUID) -> TenantExport | None:
    """Build, store and record the archive of export ``export_id``. A failure marks it ``failed`` (with the
    error) and is raised again, so that the task is retried."""
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            export = await session.get(TenantExport, export_id, with_for_update=True)
            if export is None or export.status == "ready":
                return export
            tenant = await session.get(Tenant, export.tenant_id) if export.tenant_id else None
            if tenant is None:
                export.status, export.error, export.finished_at = "failed", "the organization no longer exists", _now()
                return export
            export.status, export.error = "running", None
            facts = await _tenant_facts(session, tenant)
        try:
            with tempfile.TemporaryDirectory(prefix="taji-export-") as folder:
                path = Path(folder) / "export.zip"
                await build_archive(engine, storage, facts, path)
                digest, size = _digest(path)
                key = keys.export_key(export_id)
                await storage.backend.put_file(key, path, ARCHIVE_TYPE)
        except Exception as exc:
            async with session_scope(engine, schema=None) as session:
                failed = await session.get(TenantExport, export_id)
                if failed is not None:
                    failed.status, failed.finished_at = "failed", _now()
                    failed.error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("tenant export failed", export_id=str(export_id), error=type(exc).__name__)
            raise
        async with session_scope(engine, schema=None) as session:
            done = await session.get(TenantExport, export_id)
            assert done is not None
            done.status, done.storage_key, done.size_bytes, done.sha256 = "ready", key, size, digest
            done.error, done.finished_at = None, _now()
            return done


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def _tenant_facts(session: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    lic = await session.scalar(select(License).where(License.tenant_id == tenant.id))
    domains = (await session.scalars(select(TenantDomain.domain).where(TenantDomain.tenant_id == tenant.id))).all()
    return {
        "id": str(tenant.id), "slug": tenant.slug, "name": tenant.name, "kind": tenant.kind,
        "country": tenant.country, "locale": tenant.locale, "status": tenant.status,
        "created": tenant.created_at.isoformat(), "schema": tenant.schema, "domains": sorted(domains),
        "license": None if lic is None else {
            "plan": lic.plan.code, "seats": lic.seats, "status": lic.status,
            "term_start": lic.term_start.isoformat(), "term_end": lic.term_end.isoformat() if lic.term_end else None,
            "stripe_customer_id": lic.stripe_customer_id, "stripe_subscription_id": lic.stripe_subscription_id,
        },
    }


class _Entry:
    """One archive entry being written: its size and SHA-256 as it goes."""

    def __init__(self, archive: zipfile.ZipFile, name: str, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=datetime.datetime.now(datetime.UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.name = name
        self.handle = archive.open(info, "w", force_zip64=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        self.handle.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"path": self.name, "size": self.size, "sha256": self.digest.hexdigest()}


async def build_archive(engine: AsyncEngine, storage: Storage, tenant: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write the archive of ``tenant`` (facts from :func:`_tenant_facts`) to ``path``; returns its manifest."""
    schema = tenant["schema"]
    entries: list[dict[str, Any]] = []
    missing: list[str] = []
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            # Catalog functions name the tenant's objects without their schema: the DDL fits any schema.
            await conn.execute(text("SELECT set_config('search_path', :path, true)"), {"path": f'"{schema}"'})
            revision = await conn.scalar(text(f'SELECT version_num FROM "{schema}".alembic_version'))
            tables = await _tables(conn, schema)
            ddl = await _ddl(conn, schema, tables)
            files = (await conn.execute(text(
                f'SELECT id, key, renditions FROM "{schema}".stored_files WHERE status = \'ready\' ORDER BY id'
            ))).all()
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
                entry = _Entry(archive, "schema.sql")
                entry.write(ddl.encode())
                entries.append(entry.close())
                for table in tables:
                    entry = _Entry(archive, f"tables/{table['name']}.csv")
                    copy_sql = sql.SQL("COPY (SELECT * FROM {}.{}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
                        sql.Identifier(schema), sql.Identifier(table["name"]))
                    async with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                        async for chunk in copy:
                            entry.write(chunk)
                    entries.append(entry.close())
                for file_id, key, renditions in files:
                    objects = {keys.ORIGINAL: key, **{name: r["key"] for name, r in (renditions or {}).items()}}
                    for name, object_key in objects.items():
                        if await storage.backend.size(object_key) is None:
                            missing.append(object_key)
                            continue
                        entry = _Entry(archive, f"files/{file_id}/{name}", compress=False)
                        async for chunk in _object(storage, object_key):
                            entry.write(chunk)
                        entries.append(entry.close())
                manifest = {
                    "format": "tajiconnect-tenant-export/1",
                    "exported_at": _now().isoformat(),
                    **{k: tenant[k] for k in ("slug", "name", "kind", "country", "locale", "status", "created",
                                              "schema", "domains", "license")},
                    "tenant_id": tenant["id"],
                    "migration_revision": revision,
                    "tables": tables,
                    "files": entries,
                    "missing_objects": missing,
                }
                archive.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
    return manifest


def _object(storage: Storage, key: str) -> AsyncIterator[bytes]:
    return storage.backend.open(key)


async def _tables(conn: AsyncConnection, schema: str) -> list[dict[str, Any]]:
    """Every table of the schema with its columns and row count (counts in one round trip)."""
    names = list((await conn.scalars(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    ), {"schema": schema})).all())
    if not names:
        return []
    answer = await conn.execute(text(" UNION ALL ".join(
        f"SELECT CAST(:t{i} AS text), count(*) FROM {_quote(schema)}.{_quote(name)}" for i, name in enumerate(names)
    )), {f"t{i}": name for i, name in enumerate(names)})
    counts: dict[str, int] = {str(name): int(rows) for name, rows in answer.all()}
    columns: dict[str, list[dict[str, Any]]] = {}
    for table, column, kind, nullable in (await conn.execute(text(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = :schema ORDER BY table_name, ordinal_position"
    ), {"schema": schema})).all():
        columns.setdefault(table, []).append({"name": column, "type": kind, "nullable": nullable == "YES"})
    return [{"name": n, "rows": int(counts[n]), "csv": f"tables/{n}.csv", "columns": columns.get(n, [])}
            for n in names]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _ddl(conn: AsyncConnection, schema: str, tables: list[dict[str, Any]]) -> str:
    """``CREATE`` statements of the schema's sequences, tables (columns, defaults, constraints) and indexes, with
    foreign keys last; names unqualified (the transaction's search path is the tenant schema)."""
    out = [f"-- TajiConnect tenant schema {schema}: run with search_path set to the target schema.", ""]
    for name, kind, start, step in (await conn.execute(text(
        "SELECT sequencename, data_type::text, start_value, increment_by FROM pg_sequences"
        " WHERE schemaname = :schema ORDER BY sequencename"), {"schema": schema})).all():
        out.append(f"CREATE SEQUENCE {_quote(name)} AS {kind} START WITH {start} INCREMENT BY {step};")
    foreign: list[str] = []
    indexes: list[str] = []
    for table in tables:
        oid = await conn.scalar(text("SELECT to_regclass(:name)::oid"), {"name": f'"{schema}".{_quote(table["name"])}'})
        lines = []
        for column, kind, not_null, default, generated in (await conn.execute(text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),"
            " a.attgenerated FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid"
            " AND d.adnum = a.attnum WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum"), {"oid": oid})).all():
            line = f"  {_quote(column)} {kind}"
            if default is not None:
                line += f" GENERATED ALWAYS AS ({default}) STORED" if generated == "s" else f" DEFAULT {default}"
            lines.append(line + (" NOT NULL" if not_null else ""))
        for name, kind, definition in (await conn.execute(text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :oid"
            " ORDER BY contype, conname"), {"oid": oid})).all():
            if kind == "f":
                foreign.append(f"ALTER TABLE {_quote(table['name'])} ADD CONSTRAINT {_quote(name)} {definition};")
            else:
                lines.append(f"  CONSTRAINT {_quote(name)} {definition}")
        out.append(f"CREATE TABLE {_quote(table['name'])} (\n" + ",\n".join(lines) + "\n);")
        # pg_get_indexdef names the table with its schema whatever the search path: that part goes.
        indexes.extend(f"{d.replace(f' ON {schema}.', ' ON ').replace(f' ON {_quote(schema)}.', ' ON ')};"
                       for d in (await conn.scalars(text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = :oid AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"), {"oid": oid})).all())
    return "\n".join([*out, "", *indexes, "", *foreign, ""])
