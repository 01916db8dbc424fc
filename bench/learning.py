"""Learner pages benchmark: server time, SQL statements and weight of the learner's home and a text lesson.

    .venv/bin/python bench/learning.py [--learners 5000] [--courses 50] [--requests 100] [--database-url URL]
                                       [--keep]

In a throwaway database (see ``bench/common.py``) it provisions one school through the real ``provision_tenant``
and fills it with set-based SQL: N learners holding seats, staff, 200 classes with memberships; C published
courses (4 modules of 5 lessons: Markdown text lessons of about 3 KB, plus a video and a document per course) in
English, French and Kiswahili; 5 learning paths of 3 stages; 6 enrollments per learner with lesson progress
rows in proportion to each enrollment's progress; path enrollments for 40 % of learners; 20 active days per
learner (``learning_days``), streaks, and completions for finished courses. Then it signs in as one learner
through the sign-in form and requests ``/learn`` and one of their text lessons: warm-ups, then ``--requests``
timed ones each, with the app's server time and CPU per request, the SQL statements of each page, the CPU of
the database backends, and the weight of each page on first load (the compressed HTML plus every stylesheet and
script it references, as the server sends them with ``Accept-Encoding: gzip``).
It is a benchmark, not a test: the figures depend on the machine and its load (printed at start and end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from typing import Any

from common import (
    Meter,
    Results,
    backend_pids,
    backend_ticks,
    percentile,
    server_url_from,
    sign_in,
    throwaway_database,
)

BASE_DOMAIN = "learnbench.test"
SLUG = "learnbench"
PASSWORD = "bench-password-0123456789"  # noqa: S105
TARGET_MS = 50.0
TARGET_KB = 100.0

PARAGRAPH = (
    "Solar panels turn sunlight into electricity. A **charge controller** keeps the battery from over-charging, "
    "and an *inverter* changes direct current into the alternating current that household devices use. "
)


def lesson_markdown(n: int) -> str:
    """About 3 KB of Markdown: headings, paragraphs, a list."""
    parts = [f"## Part {n}", PARAGRAPH * 3, "- panels\n- controller\n- battery\n- inverter", PARAGRAPH * 4,
             f"### Check yourself {n}", PARAGRAPH * 3]
    return "\n\n".join(parts)


def lesson_html(n: int) -> str:
    from tajiconnect.domains.courses import markdown

    return markdown.render(lesson_markdown(n))


async def populate(sa_url: str, learners: int, courses: int, results: Results) -> tuple[Any, str, str]:
    """The school, filled. Returns (tenant, the signed-in learner's email, one of their text lessons' path)."""
    from sqlalchemy import text

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.accounts.passwords import hash_password
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    engine = create_engine(sa_url, pool_size=2)
    t0 = time.perf_counter()
    try:
        tenant = (await provision_tenant(
            engine, slug=SLUG, name="Learning Bench School", admin_email=f"admin@{SLUG}.example",
            admin_password=PASSWORD, kind="school",
        )).tenant
        await set_license(engine, SLUG, seats=learners + 100, status="active")
        html = [lesson_html(n) for n in range(5)]
        markdown_source = [lesson_markdown(n) for n in range(5)]
        password_hash = hash_password(PASSWORD)

        async def run(session: Any, sql: str, **params: Any) -> None:
            await session.execute(text(sql), params)

        with tenant_context(tenant):
            async with session_scope(engine) as session:
                await run(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar,
                                       seat_assigned_at, last_sign_in_at, password_hash, created_at, updated_at)
                    SELECT gen_random_uuid(), format('learner%s@learnbench.example', lpad(i::text, 5, '0')),
                           format('Learner %s', lpad(i::text, 5, '0')), ARRAY['student'], 'active',
                           (ARRAY['en', 'sw', 'fr'])[1 + i % 3], 'Africa/Nairobi', false, now(),
                           now() - make_interval(mins => (i * 37) % 40000),
                           CASE WHEN i = 0 THEN :hash END, now(), now()
                    FROM generate_series(0, :n - 1) AS i""", hash=password_hash, n=learners)
                await run(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar, created_at,
                                       updated_at)
                    SELECT gen_random_uuid(), format('teacher%s@learnbench.example', i), format('Teacher %s', i),
                           ARRAY['teacher'], 'active', 'en', 'Africa/Nairobi', false, now(), now()
                    FROM generate_series(0, 49) AS i""")
                await run(session, """
                    INSERT INTO groups (id, name, kind, depth, created_at, updated_at)
                    SELECT gen_random_uuid(), format('Class %s', i), 'class', 0, now(), now()
                    FROM generate_series(1, 200) AS i""")
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         g AS (SELECT id, row_number() OVER (ORDER BY name) AS n FROM groups)
                    INSERT INTO group_memberships (id, group_id, user_id, role, created_at, updated_at)
                    SELECT gen_random_uuid(), g.id, l.id, 'member', now(), now()
                    FROM l JOIN g ON g.n = 1 + l.n % 200""")
                # Courses: published, in three languages, 4 modules x 5 lessons (3 text, a video, a document).
                await run(session, """
                    INSERT INTO courses (id, title, summary, description, category, tags, level, language,
                                         estimated_minutes, status, visibility, visible_group_ids, prerequisite_ids,
                                         self_enroll, teacher_ids, published_at, revision, rating_count, rating_sum,
                                         created_at, updated_at)
                    SELECT gen_random_uuid(), format('Course %s: %s', c,
                               (ARRAY['Solar energy basics', 'Les réseaux électriques', 'Usalama wa maji',
                                      'Money skills', 'Digital literacy'])[1 + c % 5]),
                           'A practical course with short lessons.', 'Learn by doing.',
                           (ARRAY['Energy', 'Health', 'Money', 'Digital'])[1 + c % 4], ARRAY['practical', 'starter'],
                           (ARRAY['beginner', 'intermediate', 'advanced'])[1 + c % 3],
                           (ARRAY['en', 'fr', 'sw'])[1 + c % 3], 120, 'published', 'tenant', '{}', '{}', true, '{}',
                           now(), 1, c % 7, (c % 7) * 4, now() - make_interval(days => c), now()
                    FROM generate_series(1, :n) AS c""", n=courses)
                await run(session, """
                    INSERT INTO course_modules (id, course_id, title, summary, position, created_at, updated_at)
                    SELECT gen_random_uuid(), c.id, format('Module %s', m), '', m, now(), now()
                    FROM courses c CROSS JOIN generate_series(1, 4) AS m""")
                await run(session, """
                    INSERT INTO lessons (id, course_id, module_id, title, kind, position, body, body_html,
                                         allow_download, settings, created_at, updated_at)
                    SELECT gen_random_uuid(), m.course_id, m.id, format('Lesson %s.%s', m.position, p),
                           CASE p WHEN 4 THEN 'video' WHEN 5 THEN 'document' ELSE 'text' END, p,
                           (CAST(:md AS text[]))[1 + p % 5], (CAST(:html AS text[]))[1 + p % 5], false, '{}',
                           now(), now()
                    FROM course_modules m CROSS JOIN generate_series(1, 5) AS p""", md=markdown_source, html=html)
                # Paths: 5, each 3 stages of 2 courses.
                await run(session, """
                    INSERT INTO learning_paths (id, title, summary, description, language, status, self_enroll,
                                                published_at, created_at, updated_at)
                    SELECT gen_random_uuid(), format('Path %s', p), 'Six courses in three stages.', '', 'en',
                           'published', true, now(), now(), now()
                    FROM generate_series(1, 5) AS p""")
                await run(session, """
                    WITH p AS (SELECT id, row_number() OVER (ORDER BY title) AS n FROM learning_paths),
                         c AS (SELECT array_agg(id ORDER BY title) AS ids FROM courses)
                    INSERT INTO path_stages (id, path_id, title, position, course_ids, requires_previous,
                                             created_at, updated_at)
                    SELECT gen_random_uuid(), p.id, format('Stage %s', s), s,
                           ARRAY[c.ids[1 + ((p.n * 6 + s * 2) % array_length(c.ids, 1))],
                                 c.ids[1 + ((p.n * 6 + s * 2 + 1) % array_length(c.ids, 1))]], s > 1, now(), now()
                    FROM p CROSS JOIN c CROSS JOIN generate_series(1, 3) AS s""")
                # Six enrollments per learner, progress between 0 and 100 %.
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         c AS (SELECT id, row_number() OVER (ORDER BY title) - 1 AS n, count(*) OVER () AS total
                               FROM courses)
                    INSERT INTO enrollments (id, course_id, user_id, source, status, progress_percent,
                                             lessons_completed, seconds_spent, last_activity_at, due_at,
                                             completed_at, created_at, updated_at)
                    SELECT gen_random_uuid(), c.id, l.id, 'self',
                           CASE WHEN (l.n + k) % 6 = 0 THEN 'completed' ELSE 'active' END,
                           CASE WHEN (l.n + k) % 6 = 0 THEN 100 ELSE ((l.n * 7 + k * 13) % 20) * 5 END,
                           CASE WHEN (l.n + k) % 6 = 0 THEN 20 ELSE (l.n * 7 + k * 13) % 20 END,
                           ((l.n * 7 + k * 13) % 20) * 300, now() - interval '1 hour' * ((l.n + k * 5) % 300),
                           CASE WHEN k = 1 THEN now() + interval '1 day' * ((l.n % 20) - 5) END,
                           CASE WHEN (l.n + k) % 6 = 0 THEN now() - interval '1 day' * k END, now(), now()
                    FROM l CROSS JOIN generate_series(1, 6) AS k
                    JOIN c ON c.n = (l.n * 3 + k * 7) % c.total""")
                await run(session, """
                    INSERT INTO lesson_progress (id, user_id, lesson_id, course_id, completed_at, completed_by,
                                                 seconds_spent, last_seen_at, created_at, updated_at)
                    SELECT gen_random_uuid(), e.user_id, ls.id, e.course_id, now() - interval '1 day', 'learner',
                           240, now() - interval '1 day', now(), now()
                    FROM enrollments e
                    JOIN LATERAL (SELECT l.id FROM lessons l JOIN course_modules m ON m.id = l.module_id
                                  WHERE l.course_id = e.course_id ORDER BY m.position, l.position
                                  LIMIT e.lessons_completed) ls ON true""")
                await run(session, """
                    UPDATE enrollments e SET last_lesson_id = (
                        SELECT lesson_id FROM lesson_progress p WHERE p.user_id = e.user_id
                        AND p.course_id = e.course_id ORDER BY p.lesson_id LIMIT 1)""")
                await run(session, """
                    INSERT INTO learning_completions (id, user_id, course_id, completed_at, created_at, updated_at)
                    SELECT gen_random_uuid(), user_id, course_id, completed_at, now(), now()
                    FROM enrollments WHERE status = 'completed'""")
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         p AS (SELECT id, row_number() OVER (ORDER BY title) - 1 AS n FROM learning_paths)
                    INSERT INTO path_enrollments (id, path_id, user_id, source, status, progress_percent,
                                                  courses_completed, due_at, created_at, updated_at)
                    SELECT gen_random_uuid(), p.id, l.id, 'assigned', 'active', (l.n % 6) * 16, l.n % 6,
                           now() + interval '1 day' * ((l.n % 30) - 10), now(), now()
                    FROM l JOIN p ON p.n = l.n % 5 WHERE l.n % 5 < 2""")
                await run(session, """
                    INSERT INTO learner_stats (user_id, streak_days, best_streak, last_active_on, last_beat_at,
                                               seconds_spent, updated_at)
                    SELECT id, 3, 9, current_date, now() - interval '2 hours', 36000, now()
                    FROM users WHERE 'student' = ANY(roles)""")
                await run(session, """
                    INSERT INTO learning_days (user_id, day, seconds_spent, lessons_completed)
                    SELECT u.id, current_date - d, 900, 2 FROM users u CROSS JOIN generate_series(0, 19) AS d
                    WHERE 'student' = ANY(u.roles)""")
                counts = (await session.execute(text(
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM courses),"
                    " (SELECT count(*) FROM lessons),"
                    " (SELECT count(*) FROM enrollments), (SELECT count(*) FROM lesson_progress),"
                    " (SELECT count(*) FROM path_enrollments), (SELECT count(*) FROM learning_days)"))).one()
                me = "learner00000@learnbench.example"
                lesson = (await session.execute(text("""
                    SELECT l.course_id, l.id FROM lessons l JOIN enrollments e ON e.course_id = l.course_id
                    JOIN users u ON u.id = e.user_id JOIN course_modules m ON m.id = l.module_id
                    WHERE u.email = :me AND l.kind = 'text' AND e.status = 'active'
                    ORDER BY e.last_activity_at DESC, m.position, l.position LIMIT 1"""), {"me": me})).one()
            async with engine.connect() as conn:
                await conn.execute(text(f'ANALYZE "{tenant.schema}".users, "{tenant.schema}".courses,'
                                        f' "{tenant.schema}".lessons, "{tenant.schema}".course_modules,'
                                        f' "{tenant.schema}".enrollments, "{tenant.schema}".lesson_progress,'
                                        f' "{tenant.schema}".path_enrollments, "{tenant.schema}".path_stages,'
                                        f' "{tenant.schema}".learning_days, "{tenant.schema}".group_memberships'))
                await conn.commit()
    finally:
        await engine.dispose()
    users, course_count, lesson_count, enrollments, progress_rows, path_rows, days = counts
    results.add("Tenant: members / courses / lessons", f"{users:,} / {course_count:,} / {lesson_count:,}")
    results.add("Tenant: enrollments / lesson progress rows", f"{enrollments:,} / {progress_rows:,}")
    results.add("Tenant: path enrollments / learning days", f"{path_rows:,} / {days:,}")
    results.add("Populating (provision + set-based SQL)", f"{time.perf_counter() - t0:,.1f} s")
    return tenant, me, f"/learn/courses/{lesson[0]}/lessons/{lesson[1]}"


ASSET = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"')


async def first_load_kb(client: Any, path: str) -> tuple[float, int]:
    """Compressed bytes of the page and every stylesheet and script it references, as sent; and their count."""
    page = await client.get(path, headers={"Accept-Encoding": "gzip"})
    total = page.num_bytes_downloaded
    assets = sorted(set(ASSET.findall(page.text)))
    for asset in assets:
        if asset.startswith("/"):
            response = await client.get(asset, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, asset
            total += response.num_bytes_downloaded
    return total / 1024, len(assets)


async def measure_page(client: Any, meter: Meter, app: Any, label: str, path: str, requests: int,
                       results: Results) -> None:
    for _ in range(5):  # warm-up: caches, templates, statement caches, connections
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    meter.reset()
    backends = await backend_pids(app.state.engine)
    ticks_before = backend_ticks(backends)
    counts: list[int] = []
    listing: list[str] = []
    with meter.counting_sql():
        for _ in range(requests):
            meter.statements.clear()
            assert (await client.get(path)).status_code == 200
            counts.append(len(meter.statements))
            listing = list(meter.statements)
    ticks_after = backend_ticks(backends)
    server, cpu = list(meter.server_ms), list(meter.cpu_ms)
    median, p95 = statistics.median(server), percentile(server, 95)
    results.add(f"{label}: server time, median of {requests}", f"{median:,.1f} ms", f"< {TARGET_MS:.0f} ms",
                median < TARGET_MS)
    results.add(f"{label}: server time, p95", f"{p95:,.1f} ms", f"< {TARGET_MS:.0f} ms", p95 < TARGET_MS)
    results.add(f"{label}: CPU of the app process, median", f"{statistics.median(cpu):,.1f} ms")
    if ticks_before is not None and ticks_after is not None:
        database_cpu = (ticks_after - ticks_before) / os.sysconf("SC_CLK_TCK") * 1000 / requests
        results.add(f"{label}: CPU of the database backends, mean", f"{database_cpu:,.1f} ms")
    results.add(f"{label}: SQL statements per request", " or ".join(str(c) for c in sorted(set(counts))))
    kb, assets = await first_load_kb(client, path)
    results.add(f"{label}: first load, compressed (page + {assets} CSS/JS)", f"{kb:,.1f} KB",
                f"< {TARGET_KB:.0f} KB", kb < TARGET_KB)
    print(f"\n  Statements of the last {label} request:")
    for n, statement in enumerate(listing, 1):
        print(f"    {n:2d}. {' '.join(statement.split())[:150]}")


async def measure(path_of_lesson: str, me: str, requests: int, results: Results) -> None:
    import httpx

    from tajiconnect.app import create_app
    from tajiconnect.settings import load_settings

    app = create_app(load_settings())
    meter = Meter(app)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=meter)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{SLUG}.{BASE_DOMAIN}") as client:
            await sign_in(client, me, PASSWORD)
            await measure_page(client, meter, app, "Learner's home /learn", "/learn", requests, results)
            await measure_page(client, meter, app, "Text lesson", path_of_lesson, requests, results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=5000, help="learners in the tenant (5000)")
    parser.add_argument("--courses", type=int, default=50, help="published courses (50)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page (100)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    results = Results()
    started = time.perf_counter()
    with throwaway_database(server_url_from(args.database_url), BASE_DOMAIN, keep=args.keep) as (_db, sa_url):

        async def run() -> None:
            _tenant, me, lesson_path = await populate(sa_url, args.learners, args.courses, results)
            await measure(lesson_path, me, args.requests, results)

        asyncio.run(run())
    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
