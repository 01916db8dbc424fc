"""The SAQ worker: every registered task; one SAQ worker per queue served (all by default, ``--queue`` to pick),
sharing one engine and one set of queues in this process.

A job that fails for good (no attempt left, or refused) is recorded in ``public.failed_tasks`` by the
``after_process`` hook (:func:`tajiconnect.tasks.failures.record_failure`), where operators see and retry it.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from typing import Any

from saq import CronJob, Worker
from saq.job import Status
from saq.types import WorkerInfo
from saq.utils import now

from tajiconnect.db.base import load_models
from tajiconnect.db.session import create_engine
from tajiconnect.logs import configure_logging, get_logger
from tajiconnect.settings import Settings, get_settings
from tajiconnect.tasks.base import REGISTRY
from tajiconnect.tasks.queue import QUEUE_NAMES, Queues, connect_when_reachable, create_queues

log = get_logger(__name__)

#: Modules that declare tasks; importing them fills the registry.
TASK_MODULES: tuple[str, ...] = (
    "tajiconnect.tasks.maintenance",
    "tajiconnect.tasks.outbox",
    "tajiconnect.mail.tasks",
    "tajiconnect.platform.exports",
    "tajiconnect.domains.roster.tasks",
    "tajiconnect.domains.storage.tasks",
    "tajiconnect.domains.reports.tasks",
    "tajiconnect.domains.certificates.tasks",
    "tajiconnect.domains.live.tasks",
    "tajiconnect.domains.billing.tasks",
    "tajiconnect.tasks.failures",
    "tajiconnect.domains.notifications.tasks",
    "tajiconnect.domains.announcements.tasks",
    "tajiconnect.tasks.schedule",
    "tajiconnect.tasks.upkeep",
    "tajiconnect.domains.signup.tasks",
    "tajiconnect.domains.parents.tasks",
    "tajiconnect.domains.messages.tasks",
    "tajiconnect.domains.discussions.tasks",
    "tajiconnect.domains.skills.tasks",
    "tajiconnect.domains.jobs.tasks",
)

#: Scheduled platform tasks (cron, UTC): (task name, cron expression). SAQ enqueues each once per tick for all
#: workers of the ``default`` queue. Work per tenant is fanned out from them (``tasks/schedule.py``).
SCHEDULE: tuple[tuple[str, str], ...] = (
    ("sweep_outbox", "* * * * *"),
    ("record_failed_jobs", "* * * * *"),
    ("fan_out_minutely", "* * * * *"),
    ("fan_out_hourly", "7 * * * *"),
    ("fan_out_daily", "17 3 * * *"),
    ("purge_operator_sessions", "27 3 * * *"),
    ("sweep_billing_events", "* * * * *"),
    ("deliver_waiting_job_events", "* * * * *"),
    ("fan_out_weekly", "23 14 * * 5"),  # Fridays 14:23 UTC: the parents' weekly digest
)


def load_tasks(extra_modules: tuple[str, ...] = ()) -> None:
    for module in (*TASK_MODULES, *extra_modules):
        importlib.import_module(module)


def create_workers(settings: Settings, *, queues: tuple[str, ...] = QUEUE_NAMES, concurrency: int = 10,
                   burst: bool = False) -> list[TajiWorker]:
    """One worker per queue in ``queues``; they share an engine and the process's :class:`Queues` (``ctx["queue"]``
    routes what tasks enqueue; ``worker.routing``). Every worker knows every task; only ``default``'s runs cron."""
    from tajiconnect.tasks.failures import record_failure

    load_models()
    load_tasks()
    routing = create_queues(settings)
    engine = create_engine(settings.sqlalchemy_url, pool_size=max(2, concurrency // 2))
    shared: dict[str, Any] = {"engine": engine, "settings": settings, "queue": routing}

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(shared)

    workers = []
    for name in queues:
        worker = TajiWorker(
            routing[name],
            functions=[(spec.name, spec.fn) for spec in REGISTRY.values()],
            cron_jobs=[
                CronJob(REGISTRY[task].fn, cron=cron, timeout=REGISTRY[task].policy.timeout, retries=1)
                for task, cron in SCHEDULE
            ] if name == "default" else [],
            concurrency=concurrency,
            startup=startup,
            after_process=record_failure,
            burst=burst,
            dequeue_timeout=1.0 if burst else 0.0,
            shutdown_grace_period_s=1 if burst else 10,  # idle polling loops never "finish": keep burst exits quick
        )
        worker.routing = routing
        worker.context.update(shared)
        workers.append(worker)
    return workers


def create_worker(settings: Settings, *, concurrency: int = 10, burst: bool = False, queue: str = "default"
                  ) -> TajiWorker:
    """The worker of one queue (see :func:`create_workers`)."""
    return create_workers(settings, queues=(queue,), concurrency=concurrency, burst=burst)[0]


#: A worker reports itself alive (SAQ's worker info) this often...
WORKER_REPORT_SECONDS = 2
#: ...and one silent for this long is gone: its running jobs go back to the queue (:meth:`TajiWorker.requeue_orphans`).
WORKER_GONE_SECONDS = 10

#: How long a stopping worker lets running jobs finish before cancelling them (they are retried elsewhere).
STOP_GRACE_SECONDS = 10.0


class TajiWorker(Worker):
    """SAQ's worker, stopping promptly and taking over the jobs of a dead worker within seconds.

    * Stopping: running jobs get up to :data:`STOP_GRACE_SECONDS` to finish, idle loops end at once. (SAQ's own
      ``stop()`` waits its whole grace period for every task, idle polling loops included, then warns about
      unfinished tasks: a quiet worker took 10 s to stop.)
    * A dead worker's jobs: see :meth:`requeue_orphans`.
    """

    #: The process's queues (set by :func:`create_workers`).
    routing: Queues

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timers["worker_info"] = WORKER_REPORT_SECONDS  # SAQ's default: every 10 s

    async def worker_info(self, ttl: int = 60) -> WorkerInfo:
        """SAQ calls this every :data:`WORKER_REPORT_SECONDS`: report this worker alive for
        :data:`WORKER_GONE_SECONDS` (SAQ's own ttl is one second past the next report), then look for orphans."""
        info = await super().worker_info(ttl=WORKER_GONE_SECONDS)
        try:
            await self.requeue_orphans()
        except Exception as exc:  # the next report tries again
            log.warning("could not look for orphaned jobs", error=type(exc).__name__)
        return info

    async def requeue_orphans(self, quiet_for: float = WORKER_GONE_SECONDS) -> list[str]:
        """Put back in the queue the running jobs of workers that stopped reporting (killed, or their host died);
        return their keys.

        SAQ's sweep finds such a job only once its heartbeat (``TaskPolicy.heartbeat``, 60 s) has lapsed, then
        waits seconds for each one to acknowledge an abort that nobody will. Here a job is an orphan when it is
        active, its worker (``job.worker_id``) has not reported for :data:`WORKER_GONE_SECONDS`, and the job was not
        touched for ``quiet_for`` seconds either (a job just dequeued still names its previous worker for a moment).
        One worker does it, the live one with the lowest id. As in SAQ's sweep, an orphan with attempts left is
        retried, any other is aborted. A worker that merely stalled that long may see its job run twice: tasks are
        idempotent (docs/jobs.md).
        """
        live = set((await self.queue.info())["workers"])
        if self.id not in live or self.id != min(live):
            return []
        quiet_since = now() - quiet_for * 1000  # job times are in milliseconds
        orphans = [
            job async for job in self.queue.iter_jobs([Status.ACTIVE])
            if job.worker_id not in live and job.touched < quiet_since
        ]
        requeued = []
        for job in orphans:
            current = await self.queue.job(job.key)  # it may have moved on since the listing
            if current is None or current.status != Status.ACTIVE or current.touched != job.touched:
                continue
            log.warning("a job's worker is gone: re-queuing it", job_key=job.key, worker=job.worker_id)
            if current.retryable:
                await self.queue.retry(current, error="worker gone")
            else:
                await self.queue.finish(current, Status.ABORTED, error="worker gone")
            requeued.append(job.key)
        return requeued

    async def upkeep(self) -> list[asyncio.Task[None]]:
        """SAQ's upkeep, except that the worker's first sweep waits one sweep period. SAQ moves a job to the active
        list, then marks it active: a sweep in between takes it for a stuck one, aborts and re-queues it ("swept").
        At start, the first sweep runs alongside the first dequeues, so a worker started on a backlog (a burst run)
        would sweep the job it just took; a dead worker's jobs are taken over by :meth:`requeue_orphans` anyway."""
        sweep = self.queue.sweep
        first = True

        async def later(lock: int = 60, abort: float = 5.0) -> list[str]:
            nonlocal first
            if first:
                first = False
                return []
            return await sweep(lock, abort)

        self.queue.sweep = later  # type: ignore[method-assign]  # SAQ's upkeep takes it when it starts its loop
        try:
            return await super().upkeep()
        finally:
            self.queue.sweep = sweep  # type: ignore[method-assign]

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
        try:
            await self.return_unstarted()
        except Exception as exc:  # the sweep or another worker's orphan check takes them over instead
            log.warning("could not return unstarted jobs", error=type(exc).__name__)

    async def return_unstarted(self) -> list[str]:
        """Put back in the queue the jobs fetched for this worker that no loop started; their keys.

        SAQ's PostgreSQL queue marks jobs active when it fetches them into a local buffer, and its scheduler tick
        fetches too: a job fetched by the tick just as a burst run's last wait timed out was left "active" in the
        buffer when the run ended (until a sweep, a minute later, took it for a stuck one). The same at any stop.
        """
        buffered = getattr(self.queue, "_job_queue", None)  # only the PostgreSQL queue buffers
        returned: list[str] = []
        while buffered is not None and not buffered.empty():
            job = buffered.get_nowait()
            buffered.task_done()
            await self.queue.update(job, status=Status.QUEUED, started=0)
            returned.append(job.key)
        if returned:
            log.info("returned unstarted jobs to the queue", jobs=len(returned))
        return returned


def run_worker(settings: Settings | None = None, *, concurrency: int = 10, burst: bool = False,
               queues: tuple[str, ...] = QUEUE_NAMES) -> None:
    from tajiconnect.processes import supervised_child

    supervised_child(signal.SIGTERM)  # started by ``tajiconnect run``: stop when it dies
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    workers = create_workers(settings, queues=queues, concurrency=concurrency, burst=burst)
    routing = workers[0].routing
    for worker in workers:
        worker.SIGNALS = []  # SAQ's handler is one per signal: the last worker would take it from the others

    async def main() -> None:
        if burst:
            await routing.connect()  # a one-off run fails at once when the broker is away
        else:
            # Wait for the broker (the database, by default) like the web app does, rather than exit: under
            # ``tajiconnect run --with-worker`` nobody would start the worker again, and the tasks of a server
            # started during a database outage would never run. SIGTERM still ends the wait (default action).
            await connect_when_reachable(routing)
        def stop_all() -> None:
            for each in workers:
                if getattr(each, "event", None) is not None:
                    each.event.set()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop_all)
        log.info("worker started", queues=list(queues), tasks=sorted(REGISTRY), concurrency=concurrency)
        try:
            await asyncio.gather(*(worker.start() for worker in workers))  # each one's stop() runs at the end
        finally:
            await routing.disconnect()
            await workers[0].context["engine"].dispose()

    asyncio.run(main())
