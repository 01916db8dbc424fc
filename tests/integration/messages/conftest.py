"""The messages tests' school (``tests/integration/school.py``), and helpers to read the live stream through the
ASGI app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import host_of
from tests.integration.conftest import SESSION_COOKIE
from tests.integration.school import School
from tests.integration.school import build_school as shared_school


async def build_school(new_org: Any, make_user: Any, engine: Any, *, kind: str = "school") -> School:
    return await shared_school(engine, new_org, make_user, "msg", kind=kind)


class Stream:
    """``GET /messages/stream`` read through the ASGI app as it arrives (a test client would wait for the end)."""

    def __init__(self, app: Any, tenant: Any, session_token: str, last_event_id: str | None = None,
                 after: str | None = None) -> None:
        headers = [(b"host", host_of(tenant).encode()), (b"accept", b"text/event-stream"),
                   (b"cookie", f"{SESSION_COOKIE}={session_token}".encode())]
        if last_event_id is not None:
            headers.append((b"last-event-id", last_event_id.encode()))
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
            "path": "/messages/stream", "raw_path": b"/messages/stream", "root_path": "",
            "query_string": f"after={after}".encode() if after is not None else b"",
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443), "state": {},
        }
        self.app = app
        self.status = 0
        self.body = b""
        self.finished = False  # the response's last body part was sent: the stream ended
        self.changed = asyncio.Event()
        self.hang_up = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Stream:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.hang_up.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                self.body += message.get("body", b"")
                self.finished = not message.get("more_body", False)
            self.changed.set()

        self.task = asyncio.create_task(self.app(self.scope, receive, send))
        await self.wait_for(lambda: b"event: ready" in self.body or (self.status and self.status != 200))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.hang_up.set()
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def wait_for(self, check: Any, seconds: float = 10) -> bool:
        async def loop() -> None:
            while not check():
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(loop(), seconds)
        except TimeoutError:
            return False
        return True

    def ready(self) -> str | None:
        """The ``ready`` event's data (the seq the stream starts after), checked to be its id too."""
        for block in self.body.decode().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if lines.get("event") == "ready":
                assert lines.get("id") == lines.get("data")
                return lines.get("data")
        return None

    def messages(self) -> list[dict[str, Any]]:
        found = []
        for block in self.body.decode().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if lines.get("event") == "message":
                found.append({**json.loads(lines["data"]), "_id": lines.get("id")})
        return found
