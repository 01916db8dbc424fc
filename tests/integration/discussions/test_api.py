"""The discussions API: who reads, writes and moderates (every role pair), locked threads, reports, hiding with
the audit trail, another organization, and malformed input."""

from __future__ import annotations

import uuid

from tajiconnect.domains.discussions.models import DiscussionPost, DiscussionReport
from tests.integration.conftest import audit_entries, bearer_for, problem_of
from tests.integration.discussions.conftest import count


async def _thread(client, room, member, kind="question", title="How do cells divide?", body="Mitosis or meiosis?"):
    response = await client.post(f"/api/v1/courses/{room.course_id}/threads",
                                 json={"kind": kind, "title": title, "body": body},
                                 headers=await bearer_for(client, member))
    assert response.status_code == 201, response.text
    return response.json()


async def test_who_reads_and_writes(room, client_for):
    async with client_for(room.tenant) as client:
        thread = await _thread(client, room, room.alice)
        assert thread["kind"] == "question" and thread["subscribed"] and not thread["may_moderate"]
        readers = (room.owner, room.co, room.alice, room.bob, room.admin)
        outsiders = (room.withdrawn, room.outsider, room.parent, room.stranger, room.manager)
        for member in readers:
            headers = await bearer_for(client, member)
            listed = await client.get(f"/api/v1/courses/{room.course_id}/threads", headers=headers)
            assert listed.status_code == 200, (member.roles, listed.text)
            assert [t["id"] for t in listed.json()["items"]] == [thread["id"]]
            posts = await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=headers)
            assert posts.status_code == 200 and posts.json()["items"][0]["body"] == "Mitosis or meiosis?"
            reply = await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "A reply"},
                                      headers=headers)
            assert reply.status_code == 201, reply.text
            detail = (await client.get(f"/api/v1/threads/{thread['id']}", headers=headers)).json()
            assert detail["may_moderate"] == (member in (room.owner, room.co, room.admin))
        post_id = posts.json()["items"][0]["id"]
        for member in outsiders:
            headers = await bearer_for(client, member)
            for path in (f"/api/v1/courses/{room.course_id}/threads", f"/api/v1/threads/{thread['id']}",
                         f"/api/v1/threads/{thread['id']}/posts"):
                problem_of(await client.get(path, headers=headers), 404)
            problem_of(await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "x"},
                                         headers=headers), 404)
            problem_of(await client.post(f"/api/v1/courses/{room.course_id}/threads",
                                         json={"title": "t", "body": "b"}, headers=headers), 404)
            problem_of(await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "spam"},
                                         headers=headers), 404)
        final = (await client.get(f"/api/v1/threads/{thread['id']}", headers=await bearer_for(client, room.bob)))
        assert final.json()["reply_count"] == len(readers)


async def test_another_organization_cannot_reach_the_ids(room, client_for):
    async with client_for(room.tenant) as client:
        thread = await _thread(client, room, room.bob, kind="discussion")
        posts = (await client.get(f"/api/v1/threads/{thread['id']}/posts",
                                  headers=await bearer_for(client, room.bob))).json()
    post_id = posts["items"][0]["id"]
    async with client_for(room.other.tenant) as client:
        headers = await bearer_for(client, room.other_admin)
        problem_of(await client.get(f"/api/v1/courses/{room.course_id}/threads", headers=headers), 404)
        problem_of(await client.get(f"/api/v1/threads/{thread['id']}", headers=headers), 404)
        problem_of(await client.patch(f"/api/v1/threads/{thread['id']}", json={"locked": True}, headers=headers),
                   404)
        problem_of(await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": "x"}, headers=headers), 404)
        problem_of(await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "x"}, headers=headers), 404)
        problem_of(await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "x"},
                                     headers=headers), 404)
    assert await count(client.app.state.engine, room.tenant, DiscussionPost) == 1


async def test_pin_lock_and_a_locked_thread_refuses_replies(room, client_for, engine):
    async with client_for(room.tenant) as client:
        first = await _thread(client, room, room.alice, kind="discussion", title="First")
        second = await _thread(client, room, room.bob, kind="discussion", title="Second")
        alice, owner, co = [await bearer_for(client, m) for m in (room.alice, room.owner, room.co)]
        for learner in (alice, await bearer_for(client, room.bob)):
            problem_of(await client.patch(f"/api/v1/threads/{first['id']}", json={"pinned": True},
                                          headers=learner), 403)
            problem_of(await client.patch(f"/api/v1/threads/{first['id']}", json={"locked": True},
                                          headers=learner), 403)
        pinned = await client.patch(f"/api/v1/threads/{first['id']}", json={"pinned": True}, headers=co)
        assert pinned.status_code == 200 and pinned.json()["pinned"]
        listed = (await client.get(f"/api/v1/courses/{room.course_id}/threads", headers=alice)).json()["items"]
        assert [t["title"] for t in listed] == ["First", "Second"]  # pinned first, then latest activity

        locked = await client.patch(f"/api/v1/threads/{second['id']}", json={"locked": True}, headers=owner)
        assert locked.json()["locked"]
        refused = problem_of(await client.post(f"/api/v1/threads/{second['id']}/posts", json={"body": "late"},
                                               headers=alice), 409)
        assert "locked" in refused["detail"]
        problem_of(await client.post(f"/api/v1/threads/{second['id']}/posts", json={"body": "me too"},
                                     headers=owner), 409)
        unlocked = await client.patch(f"/api/v1/threads/{second['id']}", json={"locked": False}, headers=owner)
        assert not unlocked.json()["locked"]
        assert (await client.post(f"/api/v1/threads/{second['id']}/posts", json={"body": "now"},
                                  headers=alice)).status_code == 201
    actions = [e.action for e in await audit_entries(engine, room.tenant) if e.action.startswith("discussion.")]
    assert actions == ["discussion.thread_pinned", "discussion.thread_locked", "discussion.thread_unlocked"]


async def test_accepting_an_answer(room, client_for):
    async with client_for(room.tenant) as client:
        question = await _thread(client, room, room.alice)
        talk = await _thread(client, room, room.bob, kind="discussion")
        alice, bob, owner = [await bearer_for(client, m) for m in (room.alice, room.bob, room.owner)]
        answer = (await client.post(f"/api/v1/threads/{question['id']}/posts", json={"body": "Mitosis."},
                                    headers=owner)).json()
        guess = (await client.post(f"/api/v1/threads/{question['id']}/posts", json={"body": "Both?"},
                                   headers=bob)).json()
        opening = (await client.get(f"/api/v1/threads/{question['id']}/posts", headers=alice)).json()["items"][0]
        problem_of(await client.patch(f"/api/v1/threads/{question['id']}", json={"accepted_post_id": answer["id"]},
                                      headers=bob), 403)  # another learner
        problem_of(await client.patch(f"/api/v1/threads/{question['id']}",
                                      json={"accepted_post_id": opening["id"]}, headers=alice), 409)
        problem_of(await client.patch(f"/api/v1/threads/{question['id']}",
                                      json={"accepted_post_id": str(uuid.uuid4())}, headers=alice), 404)
        problem_of(await client.patch(f"/api/v1/threads/{talk['id']}", json={"accepted_post_id": None},
                                      headers=bob), 409)  # not a question
        accepted = await client.patch(f"/api/v1/threads/{question['id']}", json={"accepted_post_id": guess["id"]},
                                      headers=alice)
        assert accepted.json()["accepted_post_id"] == guess["id"]
        accepted = await client.patch(f"/api/v1/threads/{question['id']}",
                                      json={"accepted_post_id": answer["id"]}, headers=owner)  # staff may too
        assert accepted.json()["accepted_post_id"] == answer["id"]
        posts = (await client.get(f"/api/v1/threads/{question['id']}/posts", headers=bob)).json()["items"]
        assert [p["accepted"] for p in posts] == [False, True, False]
        cleared = await client.patch(f"/api/v1/threads/{question['id']}", json={"accepted_post_id": None},
                                     headers=alice)
        assert cleared.json()["accepted_post_id"] is None


async def test_report_once_hide_and_restore_with_the_audit_trail(room, client_for, engine):
    async with client_for(room.tenant) as client:
        thread = await _thread(client, room, room.bob, kind="discussion", body="Buy cheap watches here")
        alice, bob, owner, stranger = [await bearer_for(client, m)
                                       for m in (room.alice, room.bob, room.owner, room.stranger)]
        post_id = (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=alice)).json()["items"][0]["id"]
        report = await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "Spam"}, headers=alice)
        assert report.status_code == 201 and report.json()["status"] == "open"
        again = problem_of(await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "Spam!"},
                                             headers=alice), 409)
        assert "already" in again["detail"]
        own = problem_of(await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "x"}, headers=bob),
                         409)
        assert "your own" in own["detail"]
        problem_of(await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": "Spam"}, headers=bob), 403)
        problem_of(await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": "Spam"}, headers=stranger),
                   404)
        problem_of(await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": " "}, headers=owner), 400)
        hidden = await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": "Advertising"}, headers=owner)
        assert hidden.status_code == 200 and hidden.json()["hidden"] and hidden.json()["body"]
        problem_of(await client.post(f"/api/v1/posts/{post_id}/hide", json={"reason": "again"}, headers=owner), 409)
        seen = (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=alice)).json()["items"][0]
        assert seen["hidden"] and seen["body"] is None and seen["body_html"] is None
        seen = (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=owner)).json()["items"][0]
        assert seen["hidden"] and seen["body"] == "Buy cheap watches here" and seen["hidden_reason"] == "Advertising"
        problem_of(await client.post(f"/api/v1/posts/{post_id}/report", json={"reason": "x"}, headers=bob), 404)
        restored = await client.post(f"/api/v1/posts/{post_id}/restore", headers=owner)
        assert restored.status_code == 200 and not restored.json()["hidden"]

        hidden_thread = await client.post(f"/api/v1/threads/{thread['id']}/hide", json={"reason": "Off topic"},
                                          headers=await bearer_for(client, room.admin))
        assert hidden_thread.json()["hidden"] and hidden_thread.json()["title"] == thread["title"]
        for_learner = (await client.get(f"/api/v1/threads/{thread['id']}", headers=alice)).json()
        assert for_learner["hidden"] and for_learner["title"] is None
        assert (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=alice)).json()["items"] == []
        problem_of(await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "x"}, headers=alice),
                   409)
        assert (await client.post(f"/api/v1/threads/{thread['id']}/restore", headers=owner)).status_code == 200
    reports = await count(engine, room.tenant, DiscussionReport, status="hidden")
    assert reports == 1  # hiding resolved the open report
    entries = [e for e in await audit_entries(engine, room.tenant) if e.action.startswith("discussion.")]
    assert [e.action for e in entries] == ["discussion.post_hidden", "discussion.post_restored",
                                           "discussion.thread_hidden", "discussion.thread_restored"]
    assert entries[0].details["reason"] == "Advertising" and entries[0].subject_email is None
    assert entries[0].actor_email == room.owner.email and entries[2].actor_email == room.admin.email


async def test_malformed_input_is_refused(room, client_for):
    async with client_for(room.tenant) as client:
        headers = await bearer_for(client, room.alice)
        base = f"/api/v1/courses/{room.course_id}/threads"
        problem_of(await client.post(base, json={"title": "", "body": "b"}, headers=headers), 400)
        problem_of(await client.post(base, json={"title": "t" * 201, "body": "b"}, headers=headers), 400)
        problem_of(await client.post(base, json={"title": "t", "body": "b" * 20_001}, headers=headers), 400)
        problem_of(await client.post(base, json={"title": "t", "body": "b", "kind": "poll"}, headers=headers), 400)
        problem_of(await client.post(base, json={"title": "t\u0000", "body": "b"}, headers=headers), 400)
        problem_of(await client.post(base, json={"title": "t", "body": "b", "extra": 1}, headers=headers), 400)
        problem_of(await client.get(f"{base}?page=99999999999999999999", headers=headers), 400)
        problem_of(await client.get(f"{base}?q={'x' * 101}", headers=headers), 400)
        problem_of(await client.get("/api/v1/courses/not-a-uuid/threads", headers=headers), 404)
        problem_of(await client.get("/api/v1/threads/not-a-uuid", headers=headers), 404)
        problem_of(await client.post("/api/v1/posts/nope/report", json={"reason": "x"}, headers=headers), 404)
        response = await client.post(base, content=b'{"title": "\xff", "body": "b"}',
                                     headers={**headers, "content-type": "application/json"})
        problem_of(response, 400)


async def test_posting_is_rate_limited(room, client_for):
    async with client_for(room.tenant) as client:
        thread = await _thread(client, room, room.bob, kind="discussion")
        headers = await bearer_for(client, room.bob)
        statuses = [(await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": f"n{i}"},
                                       headers=headers)).status_code for i in range(7)]
    assert statuses == [201] * 5 + [429, 429]  # 6 posts a minute, the opening one included


async def test_recent_questions_for_the_teachers_home(room, client_for, engine):
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.discussions.service import recent_questions
    from tests.integration.groups.conftest import tenant_session

    async with client_for(room.tenant) as client:
        open_q = await _thread(client, room, room.alice, title="Open question")
        answered = await _thread(client, room, room.bob, title="Answered question")
        await _thread(client, room, room.bob, kind="discussion", title="Just talk")
        owner = await bearer_for(client, room.owner)
        reply = (await client.post(f"/api/v1/threads/{answered['id']}/posts", json={"body": "a"},
                                   headers=owner)).json()
        await client.patch(f"/api/v1/threads/{answered['id']}", json={"accepted_post_id": reply["id"]},
                           headers=owner)
    async with tenant_session(engine, room.tenant) as session:
        for member, expected in ((room.owner, [open_q["id"]]), (room.co, [open_q["id"]]), (room.stranger, []),
                                 (room.alice, [])):
            user = await session.get(User, member.id)
            found = await recent_questions(session, user)
            assert [str(t.id) for t, _title in found] == expected
            assert all(title == "Biology" for _t, title in found)
