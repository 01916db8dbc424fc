"""Notifications' test tools: telling a member something, a stand-in for Africa's Talking, a tenant with SMS on."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications.service import notify
from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.tenancy.branding import TENANTS_DIR
from tajiconnect.tenancy.context import tenant_context
from tests.support import JobDrainer

SMS_KEY_ENV = "TAJI_TEST_AT_KEY"
SMS_KEY = "at-test-key-" + uuid.uuid4().hex[:8]


async def tell(engine: Any, tenant: Any, member_id: uuid.UUID, drainer: JobDrainer, *, category: str = "graded",
               key: str | None = None, title: str = "Your essay was graded", body: str = "",
               link: str | None = "/learn/grades", data: dict[str, Any] | None = None) -> uuid.UUID | None:
    """``notify`` in its own committed transaction, its delivery job enqueued on ``drainer``'s queues."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            user = await session.get(User, member_id)
            created = await notify(session, user, category, key=key or f"test:{uuid.uuid4()}", title=title,
                                   body=body, link=link, data=data)
        if not drainer.connected:
            await drainer.queues.connect()
            drainer.connected = True
        await dispatch_committed(session, drainer.queues)
    return created


class SmsStandIn:
    """A local HTTP server answering like Africa's Talking's ``POST /version1/messaging``; keeps what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = False
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stand_in.received.append({"path": self.path, "api_key": self.headers.get("apiKey"), **form})
                if stand_in.fail:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"provider down")
                    return
                answer = {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{
                    "statusCode": 101, "number": form.get("to"), "status": "Success", "cost": "KES 0.8000",
                    "messageId": f"ATXid_{len(stand_in.received)}"}]}}
                body = json.dumps(answer).encode()
                self.send_response(201)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmsStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_server() -> Iterator[SmsStandIn]:
    with SmsStandIn() as server:
        yield server


@pytest.fixture
async def sms_jobs(settings, engine, sms_server) -> AsyncIterator[JobDrainer]:
    """Workers whose settings point the SMS SDK at the stand-in (``TAJI_SMS_API_URL``)."""
    drainer = JobDrainer(dataclasses.replace(settings, sms_api_url=sms_server.url), engine)
    yield drainer
    await drainer.close()


@pytest.fixture
async def sms_org(new_org, monkeypatch) -> AsyncIterator[Any]:
    """An organization with SMS on in its ``tenants/<slug>/tenant.toml``, the key in the environment."""
    org = await new_org("sms")
    folder = TENANTS_DIR / org.tenant.slug
    folder.mkdir()
    (folder / "tenant.toml").write_text(
        f'slug = "{org.tenant.slug}"\n\n[sms]\nenabled = true\nusername = "testorg"\nsender_id = "TESTORG"\n'
        f'api_key_env = "{SMS_KEY_ENV}"\n'
    )
    monkeypatch.setenv(SMS_KEY_ENV, SMS_KEY)
    yield org
    shutil.rmtree(folder)
