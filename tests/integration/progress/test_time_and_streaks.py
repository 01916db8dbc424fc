"""Heartbeats credit wall time (two tabs never count a minute twice, gaps are capped) to the lesson, the
enrollment, the learner and their local day; streaks follow the learner's local days (set times, no sleeping)."""

from __future__ import annotations

import datetime

from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.progress import rules
from tajiconnect.domains.progress.models import LearnerStats, LearningDay, LessonProgress
from tests.integration.conftest import bearer_for, post_form, set_user, statements
from tests.integration.progress.conftest import build_course, csrf_headers, enroll, fetch

UTC = datetime.UTC


async def test_two_tabs_interleaved_credit_wall_time_once(org, make_user, engine, signed_in, clock):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "text"))
    await enroll(engine, org.tenant, learner.id, course.id)
    start = clock.now
    async with signed_in(learner) as client:
        await client.get(course.lesson_url(0))
        headers = csrf_headers(client)
        tab_a, tab_b = (f"/learn/lessons/{lesson}/beat" for lesson in course.lessons)
        credited = []
        # tab A beats at 0, 30, 60, ... and tab B at 15, 45, ... for five minutes
        for second in range(0, 301, 15):
            clock.set(start + datetime.timedelta(seconds=second))
            answer = await client.post(tab_a if second % 30 == 0 else tab_b, headers=headers)
            assert answer.status_code == 200 and answer.json()["recorded"] is True
            credited.append(answer.json()["credited_seconds"])
    assert credited[0] == rules.BEAT_CAP  # the first beat of the visit
    assert credited[1:] == [15] * 20  # then exactly the wall time between beats, whichever tab sends them
    [stats] = await fetch(engine, org.tenant, LearnerStats, user_id=learner.id)
    assert stats.seconds_spent == rules.BEAT_CAP + 300
    [enrollment] = await fetch(engine, org.tenant, Enrollment, user_id=learner.id)
    assert enrollment.seconds_spent == rules.BEAT_CAP + 300
    rows = {r.lesson_id: r.seconds_spent for r in await fetch(engine, org.tenant, LessonProgress, user_id=learner.id)}
    assert sum(rows.values()) == rules.BEAT_CAP + 300 and len(rows) == 2
    [day] = await fetch(engine, org.tenant, LearningDay, user_id=learner.id)
    assert day.day == datetime.date(2026, 3, 10) and day.seconds_spent == rules.BEAT_CAP + 300


async def test_a_heartbeat_is_a_constant_number_of_statements(org, make_user, engine, signed_in, clock):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text",))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        await client.get(course.lesson_url(0))
        beat = f"/learn/lessons/{course.lessons[0]}/beat"
        first = await statements(client, beat, "POST", headers=csrf_headers(client))
        clock.advance(days=3)
        later = await statements(client, beat, "POST", headers=csrf_headers(client))
        # What every signed-in request runs: the member and the settings with their search paths, and the session
        # with its own search path unless the sessions are kept in Redis (6, or 4 with Redis).
        from tajiconnect.domains.accounts.sessions import RedisSessionStore

        base = 4 if isinstance(client.app.state.session_store, RedisSessionStore) else 6
    # Then the lesson, the stats row (upsert and lock), the lesson's row, the enrollment, the day, the stats.
    assert first == later == base + 6, (first, later, base)


async def test_a_long_gap_credits_the_cap_only_and_api_beats_share_the_clock(
    org, make_user, engine, client_for, clock
):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text",))
    await enroll(engine, org.tenant, learner.id, course.id)
    url = f"/api/v1/lessons/{course.lessons[0]}/heartbeat"
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        first = (await client.post(url, headers=auth)).json()
        clock.advance(hours=3)  # the laptop slept
        after_sleep = (await client.post(url, headers=auth)).json()
        clock.advance(seconds=30)
        normal = (await client.post(url, headers=auth)).json()
        same_moment = (await client.post(url, headers=auth)).json()  # a second device at the same instant
    assert [first["credited_seconds"], after_sleep["credited_seconds"], normal["credited_seconds"],
            same_moment["credited_seconds"]] == [rules.BEAT_CAP, rules.BEAT_CAP, 30, 0]


async def test_streak_over_local_days_in_nairobi(org, make_user, engine, signed_in, clock):
    """Nairobi is UTC+3: 22:00 UTC is already the next local day. A lesson completed each local day grows the
    streak; a missed local day shows 0 on read (stale streak) and the next activity starts again at 1."""
    learner = await make_user(org.tenant)
    await set_user(engine, org.tenant, learner.id, time_zone="Africa/Nairobi")
    course = await build_course(engine, org.tenant, kinds=("text",) * 5)
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        clock.set(datetime.datetime(2026, 3, 10, 20, 0, tzinfo=UTC))  # 23:00 on the 10th in Nairobi
        await post_form(client, course.lesson_url(0) + "/complete")
        clock.set(datetime.datetime(2026, 3, 10, 22, 0, tzinfo=UTC))  # 01:00 on the 11th in Nairobi
        await post_form(client, course.lesson_url(1) + "/complete")
        home = await client.get("/learn")
        assert "2 days in a row" in home.text
        clock.set(datetime.datetime(2026, 3, 12, 12, 0, tzinfo=UTC))  # the 12th: today can still count
        assert "2 days in a row" in (await client.get("/learn")).text
        clock.set(datetime.datetime(2026, 3, 13, 12, 0, tzinfo=UTC))  # the 12th was missed
        assert "0 days in a row" in (await client.get("/learn")).text
        await post_form(client, course.lesson_url(2) + "/complete")
        assert "1 day in a row" in (await client.get("/learn")).text
    [stats] = await fetch(engine, org.tenant, LearnerStats, user_id=learner.id)
    assert (stats.streak_days, stats.best_streak, stats.last_active_on) == (1, 2, datetime.date(2026, 3, 13))
    days = sorted((d.day, d.lessons_completed) for d in await fetch(engine, org.tenant, LearningDay,
                                                                       user_id=learner.id))
    assert days == [(datetime.date(2026, 3, 10), 1), (datetime.date(2026, 3, 11), 1), (datetime.date(2026, 3, 13), 1)]


async def test_streak_west_of_utc_and_minutes_make_a_day(org, make_user, engine, client_for, clock):
    """In Bogota (UTC-5) 02:00 UTC is still the previous evening. Heartbeats alone make a day active once they
    add up to the active-day minutes."""
    learner = await make_user(org.tenant)
    await set_user(engine, org.tenant, learner.id, time_zone="America/Bogota")
    course = await build_course(engine, org.tenant, kinds=("text", "text"))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        clock.set(datetime.datetime(2026, 3, 11, 2, 0, tzinfo=UTC))  # 21:00 on the 10th in Bogota
        done = await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth)
        assert done.json()["streak_days"] == 1
        clock.set(datetime.datetime(2026, 3, 11, 14, 0, tzinfo=UTC))  # 09:00 on the 11th: beats only
        beat = f"/api/v1/lessons/{course.lessons[1]}/heartbeat"
        streaks = []
        for _ in range(rules.ACTIVE_DAY_SECONDS // 30 + 1):
            streaks.append((await client.post(beat, headers=auth)).json()["streak_days"])
            clock.advance(seconds=30)
        assert streaks[0] == 1 and streaks[-1] == 2  # the 11th became active once 5 minutes were learned
        me = (await client.get("/api/v1/progress/me", headers=auth)).json()
        assert (me["streak_days"], me["best_streak"]) == (2, 2)
    days = {d.day for d in await fetch(engine, org.tenant, LearningDay, user_id=learner.id)}
    assert days == {datetime.date(2026, 3, 10), datetime.date(2026, 3, 11)}


async def test_an_unknown_time_zone_counts_in_utc(org, make_user, engine, client_for, clock):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text",))
    await enroll(engine, org.tenant, learner.id, course.id)
    await set_user(engine, org.tenant, learner.id, time_zone="Mars/Olympus")
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        clock.set(datetime.datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
        assert (await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth)).status_code == 200
    [day] = await fetch(engine, org.tenant, LearningDay, user_id=learner.id)
    assert day.day == datetime.date(2026, 3, 10)
