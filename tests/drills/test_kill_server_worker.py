"""Drill: ``kill -9`` of granian's serving worker (not of ``run``) while a client keeps inviting members.

``run`` stays, granian spawns a new worker, writes succeed again within seconds, no acknowledged member is lost or
half-made, and a request interrupted by the kill, retried with its ``Idempotency-Key``, never makes two members.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx

from tests.conftest import ADMIN_PASSWORD
from tests.drills.harness import (
    Invite,
    InviteLoad,
    Server,
    api_token,
    assert_whole,
    new_client,
    next_address,
    post_invite,
    server_port,
    tenant_sql,
    wait_until,
)

#: How soon writes must succeed again after the kill.
RECOVERY_SECONDS = 20


class StalledInvite(threading.Thread):
    """A request whose body stops half-way until released: certainly in flight in the worker when it dies."""

    def __init__(self, server: Server, slug: str, token: str) -> None:
        super().__init__(daemon=True)
        self.invite = Invite(f"stalled-{time.monotonic_ns()}@drill.example", f"stalled-{time.monotonic_ns()}")
        self.client = new_client(server, slug, token, next_address())
        self.release = threading.Event()
        self.sent_half = threading.Event()
        self.outcome: httpx.Response | Exception | None = None

    def body(self) -> Iterator[bytes]:
        data = httpx.Request("POST", "http://x", json=self.invite.body).content
        yield data[: len(data) // 2]
        self.sent_half.set()
        self.release.wait(30)
        yield data[len(data) // 2:]

    def run(self) -> None:
        try:
            self.outcome = self.client.post(
                "/api/v1/users",
                content=self.body(),
                headers={"idempotency-key": self.invite.key, "content-type": "application/json"},
            )
        except Exception as exc:
            self.outcome = exc
        finally:
            self.client.close()


async def test_kill_9_of_a_server_worker(drill) -> None:
    tenant, admin = await drill.tenant()
    env = drill.env(drill.sink())
    server = drill.start(Server.of(env, server_port(), drill.log("run"), with_worker=False))
    server.wait_answering()
    token = api_token(server, tenant.slug, admin, ADMIN_PASSWORD)
    (old,) = server.server_workers()

    with InviteLoad(server, tenant.slug, token, threads=4) as load:
        wait_until(lambda: load.count() >= 20, 60, "20 invitations acknowledged under load")
        stalled = StalledInvite(server, tenant.slug, token)
        stalled.start()
        assert stalled.sent_half.wait(10)
        await asyncio.sleep(0.2)  # the worker has read the headers and waits for the rest of the body
        before = load.count()
        killed_at = time.monotonic()
        os.kill(old, signal.SIGKILL)
        stalled.release.set()
        stalled.join(15)
        new = wait_until(lambda: [pid for pid in server.server_workers() if pid != old], 10, "a new server worker")
        # A new worker imports and builds the app: about 2 s on an idle machine, several times that on a CI box
        # whose two cores also run the other test worker's browser and server.
        wait_until(lambda: load.count() >= before + 10, RECOVERY_SECONDS - (time.monotonic() - killed_at),
                   f"writes acknowledged again within {RECOVERY_SECONDS} s of the kill")
        back_in = time.monotonic() - killed_at
        assert server.alive(), "run died with its worker"
    acked = dict(load.acked)
    assert not load.other, f"unexpected answers under load: {load.other}"
    assert isinstance(stalled.outcome, httpx.TransportError), f"the stalled request was answered: {stalled.outcome}"
    print(f"worker {old} -> {new}; writes back after {back_in:.2f}s; acknowledged {len(acked)}, "
          f"interrupted {len(load.interrupted)} ({load.errors}) + 1 stalled")

    # Retries of every interrupted request: the same key and body give one member, whether the first try
    # committed (its answer is replayed) or not (it runs now).
    replayed = 0
    for invite in [*load.interrupted, stalled.invite]:
        response = post_invite(server, tenant.slug, token, invite, next_address())
        assert response.status_code == 201, (invite, response.status_code, response.text)
        replayed += response.headers.get("idempotent-replayed") == "true"
        acked[invite.email] = response.json()["id"]
        again = post_invite(server, tenant.slug, token, invite, next_address())
        assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true", again.text
        assert again.json()["id"] == acked[invite.email]
    print(f"retried {len(load.interrupted) + 1} interrupted requests, {replayed} replayed")
    emails = [email for (email,) in await tenant_sql(drill.engine, tenant, "SELECT email FROM users")]
    assert len(emails) == len(set(emails))
    await assert_whole(drill.engine, tenant, acked)
