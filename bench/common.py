"""What the page benchmarks share: a throwaway database, the app served in-process with its server time, CPU
and SQL statements measured per request, percentiles, and the printed table.

Not a library for the app: only ``bench/*.py`` import it (``sys.path`` gets ``src/`` here).
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Results:
    """Figures printed as they come, then as one plain-text table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        self.rows.append((label, value, target, verdict))
        print(f"  {label}: {value}" + (f"   (target {target}: {verdict})" if target else ""), flush=True)

    def table(self) -> str:
        rows = [("Figure", "Value", "Target", "Verdict"), *self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]

        def line(r: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(rows[0]), sep, *(line(r) for r in rows[1:])])


def configure_environment(db_url: str, base_domain: str) -> None:
    """The app's settings come from the environment: this database, a host name of our own, no outside mail."""
    os.environ["DATABASE_URL"] = db_url
    os.environ["TAJI_BASE_DOMAIN"] = base_domain
    os.environ["TAJI_PUBLIC_SCHEME"] = "https"
    os.environ["TAJI_SECRET_KEY"] = "bench-" + secrets.token_hex(16)
    os.environ["TAJI_QUEUE_NAME"] = f"bench-{secrets.token_hex(4)}"
    os.environ["TAJI_LOG_LEVEL"] = "WARNING"
    os.environ.pop("REDIS_URL", None)


def server_url_from(arg: str | None) -> str:
    """The PostgreSQL server to use: ``--database-url``, else ``DATABASE_URL``, else the embedded one."""
    from tajiconnect.settings import to_libpq_url

    url = arg or os.environ.get("DATABASE_URL")
    if not url:
        from tajiconnect.db.embedded import start_embedded

        url = start_embedded("tajiconnect")
    return to_libpq_url(url)


def print_header(title: str, server_url: str, database: str) -> None:
    with psycopg.connect(server_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    print(f"{title}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"  machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, PostgreSQL {version}")
    print(f"  database: {database}; load average at start {os.getloadavg()}", flush=True)


@contextlib.contextmanager
def throwaway_database(server_url: str, base_domain: str, *, keep: bool = False) -> Iterator[tuple[str, str]]:
    """Create ``taji_bench_<random>``, point the app's settings at it, migrate it; drop it at the end.

    Yields ``(libpq url, sqlalchemy url)``.
    """
    from tajiconnect.settings import to_sqlalchemy_url

    name = f"taji_bench_{secrets.token_hex(4)}"
    db_url = with_database(server_url, name)
    sa_url = to_sqlalchemy_url(db_url)
    print_header("TajiConnect benchmark", server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        configure_environment(db_url, base_domain)
        from tajiconnect.db.base import load_models
        from tajiconnect.db.migrate import sync_engine, upgrade_all

        load_models()
        engine = sync_engine(sa_url)
        try:
            upgrade_all(engine)
        finally:
            engine.dispose()
        yield db_url, sa_url
    finally:
        if keep:
            print(f"  kept database {name}")
        else:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def backend_pids(engine: Any) -> list[int]:
    """The server processes behind the app's pooled connections (this throwaway database has no others)."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
        return [int(pid) for (pid,) in rows.all()] + [int(await conn.scalar(text("SELECT pg_backend_pid()")))]


def backend_ticks(pids: list[int]) -> int | None:
    """CPU time (user + system, in clock ticks) the server processes ``pids`` used so far; None if unreadable."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


@dataclass
class Meter:
    """Wraps the app: server time and app CPU of each HTTP request; SQL statements and their time while on."""

    app: Any
    server_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    _started: dict[int, float] = field(default_factory=dict)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.server_ms.append((time.perf_counter() - t0) * 1000)
            self.cpu_ms.append((time.process_time() - c0) * 1000)

    def reset(self) -> None:
        self.server_ms.clear()
        self.cpu_ms.clear()
        self.statements.clear()
        self.sql_ms.clear()

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.statements.append(statement)
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.sql_ms.append((time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())) * 1000)

    @contextlib.contextmanager
    def counting_sql(self) -> Iterator[None]:
        from sqlalchemy import event

        sync_engine = self.app.state.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._before)
        event.listen(sync_engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            event.remove(sync_engine, "before_cursor_execute", self._before)
            event.remove(sync_engine, "after_cursor_execute", self._after)


async def sign_in(client: Any, email: str, password: str) -> None:
    """Through the real sign-in form (CSRF cookie, then the POST)."""
    form = await client.get("/auth/sign-in")
    token = client.cookies.get("csrftoken")
    assert form.status_code == 200 and token, form.status_code
    signed = await client.post("/auth/sign-in", data={"email": email, "password": password, "_csrf_token": token})
    assert signed.status_code == 303, signed.text[:300]


def summarize(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} / {percentile(values, 95):,.1f} ms"
