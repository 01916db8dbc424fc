"""Drill: the worker delivering notifications is killed (``kill -9``) in the middle of a batch of emails.

Thirty members are each notified once; their ``deliver_notification`` jobs wait on the ``notifications`` queue
(SAQ name ``<queue_name>-notifications``). A worker process starts on them, with a mail sink slow enough that the
batch is still going when the worker is killed; another worker takes over. Every email arrives; an email arrives
twice only for a delivery that was in flight at the kill (the window between the mail server's acceptance and the
commit of the delivery's ``sent`` status: docs/notifications.md); and ``notification_deliveries`` ends with one row
per notification and channel, all ``sent``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
import time

import psycopg

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications.service import notify
from tajiconnect.tasks.outbox import sweep_tenant
from tajiconnect.tasks.queue import create_queues, saq_name
from tajiconnect.tenancy.context import tenant_context
from tests.drills.harness import eventually, tenant_sql, wait_until, worker_proc
from tests.integration.conftest import create_member

BATCH = 30
SMTP_DELAY = 0.3


async def notification_jobs(database_url: str, queue: str) -> dict[str, tuple[str, str]]:
    """The notifications queue's delivery jobs: key -> (status, notification id)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rows = await (await conn.execute(
            "SELECT key, status, convert_from(job, 'UTF8') FROM public.saq_jobs WHERE queue = %s", (queue,),
        )).fetchall()
    jobs = {}
    for key, status, raw in rows:
        job = json.loads(raw)
        if job.get("function") == "deliver_notification":
            jobs[key] = (status, job["kwargs"]["notification_id"])
    return jobs


async def test_notification_worker_killed_mid_batch(drill) -> None:
    tenant, _admin = await drill.tenant()
    sink = drill.sink(delay=SMTP_DELAY)
    env = drill.env(sink)
    settings = dataclasses.replace(drill.settings, queue_name=drill.queue, redis_url=None)
    queue_name = saq_name(settings, "notifications")

    tag = secrets.token_hex(3)
    members = [await create_member(drill.engine, tenant, ["student"], None, email=f"n{tag}-{i}@drill.example")
               for i in range(BATCH)]
    email_of: dict[str, str] = {}
    with tenant_context(tenant):
        async with session_scope(drill.engine) as session:
            for member in members:
                user = await session.get(User, member.id)
                created = await notify(session, user, "graded", key=f"drill:{tag}:{member.id}",
                                       title="Drill grade released", link="/learn/grades")
                assert created is not None
                email_of[str(created)] = member.email
    queues = create_queues(settings)
    await queues.connect()
    try:
        assert await sweep_tenant(drill.engine, queues, tenant, older_than=datetime.timedelta(0)) == BATCH
    finally:
        await queues.disconnect()
    jobs = await notification_jobs(drill.database_url, queue_name)
    assert len(jobs) == BATCH and {s for s, _ in jobs.values()} == {"queued"}, jobs
    expected = set(email_of.values())

    first = drill.start(worker_proc(env, drill.log("worker-1")))
    wait_until(lambda: sum(sink.recipients().values()) >= 3, 60, "the first notification emails delivered")
    first.kill9()
    killed_at = time.monotonic()
    delivered = sum(sink.recipients().values())
    jobs = await notification_jobs(drill.database_url, queue_name)
    in_flight = {email_of[nid] for status, nid in jobs.values() if status == "active"}
    assert in_flight, f"no delivery was in flight at the kill: {jobs}"
    assert delivered < BATCH, "the batch was over before the kill"

    drill.start(worker_proc(env, drill.log("worker-2")))
    await eventually(lambda: expected <= set(sink.recipients()), 60, f"all {BATCH} notification emails delivered")
    done_in = time.monotonic() - killed_at

    async def drained() -> bool:
        states = await notification_jobs(drill.database_url, queue_name)
        return all(s in ("complete", "failed", "aborted") for s, _ in states.values())

    await eventually(drained, 30, "no delivery job left")
    received = {to: n for to, n in sink.recipients().items() if to in expected}
    extra = {to: n - 1 for to, n in received.items() if n > 1}
    print(f"killed after {delivered} emails with {len(in_flight)} in flight; all delivered {done_in:.1f}s after "
          f"the kill; duplicates: {extra or 'none'}")
    assert set(received) == expected
    assert set(extra) <= in_flight, f"emails sent twice that were not in flight at the kill: {extra}"
    assert sum(extra.values()) <= len(in_flight)

    rows = await tenant_sql(drill.engine, tenant,
                            "SELECT notification_id, channel, status FROM notification_deliveries")
    assert len(rows) == BATCH and len({(r[0], r[1]) for r in rows}) == BATCH
    assert {r[1] for r in rows} == {"email"} and {r[2] for r in rows} == {"sent"}
    assert {str(r[0]) for r in rows} == set(email_of)
