"""Mentions and subscriptions notify once per post and recipient (category ``discussion``), never the author,
never someone outside the course, and not someone who stopped following."""

from __future__ import annotations

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.discussions.tasks import notify_new_post
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for
from tests.integration.discussions.conftest import dispatch, notifications_of
from tests.integration.groups.conftest import tenant_session


async def test_mentions_and_subscriptions_notify_once(room, client_for, engine, run_jobs):
    async with client_for(room.tenant) as client:
        alice, bob, owner = [await bearer_for(client, m) for m in (room.alice, room.bob, room.owner)]
        # Mentions by name handle or email's local part; outsiders, a parent and the withdrawn are not members.
        body = ("@bobotieno, @TessaOwner: what is osmosis? cc @oscaroutsider @patparent @wendywithdrawn "
                f"@{room.alice.email.split('@')[0]}")
        created = await client.post(f"/api/v1/courses/{room.course_id}/threads",
                                    json={"kind": "question", "title": "Osmosis", "body": body}, headers=alice)
        assert created.status_code == 201
        thread = created.json()
        opening = (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=alice)).json()["items"][0]
        assert set(opening["mentioned_ids"]) == {str(room.bob.id), str(room.owner.id)}
        await dispatch(engine, room.tenant, run_jobs)

        for member in (room.bob, room.owner):
            [note] = await notifications_of(engine, room.tenant, member.id)
            assert note.title == "Alice Wanjiru mentioned you in Osmosis"
            assert note.link == f"/courses/{room.course_id}/discussions/{thread['id']}#post-{opening['id']}"
        for member in (room.alice, room.outsider, room.parent, room.withdrawn, room.co):
            assert await notifications_of(engine, room.tenant, member.id) == []

        # Bob replies: Alice follows her own thread; Bob is now subscribed too. The owner was only mentioned.
        reply = (await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "Water moves."},
                                   headers=bob)).json()
        await dispatch(engine, room.tenant, run_jobs)
        with tenant_context(room.tenant):  # the same post again (a rerun): nobody is notified twice
            assert (await notify_new_post({"engine": engine}, post_id=reply["id"]))["notified"] == 0
        await dispatch(engine, room.tenant, run_jobs)
        [note] = await notifications_of(engine, room.tenant, room.alice.id)
        assert note.title == "Bob Otieno replied in Osmosis"
        assert len(await notifications_of(engine, room.tenant, room.owner.id)) == 1
        assert len(await notifications_of(engine, room.tenant, room.bob.id)) == 1

        # Alice replies mentioning Bob, who also follows: one notification, the mention.
        await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "Thanks @bobotieno"},
                          headers=alice)
        await dispatch(engine, room.tenant, run_jobs)
        notes = await notifications_of(engine, room.tenant, room.bob.id)
        assert [n.title for n in notes] == ["Alice Wanjiru mentioned you in Osmosis"] * 2

        # Alice stops following (and says so explicitly: replying again does not follow again).
        patched = await client.patch(f"/api/v1/threads/{thread['id']}", json={"subscribed": False}, headers=alice)
        assert patched.json()["subscribed"] is False
        await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "Osmosis again"}, headers=alice)
        await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "More"}, headers=bob)
        await dispatch(engine, room.tenant, run_jobs)
        # The owner follows from now on.
        await client.patch(f"/api/v1/threads/{thread['id']}", json={"subscribed": True}, headers=owner)
        await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "Last one"}, headers=bob)
        await dispatch(engine, room.tenant, run_jobs)
        assert len(await notifications_of(engine, room.tenant, room.alice.id)) == 1
        assert [n.title for n in await notifications_of(engine, room.tenant, room.owner.id)] == [
            "Alice Wanjiru mentioned you in Osmosis", "Bob Otieno replied in Osmosis"]


async def test_a_hidden_post_notifies_nobody(room, client_for, engine, run_jobs):
    async with client_for(room.tenant) as client:
        alice, bob, owner = [await bearer_for(client, m) for m in (room.alice, room.bob, room.owner)]
        thread = (await client.post(f"/api/v1/courses/{room.course_id}/threads",
                                    json={"title": "T", "body": "Hello"}, headers=alice)).json()
        post = (await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "rude words @aliceWanjiru"},
                                  headers=bob)).json()
        await client.post(f"/api/v1/posts/{post['id']}/hide", json={"reason": "Rude"}, headers=owner)
        await dispatch(engine, room.tenant, run_jobs)
    assert await notifications_of(engine, room.tenant, room.alice.id) == []


async def test_only_who_may_read_is_notified(room, client_for, engine, run_jobs):
    """A co-teacher who follows the thread, then loses the teacher role (and so the course), is no longer notified:
    the recipients are chosen by the permissions that let one read, not by the course's staff list alone."""
    async with client_for(room.tenant) as client:
        alice, co = await bearer_for(client, room.alice), await bearer_for(client, room.co)
        thread = (await client.post(f"/api/v1/courses/{room.course_id}/threads",
                                    json={"title": "Cells", "body": "What is a cell?"}, headers=alice)).json()
        assert (await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "A unit of life."},
                                  headers=co)).status_code == 201  # the co-teacher follows by replying
        async with tenant_session(engine, room.tenant) as session:
            (await session.get(User, room.co.id)).roles = ["student"]
        await client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "Thanks!"}, headers=alice)
        await dispatch(engine, room.tenant, run_jobs)
        assert (await client.get(f"/api/v1/threads/{thread['id']}/posts", headers=co)).status_code == 404
    assert await notifications_of(engine, room.tenant, room.co.id) == []
    [note] = await notifications_of(engine, room.tenant, room.alice.id)  # Alice follows: the co-teacher's reply
    assert note.title == "Colin Co replied in Cells"
