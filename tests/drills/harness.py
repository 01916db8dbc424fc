"""What the fault drills run and break: real ``tajiconnect`` processes, a write load, a TCP proxy for the database.

Every process a drill starts carries ``TAJI_DRILL_ID=<random>`` in its environment, and so do its children (forked
granian workers, the task worker subprocess): :func:`marked_pids` finds them all through ``/proc``, however they
were started, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import inspect
import itertools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.support import MailSink, _Collector

ROOT = Path(__file__).resolve().parents[2]
MARKER = "TAJI_DRILL_ID"
T = TypeVar("T")


def wait_until(check: Callable[[], T], within: float, what: str, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (returned), failing with ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f}s: {what}")
        time.sleep(interval)


async def eventually(check: Callable[[], Any], within: float, what: str, interval: float = 0.1) -> Any:
    """:func:`wait_until` for a check that may be a coroutine function (awaited each time)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f}s: {what}")
        await asyncio.sleep(interval)


def server_port() -> int:
    """A free port below the kernel's ephemeral range, for a server a drill kills and starts again on that port.

    ``free_port()`` answers from the ephemeral range, where any outgoing connection of any process may take the
    port as its local one while the killed server is down; below that range only another bind can.
    """
    with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
        low = int(fh.read().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(min(20_000, low - 1_000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


# --- processes --------------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def marked_pids(marker: str) -> list[int]:
    """Live processes carrying ``marker`` in their environment (zombies are dead, only not yet reaped: left out)."""
    needle = f"{MARKER}={marker}\0".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle not in fh.read():
                    continue
        except OSError:  # gone meanwhile, or not ours
            continue
        stat = _stat(int(entry))
        if stat is not None and stat[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    return [
        int(entry) for entry in os.listdir("/proc")
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] == pid and stat[0] not in ("Z", "X")
    ]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def drill_env(database_url: str, smtp_url: str, queue: str) -> dict[str, str]:
    """The environment of the drill's processes: the test database, the drill's mail sink and queue."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMTP_URL": smtp_url,
        "TAJI_QUEUE_NAME": queue,
        "TAJI_BASE_DOMAIN": "localhost",
        "TAJI_PUBLIC_SCHEME": "http",
        "TAJI_SECURE_COOKIES": "0",
        "TAJI_SECRET_KEY": "drill-secret-" + secrets.token_hex(16),
        "TAJI_LOG_LEVEL": "WARNING",
        "TAJI_TENANT_CACHE_SECONDS": "0",  # every request resolves its host in the database
        "TAJI_DB_POOL_SIZE": "5",  # several servers may run at once on a shared test server
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # queue and sessions in PostgreSQL: nothing shared with other test runs
    env.pop("TAJI_PUBLIC_PORT", None)
    return env


@dataclass
class Proc:
    """A ``tajiconnect`` command run by a drill, in a session of its own, with its own marker."""

    args: list[str]
    env: dict[str, str]
    log: Path
    marker: str = field(default_factory=lambda: secrets.token_hex(6))
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        with self.log.open("a") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "tajiconnect.cli", *self.args],
                env={**self.env, MARKER: self.marker},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL this process only (not its children), and reap it."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait(timeout=5)

    def stop(self) -> None:
        """Make sure nothing of it is left: SIGTERM the process, then SIGKILL whatever still carries the marker."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=3)  # type: ignore[union-attr]
        for pid in marked_pids(self.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def tail(self) -> str:
        return log_tail(self.log)


@dataclass
class Server(Proc):
    """``tajiconnect run`` on 127.0.0.1:<port>."""

    port: int = 0

    @classmethod
    def of(cls, env: dict[str, str], port: int, log: Path, *, with_worker: bool) -> Server:
        args = ["run", "--host", "127.0.0.1", "--port", str(port)] + (["--with-worker"] if with_worker else [])
        return cls(args=args, env={**env, "TAJI_PUBLIC_PORT": str(port)}, log=log, port=port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def host(self, slug: str | None = None) -> str:
        return f"{slug}.localhost:{self.port}" if slug else f"localhost:{self.port}"

    def health(self, slug: str | None = None, timeout: float = 5.0) -> int | None:
        """The status of ``/health`` on that host, or None when nothing answers."""
        try:
            return httpx.get(self.url("/health"), headers={"host": self.host(slug)}, timeout=timeout).status_code
        except httpx.HTTPError:
            return None

    def wait_answering(self, timeout: float = 60.0, status: int = 200) -> None:
        """Wait until ``/health`` answers ``status`` (the process must stay up meanwhile)."""

        def answered() -> bool:
            if not self.alive():
                raise AssertionError(f"the server exited ({self.popen.returncode}):\n{self.tail()}")  # type: ignore[union-attr]
            return self.health(timeout=2) == status

        try:
            wait_until(answered, timeout, f"/health answering {status}", interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.tail()}") from None

    def task_workers(self) -> list[int]:
        """The task worker of ``--with-worker``: a child of ``run`` running ``tajiconnect.cli worker``."""
        return [pid for pid in children(self.pid) if "tajiconnect.cli worker" in cmdline(pid)]

    def server_workers(self) -> list[int]:
        """Granian's serving processes: children of ``run`` forked from it (the task worker is another command)."""
        return [pid for pid in children(self.pid) if " run " in f" {cmdline(pid)} "]


def worker_proc(env: dict[str, str], log: Path, *args: str) -> Proc:
    return Proc(args=["worker", *args], env=env, log=log)


# --- the API ----------------------------------------------------------------------------------------------------


def api_token(server: Server, slug: str, email: str, password: str) -> str:
    response = httpx.post(
        server.url("/api/v1/auth/token"), json={"email": email, "password": password},
        headers={"host": server.host(slug)}, timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


#: The invitation limit counts per client address (20 an hour in a tenant): each address sends at most this many.
PER_ADDRESS = 15
_addresses = itertools.count(1)
_addresses_lock = threading.Lock()


def next_address() -> str:
    """A loopback address not used before by this test process (all of 127/8 is local on Linux)."""
    with _addresses_lock:
        n = next(_addresses)
    return f"127.{100 + n // 62_500}.{(n // 250) % 250}.{n % 250 + 1}"


@dataclass
class Invite:
    email: str
    key: str

    @property
    def body(self) -> dict[str, Any]:
        return {"email": self.email, "name": "Drill member", "roles": ["student"]}


class InviteLoad:
    """Threads inviting members through ``POST /api/v1/users``, each request with its own ``Idempotency-Key``.

    ``acked`` maps each email whose 201 arrived to the member id in the answer; ``interrupted`` lists the requests
    that got no answer at all (connection refused, reset or closed); ``other`` counts any other status.
    """

    def __init__(self, server: Server, slug: str, token: str, *, threads: int = 4, prefix: str = "m") -> None:
        self.server, self.slug, self.token = server, slug, token
        self.prefix = f"{prefix}{secrets.token_hex(3)}"
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}
        self.interrupted: list[Invite] = []
        self.other: dict[int, int] = {}
        self.errors: dict[str, int] = {}  # transport errors by kind
        self.failures: list[BaseException] = []
        self._numbers = itertools.count()

    def __enter__(self) -> InviteLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        if self.failures:
            raise AssertionError(f"the load failed: {self.failures[0]!r}") from self.failures[0]

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def _run(self) -> None:
        client: httpx.Client | None = None
        sent = 0  # on this client's address
        try:
            while not self.stopping.is_set():
                if client is None or sent >= PER_ADDRESS:
                    if client is not None:
                        client.close()
                    client, sent = new_client(self.server, self.slug, self.token, next_address()), 0
                n = next(self._numbers)
                invite = Invite(f"{self.prefix}-{n}@drill.example", f"{self.prefix}-{n}")
                sent += 1
                try:
                    response = client.post("/api/v1/users", json=invite.body, headers={"idempotency-key": invite.key})
                except httpx.TransportError as exc:
                    with self.lock:
                        self.interrupted.append(invite)
                        self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                    client.close()
                    client = None
                    time.sleep(0.02)  # nothing listens, or the connection broke: do not spin
                    continue
                with self.lock:
                    if response.status_code == 201:
                        self.acked[invite.email] = response.json()["id"]
                    else:
                        self.other[response.status_code] = self.other.get(response.status_code, 0) + 1
        except BaseException as exc:  # reported by stop(), never lost in a thread
            self.failures.append(exc)
        finally:
            if client is not None:
                client.close()


def new_client(server: Server, slug: str, token: str, address: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{server.port}",
        headers={"host": server.host(slug), "authorization": f"Bearer {token}"},
        transport=httpx.HTTPTransport(local_address=address),
        timeout=15,
    )


def post_invite(server: Server, slug: str, token: str, invite: Invite, address: str) -> httpx.Response:
    with new_client(server, slug, token, address) as client:
        return client.post("/api/v1/users", json=invite.body, headers={"idempotency-key": invite.key})


# --- the database, through a proxy that can be cut --------------------------------------------------------------


def database_target(url: str) -> tuple[str, int] | str:
    """Where ``url``'s server listens: (host, port) for TCP, or the path of its Unix socket."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "")
    port = int(params.get("port") or 0)
    if not port:
        with psycopg.connect(url) as conn:
            port = int(conn.execute("SELECT current_setting('port')").fetchone()[0])  # type: ignore[index]
    if not host or host.startswith("/"):
        return f"{host or '/var/run/postgresql'}/.s.PGSQL.{port}"
    return host, port


def proxied_url(url: str, port: int) -> str:
    """``url`` with its server replaced by 127.0.0.1:``port`` (same user, password and database)."""
    params = conninfo_to_dict(url)
    user = params.get("user") or "postgres"
    password = f":{params['password']}" if params.get("password") else ""
    return f"postgresql://{user}{password}@127.0.0.1:{port}/{params['dbname']}"


class DatabaseProxy:
    """A TCP proxy on 127.0.0.1 to the database server (TCP or Unix socket), in a thread with its own event loop.

    ``cut()`` resets every forwarded connection and stops listening, so that new connections are refused, as when
    the database server crashes; ``restore()`` listens again, on the same port (:func:`server_port`).
    """

    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target
        self.port = server_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.transports: set[asyncio.BaseTransport] = set()

    def __enter__(self) -> DatabaseProxy:
        self.thread.start()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._restore())

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for transport in list(self.transports):
            transport.abort()  # a reset
        self.transports.clear()

    async def _restore(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self.target, str):
                up_reader, up_writer = await asyncio.open_unix_connection(self.target)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer.transport, up_writer.transport)
        self.transports.update(pair)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        for transport in pair:
            self.transports.discard(transport)
            transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):  # the other side was reset or closed
            pass
        finally:
            writer.transport.abort()


# --- mail -------------------------------------------------------------------------------------------------------


class _SlowCollector(_Collector):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


class DrillMailSink(MailSink):
    """The drill's own SMTP sink. With ``delay``, each message is answered after that many seconds; it counts as
    accepted (and is collected) only when the 250 reply goes out, as with a real server."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.collector = _SlowCollector(delay)
        self.controller.handler = self.collector

    def recipients(self) -> dict[str, int]:
        """How many messages each address received."""
        with self.collector.lock:
            counts: dict[str, int] = {}
            for message in self.collector.messages:
                address = email.utils.parseaddr(str(message["To"]))[1].lower()
                counts[address] = counts.get(address, 0) + 1
            return counts


# --- the database -----------------------------------------------------------------------------------------------


async def tenant_sql(engine: AsyncEngine, tenant: TenantRef, sql: str) -> list[Any]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.execute(text(sql))).all())


async def ledger(engine: AsyncEngine, tenant: TenantRef) -> dict[str, tuple[str, int, int]]:
    """Every member a drill invited (all but the first admin), whatever their state: email -> (id,
    ``user.invited`` audit entries, invitation outbox rows)."""
    rows = await tenant_sql(engine, tenant, """
        SELECT u.email, u.id::text,
               (SELECT count(*) FROM audit_log a WHERE a.action = 'user.invited' AND a.target_id = u.id::text),
               (SELECT count(*) FROM outbox o
                 WHERE o.task = 'send_email' AND o.kwargs->>'template' = 'invite' AND o.kwargs->>'to' = u.email)
          FROM users u WHERE u.email LIKE '%@drill.example'
    """)
    return {email: (user_id, audits, outbox) for email, user_id, audits, outbox in rows}


async def strays(engine: AsyncEngine, tenant: TenantRef) -> tuple[int, int]:
    """(``user.invited`` entries, invitation outbox rows) naming no member: the other half of a half-made member."""
    rows = await tenant_sql(engine, tenant, """
        SELECT (SELECT count(*) FROM audit_log a WHERE a.action = 'user.invited'
                  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id::text = a.target_id)),
               (SELECT count(*) FROM outbox o WHERE o.task = 'send_email' AND o.kwargs->>'template' = 'invite'
                  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.email = o.kwargs->>'to'))
    """)
    return rows[0][0], rows[0][1]


async def assert_whole(engine: AsyncEngine, tenant: TenantRef, acked: dict[str, str]) -> dict[str, Any]:
    """Every acknowledged member exists (with the id the answer gave), and every member is whole: exactly one
    ``user.invited`` entry and one outbox row each, and no entry or row without its member."""
    members = await ledger(engine, tenant)
    missing = sorted(set(acked) - set(members))
    assert not missing, f"{len(missing)} acknowledged members are missing, e.g. {missing[:3]}"
    wrong_id = [email for email, user_id in acked.items() if members[email][0] != user_id]
    assert not wrong_id, f"acknowledged with another id: {wrong_id[:3]}"
    broken = {email: counts[1:] for email, counts in members.items() if counts[1:] != (1, 1)}
    assert not broken, f"half-made members (audit entries, outbox rows): {dict(list(broken.items())[:5])}"
    assert await strays(engine, tenant) == (0, 0), "audit entries or outbox rows without their member"
    return members


async def job_states(database_url: str, queue: str) -> dict[str, tuple[str, str | None]]:
    """The queue's jobs (cron ticks left out): key -> (status, the ``to`` argument of an email)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rows = await (await conn.execute(
            "SELECT key, status, convert_from(job, 'UTF8')::jsonb #>> '{kwargs,to}' FROM public.saq_jobs"
            " WHERE queue = %s AND key NOT LIKE 'cron:%%'",
            (queue,),
        )).fetchall()
    return {key: (status, to) for key, status, to in rows}


async def queue_drained(database_url: str, queue: str) -> bool:
    """No job of the queue waits or runs any more."""
    states = await job_states(database_url, queue)
    return all(status in ("complete", "failed", "aborted") for status, _ in states.values())
