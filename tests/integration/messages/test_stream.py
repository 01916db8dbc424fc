"""Live delivery through the real stream: a member reading ``/messages/stream`` while another member sends."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import SESSION_COOKIE, bearer_for, post_form
from tests.integration.messages.conftest import Stream, build_school


async def test_a_member_receives_new_messages_live(app, new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    other = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = (await client.post("/api/v1/conversations", json={"to": str(s.teacher.id)},
                                 headers=await bearer_for(client, s.parent))).json()["id"]
        teacher = await bearer_for(client, s.teacher)
        async with signed_in(s.parent) as parent_browser, signed_in(s.unlinked_parent) as stranger_browser:
            parent_token = parent_browser.cookies.get(SESSION_COOKIE)
            stranger_token = stranger_browser.cookies.get(SESSION_COOKIE)
            async with Stream(app, s.org.tenant, parent_token) as parent, \
                    Stream(app, s.org.tenant, stranger_token) as stranger:
                assert parent.status == 200
                sent = await client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Lea did well"},
                                         headers=teacher)
                assert sent.status_code == 201
                assert await parent.wait_for(lambda: parent.messages())
                event = parent.messages()[0]
                assert event["body"] == "Lea did well" and event["conversation_id"] == cid
                assert event["sender"] == "Tess Teacher" and event["mine"] is False
                assert event["_id"] == str(sent.json()["seq"])
                await asyncio.sleep(2)  # the stranger's stream polled meanwhile and found nothing of theirs
                assert stranger.messages() == []
            # A stream starts after the member's own newest message, never the organization's: the stranger's
            # says nothing of how much others write.
            async with Stream(app, s.org.tenant, stranger_token) as stranger, \
                    Stream(app, s.org.tenant, parent_token) as parent:
                assert stranger.ready() == "0" and parent.ready() == event["_id"]
            # The page passes its last message: what was sent while it loaded still comes.
            async with Stream(app, s.org.tenant, parent_token, after=str(int(event["_id"]) - 1)) as page:
                assert page.ready() == str(int(event["_id"]) - 1)
                assert await page.wait_for(lambda: page.messages())
                assert page.messages()[0]["body"] == "Lea did well" and page.messages()[0]["at_label"]
            # Reconnecting with Last-Event-ID resumes after that event: the one sent meanwhile arrives.
            second = await client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "While you were away"},
                                       headers=teacher)
            async with Stream(app, s.org.tenant, parent_token, last_event_id=event["_id"]) as resumed:
                assert await resumed.wait_for(lambda: resumed.messages())
                assert [m["body"] for m in resumed.messages()] == ["While you were away"]
                assert resumed.messages()[0]["seq"] == second.json()["seq"]
            # The same session cookie means nothing on another organization's host.
            async with Stream(app, other.org.tenant, parent_token) as foreign:
                assert foreign.status in (303, 401)
            # The stream ends when the session does.
            async with Stream(app, s.org.tenant, parent_token) as ending:
                assert (await post_form(parent_browser, "/auth/sign-out")).status_code == 303
                assert await ending.wait_for(lambda: b"event: signed_out" in ending.body)
                assert await ending.wait_for(lambda: ending.finished, 5)
