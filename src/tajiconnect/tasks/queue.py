"""The SAQ queues: Redis when ``REDIS_URL`` is set, otherwise PostgreSQL (tables ``saq_*`` in public).

Tasks are spread over a few named queues (:data:`QUEUE_NAMES`) so that slow work (reports) never holds up quick
work (notifications), and an operator can run a worker for one of them alone (``tajiconnect worker --queue
reports``). Each task names its queue in its :class:`~tajiconnect.tasks.base.TaskPolicy`; :class:`Queues`
routes a job to it. The SAQ name of queue ``default`` is ``TAJI_QUEUE_NAME`` itself, of the others
``<TAJI_QUEUE_NAME>-<name>``. On PostgreSQL the queues of one process share one connection pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import structlog
from saq import Job, Queue
from saq.job import Status

from tajiconnect.settings import Settings

#: Every queue; ``default`` serves the tasks that name no other (email, imports, upkeep, the outbox sweep).
QUEUE_NAMES: tuple[str, ...] = ("default", "certificates", "reports", "notifications")


def broker_url(settings: Settings) -> str:
    return settings.redis_url.get() if settings.redis_url else settings.libpq_url


def saq_name(settings: Settings, queue: str) -> str:
    """The SAQ queue name of our queue ``queue``."""
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r}")
    return settings.queue_name if queue == "default" else f"{settings.queue_name}-{queue}"


def create_queue(settings: Settings, name: str | None = None) -> Queue:
    """One SAQ queue with its own connections: ``name`` (a SAQ name) or the ``default`` queue."""
    url = broker_url(settings)
    name = name or settings.queue_name
    if url.startswith("redis"):
        return Queue.from_url(url, name=name)
    queue = Queue.from_url(url, name=name, min_size=1, max_size=4)
    pool = getattr(queue, "pool", None)  # PostgresQueue's psycopg pool
    if pool is not None:
        pool.timeout = 5.0  # a request waits at most this long for a queue connection (psycopg_pool's 30 s)
    return queue


class Queues:
    """The named queues of one process, routing each job to its task's queue.

    It answers what code does with a queue (``enqueue``, ``connect``, ``disconnect``, ``job``, ``iter_jobs``), so
    ``app.state.queue`` and a task's ``ctx["queue"]`` are one of these.
    """

    def __init__(self, queues: dict[str, Queue], *, pool: Any = None) -> None:
        self.queues = queues
        self._pool = pool  # the shared psycopg pool (PostgreSQL), opened and closed here

    def __getitem__(self, name: str) -> Queue:
        return self.queues[name]

    def __iter__(self) -> Iterator[Queue]:
        return iter(self.queues.values())

    @property
    def name(self) -> str:
        return self.queues["default"].name if "default" in self.queues else next(iter(self.queues.values())).name

    def for_task(self, function: str) -> Queue:
        """The queue that ``function``'s jobs go to (``default`` when that queue is not one of these)."""
        from tajiconnect.tasks.base import REGISTRY

        spec = REGISTRY.get(function)
        wanted = spec.policy.queue if spec is not None else "default"
        return self.queues.get(wanted) or self.queues.get("default") or next(iter(self.queues.values()))

    async def enqueue(self, job: Job | str, **kwargs: Any) -> Job | None:
        function = job.function if isinstance(job, Job) else job
        return await self.for_task(function).enqueue(job, **kwargs)

    async def connect(self) -> None:
        if self._pool is not None and self._pool.closed:
            await self._pool.open()
        for queue in self.queues.values():
            await queue.connect()

    async def disconnect(self) -> None:
        for queue in self.queues.values():
            await queue.disconnect()
        if self._pool is not None and not self._pool.closed:
            await self._pool.close()

    async def job(self, key: str) -> Job | None:
        for queue in self.queues.values():
            found = await queue.job(key)
            if found is not None:
                return found
        return None

    async def iter_jobs(self, statuses: Iterable[Status] = tuple(Status)) -> AsyncIterator[Job]:
        wanted = list(statuses)
        for queue in self.queues.values():
            async for job in queue.iter_jobs(wanted):
                yield job


#: What enqueuing code accepts: one SAQ queue, or the routing set.
AnyQueue = Queue | Queues


def create_queues(settings: Settings, names: Iterable[str] = QUEUE_NAMES) -> Queues:
    """The named queues (all by default). Not connected: ``await queues.connect()``."""
    names = list(dict.fromkeys(names))
    url = broker_url(settings)
    if url.startswith("redis"):
        return Queues({name: Queue.from_url(url, name=saq_name(settings, name)) for name in names})
    from psycopg_pool import AsyncConnectionPool
    from saq.queue.postgres import PostgresQueue

    pool = AsyncConnectionPool(url, check=AsyncConnectionPool.check_connection, open=False, min_size=1,
                               max_size=4 + 2 * len(names), timeout=5.0)  # 5 s: as create_queue
    return Queues(
        {name: PostgresQueue(pool=pool, name=saq_name(settings, name), manage_pool_lifecycle=False) for name in names},
        pool=pool,
    )


async def connect_when_reachable(queue: Queue | Queues, *, first_delay: float = 0.5, max_delay: float = 30.0) -> None:
    """Connect ``queue``, retrying with backoff while its broker is unreachable (never raises)."""
    log = structlog.get_logger(__name__)
    delay = first_delay
    while True:
        try:
            await queue.connect()
            return
        except Exception as exc:
            log.warning("task queue unreachable, retrying", error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
