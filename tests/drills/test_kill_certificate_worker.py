"""Drill: the certificate worker killed (``kill -9``) in the middle of a batch of completions.

40 learners complete a course; the completions' outbox puts 40 ``issue_certificate`` jobs on the certificates
queue (SAQ name ``<queue>-certificates``). A real ``tajiconnect worker`` (one task at a time per queue, so that the
batch is still going) is killed once a few certificates are stored, and another one started: in the end every
completion has exactly one certificate and exactly one live stored file, linked to it, and the learner exactly one
notification; no job is left.
"""

from __future__ import annotations

import dataclasses
import datetime
import time

from sqlalchemy import func, select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tasks.outbox import sweep_tenant
from tajiconnect.tasks.queue import create_queues
from tajiconnect.tenancy.context import tenant_context
from tests.drills.harness import eventually, job_states, queue_drained, worker_proc
from tests.integration.conftest import create_member

BATCH = 40


async def stored(engine, tenant) -> int:
    """Certificates with their file linked."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return int(await session.scalar(
                select(func.count()).select_from(Certificate).where(Certificate.file_id.is_not(None))) or 0)


async def test_certificate_worker_killed_mid_batch(drill) -> None:
    tenant, _admin = await drill.tenant()
    engine = drill.engine
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            course = Course(title="Usalama kazini: Sécurité au travail", status="published")
            session.add(course)
            await session.flush()
            course_id = course.id
    learners = [await create_member(engine, tenant, ["student"], None, name=f"Wanjirũ Öztürk {n:02d}")
                for n in range(BATCH)]
    now = datetime.datetime.now(datetime.UTC)
    for learner in learners:  # each completion in its own transaction, twice (the event repeats)
        for _ in range(2):
            with tenant_context(tenant):
                async with session_scope(engine) as session:
                    await _record_completion(session, learner.id, now, course_id=course_id)

    # The outbox hands the 40 jobs to the drill's queues (routed: the task's queue is "certificates").
    queues = create_queues(dataclasses.replace(drill.settings, queue_name=drill.queue, redis_url=None))
    await queues.connect()
    try:
        assert await sweep_tenant(engine, queues, tenant, older_than=datetime.timedelta(0)) == BATCH
    finally:
        await queues.disconnect()
    certificates_queue = f"{drill.queue}-certificates"
    states = await job_states(drill.database_url, certificates_queue)
    assert len(states) == BATCH and {status for status, _ in states.values()} == {"queued"}, states

    env = drill.env(drill.sink())
    first = drill.start(worker_proc(env, drill.log("worker-1"), "--concurrency", "1"))
    await eventually(lambda: _at_least(engine, tenant, 3), 60, "the first certificates stored")
    first.kill9()
    killed_at = time.monotonic()
    done_at_kill = await stored(engine, tenant)
    assert done_at_kill < BATCH, "the batch was over before the kill"
    states = await job_states(drill.database_url, certificates_queue)
    in_flight = sum(1 for status, _ in states.values() if status == "active")

    drill.start(worker_proc(env, drill.log("worker-2"), "--concurrency", "1"))
    await eventually(lambda: _at_least(engine, tenant, BATCH), 90, f"all {BATCH} certificates stored")
    await eventually(lambda: queue_drained(drill.database_url, certificates_queue), 60, "no job left")
    took = time.monotonic() - killed_at
    print(f"killed after {done_at_kill} certificates ({in_flight} in flight); all {BATCH} stored {took:.1f}s later")

    with tenant_context(tenant):
        async with session_scope(engine) as session:
            completions = set((await session.scalars(select(LearningCompletion.id))).all())
            certificates = list((await session.scalars(select(Certificate))).all())
            files = list((await session.scalars(select(StoredFile).where(
                StoredFile.purpose == "certificate", StoredFile.status != "deleted"))).all())
            notes = list((await session.scalars(
                select(Notification.key).where(Notification.category == "certificate_issued"))).all())
    assert len(completions) == BATCH
    assert sorted(c.completion_id for c in certificates) == sorted(completions)  # one each, none lost
    assert len({c.code for c in certificates}) == BATCH
    assert len(files) == BATCH and {f.status for f in files} == {"ready"}
    assert {c.file_id for c in certificates} == {f.id for f in files}  # every live file is linked, once
    assert sorted(notes) == sorted(f"certificate:{c.id}" for c in certificates)
    states = await job_states(drill.database_url, certificates_queue)
    assert {status for status, _ in states.values()} == {"complete"}, states


async def _at_least(engine, tenant, count: int) -> bool:
    return await stored(engine, tenant) >= count
