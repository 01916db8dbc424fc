"""Reports benchmark: the course completion report over 10,000 learners x 20 courses, as CSV, XLSX and PDF.

    .venv/bin/python bench/reports.py [--learners 10000] [--courses 20] [--database-url URL] [--keep]

In a throwaway database (see ``bench/common.py``) it provisions one organization through the real
``provision_tenant`` and fills it with set-based SQL: N learners in 20 teams, C published courses, every learner
enrolled in every course (N x C enrollments: a third completed with a date, the rest in progress at varied
percents) with a ``learning_days`` row per learner. Then, for each format, as the organization's admin: the report
is asked for through the service (``request_report``) and built end to end by the worker's own function
(``tasks.run_report``: the one streaming query, the writer, the progress updates, the file stored through the
storage service in a scratch folder, the report marked done with its notification). Timed from the request to
done; the target is under 30 s each. It is a benchmark, not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from common import Results, server_url_from, throwaway_database

BASE_DOMAIN = "reportbench.test"
SLUG = "reportbench"
PASSWORD = "bench-password-0123456789"  # noqa: S105
TARGET_S = 30.0


async def populate(sa_url: str, learners: int, courses: int, results: Results) -> Any:
    """The organization, filled. Returns its TenantRef."""
    from sqlalchemy import text

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    engine = create_engine(sa_url, pool_size=2)
    t0 = time.perf_counter()
    admin = f"admin@{SLUG}.example"
    try:
        tenant = (await provision_tenant(
            engine, slug=SLUG, name="Reports Bench Company", admin_email=admin, admin_password=PASSWORD,
            kind="company",
        )).tenant
        await set_license(engine, SLUG, seats=learners + 100, status="active")

        async def run(session: Any, sql: str, **params: Any) -> None:
            await session.execute(text(sql), params)

        with tenant_context(tenant):
            async with session_scope(engine) as session:
                await run(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar,
                                       seat_assigned_at, created_at, updated_at)
                    SELECT gen_random_uuid(), format('learner%s@reportbench.example', lpad(i::text, 5, '0')),
                           format('Learner %s Ñandú', lpad(i::text, 5, '0')), ARRAY['student'], 'active', 'en',
                           'Africa/Nairobi', false, now(), now(), now()
                    FROM generate_series(0, :n - 1) AS i""", n=learners)
                await run(session, """
                    INSERT INTO groups (id, name, kind, depth, created_at, updated_at)
                    SELECT gen_random_uuid(), format('Team %s', i), 'team', 0, now(), now()
                    FROM generate_series(1, 20) AS i""")
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         g AS (SELECT id, row_number() OVER (ORDER BY name) AS n FROM groups)
                    INSERT INTO group_memberships (id, group_id, user_id, role, created_at, updated_at)
                    SELECT gen_random_uuid(), g.id, l.id, 'member', now(), now()
                    FROM l JOIN g ON g.n = 1 + l.n % 20""")
                await run(session, """
                    INSERT INTO courses (id, title, summary, description, tags, level, language, status, visibility,
                                         visible_group_ids, prerequisite_ids, self_enroll, teacher_ids, published_at,
                                         revision, rating_count, rating_sum, owner_id, created_at, updated_at)
                    SELECT gen_random_uuid(), format('Course %s: workplace safety', lpad(i::text, 2, '0')), '', '',
                           '{}', 'beginner', 'en', 'published', 'tenant', '{}', '{}', true, '{}', now(), 1, 0, 0,
                           (SELECT id FROM users WHERE email = :admin), now(), now()
                    FROM generate_series(1, :c) AS i""", c=courses, admin=admin)
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         c AS (SELECT id, row_number() OVER (ORDER BY title) AS k FROM courses),
                         p AS (SELECT l.id AS user_id, c.id AS course_id, (l.n * 7 + c.k * 13) % 100 AS r
                               FROM l CROSS JOIN c)
                    INSERT INTO enrollments (id, course_id, user_id, source, status, progress_percent,
                                             lessons_completed, seconds_spent, completed_at, created_at, updated_at)
                    SELECT gen_random_uuid(), course_id, user_id, 'assigned',
                           CASE WHEN r < 33 THEN 'completed' ELSE 'active' END,
                           CASE WHEN r < 33 THEN 100 ELSE r END, r / 5, r * 60,
                           CASE WHEN r < 33 THEN now() - make_interval(days => r::int) END, now(), now()
                    FROM p""")
                await run(session, """
                    INSERT INTO learning_days (user_id, day, seconds_spent, lessons_completed)
                    SELECT id, current_date, 1800, 2 FROM users WHERE 'student' = ANY(roles)""")
                await run(session, "ANALYZE")
        results.add("seed (learners x courses)", f"{learners:,} x {courses} = {learners * courses:,} enrollments "
                    f"in {time.perf_counter() - t0:,.1f} s")
        return tenant
    finally:
        await engine.dispose()


async def measure(sa_url: str, tenant: Any, results: Results) -> None:
    from sqlalchemy import select

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.audit.service import Acting, Actor
    from tajiconnect.domains.reports import service, tasks
    from tajiconnect.domains.reports.models import Report
    from tajiconnect.domains.storage.models import StoredFile
    from tajiconnect.domains.storage.service import Storage
    from tajiconnect.settings import get_settings
    from tajiconnect.tenancy.context import tenant_context

    engine = create_engine(sa_url, pool_size=4)
    storage = Storage.from_settings(get_settings())
    try:
        with tenant_context(tenant):
            for fmt in ("csv", "xlsx", "pdf"):
                t0 = time.perf_counter()
                async with session_scope(engine) as session:
                    admin = await session.scalar(select(User).where(User.email == f"admin@{SLUG}.example"))
                    assert admin is not None
                    report = await service.request_report(
                        session, Acting(admin, Actor(id=admin.id, email=admin.email, ip="127.0.0.1")),
                        "completion", fmt, {})
                outcome = await tasks.run_report(engine, storage, report.id)
                elapsed = time.perf_counter() - t0
                async with session_scope(engine) as session:
                    done = await session.get(Report, report.id)
                    assert done is not None and done.status == "done", (outcome, done and done.error)
                    file = await session.get(StoredFile, done.file_id)
                    size = file.size if file is not None else 0
                results.add(f"completion report, {fmt.upper()} ({done.rows_total:,} rows, {size / 1e6:,.1f} MB)",
                            f"{elapsed:,.1f} s", f"< {TARGET_S:.0f} s", elapsed < TARGET_S)
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=10_000, help="learners (10000)")
    parser.add_argument("--courses", type=int, default=20, help="courses, each with every learner (20)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    results = Results()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="taji-report-bench-") as files:
        os.environ["TAJI_STORAGE_DIR"] = files
        with throwaway_database(server_url_from(args.database_url), BASE_DOMAIN, keep=args.keep) as (_db, sa_url):

            async def run() -> None:
                tenant = await populate(sa_url, args.learners, args.courses, results)
                await measure(sa_url, tenant, results)

            asyncio.run(run())
    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
