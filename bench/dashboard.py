"""Admin dashboard benchmark: server time and SQL statements of ``GET /`` for an org admin, at 5,000 learners.

    .venv/bin/python bench/dashboard.py [--learners N] [--groups N] [--requests N] [--database-url URL] [--keep]

In a throwaway database ``taji_bench_<random>`` on the server of ``--database-url`` (or ``DATABASE_URL``, or the
project's embedded PostgreSQL), dropped at the end unless ``--keep``, it provisions one school through the real
``provision_tenant`` and fills it with bulk inserts: N learners (92 % active and holding a seat, 6 % invited and
holding one, 2 % deactivated; last sign-ins spread over 30 days), staff and parents, G groups (grade levels
holding classes) with every learner in one class and half of them in a second one, leaders, ended memberships
(history), one seat event per learner and an audit log of 4 entries per learner. Then it serves the real app on
this event loop (httpx's ASGI transport, no network), signs the admin in through the sign-in form, and requests
the dashboard: a few warm-up requests, then ``--requests`` timed ones.

Server time is measured around the app's ASGI call (every middleware, the session and user lookups, the queries
and the template); SQL time and statements are counted with SQLAlchemy's cursor events on the app's engine.
Because a busy machine stretches wall-clock time, it also reports the CPU the request costs, which load barely
changes: the app process's (``time.process_time``) and the database backends' (``/proc/<pid>/stat``, when the
server runs on this machine; a mean, as the kernel counts in 10 ms ticks).
``dashboard.load`` alone (the queries, on one session) is timed too, and, for reference, a plain signed-in page
(``/account/profile``) through the same client. It prints a plain-text table of every figure
next to its target. It is a benchmark, not a test: the figures depend on the machine and its load (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import secrets
import statistics
import time
from typing import Any

import psycopg
from common import (
    Results,
    backend_pids,
    backend_ticks,
    configure_environment,
    percentile,
    with_database,
)

BASE_DOMAIN = "dashbench.test"
ADMIN_PASSWORD = "bench-password-0123456789"  # noqa: S105
SLUG = "dashbench"
TARGET_MS = 100.0
BATCH = 2_000


# ------------------------------------------------------------------------------------------------ the tenant


async def populate(sa_url: str, learners: int, groups: int, results: Results) -> Any:
    """One school: provisioned for real, then filled with bulk inserts. Returns its TenantRef."""
    from sqlalchemy import insert, text

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.audit.models import AuditEntry
    from tajiconnect.domains.groups.models import Group, GroupMembership
    from tajiconnect.domains.licensing.models import SeatEvent
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    rng = random.Random(20261130)
    now = datetime.datetime.now(datetime.UTC)
    engine = create_engine(sa_url, pool_size=2)
    t0 = time.perf_counter()
    try:
        tenant = (
            await provision_tenant(engine, slug=SLUG, name="Dashboard Bench School",
                                   admin_email=f"admin@{SLUG}.example", admin_password=ADMIN_PASSWORD, kind="school")
        ).tenant
        await set_license(engine, SLUG, seats=learners + learners // 10, status="active")
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                rows: list[dict[str, Any]] = []
                for i in range(learners):
                    roll = i % 50
                    status = "deactivated" if roll == 0 else ("invited" if roll in (1, 2, 3) else "active")
                    seen = now - datetime.timedelta(minutes=rng.randrange(30 * 24 * 60)) if status == "active" else None
                    rows.append({
                        "email": f"learner{i:05d}@{SLUG}.example", "name": f"Learner {i:05d}", "roles": ["student"],
                        "status": status, "last_sign_in_at": seen,
                        "seat_assigned_at": None if status == "deactivated" else now,
                        "created_at": now - datetime.timedelta(minutes=i),
                    })
                staff = max(1, learners // 30)
                for i in range(staff):
                    rows.append({"email": f"teacher{i:04d}@{SLUG}.example", "name": f"Teacher {i:04d}",
                                 "roles": ["teacher"] if i % 10 else ["teacher", "manager"], "status": "active"})
                for i in range(learners // 15):
                    rows.append({"email": f"parent{i:05d}@{SLUG}.example", "name": f"Parent {i:05d}",
                                 "roles": ["parent"], "status": "invited" if i % 4 == 0 else "active"})
                for start in range(0, len(rows), BATCH):
                    await session.execute(insert(User), rows[start:start + BATCH])
                ids = {
                    email: (uid, roles)
                    for uid, email, roles in (await session.execute(text("SELECT id, email, roles FROM users"))).all()
                }
                learner_ids = [ids[f"learner{i:05d}@{SLUG}.example"][0] for i in range(learners)]
                teacher_ids = [uid for uid, roles in ids.values() if "teacher" in roles]

                grades = max(1, groups // 10)
                group_rows = [{"name": f"Grade {g + 1}", "kind": "grade", "depth": 0} for g in range(grades)]
                await session.execute(insert(Group), group_rows)
                grade_ids = list((await session.execute(
                    text("SELECT id FROM groups WHERE kind = 'grade' ORDER BY name"))).scalars())
                class_rows = [
                    {"name": f"Class {c + 1}", "kind": "class", "depth": 1, "parent_id": grade_ids[c % grades]}
                    for c in range(groups - grades)
                ]
                await session.execute(insert(Group), class_rows)
                class_ids = list((await session.execute(
                    text("SELECT id FROM groups WHERE kind = 'class' ORDER BY id"))).scalars())
                memberships: list[dict[str, Any]] = []
                for n, uid in enumerate(learner_ids):
                    home = class_ids[n % len(class_ids)]
                    memberships.append({"group_id": home, "user_id": uid, "role": "member"})
                    if n % 2 == 0:  # an elective
                        memberships.append({"group_id": class_ids[(n * 7 + 3) % len(class_ids)], "user_id": uid,
                                            "role": "member"})
                    if n % 5 == 0:  # moved classes once: an ended membership
                        memberships.append({"group_id": class_ids[(n + 1) % len(class_ids)], "user_id": uid,
                                            "role": "member", "ended_at": now - datetime.timedelta(days=40)})
                for n, gid in enumerate(class_ids):
                    memberships.append({"group_id": gid, "user_id": teacher_ids[n % len(teacher_ids)],
                                        "role": "leader"})
                # an elective may land on the home class: keep one current membership per (group, user)
                seen_pairs: set[tuple[Any, Any]] = set()
                unique = []
                for m in memberships:
                    key = (m["group_id"], m["user_id"])
                    if m.get("ended_at") is None and key in seen_pairs:
                        continue
                    if m.get("ended_at") is None:
                        seen_pairs.add(key)
                    unique.append(m)
                for start in range(0, len(unique), BATCH):
                    await session.execute(insert(GroupMembership), unique[start:start + BATCH])

                events = [{"user_id": uid, "user_email": f"learner{n:05d}@{SLUG}.example", "change": "assigned",
                           "reason": "imported", "actor_email": f"admin@{SLUG}.example"}
                          for n, uid in enumerate(learner_ids)]
                for start in range(0, len(events), BATCH):
                    await session.execute(insert(SeatEvent), events[start:start + BATCH])
                actions = ("auth.sign_in.success", "user.invited", "user.roles.changed", "seat.assigned")
                audit = [{"action": actions[n % 4], "actor_email": f"admin@{SLUG}.example",
                          "subject_email": f"learner{n % learners:05d}@{SLUG}.example",
                          "occurred_at": now - datetime.timedelta(seconds=n * 37)}
                         for n in range(learners * 4)]
                for start in range(0, len(audit), BATCH):
                    await session.execute(insert(AuditEntry), audit[start:start + BATCH])
                counts = (await session.execute(text(
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE 'student' = ANY(roles)),"
                    " (SELECT count(*) FROM groups), (SELECT count(*) FROM group_memberships),"
                    " (SELECT count(*) FROM audit_log), (SELECT count(*) FROM seat_events)"))).one()
            async with engine.connect() as conn:
                await conn.execute(text(f'ANALYZE "{tenant.schema}".users, "{tenant.schema}".groups,'
                                        f' "{tenant.schema}".group_memberships, "{tenant.schema}".audit_log'))
                await conn.commit()
    finally:
        await engine.dispose()
    users, learner_count, group_count, membership_count, audit_count, event_count = counts
    results.add("Tenant: members / learners", f"{users:,} / {learner_count:,}")
    results.add("Tenant: groups / memberships (incl. ended)", f"{group_count:,} / {membership_count:,}")
    results.add("Tenant: audit entries / seat events", f"{audit_count:,} / {event_count:,}")
    results.add("Populating (provision + bulk inserts)", f"{time.perf_counter() - t0:,.1f} s")
    return tenant


# ----------------------------------------------------------------------------------------------- the requests


async def measure(tenant: Any, requests: int, results: Results) -> None:
    import httpx
    from sqlalchemy import event

    from tajiconnect.app import create_app
    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.dashboard import service as dashboard
    from tajiconnect.settings import load_settings
    from tajiconnect.tenancy.context import tenant_context

    app = create_app(load_settings())
    server_ms: list[float] = []

    cpu_ms: list[float] = []

    async def timed_app(scope: Any, receive: Any, send: Any) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        await app(scope, receive, send)
        if scope["type"] == "http":
            server_ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)

    statements: list[str] = []
    sql_ms: list[float] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        statements.append(statement)
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sql_ms.append((time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000)

    async with app.lifespan():
        sync_engine = app.state.engine.sync_engine
        transport = httpx.ASGITransport(app=timed_app)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{SLUG}.{BASE_DOMAIN}") as client:
            form = await client.get("/auth/sign-in")
            token = client.cookies.get("csrftoken")
            assert form.status_code == 200 and token, form.status_code
            signed = await client.post("/auth/sign-in", data={"email": f"admin@{SLUG}.example",
                                                              "password": ADMIN_PASSWORD, "_csrf_token": token})
            assert signed.status_code == 303, signed.text[:300]
            for _ in range(5):  # warm-up: tenant lookup cache, templates, statement caches, connections
                page = await client.get("/")
                assert page.status_code == 200 and 'id="dashboard-seats"' in page.text, page.status_code
            server_ms.clear()
            cpu_ms.clear()
            backends = await backend_pids(app.state.engine)
            ticks_before = backend_ticks(backends)
            per_request_statements: list[int] = []
            per_request_sql: list[float] = []
            listing: list[str] = []
            event.listen(sync_engine, "before_cursor_execute", before)
            event.listen(sync_engine, "after_cursor_execute", after)
            try:
                for _ in range(requests):
                    statements.clear()
                    sql_ms.clear()
                    page = await client.get("/")
                    assert page.status_code == 200
                    per_request_statements.append(len(statements))
                    per_request_sql.append(sum(sql_ms))
                    listing = list(statements)
            finally:
                event.remove(sync_engine, "before_cursor_execute", before)
                event.remove(sync_engine, "after_cursor_execute", after)
            dashboard_ms, dashboard_cpu = list(server_ms), list(cpu_ms)
            ticks_after = backend_ticks(backends)
            database_cpu = (
                (ticks_after - ticks_before) / os.sysconf("SC_CLK_TCK") * 1000 / requests
                if ticks_before is not None and ticks_after is not None else None
            )
            # For reference: a plain signed-in page (session and user lookups, layout), same client, same loop.
            for _ in range(5):
                await client.get("/account/profile")
            server_ms.clear()
            cpu_ms.clear()
            for _ in range(requests):
                assert (await client.get("/account/profile")).status_code == 200
            profile_ms, profile_cpu = list(server_ms), list(cpu_ms)
        # The queries alone, on one session each (what the dashboard itself costs).
        load_ms: list[float] = []
        with tenant_context(tenant):
            for _ in range(requests):
                t0 = time.perf_counter()
                async with session_scope(app.state.engine) as session:
                    board = await dashboard.load(session)
                load_ms.append((time.perf_counter() - t0) * 1000)

    server_ms = dashboard_ms
    median, p95 = statistics.median(server_ms), percentile(server_ms, 95)
    results.add(f"Dashboard server time, median of {requests}", f"{median:,.1f} ms", f"< {TARGET_MS:.0f} ms",
                median < TARGET_MS)
    results.add(f"Dashboard server time, p95 of {requests}", f"{p95:,.1f} ms", f"< {TARGET_MS:.0f} ms",
                p95 < TARGET_MS)
    results.add("Dashboard server time, min / max", f"{min(server_ms):,.1f} / {max(server_ms):,.1f} ms")
    results.add("SQL time per request, median", f"{statistics.median(per_request_sql):,.1f} ms")
    results.add("CPU per request: app process, median / p95",
                f"{statistics.median(dashboard_cpu):,.1f} / {percentile(dashboard_cpu, 95):,.1f} ms")
    results.add("CPU per request: database backends, mean",
                f"{database_cpu:,.1f} ms" if database_cpu is not None else "n/a (/proc of the server not readable)")
    counts = sorted(set(per_request_statements))
    results.add("SQL statements per request", " or ".join(str(c) for c in counts))
    results.add("dashboard.load alone (own transaction), median / p95",
                f"{statistics.median(load_ms):,.1f} / {percentile(load_ms, 95):,.1f} ms")
    results.add("Reference: /account/profile server time, median / p95",
                f"{statistics.median(profile_ms):,.1f} / {percentile(profile_ms, 95):,.1f} ms")
    results.add("Reference: /account/profile CPU of the app process, median",
                f"{statistics.median(profile_cpu):,.1f} ms")
    results.add("Shown: seats used / members / groups",
                f"{format(board.usage.used, ',') if board.usage else '-'} / {board.members:,} / {board.groups}")
    print("\n  Statements of the last request:")
    for n, statement in enumerate(listing, 1):
        print(f"    {n:2d}. {' '.join(statement.split())[:150]}")


# ------------------------------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=5000, help="learners in the tenant (5000)")
    parser.add_argument("--groups", type=int, default=200, help="groups in the tenant (200)")
    parser.add_argument("--requests", type=int, default=50, help="timed dashboard requests (50)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    from tajiconnect.settings import to_libpq_url, to_sqlalchemy_url

    server_url = args.database_url or os.environ.get("DATABASE_URL")
    if not server_url:
        from tajiconnect.db.embedded import start_embedded

        server_url = start_embedded("tajiconnect")
    server_url = to_libpq_url(server_url)
    name = f"taji_bench_{secrets.token_hex(4)}"
    db_url = with_database(server_url, name)
    sa_url = to_sqlalchemy_url(db_url)

    with psycopg.connect(server_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    print(f"TajiConnect dashboard benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"  machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, PostgreSQL {version}")
    print(f"  database: {name}; load average at start {os.getloadavg()}", flush=True)

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    results = Results()
    started = time.perf_counter()
    try:
        configure_environment(db_url, BASE_DOMAIN)
        from tajiconnect.db.base import load_models
        from tajiconnect.db.migrate import sync_engine, upgrade_all

        load_models()
        engine = sync_engine(sa_url)
        try:
            upgrade_all(engine)
        finally:
            engine.dispose()

        async def run() -> None:
            tenant = await populate(sa_url, args.learners, args.groups, results)
            await measure(tenant, args.requests, results)

        asyncio.run(run())
    finally:
        if args.keep:
            print(f"  kept database {name}")
        else:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    missed = [r[0] for r in results.rows if r[3] == "MISSED"]
    if missed:
        print(f"\nMissed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
