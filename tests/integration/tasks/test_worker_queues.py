"""``tajiconnect worker --queue NAME`` serves that queue alone: a real worker process in burst mode runs the jobs
waiting on ``reports`` and leaves those of ``default`` waiting."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from pathlib import Path

from saq import Job
from saq.job import Status

from tajiconnect.tasks.queue import create_queues

SCRIPT = Path(sys.executable).with_name("tajiconnect")


async def test_worker_queue_option_runs_only_that_queue(settings, make_tenant):
    tenant = await make_tenant("opsq")
    name = f"test-{uuid.uuid4().hex[:10]}"
    queues = create_queues(dataclasses.replace(settings, queue_name=name))
    await queues.connect()
    try:
        # The same read-only task put straight on two queues (bypassing routing): only the queue served runs it.
        keys = {queue: f"{tenant.slug}:count:{queue}" for queue in ("reports", "default")}
        for queue, key in keys.items():
            assert await queues[queue].enqueue(Job(function="count_users", kwargs={"tenant": tenant.slug}, key=key))
        env = {**os.environ, "TAJI_QUEUE_NAME": name, "TAJI_LOG_LEVEL": "WARNING"}
        result = await asyncio.to_thread(
            subprocess.run, [str(SCRIPT), "worker", "--queue", "reports", "--burst", "--concurrency", "1"],
            env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
        ran = await queues["reports"].job(keys["reports"])
        assert ran is not None and ran.status == Status.COMPLETE
        assert ran.result == {"tenant": tenant.slug, "active_users": 1}
        waiting = await queues["default"].job(keys["default"])
        assert waiting is not None and waiting.status == Status.QUEUED
        bad = await asyncio.to_thread(subprocess.run, [str(SCRIPT), "worker", "--queue", "nope", "--burst"],
                                      env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "nope" in bad.stderr
    finally:
        await queues.disconnect()
