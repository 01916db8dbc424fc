"""Roster import benchmark: a 10,000-row file end to end (upload -> validate -> apply), through the real app.

    .venv/bin/python bench/roster_import.py [--rows 10000] [--database-url URL] [--keep]

In a throwaway database ``taji_bench_<random>`` (on ``--database-url``, else ``DATABASE_URL``, else the project's
embedded PostgreSQL) it provisions a school with enough seats, then, as its admin through the HTTP API of the app
(in process, Litestar's test client):

1. ``POST /api/v1/imports`` with the CSV file (a file this large is checked in the background: ``validating``);
2. the validation task's work (``tasks.run_validation``: parse, plan against the database, rows and progress
   written chunk by chunk);
3. ``POST /api/v1/imports/{id}/apply`` (quick check, status ``applying``, task deferred);
4. the apply task's work (``tasks.run_apply``: license lock, plan again, seats claimed, bulk writes, one commit);
5. the same file uploaded, checked and applied again (every row ``unchanged``: a no-op).

The tasks' functions are called directly, as the worker calls them, so the figures leave out the time a job waits
in the queue for a worker (under a second with an idle worker). The invitations that follow are not run.

Every learner row has a class and a club (40 + 5 groups, created by the import), an external id, and a parent
email shared by two learners: 10,000 rows make 15,000 invited members, 10,000 seats, 20,000 memberships and
10,000 parent links.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import secrets
import sys
import time

import psycopg
from common import with_database  # bench/common.py (puts src/ on the path)

from tajiconnect.settings import to_libpq_url, to_sqlalchemy_url

TARGET_SECONDS = 30.0  # upload -> validate -> apply of 10,000 rows
ADMIN_PASSWORD = "bench-password-0123456789"  # noqa: S105
BASE_DOMAIN = "bench.test"


def roster(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "first_name", "last_name", "roles", "groups", "parent_email", "external_id"])
    for i in range(rows):
        writer.writerow([
            f"learner{i}@school.example.org", f"Éloïse{i}", "Ndongo", "student",
            f"Form {i % 40}; Club {i % 5}", f"parent{i // 2}@families.example.org", f"ADM-{i:05d}",
        ])
    return out.getvalue().encode("utf-8")


async def run(db_url: str, rows: int) -> list[tuple[str, float, str]]:
    os.environ.update({
        "DATABASE_URL": db_url, "TAJI_BASE_DOMAIN": BASE_DOMAIN, "TAJI_SECRET_KEY": secrets.token_hex(32),
        "TAJI_QUEUE_NAME": f"bench-{secrets.token_hex(4)}", "TAJI_LOG_LEVEL": "WARNING", "TAJI_PUBLIC_SCHEME": "https",
    })
    os.environ.pop("REDIS_URL", None)
    from litestar.testing import AsyncTestClient

    from tajiconnect.app import create_app
    from tajiconnect.db.base import load_models
    from tajiconnect.db.migrate import sync_engine, upgrade_all
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.domains.roster import tasks
    from tajiconnect.settings import load_settings
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    settings = load_settings()
    load_models()
    engine = sync_engine(settings.sqlalchemy_url)
    try:
        upgrade_all(engine)
    finally:
        engine.dispose()
    app = create_app(settings)
    data = roster(rows)
    results: list[tuple[str, float, str]] = []
    async with AsyncTestClient(app=app, base_url=f"https://bench.{BASE_DOMAIN}") as client:
        engine = app.state.engine
        created = await provision_tenant(
            engine, slug="bench", name="Bench School", admin_email="admin@bench.example",
            admin_password=ADMIN_PASSWORD, kind="school",
        )
        await set_license(engine, "bench", seats=rows * 2, status="active")
        tenant = created.tenant
        token = await client.post("/api/v1/auth/token", json={"email": "admin@bench.example",
                                                               "password": ADMIN_PASSWORD})
        headers = {"authorization": f"Bearer {token.json()['access_token']}"}

        async def one_import(label: str) -> dict:
            started = time.perf_counter()
            answer = await client.post("/api/v1/imports", files={"file": ("roster.csv", data, "text/csv")},
                                       headers=headers)
            assert answer.status_code == 201, answer.text
            import_id = answer.json()["id"]
            t_upload = time.perf_counter()
            with tenant_context(tenant):
                checked = await tasks.run_validation(engine, import_id)
            assert checked["status"] == "ready", checked
            t_validate = time.perf_counter()
            preview = (await client.get(f"/api/v1/imports/{import_id}", headers=headers)).json()
            confirm = await client.post(f"/api/v1/imports/{import_id}/apply", headers=headers)
            assert confirm.status_code == 200 and confirm.json()["status"] == "applying", confirm.text
            t_confirm = time.perf_counter()
            with tenant_context(tenant):
                done = await tasks.run_apply(engine, import_id, None)
            assert done["status"] == "applied", done
            t_apply = time.perf_counter()
            s = preview["summary"]
            results.extend([
                (f"{label}: upload (POST /api/v1/imports)", t_upload - started, f"{len(data) / 2**20:.2f} MiB"),
                (f"{label}: validate (task)", t_validate - t_upload,
                 f"{s['new']:,} new, {s['unchanged']:,} unchanged, {s['parents_new']:,} parents"),
                (f"{label}: preview read + confirm (POST .../apply)", t_confirm - t_validate, ""),
                (f"{label}: apply (task, one transaction)", t_apply - t_confirm,
                 f"{done.get('created', 0):,} created, {done.get('seats_assigned', 0):,} seats"),
                (f"{label}: end to end", t_apply - started, f"{rows / (t_apply - started):,.0f} rows/s"),
            ])
            return done

        await one_import("first import")
        again = await one_import("same file again")
        assert again["created"] == again["updated"] == 0, again
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    server_url = args.database_url or os.environ.get("DATABASE_URL")
    if not server_url:
        from tajiconnect.db.embedded import start_embedded

        server_url = start_embedded("tajiconnect")
    server_url = to_libpq_url(server_url)
    name = f"taji_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        version = conn.execute("SHOW server_version").fetchone()
    print(f"TajiConnect roster import benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"  machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, PostgreSQL {version[0] if version else '?'}")
    print(f"  database: {name}, {args.rows:,} rows, load average at start {os.getloadavg()}", flush=True)
    try:
        results = asyncio.run(run(to_sqlalchemy_url(with_database(server_url, name)), args.rows))
    finally:
        if not args.keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    width = max(len(label) for label, _s, _note in results)
    print(f"\n{'phase'.ljust(width)}  {'seconds':>8}  notes")
    print("-" * (width + 40))
    for label, seconds, note in results:
        print(f"{label.ljust(width)}  {seconds:8.2f}  {note}")
    total = next(s for label, s, _n in results if label == "first import: end to end")
    verdict = "met" if total < TARGET_SECONDS else "NOT met"
    print(f"\ntarget: {args.rows:,} rows end to end under {TARGET_SECONDS:.0f} s: {verdict} ({total:.1f} s); "
          f"load average at the end {os.getloadavg()}")
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
