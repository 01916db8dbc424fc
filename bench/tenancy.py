"""Tenancy benchmark: provisioning, no-op and additive tenant migrations, and backend memory at N tenants.

    .venv/bin/python bench/tenancy.py [--tenants N] [--database-url URL] [--parallel K] [--keep]

It works in a throwaway database ``taji_bench_<random>`` on the server of ``--database-url`` (or
``DATABASE_URL``, or the project's embedded PostgreSQL), dropped at the end unless ``--keep``. Everything
goes through the real code paths: ``upgrade_all`` for public, ``provision_tenant`` per tenant (schema,
tables, stamp, first admin with an argon2id hash), ``upgrade_all`` again (nothing to do), then ``upgrade_all``
with a temporary additive Alembic revision, and finally one pooled-engine transaction per tenant under
``tenant_context``.

It prints a plain-text table of every figure next to its target. It is a benchmark, not a test: the figures
depend on the machine and on whatever else runs on it (the load average is printed for that reason).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import secrets
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import text  # noqa: E402

from tajiconnect.db.base import load_models  # noqa: E402
from tajiconnect.db.migrate import alembic_config, head_revision, sync_engine, upgrade_all  # noqa: E402
from tajiconnect.db.session import create_engine, session_scope  # noqa: E402
from tajiconnect.domains.accounts.passwords import hash_password  # noqa: E402
from tajiconnect.settings import to_libpq_url, to_sqlalchemy_url  # noqa: E402
from tajiconnect.tenancy.context import TenantRef, tenant_context  # noqa: E402
from tajiconnect.tenancy.service import provision_tenant  # noqa: E402

ADMIN_PASSWORD = "bench-password-0123456789"  # noqa: S105
TOUCH_APP_NAME = "taji_bench_touch"
TOUCH_POOL_SIZE = 5

# Targets (see docs/performance.md).
TARGET_PROVISION_P95_S = 1.0
TARGET_NOOP_MS_PER_TENANT = 60.0
TARGET_ADDITIVE_1000_S = 600.0


# --------------------------------------------------------------------------------------------------- helpers


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.1f} MiB"


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, RssAnon, ...), or None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Row:
    label: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def add(self, label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        self.rows.append(Row(label, value, target, verdict))
        print(f"  {label}: {value}" + (f"   (target {target}: {verdict})" if target else ""), flush=True)

    def table(self) -> str:
        head = Row("Figure", "Value", "Target", "Verdict")
        rows = [head, *self.rows]
        widths = [max(len(getattr(r, f)) for r in rows) for f in ("label", "value", "target", "verdict")]

        def line(r: Row) -> str:
            cells = [r.label, r.value, r.target, r.verdict]
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(head), sep, *(line(r) for r in self.rows)])


def timing_rows(results: Results, prefix: str, per_tenant_s: list[float], p95_target_s: float | None = None) -> None:
    ms = [s * 1000 for s in per_tenant_s]
    p95 = percentile(ms, 95)
    results.add(f"{prefix} per tenant p50", f"{percentile(ms, 50):,.1f} ms")
    if p95_target_s is None:
        results.add(f"{prefix} per tenant p95", f"{p95:,.1f} ms")
    else:
        target = f"< {p95_target_s * 1000:,.0f} ms"
        results.add(f"{prefix} per tenant p95", f"{p95:,.1f} ms", target, p95 < p95_target_s * 1000)
    results.add(f"{prefix} per tenant max", f"{max(ms):,.1f} ms")


# ------------------------------------------------------------------------------------------------ the stages


async def provision_all(url: str, n: int, results: Results) -> list[TenantRef]:
    """Provision ``n`` tenants one after the other, as an operator (or a sign-up queue) would."""
    engine = create_engine(url, pool_size=2)
    refs: list[TenantRef] = []
    wall: list[float] = []
    started = time.perf_counter()
    try:
        for i in range(n):
            slug = f"bench{i:05d}"
            t0 = time.perf_counter()
            result = await provision_tenant(
                engine,
                slug=slug,
                name=f"Bench tenant {i}",
                admin_email=f"admin@{slug}.example",
                admin_password=ADMIN_PASSWORD,
                kind="school" if i % 2 else "company",
            )
            wall.append(time.perf_counter() - t0)
            refs.append(result.tenant)
            if (i + 1) % max(1, n // 10) == 0:
                print(f"    provisioned {i + 1}/{n} ({time.perf_counter() - started:,.0f} s)", flush=True)
    finally:
        await engine.dispose()
    total = time.perf_counter() - started
    timing_rows(results, "Provisioning", wall, TARGET_PROVISION_P95_S)
    results.add(f"Provisioning total ({n} tenants)", f"{total:,.1f} s")
    return refs


def timed_upgrade(url: str, **kwargs: object) -> tuple[float, list[float], int, dict[str, str]]:
    """Run ``upgrade_all``; return total seconds, per-tenant completion gaps, upgraded count, failures."""
    engine = sync_engine(url, pool_size=int(kwargs.get("parallel", 1)) + 1)  # type: ignore[call-overload]
    stamps: list[float] = []
    try:
        t0 = time.perf_counter()
        stamps.append(t0)
        report = upgrade_all(
            engine,
            on_progress=lambda _s, _st: stamps.append(time.perf_counter()),
            **kwargs,  # type: ignore[arg-type]
        )
        total = time.perf_counter() - t0
    finally:
        engine.dispose()
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    return total, intervals, len(report.upgraded or []), dict(report.failed or {})


def write_revision(directory: Path, revision: str, down_revision: str, column: str) -> None:
    """An additive tenant revision: one nullable column and an index on it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{revision}_add_{column}.py").write_text(
        textwrap.dedent(
            f'''\
            """bench: add users.{column} (temporary, written by bench/tenancy.py)"""

            import sqlalchemy as sa
            from alembic import op

            revision = {revision!r}
            down_revision = {down_revision!r}
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
                op.add_column("users", sa.Column({column!r}, sa.Boolean(), nullable=True))
                op.create_index("ix_users_{column}", "users", [{column!r}])


            def downgrade() -> None:
                op.drop_index("ix_users_{column}", table_name="users")
                op.drop_column("users", {column!r})
            '''
        )
    )


def additive_run(url: str, n: int, results: Results, locations: list[Path], parallel: int, label: str) -> None:
    total, intervals, upgraded, failed = timed_upgrade(
        url, parallel=parallel, include_public=False, extra_version_locations=tuple(locations)
    )
    if failed:
        first = next(iter(failed.items()))
        print(f"    {len(failed)} tenant(s) failed, e.g. {first[0]}: {first[1]}", flush=True)
    results.add(f"{label}: tenants upgraded / failed", f"{upgraded} / {len(failed)}")
    results.add(f"{label}: total", f"{total:,.1f} s")
    results.add(f"{label}: mean per tenant (total / N)", f"{total / max(1, n) * 1000:,.1f} ms")
    if parallel == 1 and intervals:
        timing_rows(results, label, intervals)
    projected = total / max(1, n) * 1000
    results.add(
        f"{label}: projected to 1,000 tenants",
        f"{projected:,.1f} s",
        f"< {TARGET_ADDITIVE_1000_S / 60:.0f} min",
        projected < TARGET_ADDITIVE_1000_S and not failed,
    )


async def backend_memory(engine_url: str, monitor_url: str, refs: list[TenantRef], results: Results) -> None:
    """Touch every tenant once through a small pool; compare the pooled backends' memory before/after."""
    engine = create_engine(
        engine_url,
        pool_size=TOUCH_POOL_SIZE,
        max_overflow=0,
        connect_args={"application_name": TOUCH_APP_NAME},
    )

    async def hold_all_connections(sql: str) -> list[tuple[int, int | None]]:
        """Check out every pooled connection at once (each backend answers once): (pid, cache bytes)."""
        barrier = asyncio.Barrier(TOUCH_POOL_SIZE)

        async def one() -> tuple[int, int | None]:
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                try:
                    cache = (await conn.execute(text(sql))).scalar()
                except Exception:  # pg_backend_memory_contexts needs PG 14+ and pg_read_all_stats
                    await conn.rollback()
                    cache = None
                await barrier.wait()
                await conn.rollback()
                return int(pid), None if cache is None else int(cache)

        return list(await asyncio.gather(*(one() for _ in range(TOUCH_POOL_SIZE))))

    cache_sql = (
        "SELECT sum(total_bytes) FROM pg_backend_memory_contexts "
        "WHERE name IN ('CacheMemoryContext') OR parent = 'CacheMemoryContext'"
    )

    def snapshot(label: str, per_backend: list[tuple[int, int | None]]) -> int | None:
        """Add the rows for one snapshot; return the summed RssAnon in KiB (None if unreadable)."""
        pids = [pid for pid, _ in per_backend]
        rss = [proc_status_kib(p, "VmRSS") for p in pids]
        anon = [proc_status_kib(p, "RssAnon") for p in pids]
        caches = [c for _, c in per_backend if c is not None]
        if all(v is not None for v in rss):
            results.add(
                f"Backend VmRSS {label} (sum of {len(pids)} / max)",
                f"{mib(sum(rss) * 1024)} / {mib(max(rss) * 1024)}",  # type: ignore[arg-type,type-var]
            )
            results.add(
                f"Backend RssAnon {label} (sum / max)",
                f"{mib(sum(anon) * 1024)} / {mib(max(anon) * 1024)}",  # type: ignore[arg-type,type-var]
            )
        else:
            results.add(f"Backend RSS {label}", "n/a (/proc of the server not readable: remote server?)")
        if caches:
            results.add(f"Backend CacheMemoryContext {label} (sum / max)", f"{mib(sum(caches))} / {mib(max(caches))}")
        return sum(anon) if all(v is not None for v in anon) else None  # type: ignore[arg-type]

    try:
        anon_before = snapshot("before touch", await hold_all_connections(cache_sql))

        queue: asyncio.Queue[TenantRef] = asyncio.Queue()
        for ref in refs:
            queue.put_nowait(ref)
        counted = 0
        per_touch: list[float] = []

        async def worker() -> None:
            nonlocal counted
            while not queue.empty():
                ref = queue.get_nowait()
                t0 = time.perf_counter()
                with tenant_context(ref):
                    async with session_scope(engine) as session:
                        users = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
                counted += users  # not "counted += await ...": that reads counted before the await
                per_touch.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(TOUCH_POOL_SIZE)))
        total = time.perf_counter() - t0
        results.add(
            f"Touch every tenant once ({TOUCH_POOL_SIZE}-connection pool)",
            f"{total:,.1f} s, {counted} users seen, p95 {percentile(per_touch, 95) * 1000:,.1f} ms",
        )
        anon_after = snapshot("after touch", await hold_all_connections(cache_sql))
        if anon_before is not None and anon_after is not None and refs:
            growth = (anon_after - anon_before) * 1024 / len(refs)
            results.add("Backend RssAnon growth per tenant touched", f"{growth / 1024:,.1f} KiB")
    finally:
        await engine.dispose()

    with psycopg.connect(monitor_url) as conn:
        catalog, database = conn.execute(
            "SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "        JOIN pg_namespace n ON n.oid = c.relnamespace "
            "        WHERE n.nspname = 'pg_catalog' AND c.relkind IN ('r', 'm', 't')), "
            "       pg_database_size(current_database())"
        ).fetchone()
        n_rel = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE 'tenant\\_%'"
        ).fetchone()[0]  # type: ignore[index]
    results.add("pg_catalog relations, total size", mib(int(catalog)))
    results.add("Database size (all schemas)", mib(int(database)))
    results.add("Relations in tenant schemas (pg_class rows)", f"{n_rel:,}")


# ------------------------------------------------------------------------------------------------------ main


def server_info(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
    return f"PostgreSQL {version} (shared_buffers {buffers})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="number of tenants to provision (1000)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--parallel", type=int, default=0, help="also run a second additive migration with K workers")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    server_url = args.database_url or os.environ.get("DATABASE_URL")
    if not server_url:
        from tajiconnect.db.embedded import start_embedded

        server_url = start_embedded("tajiconnect")
    server_url = to_libpq_url(server_url)
    name = f"taji_bench_{secrets.token_hex(4)}"
    db_url = with_database(server_url, name)
    sa_url = to_sqlalchemy_url(db_url)
    n = args.tenants

    print(f"TajiConnect tenancy benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(
        f"  machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, {server_info(server_url)}"
    )
    print(f"  database: {name} ({n} tenants), load average at start {os.getloadavg()}", flush=True)

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    results = Results()
    started = time.perf_counter()
    try:
        load_models()
        print("- public migrations", flush=True)
        total, _, _, _ = timed_upgrade(sa_url)
        results.add("Public migration (empty database)", f"{total * 1000:,.0f} ms")

        print("- argon2id alone (the provisioning hash, for reference)", flush=True)
        hashes = []
        for _ in range(10):
            t0 = time.perf_counter()
            hash_password(ADMIN_PASSWORD)
            hashes.append(time.perf_counter() - t0)
        results.add("argon2id hash_password alone, p50 of 10", f"{statistics.median(hashes) * 1000:,.1f} ms")

        print(f"- provisioning {n} tenants", flush=True)
        refs = asyncio.run(provision_all(sa_url, n, results))

        print("- no-op upgrade_all", flush=True)
        total, _, upgraded, failed = timed_upgrade(sa_url)
        per = total / max(1, n) * 1000
        results.add("No-op upgrade_all: total (incl. public)", f"{total * 1000:,.0f} ms, {upgraded} upgraded")
        results.add(
            "No-op upgrade_all: per tenant",
            f"{per:,.3f} ms",
            f"< {TARGET_NOOP_MS_PER_TENANT:.0f} ms",
            per < TARGET_NOOP_MS_PER_TENANT and not upgraded and not failed,
        )

        head = head_revision("tenant")  # cached since provisioning stamped the tenants with it
        on_disk = ScriptDirectory.from_config(alembic_config("tenant")).get_heads()
        if on_disk != [head]:
            raise SystemExit(f"the tenant migrations changed during the run ({head} -> {on_disk}); run again")
        with tempfile.TemporaryDirectory(prefix="taji_bench_rev_") as tmp:
            first = Path(tmp) / "a"
            write_revision(first, "bench_a", head, "bench_flag")
            print("- additive migration (sequential)", flush=True)
            additive_run(sa_url, n, results, [first], 1, "Additive migration")
            if args.parallel > 1:
                second = Path(tmp) / "b"
                write_revision(second, "bench_b", "bench_a", "bench_flag_b")
                print(f"- additive migration (parallel {args.parallel})", flush=True)
                label = f"Additive, parallel={args.parallel}"
                additive_run(sa_url, n, results, [first, second], args.parallel, label)

        print("- touching every tenant", flush=True)
        asyncio.run(backend_memory(sa_url, db_url, refs, results))
    finally:
        if args.keep:
            print(f"  kept database {name} (its tenants are at the benchmark's temporary revisions)")
        else:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    missed = [r.label for r in results.rows if r.verdict == "MISSED"]
    if missed:
        print(f"\nMissed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
