"""The in-app side: the bell's count live over server-sent events, the list, marking read, preferences (page and
API), and isolation: another member's or organization's notifications are never seen nor changed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.tenancy.context import tenant_context
from tests.conftest import host_of
from tests.integration.conftest import SESSION_COOKIE, bearer_for, post_form, problem_of
from tests.integration.notifications.conftest import tell


async def first_event(app: Any, tenant: Any, session_token: str, path: str = "/notifications/stream") -> tuple[
        int, dict[str, str], str]:
    """Open the event stream through the ASGI app and return once the first event has arrived (then hang up)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", host_of(tenant).encode()), (b"accept", b"text/event-stream"),
                    (b"cookie", f"{SESSION_COOKIE}={session_token}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443), "state": {},
    }
    hang_up = asyncio.Event()
    status, headers, body = 0, {}, b""
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            if b"\n\n" in body or b"\r\n\r\n" in body:
                hang_up.set()

    task = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(hang_up.wait(), timeout=10)
    finally:
        hang_up.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return status, headers, body.decode()


async def test_the_stream_sends_my_unread_count_only(app, new_org, make_user, engine, run_jobs, signed_in):
    org, other = await new_org("sse"), await new_org("sseo")
    member = await make_user(org.tenant, ["student"])
    stranger = await make_user(other.tenant, ["student"])
    neighbour = await make_user(org.tenant, ["student"])
    for _ in range(2):
        await tell(engine, org.tenant, member.id, run_jobs)
    for _ in range(3):
        await tell(engine, other.tenant, stranger.id, run_jobs)
        await tell(engine, org.tenant, neighbour.id, run_jobs)
    async with signed_in(member) as client:
        token = client.cookies.get(SESSION_COOKIE)
        status, headers, text = await first_event(app, org.tenant, token)
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert "event: unread" in text and "data: 2" in text
        count = await client.get("/notifications/count")
        assert count.status_code == 200 and 'data-count="2"' in count.text and 'hx-trigger="every 30s"' in count.text
        home = await client.get("/notifications")
        assert 'id="bell"' in home.text and "/notifications/stream" in home.text


async def test_mark_read_and_isolation(new_org, make_user, engine, run_jobs, signed_in, client_for):
    org, other = await new_org("mark"), await new_org("marko")
    member = await make_user(org.tenant, ["student"])
    neighbour = await make_user(org.tenant, ["student"])
    stranger = await make_user(other.tenant, ["student"])
    mine = [await tell(engine, org.tenant, member.id, run_jobs, title=f"Mine {n}") for n in range(3)]
    theirs = await tell(engine, org.tenant, neighbour.id, run_jobs, title="Neighbour's")
    foreign = await tell(engine, other.tenant, stranger.id, run_jobs, title="Foreign")

    async with signed_in(member) as client:
        for nid in (theirs, foreign, uuid.uuid4(), "not-a-uuid"):
            assert (await post_form(client, f"/notifications/{nid}/read")).status_code == 404
        opened = await post_form(client, f"/notifications/{mine[0]}/read", {"open": "1"})
        assert opened.status_code == 303 and opened.headers["location"] == "/learn/grades"
        page = await client.get("/notifications")
        assert "Neighbour&#39;s" not in page.text and "Neighbour's" not in page.text and "Foreign" not in page.text

        auth = await bearer_for(client, member)
        listing = (await client.get("/api/v1/notifications?unread=true", headers=auth)).json()
        assert listing["unread"] == 2 and {i["id"] for i in listing["items"]} == {str(mine[1]), str(mine[2])}
        for nid in (theirs, foreign):
            problem_of(await client.post(f"/api/v1/notifications/{nid}/read", headers=auth), 404)
        one = await client.post(f"/api/v1/notifications/{mine[1]}/read", headers=auth)
        assert one.status_code == 200 and one.json()["read_at"]
        assert (await client.post("/api/v1/notifications/read-all", headers=auth)).json() == {"marked": 1}
        assert (await client.get("/api/v1/notifications?unread=true", headers=auth)).json()["total"] == 0

    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            read = (await session.execute(select(Notification.read_at).where(Notification.id == theirs))).scalar()
    assert read is None  # the neighbour's stays unread


async def test_preferences_page_and_api(new_org, make_user, signed_in):
    org = await new_org("prefs")
    member = await make_user(org.tenant, ["student"])
    async with signed_in(member) as client:
        page = await client.get("/notifications/preferences")
        assert page.status_code == 200 and 'value="graded:email"' in page.text
        bad = await post_form(client, "/notifications/preferences", {
            "channel": ["graded:app", "due_soon:email"], "quiet_start": "22:00", "quiet_end": "",
            "phone": "0712 345", "digest_hour": "7"})
        assert bad.status_code == 422
        assert 'value="0712 345"' in bad.text and 'value="22:00"' in bad.text  # nothing typed is lost
        assert 'id="e-quiet_end"' in bad.text or 'id="e-quiet_start"' in bad.text
        bad_phone = await post_form(client, "/notifications/preferences", {
            "channel": ["graded:app"], "phone": "0712 345", "digest_hour": "7"})
        assert bad_phone.status_code == 422 and 'id="e-phone"' in bad_phone.text
        assert 'value="0712 345"' in bad_phone.text
        ok = await post_form(client, "/notifications/preferences", {
            "channel": ["graded:app", "graded:sms"], "quiet_start": "22:00", "quiet_end": "06:30",
            "daily_digest": "on", "digest_hour": "7", "phone": "+254712345678"})
        assert ok.status_code == 303

        auth = await bearer_for(client, member)
        got = (await client.get("/api/v1/notifications/preferences", headers=auth)).json()
        assert got["channels"]["graded"] == ["app", "sms"] and got["channels"]["due_soon"] == []
        assert got["quiet_start"] == "22:00" and got["quiet_end"] == "06:30" and got["digest_hour"] == 7
        assert got["daily_digest"] is True and got["phone"] == "+254712345678"

        body = {"channels": {"graded": ["email"]}, "quiet_start": "21:00", "quiet_end": None, "phone": None}
        refused = problem_of(await client.put("/api/v1/notifications/preferences", json=body, headers=auth), 409)
        assert refused["field"] == "quiet_end"
        problem_of(await client.put("/api/v1/notifications/preferences", headers=auth,
                                    json={"channels": {"graded": ["fax"]}}), 400)
        problem_of(await client.put("/api/v1/notifications/preferences", headers=auth,
                                    json={"channels": {}, "phone": "0712"}), 400)
        saved = await client.put("/api/v1/notifications/preferences", headers=auth,
                                 json={"channels": {"graded": ["email"]}, "daily_digest": False})
        assert saved.status_code == 200, saved.text
        assert saved.json()["channels"]["graded"] == ["email"] and saved.json()["quiet_start"] is None
