"""The learner's home (``/learn``, and ``/`` for learners): continue, due soon, courses and paths with progress,
the streak; a fixed number of statements whatever the data; under the page-weight budget. Progress reports
(``/api/v1/progress/...``): the learner, their group leaders and admins only."""

from __future__ import annotations

import datetime
import gzip
import re
from typing import Any

from tests.integration.conftest import bearer_for, post_form, problem_of, statements
from tests.integration.progress.conftest import add_group, build_course, build_path, enroll, enrolled, set_path_due

BUDGET = 100 * 1024


async def weight(client: Any, path: str) -> int:
    """Gzip size of the page plus the CSS and JS it references (what a first visit downloads, media aside)."""
    page = await client.get(path)
    assert page.status_code == 200
    total = len(gzip.compress(page.content))
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+\.(?:css|js)[^"]*)"', page.text):
        body = await client.get(asset.replace("&amp;", "&"))
        assert body.status_code == 200, asset
        total += len(gzip.compress(body.content))
    return total


async def test_the_learners_home(org, make_user, engine, signed_in):
    learner = await make_user(org.tenant)
    started = await build_course(engine, org.tenant, kinds=("text", "text"), title="Started course")
    due = await build_course(engine, org.tenant, kinds=("text",), title="Due course")
    later = await build_course(engine, org.tenant, kinds=("text",), title="Later course")
    await enroll(engine, org.tenant, learner.id, started.id)
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    await enroll(engine, org.tenant, learner.id, due.id, due_at=soon, source="assigned")
    await enroll(engine, org.tenant, learner.id, later.id, due_at=soon + datetime.timedelta(days=60))
    path_id = await build_path(engine, org.tenant, [started.id, due.id], user_id=learner.id)
    await set_path_due(engine, org.tenant, path_id, soon - datetime.timedelta(days=5))  # overdue
    async with signed_in(learner) as client:
        fresh = await client.get("/learn")  # enrolled, nothing started: start one
        assert re.search(r'href="/learn/courses/[0-9a-f-]+">Start</a>', fresh.text) and 'href="/courses"' in fresh.text
        await post_form(client, started.lesson_url(0) + "/complete")
        for path in ("/learn", "/"):  # a learner's "/" is their learning home
            home = await client.get(path)
            assert home.status_code == 200, path
            text = home.text
            assert "Continue where you left off" in text
            assert f'href="/learn/courses/{started.id}/lessons/{started.lessons[0]}">Continue' in text
            due_section = text.split("Assigned and due soon")[1].split("</section>")[0]
            assert "Due course" in due_section and "Later course" not in due_section
            assert f'href="/paths/{path_id}"' in due_section and "Overdue since" in due_section
            assert 'value="50"' in text and "1 day in a row" in text and "My learning paths" in text
    nobody = await make_user(org.tenant)
    async with signed_in(nobody) as client:
        assert "Nothing started yet." in (await client.get("/")).text
    # staff keep their own home: the admin dashboard
    async with signed_in(org.admin) as client:
        assert "Continue where you left off" not in (await client.get("/")).text


async def test_home_and_lesson_page_statements_do_not_grow_with_data(org, make_user, engine, signed_in):
    learner, first = await enrolled(make_user, engine, org.tenant, kinds=("text", "text"))
    async with signed_in(learner) as client:
        await post_form(client, first.lesson_url(0) + "/complete")
        home_small = await statements(client, "/learn")
        lesson_small = await statements(client, first.lesson_url(1))
        for _ in range(12):
            course = await build_course(engine, org.tenant, kinds=("text",) * 6, per_module=2)
            await enroll(engine, org.tenant, learner.id, course.id, due_at=datetime.datetime.now(datetime.UTC))
            await build_path(engine, org.tenant, [course.id, first.id], user_id=learner.id)
        big = await build_course(engine, org.tenant, kinds=("text",) * 30, per_module=5)
        await enroll(engine, org.tenant, learner.id, big.id)
        for index in range(10):
            await post_form(client, big.lesson_url(index) + "/complete")
        home_large = await statements(client, "/learn")
        lesson_large = await statements(client, big.lesson_url(11))
    assert home_small == home_large and lesson_small == lesson_large
    # 6 for every signed-in page (3 search paths, the session, the member, the organization's settings), then:
    assert home_large <= 6 + 5, home_large  # continue, due soon, courses (with their total), paths, streak
    assert lesson_large <= 6 + 2, lesson_large  # the lesson (course, enrollment, progress, file), the outline


async def test_home_and_text_lesson_weigh_under_100_kb(org, make_user, engine, signed_in):
    learner, course = await enrolled(make_user, engine, org.tenant, kinds=("text", "text"),
                                     lesson_values={0: {"body_html": "<p>" + "Words to read. " * 400 + "</p>"}})
    async with signed_in(learner) as client:
        home = await weight(client, "/learn")
        lesson = await weight(client, course.lesson_url(0))
    assert home < BUDGET and lesson < BUDGET, (home, lesson)


async def test_progress_reports_for_the_learner_their_leaders_and_admins(org, make_user, engine, client_for):
    learner = await make_user(org.tenant)
    leader = await make_user(org.tenant, ["teacher"])
    other_teacher = await make_user(org.tenant, ["teacher"])
    former_leader = await make_user(org.tenant, ["teacher"])
    classmate = await make_user(org.tenant)
    await add_group(engine, org.tenant, members=[learner.id, classmate.id], leaders=[leader.id])
    await add_group(engine, org.tenant, members=[], leaders=[other_teacher.id])
    await add_group(engine, org.tenant, members=[learner.id], leaders=[], former_leaders=(former_leader.id,))
    course = await build_course(engine, org.tenant, kinds=("text", "text"))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        mine = await bearer_for(client, learner)
        await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=mine)
        me = (await client.get("/api/v1/progress/me", headers=mine)).json()
        assert me["user_id"] == str(learner.id) and me["courses_total"] == 1
        assert me["courses"][0]["progress_percent"] == 50 and me["courses"][0]["lessons_completed"] == 1
        for viewer in (leader, org.admin):
            answer = await client.get(f"/api/v1/progress/{learner.id}", headers=await bearer_for(client, viewer))
            assert answer.status_code == 200, viewer
            assert answer.json()["courses"][0]["course_id"] == str(course.id)
        for viewer in (other_teacher, former_leader, classmate):
            problem_of(await client.get(f"/api/v1/progress/{learner.id}",
                                        headers=await bearer_for(client, viewer)), 404)
        problem_of(await client.get("/api/v1/progress/not-a-uuid", headers=mine), 404)
        problem_of(await client.get("/api/v1/progress/me?per_page=1000", headers=mine), 400)
        problem_of(await client.get("/api/v1/progress/me"), 401)
