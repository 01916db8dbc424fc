"""Careers and job board benchmark: the queries behind ``/jobs``, a job's match, a pathway's gap and the career home,
at a board of 10,000 offered jobs and an organization of 600 courses.

    .venv/bin/python bench/careers.py [--jobs N] [--courses N] [--runs N] [--database-url URL] [--keep]

In a throwaway database ``taji_bench_<random>`` (dropped at the end unless ``--keep``), it provisions an employer
company and a learner's company through the real ``provision_tenant``, loads the starter skills and roles, and
fills the board with bulk inserts: N published jobs (titles from a few dozen roles, places from ten towns, salaries,
2-6 starter skills each), M published courses in the learner's organization, each building 1-3 starter skills (an
estimated length), learning paths of 3 courses, and a learner whose completions show 25 skills. Then, on one
session in the learner's organization, it times each page's service calls (what the handler runs, without the
template): a search page with a common word and a place (20 jobs, their skills, the learner's levels, the
matches), the same page without words, the newest page, the gap against the role the learner is closest to (with
the offers ranked per hour), the career home, and the employer's "our jobs" list with application counts, and counts
the SQL statements of each. It prints a table of medians and p95 next to a 200 ms target per page.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from typing import Any

from common import Results, percentile, server_url_from, throwaway_database

BASE_DOMAIN = "bench.tajiconnect.test"
TARGET_MS = 200.0
TOWNS = ["Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Douala", "Yaoundé", "Kigali", "Kampala", "Arusha"]


async def populate(sa_url: str, jobs: int, courses: int, results: Results) -> dict[str, Any]:
    from sqlalchemy import select, text

    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.careers import pathways
    from tajiconnect.domains.careers.models import CareerPathway
    from tajiconnect.domains.skills.models import Skill
    from tajiconnect.tenancy.context import tenant_context
    from tajiconnect.tenancy.service import provision_tenant

    started = time.perf_counter()
    engine = create_engine(sa_url, pool_size=5)
    employer = (await provision_tenant(engine, slug="hirer", name="Hirer Ltd", admin_email="admin@hirer.test",
                                       admin_password=None)).tenant
    learner_org = (await provision_tenant(engine, slug="seeker", name="Seeker Ltd", admin_email="admin@seeker.test",
                                          admin_password=None)).tenant
    rng = random.Random(13)
    with tenant_context(learner_org):
        async with session_scope(engine) as session:
            await pathways.ensure_starter(session)
            skills = list((await session.execute(select(Skill.id, Skill.code))).all())
            roles = list((await session.scalars(select(CareerPathway.name))).all())
            learner = await session.scalar(select(User))
            assert learner is not None
            learner.roles = ["student"]
            learner.status = "active"
            learner_id = learner.id
            codes = [code for _id, code in skills]
            by_code = dict((code, sid) for sid, code in skills)
            # courses building 1-3 skills, paths of 3 courses, and 25 skills shown by the learner
            await session.execute(text("""
                INSERT INTO courses (id, title, summary, description, tags, level, language, status, visibility,
                    visible_group_ids, prerequisite_ids, self_enroll, teacher_ids, revision, rating_count,
                    rating_sum, estimated_minutes, published_at, created_at, updated_at)
                SELECT gen_random_uuid(), 'Course ' || g, '', '', '{}', 'beginner', 'en', 'published', 'tenant',
                    '{}', '{}', g % 3 <> 0, '{}', 1, 0, 0, 30 + (g * 37) % 600, now(), now(), now()
                FROM generate_series(1, :n) AS g"""), {"n": courses})
            course_ids = list((await session.scalars(text("SELECT id FROM courses ORDER BY title"))).all())
            targets = [(cid, by_code[code], rng.randint(1, 5)) for cid in course_ids
                       for code in rng.sample(codes, rng.randint(1, 3))]
            await session.execute(text("""
                INSERT INTO skill_targets (id, skill_id, course_id, level, created_at, updated_at)
                SELECT gen_random_uuid(), s, c, l, now(), now()
                FROM unnest(CAST(:c AS uuid[]), CAST(:s AS uuid[]), CAST(:l AS int[])) AS t(c, s, l)
                ON CONFLICT DO NOTHING"""), {"c": [t[0] for t in targets], "s": [t[1] for t in targets],
                                             "l": [t[2] for t in targets]})
            for start in range(0, min(len(course_ids), 90), 3):
                path_id = uuid.uuid4()
                await session.execute(text("""
                    INSERT INTO learning_paths (id, title, summary, description, language, status, self_enroll,
                        published_at, created_at, updated_at)
                    VALUES (:id, :t, '', '', 'en', 'published', true, now(), now(), now())"""),
                    {"id": path_id, "t": f"Path {start // 3}"})
                await session.execute(text("""
                    INSERT INTO path_stages (id, path_id, title, position, course_ids, requires_previous,
                        created_at, updated_at)
                    VALUES (gen_random_uuid(), :p, 'Stage', 0, CAST(:c AS uuid[]), false, now(), now())"""),
                    {"p": path_id, "c": course_ids[start:start + 3]})
            shown = rng.sample(codes, 25)
            await session.execute(text("""
                INSERT INTO skill_evidence (id, user_id, skill_id, level, source, source_id, evidenced_at,
                    created_at, updated_at)
                SELECT gen_random_uuid(), :u, s, l, 'course', gen_random_uuid(), now(), now(), now()
                FROM unnest(CAST(:s AS uuid[]), CAST(:l AS int[])) AS t(s, l)"""),
                {"u": learner_id, "s": [by_code[c] for c in shown], "l": [rng.randint(1, 5) for _ in shown]})
    with tenant_context(employer):
        async with session_scope(engine) as session:
            from tajiconnect.domains.jobs.postings import employer_profile

            employer_id = (await employer_profile(session)).id
    async with session_scope(engine, schema=None) as session:
        moment = datetime.datetime.now(datetime.UTC)
        rows = []
        for n in range(jobs):
            low = rng.randrange(10_000, 200_000, 1000)
            rows.append((uuid.uuid4(), f"{rng.choice(roles)} {n}", rng.choice(TOWNS), low,
                         low + rng.randrange(0, 80_000, 1000), moment - datetime.timedelta(minutes=n)))
        await session.execute(text("""
            INSERT INTO public.jobs (id, employer_id, tenant_id, posted_by_id, title, description, description_html,
                location, workplace, kind, salary_min, salary_max, currency, salary_period, status, review_note,
                published_at, created_at, updated_at)
            SELECT i, :e, :t, gen_random_uuid(), ti, 'Work with a friendly team in ' || lo || '.', '', lo, 'onsite',
                'full_time', mi, ma, 'KES', 'month', 'published', '', pa, now(), now()
            FROM unnest(CAST(:i AS uuid[]), CAST(:ti AS text[]), CAST(:lo AS text[]), CAST(:mi AS int[]),
                        CAST(:ma AS int[]), CAST(:pa AS timestamptz[])) AS j(i, ti, lo, mi, ma, pa)"""),
            {"e": employer_id, "t": employer.id, "i": [r[0] for r in rows], "ti": [r[1] for r in rows],
             "lo": [r[2] for r in rows], "mi": [r[3] for r in rows], "ma": [r[4] for r in rows],
             "pa": [r[5] for r in rows]})
        pairs = [(r[0], f"code:{c}", c, rng.randint(1, 5)) for r in rows for c in rng.sample(codes, rng.randint(2, 6))]
        await session.execute(text("""
            INSERT INTO public.job_skills (id, job_id, key, name, level, created_at, updated_at)
            SELECT gen_random_uuid(), j, k, n, l, now(), now()
            FROM unnest(CAST(:j AS uuid[]), CAST(:k AS text[]), CAST(:n AS text[]), CAST(:l AS int[]))
                AS s(j, k, n, l)"""), {"j": [p[0] for p in pairs], "k": [p[1] for p in pairs],
                                       "n": [p[2] for p in pairs], "l": [p[3] for p in pairs]})
        await session.execute(text("ANALYZE"))
    results.add("Board: jobs / job skills", f"{jobs:,} / {len(pairs):,}")
    results.add("Learner's organization: courses / skill targets", f"{len(course_ids):,} / {len(targets):,}")
    results.add("Populating", f"{time.perf_counter() - started:,.1f} s")
    return {"engine": engine, "learner_org": learner_org, "employer": employer, "learner_id": learner_id}


async def measure(ctx: dict[str, Any], runs: int, results: Results) -> None:
    from sqlalchemy import event, select

    from tajiconnect.db.session import session_scope
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.careers import analysis, home
    from tajiconnect.domains.careers.models import CareerPathway
    from tajiconnect.domains.jobs import board, matching, postings
    from tajiconnect.tenancy.context import tenant_context

    engine = ctx["engine"]
    seen: list[str] = []

    def count(*_args: Any) -> None:
        seen.append("x")

    async def search_page(session: Any, filters: Any) -> None:
        found, _total = await board.search(session, filters)
        required = await postings.skills_of(session, [f.job.id for f in found])
        have = await matching.levels_of(session, ctx["learner_id"])
        for f in found:
            matching.score([(s.key, s.name, s.level) for s in required[f.job.id]], have)

    with tenant_context(ctx["learner_org"]):
        async with session_scope(engine) as session:
            user = await session.get(User, ctx["learner_id"])
            shares = await analysis.matches(session, user.id, list((await session.scalars(
                select(CareerPathway.id))).all()))
            closest = await session.get(CareerPathway, max(shares, key=lambda k: shares[k] if shares[k] < 100 else -1))
    cases: list[tuple[str, str, Any]] = [
        ("/jobs search 'technician' in Nairobi", "learner", lambda s: search_page(s, board.Filters(
            q="technician", location="Nairobi"))),
        ("/jobs, all jobs, newest first", "learner", lambda s: search_page(s, board.Filters())),
        ("/jobs search 'friendly team' (in every job)", "learner", lambda s: search_page(
            s, board.Filters(q="friendly team"))),
        ("Gap against the closest role", "learner", lambda s: analysis.analyse(s, closest, user)),
        ("Career home", "learner", lambda s: home.load(s, user)),
        ("Employer's jobs with application counts", "employer", lambda s: postings.own_jobs(s)),
    ]
    sync_engine = engine.sync_engine
    for label, side, call in cases:
        tenant = ctx["learner_org"] if side == "learner" else ctx["employer"]
        timings, statements = [], []
        with tenant_context(tenant):
            for n in range(runs + 3):
                seen.clear()
                event.listen(sync_engine, "before_cursor_execute", count)
                try:
                    async with session_scope(engine) as session:
                        t0 = time.perf_counter()
                        await call(session)
                        elapsed = (time.perf_counter() - t0) * 1000
                finally:
                    event.remove(sync_engine, "before_cursor_execute", count)
                if n >= 3:  # warm-up
                    timings.append(elapsed)
                    statements.append(len(seen))
        median, p95 = statistics.median(timings), percentile(timings, 95)
        results.add(f"{label}: median / p95", f"{median:,.1f} / {p95:,.1f} ms", f"< {TARGET_MS:.0f} ms",
                    p95 < TARGET_MS)
        results.add(f"{label}: SQL statements", " or ".join(str(c) for c in sorted(set(statements))))
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000, help="offered jobs on the board (10000)")
    parser.add_argument("--courses", type=int, default=600, help="courses in the learner's organization (600)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per page (20)")
    parser.add_argument("--database-url", help="server to use (default: DATABASE_URL, else embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    results = Results()
    started = time.perf_counter()
    with throwaway_database(server_url_from(args.database_url), BASE_DOMAIN, keep=args.keep) as (_db, sa_url):
        async def run() -> None:
            ctx = await populate(sa_url, args.jobs, args.courses, results)
            await measure(ctx, args.runs, results)

        asyncio.run(run())
    print(f"\nDone in {time.perf_counter() - started:,.0f} s; load average at end {os.getloadavg()}\n")
    print(results.table())
    return 1 if any(r[3] == "MISSED" for r in results.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
