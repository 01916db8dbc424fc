"""The SAQ queue: Redis when ``REDIS_URL`` is set, otherwise PostgreSQL (tables ``saq_*`` in public)."""

from __future__ import annotations

from saq import Queue

from tajiconnect.settings import Settings


def broker_url(settings: Settings) -> str:
    return settings.redis_url.get() if settings.redis_url else settings.libpq_url


def create_queue(settings: Settings, name: str | None = None) -> Queue:
    url = broker_url(settings)
    name = name or settings.queue_name
    if url.startswith("redis"):
        return Queue.from_url(url, name=name)
    return Queue.from_url(url, name=name, min_size=1, max_size=4)
