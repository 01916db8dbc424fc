"""Test support that talks to real things: an SMTP sink (aiosmtpd) and a SAQ worker draining the test queue."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


class MailSink:
    """A real SMTP server on 127.0.0.1 collecting every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = _Collector()
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self.collector.lock:
            return [m for m in self.collector.messages if address.lower() in str(m["To"]).lower()]

    def last_to(self, address: str, subject_contains: str = "", timeout: float = 10.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject_contains in str(m["Subject"])]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} with {subject_contains!r} in the subject")
            time.sleep(0.05)


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def link_in(msg: EmailMessage, path: str) -> str:
    """The first absolute link in the text part whose path starts with ``path``."""
    match = re.search(rf"https?://[^\s]+{re.escape(path)}[^\s]*", text_of(msg))
    if match is None:
        raise AssertionError(f"no {path} link in: {text_of(msg)!r}")
    return match.group(0)


class JobDrainer:
    """Runs every job waiting on the test queues with real SAQ workers (one per queue), then returns (no background
    thread). ``self.worker`` is the ``default`` queue's."""

    def __init__(self, settings: Any, engine: Any) -> None:
        from tajiconnect.worker import create_workers

        self.workers = create_workers(settings, concurrency=1, burst=True)
        self.worker = self.workers[0]
        self.queues = self.worker.routing
        for worker in self.workers:
            worker.dequeue_timeout = 0.05
            worker.context.update(engine=engine, settings=settings, queue=self.queues)
        self.connected = False

    async def __call__(self, max_jobs: int = 100) -> int:
        if not self.connected:
            await self.queues.connect()
            self.connected = True
        done = 0
        progressed = True
        while done < max_jobs and progressed:  # until no queue has anything (a job may enqueue on another)
            progressed = False
            for worker in self.workers:
                # (Jobs scheduled for a later time, such as retries and fan-out ticks, become queued on Redis only
                # when a real worker's upkeep calls schedule(): drain those on PostgreSQL, where dequeue finds them.)
                while done < max_jobs and await worker.process():
                    done += 1
                    progressed = True
        return done

    async def close(self) -> None:
        if self.connected:
            await self.queues.disconnect()


async def asgi_request(
    app: Any,
    method: str,
    path: str,
    *,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    query: bytes = b"",
    raw_path: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app, headers exactly as given (no client adds or merges any).

    The app's lifespan must be running (inside an ``async with client_for(...)`` block).
    """
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
        "path": path, "raw_path": raw_path if raw_path is not None else path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443),
        "state": {},
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, out_headers, chunks = 0, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


class LocalServer:
    """A server process of this venv on 127.0.0.1 and a free port: ``start()`` waits until ``probe`` answers,
    ``stop()`` ends the process it started (and only that one). Subclasses name the command and the probe."""

    name = "server"
    probe = "/"

    def __init__(self) -> None:
        self.port = free_port()
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20.0) -> None:
        import subprocess
        import urllib.request

        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}{self.probe}", timeout=1):  # noqa: S310 (http, our own)
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()
        self.process = None


class MotoServer(LocalServer):
    """A real S3-compatible server (moto in server mode, from this venv), for the storage tests. Nothing is
    downloaded. moto does not verify presigned signatures: authorization is tested in the app itself."""

    name = "moto_server"
    probe = "/moto-api/"

    def command(self) -> list[str]:
        import sys
        from pathlib import Path

        return [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)]


class LocalStripe(LocalServer):
    """A fake Stripe API (localstripe, from this venv), for the billing tests; see ``tests/localstripe_server.py``.
    The tests deliver its events to the app themselves, signed (localstripe's own delivery is not used)."""

    name = "localstripe"
    probe = "/_config/requests"

    def command(self) -> list[str]:
        import sys
        from pathlib import Path

        return [sys.executable, str(Path(__file__).with_name("localstripe_server.py")), str(self.port)]

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The Checkout and portal requests the stand-ins recorded (optionally only those to ``path``)."""
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/_config/requests", timeout=5) as answer:  # noqa: S310
            recorded = json.loads(answer.read())
        return [r for r in recorded if path is None or r["path"] == path]
