"""A dead worker's running jobs go back to the queue within seconds (``TajiWorker.requeue_orphans``), on a real
queue. The drill ``tests/drills/test_kill_task_worker.py`` does it with real processes and ``kill -9``."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid

import pytest
from saq import Job
from saq.job import Status

from tajiconnect.settings import Secret
from tajiconnect.worker import create_worker

REDIS = pytest.param(
    "redis", marks=[pytest.mark.redis, pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")]
)


@pytest.fixture(params=["postgres", REDIS])
async def worker(request, settings):
    redis = Secret(os.environ["REDIS_URL"]) if request.param == "redis" else None
    settings = dataclasses.replace(settings, redis_url=redis, queue_name=f"test-{uuid.uuid4().hex[:10]}")
    worker = create_worker(settings, concurrency=1)
    await worker.routing.connect()  # the process's queues (on PostgreSQL they share a pool)
    yield worker
    await worker.routing.disconnect()


async def running(worker, worker_id: str, retries: int = 3) -> Job:
    """A job dequeued and started by ``worker_id`` (which is never this worker)."""
    job = await worker.queue.enqueue(Job(function="count_users", retries=retries))
    assert job is not None
    dequeued = await worker.queue.dequeue(timeout=1)
    assert dequeued is not None and dequeued.key == job.key
    dequeued.worker_id, dequeued.attempts = worker_id, 1
    await dequeued.update(status=Status.ACTIVE)
    await asyncio.sleep(0.01)  # job times are in milliseconds
    return dequeued


async def test_a_gone_workers_jobs_are_requeued_and_a_live_workers_are_not(worker):
    queue = worker.queue
    await queue.worker_info("live-other", queue_key=queue.name, ttl=10)
    worker.id = "b-this-worker"  # lower than "live-other": this one is elected
    await worker.worker_info()  # reports itself (and finds nothing yet: the jobs below do not exist)
    orphan = await running(worker, "gone-worker")
    last_try = await running(worker, "gone-worker", retries=1)
    busy = await running(worker, "live-other")

    assert await worker.requeue_orphans() == []  # touched just now: maybe only just dequeued
    assert sorted(await worker.requeue_orphans(quiet_for=0)) == sorted([orphan.key, last_try.key])
    for job, status in ((orphan, Status.QUEUED), (last_try, Status.ABORTED), (busy, Status.ACTIVE)):
        await job.refresh()
        assert job.status == status, job
    assert orphan.error == "worker gone"
    assert await worker.requeue_orphans(quiet_for=0) == []


async def test_only_the_live_worker_with_the_lowest_id_requeues(worker):
    queue = worker.queue
    worker.id = "b-this-worker"
    await worker.worker_info()
    orphan = await running(worker, "gone-worker")
    await queue.worker_info("a-lower-id", queue_key=queue.name, ttl=10)
    assert await worker.requeue_orphans(quiet_for=0) == []
    await orphan.refresh()
    assert orphan.status == Status.ACTIVE


async def test_a_job_fetched_but_never_started_goes_back_to_the_queue(worker):
    """SAQ's PostgreSQL queue fetches jobs into a local buffer (its scheduler tick does too) and marks them active;
    a worker that stops with one there returns it, instead of leaving it "active" until a sweep."""
    queue = worker.queue
    job = await queue.enqueue(Job(function="count_users"))
    assert job is not None
    if not hasattr(queue, "_job_queue"):  # Redis: a job is taken by the loop that runs it, nothing buffers
        assert await worker.return_unstarted() == []
        return
    queue._waiting += 1  # a loop waits for work, and the scheduler's tick fetches for it
    try:
        await queue.schedule()
    finally:
        queue._waiting -= 1
    await job.refresh()
    assert job.status == Status.ACTIVE and not queue._job_queue.empty()
    assert await worker.return_unstarted() == [job.key]
    await job.refresh()
    assert job.status == Status.QUEUED and queue._job_queue.empty()
    again = await queue.dequeue(timeout=1)  # and a loop takes it as any other
    assert again is not None and again.key == job.key
