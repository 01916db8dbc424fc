"""The discussion pages: who sees them, the new-thread form (422 keeps the text), HTMX actions answering the
thread fragment, a locked thread, hidden posts, the moderation queue, search, and statements per page."""

from __future__ import annotations

import re

from tests.integration.conftest import audit_entries, bearer_for, post_form, statements

HX = {"HX-Request": "true", "HX-Target": "discussion-thread"}


async def _start(client, room, title="Photosynthesis?", body="How do **leaves** eat?", kind="question") -> str:
    response = await post_form(client, f"{room.base}/", {"kind": kind, "title": title, "body": body})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{room.base}/")
    return location


async def test_who_sees_the_pages(room, signed_in):
    async with signed_in(room.alice) as client:
        thread_url = await _start(client, room)
    for member in (room.owner, room.co, room.alice, room.bob, room.admin):
        async with signed_in(member) as client:
            for path in (f"{room.base}/", f"{room.base}/new", thread_url):
                assert (await client.get(path)).status_code == 200, (member.roles, path)
    for member in (room.withdrawn, room.outsider, room.parent, room.stranger, room.manager):
        async with signed_in(member) as client:
            for path in (f"{room.base}/", f"{room.base}/new", thread_url):
                assert (await client.get(path)).status_code == 404, (member.roles, path)
            assert (await post_form(client, f"{thread_url}/replies", {"body": "hi"})).status_code == 404
    async with signed_in(room.other_admin) as client:
        assert (await client.get(thread_url)).status_code == 404
        assert (await client.get(f"{room.base}/")).status_code == 404


async def test_new_thread_form_and_thread_page(room, signed_in):
    async with signed_in(room.alice) as client:
        refused = await post_form(client, f"{room.base}/", {"kind": "question", "title": " ", "body": "kept text"})
        assert refused.status_code == 422
        assert "Give the thread a title." in refused.text and "kept text" in refused.text
        refused = await post_form(client, f"{room.base}/", {"kind": "poll", "title": "t", "body": "b"})
        assert refused.status_code == 422
        url = await _start(client, room, body="<script>alert(1)</script> **bold** [x](javascript:alert(1))")
        page = await client.get(url)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "<strong>bold</strong>" in page.text
        assert "href=\"javascript:" not in page.text
        assert 'id="thread-subscription"' in page.text and "Stop following" in page.text
        assert 'id="thread-pin"' not in page.text  # learners do not moderate
        listed = await client.get(f"{room.base}/")
        assert "Photosynthesis?" in listed.text
        assert (await client.get(f"{room.base}/?page=0")).status_code == 400
        assert (await client.get(f"{room.base}/not-a-thread")).status_code == 404


async def test_htmx_reply_accept_pin_and_lock(room, signed_in, engine):
    async with signed_in(room.alice) as client:
        url = await _start(client, room)
    async with signed_in(room.owner) as client:
        reply = await post_form(client, f"{url}/replies", {"body": "Chlorophyll catches light."}, headers=HX)
        assert reply.status_code == 200 and "<html" not in reply.text
        assert reply.text.lstrip().startswith('<div id="discussion-thread">')
        assert "Chlorophyll catches light." in reply.text
        post_id = re.findall(r'id="post-([0-9a-f-]{36})"', reply.text)[-1]
        pinned = await post_form(client, f"{url}/flags", {"pinned": "1"}, headers=HX)
        assert 'id="thread-pinned"' in pinned.text and "Unpin" in pinned.text
        locked = await post_form(client, f"{url}/flags", {"locked": "1"}, headers=HX)
        assert 'id="thread-locked-note"' in locked.text and 'id="f-reply"' not in locked.text
    async with signed_in(room.alice) as client:
        refused = await post_form(client, f"{url}/replies", {"body": "One more"}, headers=HX)
        assert refused.status_code == 409 and "This thread is locked" in refused.text
        assert (await post_form(client, f"{url}/flags", {"locked": "0"}, headers=HX)).status_code == 403
        accepted = await post_form(client, f"{url}/accept", {"post_id": post_id}, headers=HX)
        assert accepted.status_code == 200 and "Accepted answer" in accepted.text
        following = await post_form(client, f"{url}/subscription", {"subscribed": "0"}, headers=HX)
        assert "Follow this thread" in following.text
        # Without HTMX, the same action redirects back to the thread.
        back = await post_form(client, f"{url}/subscription", {"subscribed": "1"})
        assert back.status_code == 303 and back.headers["location"] == url
    actions = [e.action for e in await audit_entries(engine, room.tenant) if e.action.startswith("discussion.")]
    assert actions == ["discussion.thread_pinned", "discussion.thread_locked"]


async def test_reports_hiding_and_the_moderation_queue(room, signed_in, engine):
    async with signed_in(room.bob) as client:
        url = await _start(client, room, kind="discussion", title="Exam tips", body="Cheat sheet for sale")
        post_id = re.search(r'id="post-([0-9a-f-]{36})"', (await client.get(url)).text).group(1)
    async with signed_in(room.alice) as client:
        empty = await post_form(client, f"{url}/posts/{post_id}/report", {"reason": ""}, headers=HX)
        assert empty.status_code == 422 and "Say why." in empty.text
        reported = await post_form(client, f"{url}/posts/{post_id}/report", {"reason": "Selling answers"},
                                   headers=HX)
        assert reported.status_code == 200 and "You reported this post." in reported.text
        again = await post_form(client, f"{url}/posts/{post_id}/report", {"reason": "again"}, headers=HX)
        assert again.status_code == 409
        assert (await client.get("/teach/moderation/")).status_code == 403  # learners have no queue
    async with signed_in(room.stranger) as client:
        queue = await client.get("/teach/moderation/")
        assert queue.status_code == 200 and "Selling answers" not in queue.text
    async with signed_in(room.co) as client:
        queue = await client.get("/teach/moderation/")
        assert "Selling answers" in queue.text and "Exam tips" in queue.text
        one_course = await client.get(f"/teach/moderation/?course={room.course_id}")
        assert "Selling answers" in one_course.text
        hidden = await post_form(client, f"{url}/posts/{post_id}/hide",
                                 {"reason": "Cheating", "next": "/teach/moderation"})
        assert hidden.status_code == 303 and hidden.headers["location"].startswith("/teach/moderation")
        assert "Selling answers" not in (await client.get("/teach/moderation/")).text
        page = await client.get(url)
        assert "Cheat sheet for sale" in page.text and "Hidden from learners: Cheating" in page.text
    async with signed_in(room.alice) as client:
        page = await client.get(url)
        assert "Cheat sheet for sale" not in page.text and "Hidden by a moderator" in page.text
    async with signed_in(room.co) as client:
        restored = await post_form(client, f"{url}/posts/{post_id}/restore", headers=HX)
        assert "Hidden from learners" not in restored.text
    async with signed_in(room.bob) as client:  # a report dismissed from the queue
        second = await _start(client, room, kind="discussion", title="Second", body="Fine post")
        second_post = re.search(r'id="post-([0-9a-f-]{36})"', (await client.get(second)).text).group(1)
    async with signed_in(room.alice) as client:
        await post_form(client, f"{second}/posts/{second_post}/report", {"reason": "Not sure"})
    async with signed_in(room.owner) as client:
        queue = await client.get("/teach/moderation/")
        report_id = re.search(r'id="report-([0-9a-f-]{36})"', queue.text).group(1)
        dismissed = await post_form(client, f"/teach/moderation/reports/{report_id}/dismiss")
        assert dismissed.status_code == 303
        assert "Not sure" not in (await client.get("/teach/moderation/")).text
    async with signed_in(room.stranger) as client:
        assert (await post_form(client, f"/teach/moderation/reports/{report_id}/dismiss")).status_code == 404
    entries = [e for e in await audit_entries(engine, room.tenant) if e.action.startswith("discussion.")]
    assert [e.action for e in entries] == ["discussion.post_hidden", "discussion.post_restored",
                                           "discussion.report_dismissed"]
    assert entries[0].details["reason"] == "Cheating" and entries[0].actor_email == room.co.email


async def test_search_and_statements_per_page(room, signed_in, client_for):
    async with client_for(room.tenant) as api:
        headers = await bearer_for(api, room.owner)
        first = (await api.post(f"/api/v1/courses/{room.course_id}/threads",
                                json={"title": "Cell walls", "body": "b"}, headers=headers)).json()
        await api.post(f"/api/v1/threads/{first['id']}/posts", json={"body": "one"}, headers=headers)
    async with signed_in(room.alice) as client:
        url = f"{room.base}/{first['id']}"
        few_posts = await statements(client, url)
        few_threads = await statements(client, f"{room.base}/")
    async with client_for(room.tenant) as api:
        for member in (room.owner, room.co, room.bob):
            headers = await bearer_for(api, member)
            await api.post(f"/api/v1/courses/{room.course_id}/threads",
                           json={"title": f"Topic by {member.email}", "body": "b"}, headers=headers)
            for i in range(2):
                await api.post(f"/api/v1/threads/{first['id']}/posts", json={"body": f"more {i}"}, headers=headers)
    async with signed_in(room.alice) as client:
        assert await statements(client, url) == few_posts
        assert await statements(client, f"{room.base}/") == few_threads
        found = await client.get(f"{room.base}/?q=cell+w", headers={"HX-Request": "true",
                                                                    "HX-Target": "discussion-threads"})
        assert "Cell walls" in found.text and "Topic by" not in found.text and "<html" not in found.text
        assert "No thread matches." in (await client.get(f"{room.base}/?q=%25")).text
