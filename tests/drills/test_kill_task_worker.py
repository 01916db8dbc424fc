"""Drill: a task worker killed (``kill -9``) in the middle of a batch of invitation emails.

Another worker takes over the dead one's jobs within seconds (not after their 60 s heartbeat): every email goes
out, and an email goes out twice only for a job that was in flight at the kill (the window between the mail
server's acceptance and the ``sent_emails`` record).
"""

from __future__ import annotations

import secrets
import time

from tests.conftest import ADMIN_PASSWORD
from tests.drills.harness import (
    PER_ADDRESS,
    Invite,
    Server,
    api_token,
    eventually,
    job_states,
    next_address,
    post_invite,
    queue_drained,
    server_port,
    wait_until,
    worker_proc,
)

BATCH = 30
#: The mail sink answers each message after this long, so that the batch is still going when the worker dies.
SMTP_DELAY = 0.3


async def test_task_worker_killed_mid_batch(drill) -> None:
    tenant, admin = await drill.tenant()
    sink = drill.sink(delay=SMTP_DELAY)
    env = drill.env(sink)

    # The batch: 30 invitations through the API of a server without a task worker; the outbox queues their emails.
    server = drill.start(Server.of(env, server_port(), drill.log("run"), with_worker=False))
    server.wait_answering()
    token = api_token(server, tenant.slug, admin, ADMIN_PASSWORD)
    tag = secrets.token_hex(3)
    invites = [Invite(f"batch{tag}-{i}@drill.example", f"batch{tag}-{i}") for i in range(BATCH)]
    address = ""
    for i, invite in enumerate(invites):
        address = next_address() if i % PER_ADDRESS == 0 else address
        response = post_invite(server, tenant.slug, token, invite, address)
        assert response.status_code == 201, response.text
    server.stop()
    expected = {invite.email for invite in invites}
    states = await job_states(drill.database_url, drill.queue)
    assert sorted(to for _, to in states.values()) == sorted(expected), states
    assert {status for status, _ in states.values()} == {"queued"}

    # A worker starts on it and is killed once a few emails are out.
    first = drill.start(worker_proc(env, drill.log("worker-1")))
    wait_until(lambda: sum(sink.recipients().values()) >= 3, 30, "the first emails delivered")
    first.kill9()
    killed_at = time.monotonic()
    delivered = sum(sink.recipients().values())
    states = await job_states(drill.database_url, drill.queue)
    in_flight = {to for status, to in states.values() if status == "active"}
    assert in_flight, f"no job was in flight at the kill: {states}"
    assert delivered < BATCH, "the batch was over before the kill"

    # Another worker: the dead one's jobs come back to the queue and go out.
    drill.start(worker_proc(env, drill.log("worker-2")))
    await eventually(lambda: expected <= set(sink.recipients()), 45, f"all {BATCH} emails delivered")
    done_in = time.monotonic() - killed_at
    await eventually(lambda: queue_drained(drill.database_url, drill.queue), 30, "no job left in the queue")

    received = sink.recipients()
    extra = {to: count - 1 for to, count in received.items() if count > 1}
    print(f"killed after {delivered} emails with {len(in_flight)} in flight; all delivered {done_in:.1f}s after "
          f"the kill; duplicates: {extra or 'none'}")
    assert set(received) == expected
    assert set(extra) <= in_flight, f"emails sent twice that were not in flight at the kill: {extra}"
    assert sum(extra.values()) <= len(in_flight)
    states = await job_states(drill.database_url, drill.queue)
    assert {status for status, _ in states.values()} == {"complete"}, states
