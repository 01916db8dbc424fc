"""Drill: ``kill -9`` of ``tajiconnect run --with-worker`` while a client keeps inviting members through the API.

Nothing of the server may survive it (granian's workers, the task worker), no acknowledged member may be lost or
half-made, and after a restart on the same port every member gets exactly one invitation email.
"""

from __future__ import annotations

import time

from tests.conftest import ADMIN_PASSWORD
from tests.drills.harness import (
    InviteLoad,
    Server,
    api_token,
    assert_whole,
    eventually,
    job_states,
    marked_pids,
    queue_drained,
    server_port,
    wait_until,
)


async def test_kill_9_of_run_loses_no_acknowledged_member(drill) -> None:
    tenant, admin = await drill.tenant()
    sink = drill.sink()
    env = drill.env(sink)
    port = server_port()
    server = drill.start(Server.of(env, port, drill.log("run-1"), with_worker=True))
    server.wait_answering()
    token = api_token(server, tenant.slug, admin, ADMIN_PASSWORD)

    with InviteLoad(server, tenant.slug, token, threads=4) as load:
        wait_until(lambda: load.count() >= 25, 60, "25 invitations acknowledged under load")
        family = marked_pids(server.marker)
        assert server.server_workers() and server.task_workers(), f"run and its children expected: {family}"
        killed_at = time.monotonic()
        server.kill9()
        # (a) Granian's workers (PR_SET_PDEATHSIG: SIGKILL) and the task worker (SIGTERM, stops at once) follow.
        wait_until(lambda: not marked_pids(server.marker), 5, f"no process of the killed server left ({family})")
        gone_in = time.monotonic() - killed_at
    acked = dict(load.acked)
    assert not load.other, f"unexpected answers under load: {load.other}"
    print(f"acknowledged {len(acked)}, interrupted {len(load.interrupted)}, all processes gone in {gone_in:.2f}s")

    # (b) The answer comes after the commit, and the member, its audit entry and its outbox row commit together.
    members = await assert_whole(drill.engine, tenant, acked)

    # (c) The port is free at once; the outbox sweep hands the rest to the new worker; one email per member.
    again = drill.start(Server.of(env, port, drill.log("run-2"), with_worker=True))
    again.wait_answering()
    swept = await drill.sweep_outbox(tenant)

    def all_mailed() -> bool:
        received = sink.recipients()
        return all(received.get(email, 0) >= 1 for email in members)

    await eventually(all_mailed, 30, f"an invitation for each of the {len(members)} members")
    await eventually(lambda: queue_drained(drill.database_url, drill.queue), 30, "no job left in the queue")
    received = sink.recipients()
    twice = {email: received[email] for email in members if received[email] != 1}
    assert not twice, f"members mailed more than once: {twice}"
    states = await job_states(drill.database_url, drill.queue)
    assert all(status == "complete" for status, _ in states.values()), states
    print(f"{len(members)} members, {swept} of their emails left to the sweeper, one email each")
