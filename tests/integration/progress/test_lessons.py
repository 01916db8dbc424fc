"""The lesson page and the lessons API: who may open a lesson, explicit and automatic completion, course
completion with its one outbox row, the staff's preview (nothing recorded), another organization's ids."""

from __future__ import annotations

import re

from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.progress.models import LearnerStats, LessonProgress
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.progress.conftest import (
    add_file,
    build_course,
    completions,
    count,
    csrf_headers,
    enroll,
    fetch,
)


async def test_an_enrolled_learner_reads_goes_next_and_completes_the_course(org, make_user, engine, signed_in):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "text", "text"))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        page = await client.get(course.lesson_url(0))
        assert page.status_code == 200
        assert "Body of lesson 1" in page.text and 'rel="next"' in page.text and 'rel="prev"' not in page.text
        assert f'href="{course.lesson_url(1)}"' in page.text  # next, and the outline
        # next/previous are HTMX swaps of #lesson-view: the fragment, without the layout
        swap = await client.get(course.lesson_url(1), headers={"HX-Request": "true", "HX-Target": "lesson-view"})
        assert swap.status_code == 200 and 'id="lesson-view"' in swap.text and "<html" not in swap.text
        assert "HX-Request" in swap.headers["vary"] and "HX-Request" in page.headers["vary"]  # Back gets the page
        assert 'rel="prev"' in swap.text and "Body of lesson 2" in swap.text
        for index in range(3):
            done = await post_form(client, course.lesson_url(index) + "/complete")
            assert done.status_code == 303, done.text
        last = await client.get(course.lesson_url(2))
        assert "Course completed" in last.text and "100 %" in last.text
    [enrollment] = await fetch(engine, org.tenant, Enrollment, user_id=learner.id)
    assert (enrollment.status, enrollment.progress_percent, enrollment.lessons_completed) == ("completed", 100, 3)
    assert enrollment.completed_at is not None and enrollment.last_lesson_id == course.lessons[2]
    [row] = await completions(engine, org.tenant, learner.id)
    assert row.course_id == course.id and row.path_id is None
    rows = await fetch(engine, org.tenant, LessonProgress, user_id=learner.id)
    assert {r.completed_by for r in rows} == {"learner"} and len(rows) == 3


async def test_htmx_completion_swaps_the_view_and_counts_progress(org, make_user, engine, signed_in):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "text", "quiz"))
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        await client.get(course.lesson_url(0))
        swap = await client.post(course.lesson_url(0) + "/complete",
                                 headers={**csrf_headers(client), "HX-Request": "true", "HX-Target": "lesson-view"})
        assert swap.status_code == 200 and "<html" not in swap.text
        assert "1 of 3" in swap.text  # the quiz counts (completed by its grade)
        quiz = await client.get(course.lesson_url(2))
        assert quiz.status_code == 200 and "Mark as complete" not in quiz.text
        refused = await post_form(client, course.lesson_url(2) + "/complete")
        assert refused.status_code == 409
    [enrollment] = await fetch(engine, org.tenant, Enrollment, user_id=learner.id)
    assert (enrollment.progress_percent, enrollment.status) == (33, "active")


async def test_video_end_and_document_last_page_complete_automatically(org, make_user, engine, client_for):
    learner = await make_user(org.tenant)
    video = await add_file(engine, org.tenant, "video", {"duration": 120})
    pdf = await add_file(engine, org.tenant, "document", {"pages": 3, "pages_ready": True})
    course = await build_course(engine, org.tenant, kinds=("video", "document"),
                                lesson_values={0: {"file_id": video}, 1: {"file_id": pdf}})
    await enroll(engine, org.tenant, learner.id, course.id)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        url = f"/api/v1/lessons/{course.lessons[0]}/position"
        saved = await client.post(url, json={"seconds": 42}, headers=auth)
        assert saved.status_code == 200 and saved.json()["lesson_completed"] is False
        lesson = (await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth)).json()
        assert lesson["position_seconds"] == 42 and lesson["kind"] == "video" and lesson["preview"] is False
        ended = await client.post(url, json={"seconds": 120, "ended": True}, headers=auth)
        assert ended.json()["lesson_completed"] is True and ended.json()["completed_by"] == "video"
        doc = f"/api/v1/lessons/{course.lessons[1]}/position"
        page2 = await client.post(doc, json={"page": 2}, headers=auth)
        assert page2.json()["lesson_completed"] is False
        page3 = await client.post(doc, json={"page": 3}, headers=auth)
        body = page3.json()
        assert body["lesson_completed"] and body["completed_by"] == "document" and body["course_completed"]
        assert body["course_percent"] == 100
        # the wrong member for the kind, bounds, unknown members: 400; a text lesson keeps no position: 409
        problem_of(await client.post(doc, json={"seconds": 3}, headers=auth), 400)
        problem_of(await client.post(doc, json={"page": 0}, headers=auth), 400)
        problem_of(await client.post(doc, json={"page": 2, "x": 1}, headers=auth), 400)
        problem_of(await client.post(url, json={"seconds": 10**12}, headers=auth), 400)
    rows = {r.lesson_id: r for r in await fetch(engine, org.tenant, LessonProgress, user_id=learner.id)}
    assert rows[course.lessons[1]].last_page == 3
    assert len(await completions(engine, org.tenant, learner.id)) == 1


class FakeStorage:
    """Stands in for ``app.state.storage`` (the storage branch's ``Storage.url``) where it is not wired in yet."""

    def url(self, file, *, rendition=None, download=False):
        return f"/files/{file.id}/{rendition or 'original'}{'?download=1' if download else ''}"


async def test_video_and_document_pages(org, make_user, engine, signed_in, app, client_for, monkeypatch):
    """The lesson page shows the player with its resume point and the document's pages, with URLs from storage.

    STORAGE: on a branch without ``app.state.storage`` a stand-in with the same ``url()`` is installed; once the
    lead wires the storage service in, the real one answers (the assertions only look at what it was asked)."""
    if getattr(app.state, "storage", None) is None:
        monkeypatch.setattr(app.state, "storage", FakeStorage(), raising=False)
    storage = app.state.storage
    learner = await make_user(org.tenant)
    video = await add_file(engine, org.tenant, "video", {})
    pdf = await add_file(engine, org.tenant, "document", {"pages": 2, "pages_ready": True})
    course = await build_course(engine, org.tenant, kinds=("video", "document"),
                                lesson_values={0: {"file_id": video}, 1: {"file_id": pdf, "allow_download": True}})
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        await client.get(course.lesson_url(0))
        saved = await client.post(f"/learn/lessons/{course.lessons[0]}/position", json={"seconds": 33},
                                  headers=csrf_headers(client))
        assert saved.status_code == 200 and saved.json()["recorded"] is True
        page = await client.get(course.lesson_url(0))
        assert 'data-resume="33"' in page.text and "<video" in page.text
        doc = await client.get(course.lesson_url(1))
        assert doc.text.count('class="doc-page"') == 2 and "Download" in doc.text
        if isinstance(storage, FakeStorage):
            assert f'src="/files/{video}/original"' in page.text
            assert f"/files/{pdf}/page-1" in doc.text and f"/files/{pdf}/page-2" in doc.text
            assert f"/files/{pdf}/original?download=1" in doc.text
            assert "Download" not in page.text  # the video does not allow downloads
        for bad in ({"page": 0}, {"seconds": 10**9}, {"seconds": 1, "x": 1}):  # the API's bounds
            out = await client.post(f"/learn/lessons/{course.lessons[1]}/position", json=bad,
                                    headers=csrf_headers(client))
            assert out.status_code == 400, bad
        not_json = await client.post(f"/learn/lessons/{course.lessons[1]}/position", content=b"{",
                                     headers={**csrf_headers(client), "content-type": "application/json"})
        assert not_json.status_code == 400
        # without the CSRF header, lesson.js's endpoints refuse like any form
        refused = await client.post(f"/learn/lessons/{course.lessons[0]}/position", json={"seconds": 1})
        assert refused.status_code == 403
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        body = (await client.get(f"/api/v1/lessons/{course.lessons[1]}", headers=auth)).json()
        assert body["pages"] == 2 and len(body["page_urls"]) == 2 and body["download_url"]
        assert (await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth)).json()["media_url"]


async def test_not_enrolled_is_404_everywhere(org, make_user, engine, signed_in, client_for):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant)
    draft = await build_course(engine, org.tenant, status="draft")
    await enroll(engine, org.tenant, learner.id, draft.id)  # enrolled, but a draft: not for learners
    lesson = course.lessons[0]
    async with signed_in(learner) as client:
        assert (await client.get(course.lesson_url(0))).status_code == 404
        assert (await client.get(f"/learn/courses/{course.id}")).status_code == 404
        assert (await client.get(draft.lesson_url(0))).status_code == 404
        beat = await client.post(f"/learn/lessons/{lesson}/beat", headers=csrf_headers(client))
        assert beat.status_code == 404
        assert (await post_form(client, course.lesson_url(0) + "/complete")).status_code == 404
        assert (await client.get("/learn/courses/not-a-uuid/lessons/nope")).status_code == 404
        # a real lesson under another course's address
        await enroll(engine, org.tenant, learner.id, course.id)
        other = await build_course(engine, org.tenant)
        await enroll(engine, org.tenant, learner.id, other.id)
        assert (await client.get(f"/learn/courses/{other.id}/lessons/{lesson}")).status_code == 404
    stranger = await make_user(org.tenant)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, stranger)
        for method, path in (("GET", f"/api/v1/lessons/{lesson}"), ("POST", f"/api/v1/lessons/{lesson}/complete"),
                             ("POST", f"/api/v1/lessons/{lesson}/heartbeat"), ("GET", "/api/v1/lessons/xyz")):
            problem_of(await client.request(method, path, headers=auth), 404)
        problem_of(await client.post(f"/api/v1/lessons/{lesson}/position", json={"page": 1}, headers=auth), 404)
        problem_of(await client.get(f"/api/v1/lessons/{lesson}"), 401)
    assert await count(engine, org.tenant, LessonProgress, user_id=stranger.id) == 0


async def test_another_tenants_lesson_is_404(org, other_org, make_user, engine, signed_in, client_for):
    ours = await make_user(org.tenant)
    theirs = await make_user(other_org.tenant)
    course = await build_course(engine, other_org.tenant)
    await enroll(engine, other_org.tenant, theirs.id, course.id)
    mine = await build_course(engine, org.tenant)
    await enroll(engine, org.tenant, ours.id, mine.id)
    async with signed_in(ours) as client:
        assert (await client.get(course.lesson_url(0))).status_code == 404
        assert (await client.post(f"/learn/lessons/{course.lessons[0]}/beat",
                                  headers=csrf_headers(client))).status_code == 404
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, ours)
        problem_of(await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=auth), 404)
        problem_of(await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=auth), 404)
        problem_of(await client.get(f"/api/v1/progress/{theirs.id}", headers=auth), 404)
    # and the other way round: their token on our host is no token at all
    async with client_for(other_org.tenant) as client:
        auth = await bearer_for(client, theirs)
    async with client_for(org.tenant) as client:
        problem_of(await client.get(f"/api/v1/lessons/{mine.lessons[0]}", headers=auth), 401)
    assert await count(engine, other_org.tenant, LessonProgress) == 0


async def test_staff_preview_shows_drafts_and_records_nothing(org, make_user, engine, signed_in, client_for):
    teacher = await make_user(org.tenant, ["teacher"])
    draft = await build_course(engine, org.tenant, status="draft", owner_id=teacher.id)
    async with signed_in(teacher) as client:
        page = await client.get(draft.lesson_url(0))
        assert page.status_code == 200 and "Preview" in page.text and 'data-record="0"' in page.text
        outline = await client.get(f"/learn/courses/{draft.id}")
        assert outline.status_code == 200 and "Preview" in outline.text
        beat = await client.post(f"/learn/lessons/{draft.lessons[0]}/beat", headers=csrf_headers(client))
        assert beat.status_code == 200 and beat.json()["recorded"] is False
        assert (await post_form(client, draft.lesson_url(0) + "/complete")).status_code == 303
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, teacher)
        lesson = await client.get(f"/api/v1/lessons/{draft.lessons[0]}", headers=auth)
        assert lesson.json()["preview"] is True
        done = await client.post(f"/api/v1/lessons/{draft.lessons[0]}/complete", headers=auth)
        assert done.status_code == 200 and done.json()["recorded"] is False
    assert await count(engine, org.tenant, LessonProgress, user_id=teacher.id) == 0
    assert await count(engine, org.tenant, LearnerStats, user_id=teacher.id) == 0
    # another teacher (not the owner) does not see the draft at all
    other = await make_user(org.tenant, ["teacher"])
    async with signed_in(other) as client:
        assert (await client.get(draft.lesson_url(0))).status_code == 404


async def test_course_page_outline_states_and_continue(org, make_user, engine, signed_in):
    learner = await make_user(org.tenant)
    course = await build_course(engine, org.tenant, kinds=("text", "link", "embed"),
                                lesson_values={1: {"url": "https://example.org/read"},
                                               2: {"url": "https://www.youtube-nocookie.com/embed/x"}})
    await enroll(engine, org.tenant, learner.id, course.id)
    async with signed_in(learner) as client:
        await post_form(client, course.lesson_url(0) + "/complete")
        page = await client.get(f"/learn/courses/{course.id}")
        assert "1 of 3 lessons completed" in page.text
        assert re.search(rf'href="/learn/courses/{course.id}/lessons/{course.lessons[1]}">Continue', page.text)
        link = await client.get(course.lesson_url(1))
        assert 'target="_blank"' in link.text and "Mark as done" in link.text
        embed = await client.get(course.lesson_url(2))
        assert "<iframe" in embed.text
        assert "frame-src https://www.youtube-nocookie.com" in embed.headers["content-security-policy"]
