"""Assessments benchmark: the grader (next learner, saving a draft), the grading queue, and a learner's quiz
(autosaving an answer, the page of an attempt in progress).

    .venv/bin/python bench/assessments.py [--learners 1000] [--requests 50] [--database-url URL] [--keep]

In a throwaway database (see ``bench/common.py``) it provisions one school through the real ``provision_tenant``
and fills it with set-based SQL: N learners in 20 classes and a teacher, one published course taught by the
teacher with an essay assignment (a 4-criterion rubric) and a quiz of 20 fixed questions (single, multiple,
true/false, short and numeric answers from one bank, 2 attempts allowed), every learner enrolled. Every learner
submitted the essay (about 2 KB of text, a ``submitted`` grade event, a ``pending`` grade: the grading queue holds
N items) and took the quiz once (a graded attempt with 20 answers, a released grade).

Then, signed in through the sign-in form:

1. as the teacher: the grading queue ``/teach/grading``; moving to the next learner in the grader (the HTMX
   request that swaps ``#submission-panel``, following the panel's "Next learner" link from the oldest
   submission); saving a grade as a draft (the grader form's HTMX post, each on another learner's grade);
2. as a learner: starting a second attempt through the quiz page's Start button, then autosaving one answer (the
   request ``static/quiz.js`` sends, rotating over the 20 questions) and opening the attempt's page.

Each: 5 warm-ups, then ``--requests`` timed ones: server time median and p95 (target: under 100 ms for the
grader's next learner; the others have no stated target), app and database CPU, SQL statements per request, and
the statements of the last request. It is a benchmark, not a test: the figures depend on the machine and its load
(printed at start and end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable
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

BASE_DOMAIN = "assessbench.test"
SLUG = "assessbench"
PASSWORD = "bench-password-0123456789"  # noqa: S105
TEACHER = f"teacher@{SLUG}.example"
LEARNER = f"learner00000@{SLUG}.example"
NEXT_TARGET_MS = 100.0
HTMX_PANEL = {"HX-Request": "true", "HX-Target": "submission-panel"}

ESSAY = (
    "Rain-water harvesting suits our village: the roofs are of iron sheets, the rains come twice a year and the "
    "borehole is four kilometres away. A 5,000-litre tank fed by gutters on the school's roof would hold about a "
    "month of drinking water for the pupils. The cost is mostly the tank; the gutters can be made locally. "
)

RUBRIC = [
    {"title": title, "description": "", "levels": [
        {"title": "Excellent", "points": "25"}, {"title": "Good", "points": "18"},
        {"title": "Fair", "points": "10"}, {"title": "Missing", "points": "0"}]}
    for title in ("Argument", "Evidence", "Organisation", "Language")
]


def quiz_questions() -> list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any], str]]:
    """20 questions: (kind, text, data, right response, wrong response, the autosave form body)."""
    from tajiconnect.domains.questions.kinds import validate

    out = []
    for n in range(20):
        kind = ("single", "multiple", "true_false", "short", "numeric")[n % 5]
        if kind == "single":
            data = {"options": [{"html": f"Choice {c}", "fraction": "1" if c == "A" else "0"} for c in "ABCD"]}
            right, wrong, form = {"option": "a"}, {"option": "b"}, "option=c"
        elif kind == "multiple":
            data = {"options": [{"html": f"Choice {c}", "fraction": f} for c, f in
                                (("A", "0.5"), ("B", "0.5"), ("C", "-0.5"), ("D", "0"))]}
            right, wrong, form = {"options": ["a", "b"]}, {"options": ["c"]}, "options=a&options=c"
        elif kind == "true_false":
            data = {"answer": n % 2 == 0}
            right, wrong, form = {"value": n % 2 == 0}, {"value": n % 2 != 0}, "value=true"
        elif kind == "short":
            data = {"answers": [{"text": "photosynthesis", "fraction": "1"}, {"text": "photo*", "fraction": "0.5"}]}
            right, wrong, form = {"text": "photosynthesis"}, {"text": "respiration"}, "text=chlorophyll"
        else:
            data = {"answers": [{"value": "9.81", "tolerance": "0.05"}]}
            right, wrong, form = {"value": "9.81"}, {"value": "10.5"}, "value=9.8"
        out.append((kind, f"Question {n + 1}: which answer is right? ({kind})", validate(kind, data), right, wrong,
                    form))
    return out


async def populate(sa_url: str, learners: int, results: Results) -> dict[str, Any]:
    """The school, filled. Returns the ids the measures need."""
    import json

    from sqlalchemy import text

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.accounts.passwords import hash_password
    from tajiconnect.domains.grading.rubrics import validate_criteria
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.domains.questions.kinds import render_text
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    engine = create_engine(sa_url, pool_size=2)
    t0 = time.perf_counter()
    questions = quiz_questions()
    try:
        tenant = (await provision_tenant(
            engine, slug=SLUG, name="Assessments Bench School", admin_email=f"admin@{SLUG}.example",
            admin_password=PASSWORD, kind="school",
        )).tenant
        await set_license(engine, SLUG, seats=learners + 100, status="active")
        password_hash = hash_password(PASSWORD)

        async def run(session: Any, sql: str, **params: Any) -> None:
            await session.execute(text(sql), params)

        async def value(session: Any, sql: str, **params: Any) -> Any:
            return (await session.execute(text(sql), params)).scalar_one()

        with tenant_context(tenant):
            async with session_scope(engine) as session:
                await run(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar,
                                       seat_assigned_at, password_hash, created_at, updated_at)
                    SELECT gen_random_uuid(), format('learner%s@assessbench.example', lpad(i::text, 5, '0')),
                           format('Learner %s', lpad(i::text, 5, '0')), ARRAY['student'], 'active', 'en',
                           'Africa/Nairobi', false, now(), CASE WHEN i = 0 THEN :hash END, now(), now()
                    FROM generate_series(0, :n - 1) AS i""", hash=password_hash, n=learners)
                teacher_id = await value(session, """
                    INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar, password_hash,
                                       created_at, updated_at)
                    VALUES (gen_random_uuid(), :email, 'Teacher Wanjiru', ARRAY['teacher'], 'active', 'en',
                            'Africa/Nairobi', false, :hash, now(), now())
                    RETURNING id""", email=TEACHER, hash=password_hash)
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
                course_id = await value(session, """
                    INSERT INTO courses (id, title, summary, description, tags, level, language, status, visibility,
                                         visible_group_ids, prerequisite_ids, self_enroll, teacher_ids, published_at,
                                         revision, rating_count, rating_sum, owner_id, created_at, updated_at)
                    VALUES (gen_random_uuid(), 'Environmental science', '', '', '{}', 'beginner', 'en', 'published',
                            'tenant', '{}', '{}', true, ARRAY[CAST(:teacher AS uuid)], now(), 1, 0, 0, :teacher,
                            now(), now())
                    RETURNING id""", teacher=teacher_id)
                module_id = await value(session, """
                    INSERT INTO course_modules (id, course_id, title, summary, position, created_at, updated_at)
                    VALUES (gen_random_uuid(), :course, 'Water', '', 0, now(), now()) RETURNING id""",
                                        course=course_id)
                lesson = """
                    INSERT INTO lessons (id, course_id, module_id, title, kind, position, body, body_html,
                                         allow_download, created_at, updated_at)
                    VALUES (gen_random_uuid(), :course, :module, :title, :kind, :position, :body, :html, false,
                            now(), now())
                    RETURNING id"""
                essay_lesson = await value(
                    session, lesson, course=course_id, module=module_id, title="Essay: water for the school",
                    kind="assignment", position=0, body="Write 500 words.", html="<p>Write 500 words.</p>")
                quiz_lesson = await value(
                    session, lesson, course=course_id, module=module_id, title="Quiz: the water cycle",
                    kind="quiz", position=1, body="20 questions.", html="<p>20 questions.</p>")
                rubric_id = await value(session, """
                    INSERT INTO rubrics (id, course_id, title, criteria, created_at, updated_at)
                    VALUES (gen_random_uuid(), :course, 'Essay rubric', CAST(:criteria AS jsonb), now(), now())
                    RETURNING id""", course=course_id, criteria=json.dumps(validate_criteria(RUBRIC)))
                assessment = """
                    INSERT INTO assessments (id, course_id, lesson_id, kind, max_points, passing_percent,
                                             weight, counts_in_gradebook, time_limit_seconds, late_answer_policy,
                                             attempts_allowed, attempt_grade, shuffle_questions, shuffle_options,
                                             review_when, review_detail, submission_types, max_files, late_policy,
                                             late_penalty_percent, group_submission, group_ids, rubric_id,
                                             due_at, revision, created_at, updated_at)
                    VALUES (gen_random_uuid(), :course, :lesson, :kind, :max_points, 50, 1, true, :limit, 'refuse',
                            2, 'highest', false, true, 'submit', 'feedback', '{text}', 0, 'penalize', 10, false,
                            '{}', :rubric, :due, 1, now(), now())
                    RETURNING id"""
                essay_id = await value(session, assessment, course=course_id, lesson=essay_lesson,
                                       kind="assignment", max_points=100, limit=None, rubric=rubric_id,
                                       due=None)
                quiz_id = await value(session, assessment, course=course_id, lesson=quiz_lesson, kind="quiz",
                                      max_points=20, limit=3600, rubric=None, due=None)
                bank_id = await value(session, """
                    INSERT INTO question_banks (id, course_id, title, description, created_at, updated_at)
                    VALUES (gen_random_uuid(), :course, 'Water cycle', '', now(), now()) RETURNING id""",
                                      course=course_id)
                await run(session, """
                    INSERT INTO questions (id, bank_id, kind, name, text, text_format, text_html, data,
                                           feedback_html, points, category, tags, position, revision, created_at,
                                           updated_at)
                    SELECT gen_random_uuid(), :bank, q.kind, '', q.text, 'markdown', q.html, q.data, '', 1, '',
                           '{}', q.n, 1, now(), now()
                    FROM unnest(CAST(:kinds AS text[]), CAST(:texts AS text[]), CAST(:htmls AS text[]),
                                CAST(:datas AS jsonb[])) WITH ORDINALITY AS q(kind, text, html, data, n)""",
                          bank=bank_id, kinds=[q[0] for q in questions], texts=[q[1] for q in questions],
                          htmls=[render_text(q[1], "markdown") for q in questions],
                          datas=[json.dumps(q[2]) for q in questions])
                await run(session, """
                    INSERT INTO quiz_slots (id, assessment_id, position, question_id, tags, draw_count, created_at,
                                            updated_at)
                    SELECT gen_random_uuid(), :quiz, position, id, '{}', 1, now(), now() FROM questions
                    WHERE bank_id = :bank""", quiz=quiz_id, bank=bank_id)
                await run(session, """
                    INSERT INTO enrollments (id, course_id, user_id, source, status, progress_percent,
                                             lessons_completed, seconds_spent, created_at, updated_at)
                    SELECT gen_random_uuid(), :course, id, 'assigned', 'active', 50, 1, 1800, now(), now()
                    FROM users WHERE 'student' = ANY(roles)""", course=course_id)
                # The essay: a submission, a pending grade and its "submitted" event per learner.
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles))
                    INSERT INTO submissions (id, assessment_id, user_id, text, file_ids, status, submitted_at,
                                             version, late_days, created_at, updated_at)
                    SELECT gen_random_uuid(), :essay, l.id, format('Learner %s. %s', l.n, repeat(:essay_text, 6)),
                           '{}', 'submitted', now() - interval '3 days' + l.n * interval '1 minute', 1, 0, now(),
                           now()
                    FROM l""", essay=essay_id, essay_text=ESSAY)
                await run(session, """
                    INSERT INTO grades (id, assessment_id, user_id, course_id, submission_id, status, points,
                                        penalty_percent, score, max_points, rubric_scores, comment, submitted_at,
                                        revision, created_at, updated_at)
                    SELECT gen_random_uuid(), assessment_id, user_id, :course, id, 'pending', NULL, 0, NULL, 100,
                           '{}', '', submitted_at, 1, now(), now()
                    FROM submissions WHERE assessment_id = :essay""", course=course_id, essay=essay_id)
                await run(session, """
                    INSERT INTO grade_events (id, grade_id, action, actor_id, actor_email, reason, created_at,
                                              updated_at)
                    SELECT gen_random_uuid(), g.id, 'submitted', g.user_id, u.email, '', g.submitted_at,
                           g.submitted_at
                    FROM grades g JOIN users u ON u.id = g.user_id WHERE g.assessment_id = :essay""", essay=essay_id)
                # The quiz: one graded attempt per learner (20 answers, right about 3 times in 4), a released grade.
                await run(session, """
                    WITH l AS (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
                               WHERE 'student' = ANY(roles)),
                         layout AS (
                             SELECT jsonb_agg(jsonb_build_object(
                                        'question_id', q.id::text, 'points', '1',
                                        'options', COALESCE((SELECT jsonb_agg(o->>'id')
                                                             FROM jsonb_array_elements(q.data->'options') AS o),
                                                            '[]'::jsonb))
                                        ORDER BY q.position) AS entries
                             FROM questions q WHERE q.bank_id = :bank)
                    INSERT INTO attempts (id, assessment_id, user_id, number, status, started_at, deadline_at,
                                          submitted_at, last_saved_at, layout, auto_points, points, max_points, late,
                                          seconds_spent, created_at, updated_at)
                    SELECT gen_random_uuid(), :quiz, l.id, 1, 'graded', now() - interval '2 days',
                           now() - interval '2 days' + interval '1 hour', now() - interval '2 days' + interval '20 min',
                           now() - interval '2 days' + interval '20 min', layout.entries, 0, 0, 20, false, 1200,
                           now(), now()
                    FROM l CROSS JOIN layout""", bank=bank_id, quiz=quiz_id)
                await run(session, """
                    WITH a AS (SELECT id, row_number() OVER (ORDER BY user_id) AS n FROM attempts
                               WHERE assessment_id = :quiz),
                         q AS (SELECT id, position FROM questions WHERE bank_id = :bank)
                    INSERT INTO attempt_answers (attempt_id, question_id, response, saved_at, late, fraction, points,
                                                 needs_grading, comment)
                    SELECT a.id, q.id,
                           CASE WHEN (a.n + q.position) % 4 = 0 THEN (CAST(:wrong AS jsonb[]))[q.position]
                                ELSE (CAST(:right AS jsonb[]))[q.position] END,
                           now() - interval '2 days', false,
                           CASE WHEN (a.n + q.position) % 4 = 0 THEN 0 ELSE 1 END,
                           CASE WHEN (a.n + q.position) % 4 = 0 THEN 0 ELSE 1 END, false, ''
                    FROM a CROSS JOIN q""", quiz=quiz_id, bank=bank_id,
                          right=[json.dumps(q[3]) for q in questions], wrong=[json.dumps(q[4]) for q in questions])
                await run(session, """
                    UPDATE attempts t SET auto_points = s.total, points = s.total
                    FROM (SELECT attempt_id, sum(points) AS total FROM attempt_answers GROUP BY attempt_id) s
                    WHERE s.attempt_id = t.id""")
                await run(session, """
                    INSERT INTO grades (id, assessment_id, user_id, course_id, attempt_id, status, points,
                                        penalty_percent, score, max_points, rubric_scores, comment, submitted_at,
                                        graded_at, released_at, revision, created_at, updated_at)
                    SELECT gen_random_uuid(), assessment_id, user_id, :course, id, 'released', points, 0, points, 20,
                           '{}', '', submitted_at, submitted_at, submitted_at, 1, now(), now()
                    FROM attempts WHERE assessment_id = :quiz""", course=course_id, quiz=quiz_id)
                counts = (await session.execute(text(
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM enrollments),"
                    " (SELECT count(*) FROM submissions), (SELECT count(*) FROM grades WHERE status = 'pending'),"
                    " (SELECT count(*) FROM attempts), (SELECT count(*) FROM attempt_answers),"
                    " (SELECT count(*) FROM grades), (SELECT count(*) FROM grade_events)"))).one()
                kinds = dict((await session.execute(text(
                    "SELECT id::text, kind FROM questions WHERE bank_id = :bank"), {"bank": bank_id})).all())
            async with engine.connect() as conn:
                s = tenant.schema
                await conn.execute(text(
                    f'ANALYZE "{s}".users, "{s}".enrollments, "{s}".assessments, "{s}".grades, "{s}".lessons,'
                    f' "{s}".course_modules, "{s}".submissions, "{s}".grade_events, "{s}".attempts,'
                    f' "{s}".attempt_answers, "{s}".questions, "{s}".quiz_slots, "{s}".rubrics,'
                    f' "{s}".group_memberships, "{s}".groups, "{s}".courses'))
                await conn.commit()
    finally:
        await engine.dispose()
    users, enrollments, submissions, pending, attempt_count, answers, grades, events = counts
    results.add("Tenant: members / enrollments in the course", f"{users:,} / {enrollments:,}")
    results.add("Essay: submissions / pending grades (the queue)", f"{submissions:,} / {pending:,}")
    results.add("Quiz: questions / graded attempts / answers", f"{len(kinds)} / {attempt_count:,} / {answers:,}")
    results.add("Grades in all / grade events", f"{grades:,} / {events:,}")
    results.add("Populating (provision + set-based SQL)", f"{time.perf_counter() - t0:,.1f} s")
    return {"quiz_lesson": str(quiz_lesson), "kinds": kinds,
            "form": {kind: form for kind, _t, _d, _r, _w, form in questions}}


Request = Callable[[int], Awaitable[Any]]


async def measure(meter: Meter, app: Any, label: str, request: Request, warmups: int, requests: int,
                  target_ms: float | None, results: Results) -> None:
    """``request(i)`` sends the i-th request (warm-ups first) and checks its answer; ``target_ms`` None: no
    target (the figures are printed for the record)."""
    for i in range(warmups):  # caches, templates, statement caches, connections
        await request(i)
    meter.reset()
    backends = await backend_pids(app.state.engine)
    ticks_before = backend_ticks(backends)
    counts: list[int] = []
    listing: list[str] = []
    per_statement: dict[int, list[float]] = {}
    with meter.counting_sql():
        for i in range(warmups, warmups + requests):
            meter.statements.clear()
            meter.sql_ms.clear()
            await request(i)
            counts.append(len(meter.statements))
            listing = list(meter.statements)
            for n, ms in enumerate(meter.sql_ms):
                per_statement.setdefault(n, []).append(ms)
    ticks_after = backend_ticks(backends)
    server, cpu = list(meter.server_ms), list(meter.cpu_ms)
    assert len(server) == requests, (label, len(server))
    median, p95 = statistics.median(server), percentile(server, 95)
    target = "" if target_ms is None else f"< {target_ms:.0f} ms"
    results.add(f"{label}: server time, median of {requests}", f"{median:,.1f} ms", target,
                None if target_ms is None else median < target_ms)
    results.add(f"{label}: server time, p95", f"{p95:,.1f} ms", target, None if target_ms is None else p95 < target_ms)
    results.add(f"{label}: CPU of the app process, median / p95",
                f"{statistics.median(cpu):,.1f} / {percentile(cpu, 95):,.1f} ms")
    if ticks_before is not None and ticks_after is not None:
        database_cpu = (ticks_after - ticks_before) / os.sysconf("SC_CLK_TCK") * 1000 / requests
        results.add(f"{label}: CPU of the database backends, mean", f"{database_cpu:,.1f} ms")
    results.add(f"{label}: SQL statements per request", " or ".join(str(c) for c in sorted(set(counts))))
    print(f"\n  Statements of the last {label} request (median time of each position over the requests):")
    for n, statement in enumerate(listing):
        took = statistics.median(per_statement.get(n, [0.0]))
        print(f"    {n + 1:2d}. {took:6.1f} ms  {' '.join(statement.split())[:140]}")
    print()


NEXT = re.compile(r'rel="next" data-nav="next" href="/teach/grading/([0-9a-f-]{36})"')
FIRST = re.compile(r'href="/teach/grading/([0-9a-f-]{36})"')
ANSWER_FORM = re.compile(r'action="(/learn/quizzes/[^"]+/answers/([0-9a-f-]{36}))"')


async def grader(client: Any, meter: Meter, app: Any, warmups: int, requests: int, results: Results) -> None:
    async def queue(_i: int) -> None:
        response = await client.get("/teach/grading")
        assert response.status_code == 200, (response.status_code, response.text[:300])

    await measure(meter, app, "Grading queue /teach/grading", queue, warmups, requests, None, results)

    # The grader, from the oldest submission, moving to the next learner as the panel's link does.
    first = FIRST.search((await client.get("/teach/grading")).text)
    assert first, "no item in the queue"
    page = await client.get(f"/teach/grading/{first.group(1)}")
    assert page.status_code == 200 and 'id="submission-panel"' in page.text, page.status_code
    visited = [first.group(1)]
    following = NEXT.search(page.text)

    async def next_learner(_i: int) -> None:
        nonlocal following
        assert following, "no next learner"
        grade_id = following.group(1)
        response = await client.get(f"/teach/grading/{grade_id}",
                                    headers={**HTMX_PANEL, "HX-Current-URL": f"{client.base_url}/teach/grading/"
                                                                             f"{visited[-1]}"})
        assert response.status_code == 200, (response.status_code, response.text[:300])
        assert 'id="submission-panel"' in response.text and "<html" not in response.text, "not the panel fragment"
        visited.append(grade_id)
        following = NEXT.search(response.text)

    await measure(meter, app, "Grader: next learner (HTMX #submission-panel)", next_learner, warmups, requests,
                  NEXT_TARGET_MS, results)

    # Saving a draft on each visited learner's grade (each pending, revision 1), as the grader's form posts it.
    async def save_draft(i: int) -> None:
        grade_id = visited[i]
        response = await client.post(
            f"/teach/grading/{grade_id}", headers=HTMX_PANEL,
            data={"_csrf_token": client.cookies.get("csrftoken"), "revision": "1", "points": str(55 + i % 40),
                  "comment": "Clear argument; give a source for the tank's cost.", "action": "save"})
        assert response.status_code == 200 and "Saved." in response.text, (response.status_code,
                                                                           response.text[:300])

    await measure(meter, app, "Grader: save as draft (HTMX post)", save_draft, warmups, requests, None, results)


async def quiz(client: Any, meter: Meter, app: Any, ids: dict[str, Any], warmups: int, requests: int,
               results: Results) -> None:
    lesson = ids["quiz_lesson"]
    intro = await client.get(f"/learn/quizzes/{lesson}")
    assert intro.status_code == 200, (intro.status_code, intro.text[:300])
    started = await client.post(f"/learn/quizzes/{lesson}/start",
                                data={"_csrf_token": client.cookies.get("csrftoken")})
    assert started.status_code == 303, (started.status_code, started.text[:300])
    attempt_path = started.headers["location"]
    page = await client.get(attempt_path)
    assert page.status_code == 200 and "data-quiz" in page.text, page.status_code
    forms = ANSWER_FORM.findall(page.text)
    assert len(forms) == 20, len(forms)
    results.add("Quiz: the learner's attempt (Start button)", f"the 2nd, {len(forms)} questions on its page")

    async def autosave(i: int) -> None:
        action, question_id = forms[i % len(forms)]
        response = await client.post(action, content=ids["form"][ids["kinds"][question_id]], headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": client.cookies.get("csrftoken"),
            "X-Quiz-Autosave": "1"})
        assert response.status_code == 200 and "Saved" in response.text, (response.status_code, response.text[:300])

    await measure(meter, app, "Quiz: autosave one answer", autosave, warmups, requests, None, results)

    async def attempt_page(_i: int) -> None:
        response = await client.get(attempt_path)
        assert response.status_code == 200 and "data-quiz" in response.text, response.status_code

    await measure(meter, app, "Quiz: attempt page in progress", attempt_page, warmups, requests, None, results)


async def run_measures(ids: dict[str, Any], requests: int, results: Results) -> None:
    import httpx

    from tajiconnect.app import create_app
    from tajiconnect.settings import load_settings

    app = create_app(load_settings())
    meter = Meter(app)
    warmups = 5
    async with app.lifespan():
        transport = httpx.ASGITransport(app=meter)
        base = f"https://{SLUG}.{BASE_DOMAIN}"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as teacher:
            await sign_in(teacher, TEACHER, PASSWORD)
            await grader(teacher, meter, app, warmups, requests, results)
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as learner:
            await sign_in(learner, LEARNER, PASSWORD)
            await quiz(learner, meter, app, ids, warmups, requests, results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=1000, help="learners enrolled in the course (1000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per measure (50)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if args.learners < args.requests + 6:
        parser.error("--learners must be at least --requests + 6: each grader request takes the next learner")

    results = Results()
    started = time.perf_counter()
    with throwaway_database(server_url_from(args.database_url), BASE_DOMAIN, keep=args.keep) as (_db, sa_url):

        async def run() -> None:
            ids = await populate(sa_url, args.learners, results)
            await run_measures(ids, args.requests, results)

        asyncio.run(run())
    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
