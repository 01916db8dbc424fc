"""Gradebook benchmark: server time of a course's gradebook (first page of 50 learners) and of its full CSV.

    .venv/bin/python bench/gradebook.py [--learners 1000] [--items 50] [--requests 50] [--database-url URL] [--keep]

In a throwaway database (see ``bench/common.py``) it provisions one school through the real ``provision_tenant``
and fills it with set-based SQL: N learners, 20 classes with memberships, one published course of ``--items``
graded lessons (quizzes and assignments alternating, 5 per module) with their assessment rows, 4 weighted
categories (one dropping the lowest score), every learner enrolled, a grade per learner and item (80 % released,
10 % draft, 5 % pending, 5 % none), and overrides for 1 % of learners. Then, signed in as the admin through the
sign-in form, it requests the gradebook's first page (``/teach/courses/{id}/gradebook``) and the API's first page:
warm-ups, then ``--requests`` timed ones each (server time median and p95 against the 200 ms target, app CPU,
SQL statements per request), and downloads the whole CSV 3 times (target: under 5 s).
It is a benchmark, not a test: the figures depend on the machine and its load (printed at start and end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from common import Meter, Results, percentile, server_url_from, sign_in, throwaway_database

BASE_DOMAIN = "gradebench.test"
SLUG = "gradebench"
PASSWORD = "bench-password-0123456789"  # noqa: S105
PAGE_TARGET_MS = 200.0
CSV_TARGET_S = 5.0


async def populate(sa_url: str, learners: int, items: int, results: Results) -> tuple[str, str]:
    """The school, filled. Returns (the admin's email, the course id)."""
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
            engine, slug=SLUG, name="Gradebook Bench School", admin_email=admin, admin_password=PASSWORD,
            kind="school",
        )).tenant
        await set_license(engine, SLUG, seats=learners + 100, status="active")

        async def run(session: Any, sql: str, **params: Any) -> None:
            await session.execute(text(sql), params)

        with tenant_context(tenant):
            async with session_scope(engine) as session:
                await run(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar,
                                       seat_assigned_at, created_at, updated_at)
                    SELECT gen_random_uuid(), format('learner%s@gradebench.example', lpad(i::text, 5, '0')),
                           format('Learner %s', lpad(i::text, 5, '0')), ARRAY['student'], 'active', 'en',
                           'Africa/Nairobi', false, now(), now(), now()
                    FROM generate_series(0, :n - 1) AS i""", n=learners)
                await run(session, """
                    INSERT INTO groups (id, name, kind, depth, created_at, updated_at)
                    SELECT gen_random_uuid(), format('Class %s', i), 'class', 0, now(), now()
                    FROM generate_series(1, 20) AS i""")
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         g AS (SELECT id, row_number() OVER (ORDER BY name) AS n FROM groups)
                    INSERT INTO group_memberships (id, group_id, user_id, role, created_at, updated_at)
                    SELECT gen_random_uuid(), g.id, l.id, 'member', now(), now()
                    FROM l JOIN g ON g.n = 1 + l.n % 20""")
                course_id = (await session.execute(text("""
                    INSERT INTO courses (id, title, summary, description, tags, level, language, status, visibility,
                                         visible_group_ids, prerequisite_ids, self_enroll, teacher_ids, published_at,
                                         revision, rating_count, rating_sum, owner_id, created_at, updated_at)
                    SELECT gen_random_uuid(), 'Physics 101', '', '', '{}', 'beginner', 'en', 'published', 'tenant',
                           '{}', '{}', true, '{}', now(), 1, 0, 0, u.id, now(), now()
                    FROM users u WHERE u.email = :admin
                    RETURNING id"""), {"admin": admin})).scalar_one()
                await run(session, """
                    INSERT INTO course_modules (id, course_id, title, summary, position, created_at, updated_at)
                    SELECT gen_random_uuid(), :course, format('Unit %s', m), '', m, now(), now()
                    FROM generate_series(0, (:items - 1) / 5) AS m""", course=course_id, items=items)
                await run(session, """
                    WITH m AS (SELECT id, position FROM course_modules WHERE course_id = :course)
                    INSERT INTO lessons (id, course_id, module_id, title, kind, position, body, body_html,
                                         allow_download, created_at, updated_at)
                    SELECT gen_random_uuid(), :course, m.id,
                           format('%s %s', CASE WHEN i % 2 = 0 THEN 'Quiz' ELSE 'Assignment' END, i + 1),
                           CASE WHEN i % 2 = 0 THEN 'quiz' ELSE 'assignment' END, i % 5, '', '', false, now(), now()
                    FROM generate_series(0, :items - 1) AS i JOIN m ON m.position = i / 5""",
                          course=course_id, items=items)
                await run(session, """
                    INSERT INTO gradebook_categories (id, course_id, name, weight, drop_lowest, position, created_at,
                                                      updated_at)
                    VALUES (gen_random_uuid(), :course, 'Quizzes', 30, 1, 0, now(), now()),
                           (gen_random_uuid(), :course, 'Assignments', 40, 0, 1, now(), now()),
                           (gen_random_uuid(), :course, 'Midterm', 10, 0, 2, now(), now()),
                           (gen_random_uuid(), :course, 'Final exam', 20, 0, 3, now(), now())""", course=course_id)
                await run(session, """
                    WITH c AS (SELECT id, position FROM gradebook_categories WHERE course_id = :course),
                         l AS (SELECT l.id, l.kind, row_number() OVER (ORDER BY m.position, l.position) AS n
                               FROM lessons l JOIN course_modules m ON m.id = l.module_id WHERE l.course_id = :course)
                    INSERT INTO assessments (id, course_id, lesson_id, kind, max_points, passing_percent,
                                             gradebook_category_id, weight, counts_in_gradebook, late_answer_policy,
                                             attempts_allowed, attempt_grade, shuffle_questions, shuffle_options,
                                             review_when, review_detail, submission_types, max_files, late_policy,
                                             late_penalty_percent, group_submission, group_ids, revision,
                                             created_at, updated_at)
                    SELECT gen_random_uuid(), :course, l.id, l.kind, CASE WHEN l.kind = 'quiz' THEN 10 ELSE 50 END,
                           NULL, (SELECT c.id FROM c WHERE c.position = CASE WHEN l.n % 10 = 0 THEN 2 + l.n % 20 / 10
                                                        WHEN l.kind = 'quiz' THEN 0 ELSE 1 END),
                           1 + l.n % 3, true, 'refuse', 1, 'highest', false, true, 'submit', 'feedback',
                           '{text,file}', 5, 'accept', 10, false, '{}', 1, now(), now()
                    FROM l""", course=course_id)
                await run(session, """
                    INSERT INTO enrollments (id, course_id, user_id, source, status, progress_percent,
                                             lessons_completed, seconds_spent, created_at, updated_at)
                    SELECT gen_random_uuid(), :course, id, 'assigned', 'active', 40, 20, 3600, now(), now()
                    FROM users WHERE 'student' = ANY(roles)""", course=course_id)
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         a AS (SELECT id, max_points, row_number() OVER (ORDER BY id) AS k FROM assessments
                               WHERE course_id = :course),
                         pairs AS (SELECT l.id AS user_id, a.id AS assessment_id, a.max_points,
                                          (l.n * 31 + a.k * 7) % 100 AS r FROM l CROSS JOIN a)
                    INSERT INTO grades (id, assessment_id, user_id, course_id, status, points, penalty_percent, score,
                                        max_points, rubric_scores, comment, submitted_at, graded_at, released_at,
                                        revision, created_at, updated_at)
                    SELECT gen_random_uuid(), assessment_id, user_id, :course,
                           CASE WHEN r < 80 THEN 'released' WHEN r < 90 THEN 'draft' ELSE 'pending' END,
                           CASE WHEN r < 90 THEN round(max_points * ((r * 13) % 101) / 100, 2) END, 0,
                           CASE WHEN r < 90 THEN round(max_points * ((r * 13) % 101) / 100, 2) END,
                           max_points, '{}', '', now(), CASE WHEN r < 90 THEN now() END,
                           CASE WHEN r < 80 THEN now() END, 1, now(), now()
                    FROM pairs WHERE r < 95""", course=course_id)
                await run(session, """
                    INSERT INTO grade_overrides (id, course_id, user_id, percent, reason, by_email, created_at,
                                                 updated_at)
                    SELECT gen_random_uuid(), :course, id, 75, 'Oral exam', :admin, now(), now()
                    FROM users WHERE 'student' = ANY(roles) AND email LIKE '%50@%'""",
                          course=course_id, admin=admin)
                counts = (await session.execute(text(
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM enrollments),"
                    " (SELECT count(*) FROM assessments), (SELECT count(*) FROM grades),"
                    " (SELECT count(*) FROM grade_overrides)"))).one()
            async with engine.connect() as conn:
                s = tenant.schema
                await conn.execute(text(
                    f'ANALYZE "{s}".users, "{s}".enrollments, "{s}".assessments, "{s}".grades, "{s}".lessons,'
                    f' "{s}".course_modules, "{s}".gradebook_categories, "{s}".grade_overrides,'
                    f' "{s}".group_memberships, "{s}".groups'))
                await conn.commit()
    finally:
        await engine.dispose()
    users, enrollments, assessments, grades, overrides = counts
    results.add("Tenant: members / enrollments in the course", f"{users:,} / {enrollments:,}")
    results.add("Course: graded items / grades / overrides", f"{assessments:,} / {grades:,} / {overrides:,}")
    results.add("Populating (provision + set-based SQL)", f"{time.perf_counter() - t0:,.1f} s")
    return admin, str(course_id)


async def measure_page(client: Any, meter: Meter, label: str, path: str, requests: int, results: Results) -> None:
    for _ in range(3):  # warm-up: caches, templates, statement caches, connections
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    meter.reset()
    counts: list[int] = []
    listing: list[str] = []
    per_statement: dict[int, list[float]] = {}
    sql_total = 0.0
    with meter.counting_sql():
        for _ in range(requests):
            meter.statements.clear()
            meter.sql_ms.clear()
            assert (await client.get(path)).status_code == 200
            counts.append(len(meter.statements))
            listing = list(meter.statements)
            sql_total += sum(meter.sql_ms)
            for n, ms in enumerate(meter.sql_ms):
                per_statement.setdefault(n, []).append(ms)
    server, cpu = list(meter.server_ms), list(meter.cpu_ms)
    median, p95 = statistics.median(server), percentile(server, 95)
    target = f"< {PAGE_TARGET_MS:.0f} ms"
    reference = label.startswith("Reference")
    results.add(f"{label}: server time, median of {requests}", f"{median:,.1f} ms", "" if reference else target,
                None if reference else median < PAGE_TARGET_MS)
    results.add(f"{label}: server time, p95", f"{p95:,.1f} ms", "" if reference else target,
                None if reference else p95 < PAGE_TARGET_MS)
    results.add(f"{label}: CPU of the app process, median / p95",
                f"{statistics.median(cpu):,.1f} / {percentile(cpu, 95):,.1f} ms")
    results.add(f"{label}: SQL time per request",
                f"{sql_total / requests:,.1f} ms (mean)")
    results.add(f"{label}: SQL statements per request", " or ".join(str(c) for c in sorted(set(counts))))
    if label.startswith("Reference"):
        return
    print(f"\n  Statements of the last {label} request (median time of each position over the requests):")
    for n, statement in enumerate(listing):
        took = statistics.median(per_statement.get(n, [0.0]))
        print(f"    {n + 1:2d}. {took:6.1f} ms  {' '.join(statement.split())[:140]}")


async def measure(admin: str, course_id: str, requests: int, results: Results) -> None:
    import httpx

    from tajiconnect.app import create_app
    from tajiconnect.settings import load_settings

    app = create_app(load_settings())
    meter = Meter(app)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=meter)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{SLUG}.{BASE_DOMAIN}",
                                     timeout=60) as client:
            await sign_in(client, admin, PASSWORD)
            page = f"/teach/courses/{course_id}/gradebook"
            await measure_page(client, meter, "Reference: /account/profile", "/account/profile", requests, results)
            await measure_page(client, meter, "Gradebook page 1 (HTML)", page, requests, results)
            token = (await client.post("/api/v1/auth/token", json={"email": admin, "password": PASSWORD})).json()
            api = httpx.AsyncClient(transport=transport, base_url=f"https://{SLUG}.{BASE_DOMAIN}", timeout=60,
                                    headers={"authorization": f"Bearer {token['access_token']}"})
            async with api:
                await measure_page(api, meter, "Gradebook page 1 (API JSON)", f"/api/v1/courses/{course_id}/gradebook",
                                   requests, results)
            seconds: list[float] = []
            size = rows = 0
            for _ in range(3):
                t0 = time.perf_counter()
                response = await client.get(f"{page}.csv")
                seconds.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.status_code
                size, rows = len(response.content), response.content.count(b"\n")
            best, worst = min(seconds), max(seconds)
            results.add("Full CSV: rows (header included) / size", f"{rows:,} / {size / 1024:,.0f} KB")
            results.add("Full CSV: time, best / worst of 3", f"{best:,.2f} / {worst:,.2f} s",
                        f"< {CSV_TARGET_S:.0f} s", worst < CSV_TARGET_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=1000, help="learners enrolled in the course (1000)")
    parser.add_argument("--items", type=int, default=50, help="graded items of the course (50)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page (50)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    results = Results()
    started = time.perf_counter()
    with throwaway_database(server_url_from(args.database_url), BASE_DOMAIN, keep=args.keep) as (_db, sa_url):

        async def run() -> None:
            admin, course_id = await populate(sa_url, args.learners, args.items, results)
            await measure(admin, course_id, args.requests, results)

        asyncio.run(run())
    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
