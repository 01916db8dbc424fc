"""Migrations: public first, then every tenant, one transaction per tenant.

Two Alembic environments live in ``migrations/public`` and ``migrations/tenant``. The tenant environment runs
inside a transaction we opened and scoped to the tenant's schema; its version table lives in that schema. A
tenant is either fully at its old revision or fully at head (PostgreSQL DDL is transactional), so an
interrupted run is resumed by running it again.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text

from tajiconnect.db.base import PUBLIC_SCHEMA
from tajiconnect.db.session import set_search_path
from tajiconnect.settings import PROJECT_ROOT
from tajiconnect.tenancy.slugs import validate_schema

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
#: Arbitrary constant for the advisory lock that keeps two upgrade runs from overlapping.
UPGRADE_LOCK_KEY = 7_482_003_115


def alembic_config(target: str, *, extra_version_locations: Sequence[Path] = ()) -> Config:
    """Alembic configuration for ``target`` = ``"public"`` or ``"tenant"``."""
    if target not in ("public", "tenant"):
        raise ValueError(f"unknown migration target {target!r}")
    directory = MIGRATIONS_DIR / target
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    locations = [str(directory / "versions"), *(str(p) for p in extra_version_locations)]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    return cfg


@lru_cache(maxsize=8)
def _script(target: str, extra: tuple[Path, ...] = ()) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(target, extra_version_locations=extra))


def head_revision(target: str, extra_version_locations: Sequence[Path] = ()) -> str:
    head = _script(target, tuple(extra_version_locations)).get_current_head()
    if head is None:
        raise RuntimeError(f"the {target} migrations have no head")
    return head


def sync_engine(url: str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, **kwargs)


def upgrade_public(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        upgrade_public_on(conn, revision)


def upgrade_tenant_on(
    conn: Connection, schema: str, revision: str = "head", extra_version_locations: Sequence[Path] = ()
) -> None:
    """Migrate one tenant schema inside the caller's transaction on ``conn``."""
    set_search_path(conn, validate_schema(schema))
    cfg = alembic_config("tenant", extra_version_locations=extra_version_locations)
    cfg.attributes["connection"] = conn
    cfg.attributes["schema"] = schema
    command.upgrade(cfg, revision)


def stamp_tenant_on(conn: Connection, schema: str) -> None:
    """Record the tenant head in a schema whose tables were just created from the models."""
    ctx = MigrationContext.configure(conn, opts={"version_table_schema": validate_schema(schema)})
    ctx.stamp(_script("tenant"), "head")


def tenant_versions(conn: Connection, schemas: Iterable[str]) -> dict[str, str | None]:
    """Each schema's current revision, read in a few round trips rather than one per tenant."""
    schemas = [validate_schema(s) for s in schemas]
    result: dict[str, str | None] = dict.fromkeys(schemas)
    existing = set(
        conn.execute(
            text(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' AND table_schema = ANY(:schemas)"
            ),
            {"schemas": schemas},
        ).scalars()
    )
    present = [s for s in schemas if s in existing]
    for start in range(0, len(present), 400):
        chunk = present[start : start + 400]
        # Schema names are validated identifiers; they cannot be bound parameters in FROM.
        sql = " UNION ALL ".join(
            f"SELECT '{s}' AS schema, version_num FROM \"{s}\".alembic_version" for s in chunk
        )
        for schema, version in conn.execute(text(sql)):
            result[schema] = version
    return result


@dataclass
class UpgradeReport:
    public_seconds: float = 0.0
    upgraded: list[str] = field(default_factory=list)
    already_current: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class UpgradeLockedError(RuntimeError):
    """Another ``db upgrade`` run holds the lock."""


def _upgrade_one(engine: Engine, schema: str, extra_version_locations: Sequence[Path]) -> str | None:
    """Upgrade one tenant in its own transaction; the error as one line, or None."""
    try:
        with engine.begin() as conn:
            upgrade_tenant_on(conn, schema, extra_version_locations=extra_version_locations)
    except Exception as exc:  # one tenant's failure must not stop the others
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


_worker_engine: Engine | None = None


def _init_worker(url: str) -> None:
    global _worker_engine
    _worker_engine = sync_engine(url, pool_size=1, max_overflow=0)


def _upgrade_one_in_worker(schema: str, extra_version_locations: tuple[Path, ...]) -> str | None:
    assert _worker_engine is not None
    return _upgrade_one(_worker_engine, schema, extra_version_locations)


def _executor(
    engine: Engine, parallel: int, extra: tuple[Path, ...]
) -> tuple[Executor, Callable[[str], Future[str | None]]]:
    """Where tenant upgrades run: this process one at a time, or ``parallel`` worker processes.

    Not threads: Alembic's ``op`` and ``context`` are module-level proxies to the migration in progress, so
    two migrations running in one process at once trample each other (a ``KeyError`` from Alembic at best,
    one tenant's DDL sent down another tenant's connection at worst).
    """
    if parallel <= 1:
        pool: Executor = ThreadPoolExecutor(max_workers=1)
        return pool, lambda schema: pool.submit(_upgrade_one, engine, schema, extra)
    pool = ProcessPoolExecutor(
        max_workers=parallel,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(engine.url.render_as_string(hide_password=False),),
    )
    return pool, lambda schema: pool.submit(_upgrade_one_in_worker, schema, extra)


def upgrade_all(
    engine: Engine,
    schemas: Sequence[str] | None = None,
    *,
    parallel: int = 1,
    include_public: bool = True,
    extra_version_locations: Sequence[Path] = (),
    on_progress: Callable[[str, str], None] | None = None,
) -> UpgradeReport:
    """Upgrade public, then each tenant schema behind head (all tenants when ``schemas`` is None)."""
    started = time.perf_counter()
    report = UpgradeReport()
    with engine.connect() as lock_conn:
        if not lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": UPGRADE_LOCK_KEY}).scalar():
            raise UpgradeLockedError("another 'db upgrade' is running")
        lock_conn.commit()
        try:
            if include_public:
                t0 = time.perf_counter()
                upgrade_public(engine)
                report.public_seconds = time.perf_counter() - t0
            with engine.connect() as conn:
                if schemas is None:
                    slugs = conn.execute(text(f"SELECT slug FROM {PUBLIC_SCHEMA}.tenants ORDER BY slug")).scalars()
                    from tajiconnect.tenancy.slugs import schema_for

                    schemas = [schema_for(s) for s in slugs]
                head = head_revision("tenant", extra_version_locations)
                versions = tenant_versions(conn, schemas)
                conn.rollback()
            behind = [s for s in schemas if versions.get(s) != head]
            report.already_current = [s for s in schemas if versions.get(s) == head]

            extra = tuple(extra_version_locations)
            pool, submit = _executor(engine, parallel if len(behind) > 1 else 1, extra)
            with pool:
                futures = {submit(s): s for s in behind}
                for future in as_completed(futures):
                    schema = futures[future]
                    try:
                        error = future.result()
                    except Exception as exc:  # a worker process died
                        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    if error is not None:
                        report.failed[schema] = error
                        if on_progress:
                            on_progress(schema, "failed")
                    else:
                        report.upgraded.append(schema)
                        if on_progress:
                            on_progress(schema, "upgraded")
        finally:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": UPGRADE_LOCK_KEY})
            lock_conn.commit()
    report.seconds = time.perf_counter() - started
    return report


AUTOGEN_SCHEMA = "tenant_zz_autogenerate"


def autogenerate_revision(engine: Engine, target: str, message: str) -> None:
    """Write a new revision for ``target`` from the difference between the models and the migrations.

    For tenants the comparison runs against a scratch schema migrated to head inside a transaction that is
    rolled back, so nothing is left behind.
    """
    cfg = alembic_config(target)
    with engine.connect() as conn:
        with conn.begin() as tx:
            if target == "tenant":
                conn.execute(text(f'CREATE SCHEMA "{AUTOGEN_SCHEMA}"'))
                upgrade_tenant_on(conn, AUTOGEN_SCHEMA)
                cfg.attributes["schema"] = AUTOGEN_SCHEMA
            else:
                upgrade_public_on(conn)
            cfg.attributes["connection"] = conn
            rev_id = f"{len(list(MIGRATIONS_DIR.joinpath(target, 'versions').glob('*.py'))) + 1:04d}"
            command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
            tx.rollback()


def upgrade_public_on(conn: Connection, revision: str = "head") -> None:
    set_search_path(conn, None)
    cfg = alembic_config("public")
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
