"""The SAQ queue: Redis when ``REDIS_URL`` is set, otherwise PostgreSQL (tables ``saq_*`` in public)."""

from __future__ import annotations

import asyncio

import structlog
from saq import Queue

from tajiconnect.settings import Settings


def broker_url(settings: Settings) -> str:
    return settings.redis_url.get() if settings.redis_url else settings.libpq_url


def create_queue(settings: Settings, name: str | None = None) -> Queue:
    url = broker_url(settings)
    name = name or settings.queue_name
    if url.startswith("redis"):
        return Queue.from_url(url, name=name)
    queue = Queue.from_url(url, name=name, min_size=1, max_size=4)
    pool = getattr(queue, "pool", None)  # PostgresQueue's psycopg pool
    if pool is not None:
        pool.timeout = 5.0  # a request waits at most this long for a queue connection (psycopg_pool's 30 s)
    return queue


async def connect_when_reachable(queue: Queue, *, first_delay: float = 0.5, max_delay: float = 30.0) -> None:
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
