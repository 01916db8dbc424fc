"""Requirement: with 5,000 learners, 50 courses and their progress rows in a tenant, the learner's home and a lesson
page each take under 50 ms of server time. Seeded set-based (a few statements), measured once each after a warm-up:
the best of ten requests through the in-process client (its own overhead included, so the server's share is less).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from tajiconnect.db.session import session_scope
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import post_form
from tests.integration.progress.conftest import enrolled

LEARNERS, COURSES, MODULES, LESSONS_PER_MODULE, COURSES_EACH, DONE_EACH = 5000, 50, 5, 4, 5, 8
LIMIT = 0.050

SEED = [
    # 5,000 learners
    """INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar, created_at, updated_at)
       SELECT gen_random_uuid(), 'scale' || n || '@example.org', 'Learner ' || n, ARRAY['student'], 'active', 'en',
              'Africa/Nairobi', false, now(), now()
       FROM generate_series(1, :learners) AS n""",
    # 50 published courses, 5 modules each, 4 text lessons per module
    """INSERT INTO courses (id, title, summary, description, tags, level, language, status, visibility,
                            visible_group_ids, prerequisite_ids, self_enroll, teacher_ids, revision, rating_count,
                            rating_sum, created_at, updated_at)
       SELECT gen_random_uuid(), 'Scale course ' || n, '', '', '{}', 'beginner', 'en', 'published', 'tenant', '{}',
              '{}', true, '{}', 1, 0, 0, now(), now()
       FROM generate_series(1, :courses) AS n""",
    """INSERT INTO course_modules (id, course_id, title, summary, position, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, 'Module ' || m, '', m, now(), now()
       FROM courses c CROSS JOIN generate_series(1, :modules) AS m WHERE c.title LIKE 'Scale course %'""",
    """INSERT INTO lessons (id, course_id, module_id, title, kind, position, body, body_html, allow_download,
                            settings, created_at, updated_at)
       SELECT gen_random_uuid(), cm.course_id, cm.id, 'Lesson ' || cm.position || '.' || l, 'text', l, '',
              '<p>' || repeat('Read this. ', 200) || '</p>', false, '{}', now(), now()
       FROM course_modules cm CROSS JOIN generate_series(1, :per_module) AS l""",
    # each learner enrolled in 5 courses, with 8 lessons of each completed
    """INSERT INTO enrollments (id, course_id, user_id, source, status, progress_percent, lessons_completed,
                                seconds_spent, last_activity_at, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, u.id, 'self', 'active', 40, :done, 600, now() - (k || ' minutes')::interval,
              now(), now()
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM users WHERE email LIKE 'scale%') u
       CROSS JOIN generate_series(0, :each - 1) AS k
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS j FROM courses WHERE title LIKE 'Scale course %') c
         ON c.j = (u.i + k * 7) % :courses""",
    """INSERT INTO lesson_progress (id, user_id, lesson_id, course_id, completed_at, completed_by, seconds_spent,
                                    last_seen_at, created_at, updated_at)
       SELECT gen_random_uuid(), e.user_id, l.id, e.course_id, now(), 'learner', 60, now(), now(), now()
       FROM enrollments e
       JOIN LATERAL (SELECT id FROM lessons WHERE lessons.course_id = e.course_id ORDER BY id LIMIT :done) l ON true""",
    """INSERT INTO learner_stats (user_id, streak_days, best_streak, seconds_spent, updated_at)
       SELECT id, 3, 5, 3000, now() FROM users WHERE email LIKE 'scale%'""",
    "ANALYZE",
]


async def best_of(client: Any, path: str, runs: int = 10) -> float:
    """Seconds of the fastest of ``runs`` GETs of ``path`` (the first warms caches up)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        assert (await client.get(path)).status_code == 200
        times.append(time.perf_counter() - started)
    return min(times[1:])


async def test_home_and_lesson_page_with_5000_learners(new_org, make_user, engine, signed_in):
    org = await new_org("scale")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            for statement in SEED:
                await session.execute(text(statement), {
                    "learners": LEARNERS, "courses": COURSES, "modules": MODULES, "per_module": LESSONS_PER_MODULE,
                    "each": COURSES_EACH, "done": DONE_EACH,
                })
            counts = (await session.execute(text(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM enrollments),"
                " (SELECT count(*) FROM lesson_progress)"
            ))).one()
    assert counts[0] > LEARNERS and counts[1] == LEARNERS * COURSES_EACH
    assert counts[2] == LEARNERS * COURSES_EACH * DONE_EACH
    learner, course = await enrolled(make_user, engine, org.tenant, kinds=("text",) * 20, per_module=4)
    async with signed_in(learner) as client:
        await post_form(client, course.lesson_url(0) + "/complete")
        home = await best_of(client, "/learn")
        lesson = await best_of(client, course.lesson_url(5))
    print(f"home {home * 1000:.1f} ms, lesson {lesson * 1000:.1f} ms")
    assert home < LIMIT and lesson < LIMIT, (home, lesson)
