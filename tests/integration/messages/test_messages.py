"""Sending, reading and unread counts, attachments, notifications, reports and moderation, the pages."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tajiconnect.domains.notifications.models import Notification
from tests.integration.conftest import (
    audit_entries,
    bearer_for,
    drain,
    post_form,
    problem_of,
    statements,
)
from tests.integration.groups.conftest import tenant_session
from tests.integration.messages.conftest import build_school

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


async def _conversation(client, a, b) -> str:
    response = await client.post("/api/v1/conversations", json={"to": str(b.id)}, headers=await bearer_for(client, a))
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


async def _send(client, member, cid, body, **extra):
    return await client.post(f"/api/v1/conversations/{cid}/messages", json={"body": body, **extra},
                             headers=await bearer_for(client, member))


async def _message_notifications(engine, tenant, user_id):
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.category == "message"))).all())


async def test_unread_counts_history_and_notifications(new_org, make_user, engine, client_for, signed_in, run_jobs):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = await _conversation(client, s.parent, s.teacher)
        for n in range(3):
            assert (await _send(client, s.teacher, cid, f"About Lea, note {n}")).status_code == 201
        await drain(run_jobs)
        told = await _message_notifications(engine, s.org.tenant, s.parent.id)
        assert len(told) == 1 and "Tess Teacher" in told[0].title and told[0].link == f"/messages/{cid}"
        assert await _message_notifications(engine, s.org.tenant, s.teacher.id) == []  # not the sender
        parent = await bearer_for(client, s.parent)
        listing = (await client.get("/api/v1/conversations", headers=parent)).json()
        assert listing["unread_total"] == 3 and listing["items"][0]["unread"] == 3
        assert listing["items"][0]["title"] == "Tess Teacher"
        assert (await client.get("/api/v1/conversations",
                                 headers=await bearer_for(client, s.teacher))).json()["unread_total"] == 0
        # History: newest last, with a cursor for older ones.
        page = (await client.get(f"/api/v1/conversations/{cid}/messages?limit=2", headers=parent)).json()
        assert [m["body"] for m in page["items"]] == ["About Lea, note 1", "About Lea, note 2"]
        older = (await client.get(f"/api/v1/conversations/{cid}/messages?limit=2&before={page['older']}",
                                  headers=parent)).json()
        assert [m["body"] for m in older["items"]] == ["About Lea, note 0"] and older["older"] is None
        problem_of(await client.get(f"/api/v1/conversations/{cid}/messages?limit=1000", headers=parent), 400)
        read = await client.post(f"/api/v1/conversations/{cid}/read", headers=parent)
        assert read.status_code == 200 and read.json() == {"unread_total": 0}
        # A new stretch of unread messages: one more notification, not one per message.
        await _send(client, s.teacher, cid, "One more thing")
        await _send(client, s.teacher, cid, "And another")
        await drain(run_jobs)
        assert len(await _message_notifications(engine, s.org.tenant, s.parent.id)) == 2
    async with signed_in(s.parent) as browser:
        count = await browser.get("/messages/count")
        assert 'data-count="2"' in count.text
        # One indexed COUNT, like the bell's (the rest is the request's own: session, member, tenant).
        assert await statements(browser, "/messages/count") <= await statements(browser, "/notifications/count")
        page = await browser.get(f"/messages/{cid}")
        assert page.status_code == 200 and "And another" in page.text and "/messages/stream" in page.text
        assert 'data-count="0"' in (await browser.get("/messages/count")).text  # opening it marks it read
        home = await browser.get("/messages")
        assert f"/messages/{cid}" in home.text and "Tess Teacher" in home.text


async def test_the_list_costs_the_same_for_many_conversations(new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = await _conversation(client, s.admin, s.teacher)
        await _send(client, s.admin, cid, "hello")
    async with signed_in(s.teacher) as browser:
        few = await statements(browser, "/messages")
    async with client_for(s.org.tenant) as client:
        for member in (s.learner, s.parent, s.other_teacher, s.manager):
            cid = await _conversation(client, member, s.teacher)
            await _send(client, member, cid, "hi")
    async with signed_in(s.teacher) as browser:
        assert await statements(browser, "/messages") == few


async def test_pages_start_send_and_refuse_bad_input(new_org, make_user, engine, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with signed_in(s.parent) as browser:
        picker = await browser.get("/messages/new")
        assert "Tess Teacher" in picker.text and "Otto Other" not in picker.text and "Lena Learner" not in picker.text
        assert (await browser.get(f"/messages/new?to={s.other_teacher.id}")).status_code == 404
        assert (await browser.get("/messages/new?to=nonsense")).status_code == 404
        form = await browser.get(f"/messages/new?to={s.teacher.id}")
        assert form.status_code == 200 and 'name="body"' in form.text
        started = await post_form(browser, "/messages/new", {"to": str(s.teacher.id), "body": "Dear teacher"})
        assert started.status_code == 303
        cid = started.headers["location"].rsplit("/", 1)[-1]
        # Known conversation: the link opens it.
        again = await browser.get(f"/messages/new?to={s.teacher.id}")
        assert again.status_code == 303 and again.headers["location"] == f"/messages/{cid}"
        too_long = await post_form(browser, f"/messages/{cid}/send", {"body": "x" * 4001})
        assert too_long.status_code == 422 and "at most" in too_long.text and "x" * 100 in too_long.text
        empty = await post_form(browser, f"/messages/{cid}/send", {"body": "   "})
        assert empty.status_code == 422
        ok = await post_form(browser, f"/messages/{cid}/send", {"body": "<b>bold?</b>"})
        assert ok.status_code == 303
        page = await browser.get(f"/messages/{cid}")
        assert "&lt;b&gt;bold?&lt;/b&gt;" in page.text and "<b>bold?</b>" not in page.text
        assert (await post_form(browser, f"/messages/{cid}/leave")).status_code == 409  # direct: mute instead
        assert (await post_form(browser, f"/messages/{cid}/mute", {"muted": "1"})).status_code == 303
        assert (await browser.get("/messages/00000000-0000-0000-0000-000000000000")).status_code == 404
    async with signed_in(s.unlinked_parent) as stranger:
        assert (await stranger.get(f"/messages/{cid}")).status_code == 404
        assert (await post_form(stranger, f"/messages/{cid}/send", {"body": "intrude"})).status_code == 404
    async with signed_in(s.teacher) as teacher:
        parents = await teacher.get(f"/messages/new?parents_of={s.learner.id}")
        assert parents.status_code == 200 and "Pat Parent" in parents.text and "Uma Unlinked" not in parents.text
        groups = await teacher.get("/messages/new")
        assert str(s.group_id) in groups.text


async def test_attachments_only_for_members(new_org, make_user, engine, signed_in, client_for, settings):
    s = await build_school(new_org, make_user, engine)
    other = await build_school(new_org, make_user, engine)
    folder = settings.storage.directory / f"tenants/{s.org.tenant.id}"

    def objects() -> int:
        return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0

    async with signed_in(s.parent) as browser:
        started = await post_form(browser, "/messages/new", {"to": str(s.teacher.id)})
        cid = started.headers["location"].rsplit("/", 1)[-1]
        sent = await post_form(browser, f"/messages/{cid}/send", {"body": "the form"},
                               files={"file": ("form.png", PNG, "image/png")})
        assert sent.status_code == 303, sent.text
        refused = await post_form(browser, f"/messages/{cid}/send", {"body": "a page"},
                                  files={"file": ("x.png", b"<html><script>1</script></html>", "image/png")})
        assert refused.status_code == 415 and "a page" in refused.text
        # A message refused (too long) takes its file along: nothing is left in storage.
        kept = objects()
        too_long = await post_form(browser, f"/messages/{cid}/send", {"body": "x" * 5000},
                                   files={"file": ("late.png", PNG, "image/png")})
        assert too_long.status_code == 422 and objects() == kept
    async with client_for(s.org.tenant) as client:
        items = (await client.get(f"/api/v1/conversations/{cid}/messages",
                                  headers=await bearer_for(client, s.teacher))).json()["items"]
        message = items[-1]
        assert message["attachment"]["name"] == "form.png"
    async with signed_in(s.teacher) as teacher:
        link = await teacher.get(message["attachment"]["url"])
        assert link.status_code == 303 and "/files/" in link.headers["location"]
        assert (await teacher.get(link.headers["location"])).content == PNG
        # Someone else's file cannot be attached by id.
        async with tenant_session(engine, s.org.tenant) as session:
            from tajiconnect.domains.messages.models import Message

            file_id = (await session.get(Message, message["id"])).attachment_id
    async with client_for(s.org.tenant) as client:
        problem_of(await _send(client, s.teacher, cid, "", attachment_id=str(file_id)), 422)
    async with signed_in(s.unlinked_parent) as stranger:
        assert (await stranger.get(message["attachment"]["url"])).status_code == 404
    async with signed_in(other.admin) as foreign:
        assert (await foreign.get(message["attachment"]["url"])).status_code == 404
        assert (await foreign.get(link.headers["location"])).status_code == 404


async def test_reports_and_moderation(new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = await _conversation(client, s.learner, s.teacher)
        sent = (await _send(client, s.teacher, cid, "Rude words")).json()
        learner = await bearer_for(client, s.learner)
        problem_of(await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": " "},
                                     headers=learner), 422)
        reported = await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": "Not nice"},
                                     headers=learner)
        assert reported.status_code == 201 and reported.json()["status"] == "open"
        problem_of(await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": "Again"},
                                     headers=learner), 409)
        problem_of(await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": "mine"},
                                     headers=await bearer_for(client, s.teacher)), 409)
        problem_of(await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": "x"},
                                     headers=await bearer_for(client, s.parent)), 404)
    async with signed_in(s.teacher) as teacher:
        assert (await teacher.get("/admin/messages")).status_code == 403
    async with signed_in(s.admin) as admin:
        queue = await admin.get("/admin/messages")
        assert queue.status_code == 200 and "Rude words" in queue.text and "Not nice" in queue.text
        report_id = reported.json()["id"]
        assert (await post_form(admin, f"/admin/messages/{report_id}/hide", {"reason": ""})).status_code == 422
        assert (await post_form(admin, f"/admin/messages/{report_id}/hide",
                                {"reason": "Insulting"})).status_code == 303
        assert "Rude words" not in (await admin.get("/admin/messages")).text
    entries = await audit_entries(engine, s.org.tenant, "message.hidden")
    assert len(entries) == 1 and entries[0].details["reason"] == "Insulting" and entries[0].actor_id == s.admin.id
    async with client_for(s.org.tenant) as client:
        items = (await client.get(f"/api/v1/conversations/{cid}/messages",
                                  headers=await bearer_for(client, s.learner))).json()["items"]
        assert items[-1]["hidden"] is True and items[-1]["body"] == ""
    async with signed_in(s.learner) as browser:
        page = await browser.get(f"/messages/{cid}")
        assert "Rude words" not in page.text and "Hidden by a moderator." in page.text


async def test_sending_too_fast_is_refused(new_org, make_user, engine, client_for):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = await _conversation(client, s.teacher, s.parent)
        for n in range(20):
            assert (await _send(client, s.teacher, cid, f"m{n}")).status_code == 201
        problem_of(await _send(client, s.teacher, cid, "one too many"), 429)


async def test_malformed_input_is_a_4xx(new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = await _conversation(client, s.teacher, s.parent)
        auth = {**await bearer_for(client, s.teacher), "content-type": "application/json"}
        url = f"/api/v1/conversations/{cid}/messages"
        for raw in (b'{"body": "\\ud800"}', b'{"body": "a\\u0000b"}', b'{"body": "\xff"}', b'{"body": 1e999}',
                    b'{"body": "' + b"x" * 4001 + b'"}', b'{"attachment_id": "nope"}'):
            response = await client.post(url, content=raw, headers=auth)
            assert 400 <= response.status_code < 500, (raw[:40], response.status_code, response.text)
        for query in ("before=0", "before=99999999999999999999", "limit=0", "before=1.5"):
            assert (await client.get(f"{url}?{query}", headers=auth)).status_code == 400, query
    async with signed_in(s.teacher) as browser:
        assert (await browser.get(f"/messages/{cid}?before=-1")).status_code == 400
        assert (await browser.get("/messages/new?q=" + "x" * 200)).status_code == 400
