"""The SAQ worker: one queue, every registered task, an engine shared by the tasks of this process."""

from __future__ import annotations

import asyncio
import importlib
import signal
from typing import Any

from saq import CronJob, Worker

from tajiconnect.db.base import load_models
from tajiconnect.db.session import create_engine
from tajiconnect.logs import configure_logging, get_logger
from tajiconnect.settings import Settings, get_settings
from tajiconnect.tasks.base import REGISTRY
from tajiconnect.tasks.queue import create_queue

log = get_logger(__name__)

#: Modules that declare tasks; importing them fills the registry.
TASK_MODULES: tuple[str, ...] = ("tajiconnect.tasks.maintenance", "tajiconnect.tasks.outbox", "tajiconnect.mail.tasks")

#: Scheduled tasks (cron, UTC): (task name, cron expression). SAQ enqueues each once per tick for all workers.
SCHEDULE: tuple[tuple[str, str], ...] = (("sweep_outbox", "* * * * *"),)


def load_tasks(extra_modules: tuple[str, ...] = ()) -> None:
    for module in (*TASK_MODULES, *extra_modules):
        importlib.import_module(module)


def create_worker(settings: Settings, *, concurrency: int = 10, burst: bool = False) -> Worker:
    load_models()
    load_tasks()
    queue = create_queue(settings)
    engine = create_engine(settings.sqlalchemy_url, pool_size=max(2, concurrency // 2))

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["engine"] = engine
        ctx["settings"] = settings
        ctx["queue"] = queue
        log.info("worker started", tasks=sorted(REGISTRY), concurrency=concurrency)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await engine.dispose()

    return TajiWorker(
        queue,
        functions=[(spec.name, spec.fn) for spec in REGISTRY.values()],
        cron_jobs=[
            CronJob(REGISTRY[name].fn, cron=cron, timeout=REGISTRY[name].policy.timeout, retries=1)
            for name, cron in SCHEDULE
        ],
        concurrency=concurrency,
        startup=startup,
        shutdown=shutdown,
        burst=burst,
        dequeue_timeout=1.0 if burst else 0.0,
        shutdown_grace_period_s=1 if burst else 10,  # idle polling loops never "finish": keep burst exits quick
    )


#: How long a stopping worker lets running jobs finish before cancelling them (they are retried elsewhere).
STOP_GRACE_SECONDS = 10.0


class TajiWorker(Worker):
    """SAQ's worker, stopping promptly: running jobs get up to :data:`STOP_GRACE_SECONDS` to finish, idle loops
    end at once. (SAQ's own ``stop()`` waits its whole grace period for every task, idle polling loops included,
    then warns about unfinished tasks: a quiet worker took 10 s to stop.)"""

    async def stop(self) -> None:
        if not self._stopped:
            self.event.set()  # no more dequeuing
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STOP_GRACE_SECONDS
            while self.job_task_contexts and loop.time() < deadline:  # noqa: ASYNC110 - SAQ has no event for it
                await asyncio.sleep(0.05)
            if self.job_task_contexts:
                log.warning("stopping with jobs still running; they will be retried", jobs=len(self.job_task_contexts))
            for task in list(self.tasks):
                task.cancel()
            self._shutdown_grace_period_s = 1  # the cancelled loops end within a turn of the event loop
        await super().stop()


def run_worker(settings: Settings | None = None, *, concurrency: int = 10, burst: bool = False) -> None:
    from tajiconnect.processes import supervised_child

    supervised_child(signal.SIGTERM)  # started by ``tajiconnect run``: stop when it dies
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    worker = create_worker(settings, concurrency=concurrency, burst=burst)

    async def main() -> None:
        await worker.queue.connect()
        try:
            await worker.start()  # SIGINT/SIGTERM end it (SAQ installs the handlers), then stop() runs
        finally:
            await worker.queue.disconnect()

    asyncio.run(main())
