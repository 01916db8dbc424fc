"""Fault drills: real ``tajiconnect`` processes against the test database, real faults (``kill -9``, a database
cut), and the outcomes a client or an operator relies on. The machinery is in :mod:`tests.drills.harness`.

Each drill has its own tenant, queue name, mail sink and ports, so drills run next to the rest of the suite
(also under pytest-xdist). Whatever a drill started is stopped at teardown, its children included.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.drills.harness import DrillMailSink, Proc, drill_env

if not sys.platform.startswith("linux"):
    pytest.skip("the drills read /proc and rely on Linux's parent-death signal", allow_module_level=True)


@dataclasses.dataclass
class Drill:
    """What a drill needs: a tenant with a password-holding admin, a mail sink, a queue, processes it starts."""

    engine: Any
    database_url: str
    settings: Any
    logs: Path
    procs: list[Proc] = dataclasses.field(default_factory=list)
    sinks: list[DrillMailSink] = dataclasses.field(default_factory=list)
    queue: str = dataclasses.field(default_factory=lambda: f"drill-{secrets.token_hex(4)}")

    async def tenant(self) -> tuple[Any, str]:
        """A fresh tenant (with seats for any load) and its org admin's email (password: ``ADMIN_PASSWORD``)."""
        from tajiconnect.domains.licensing.service import set_license
        from tajiconnect.tenancy.service import provision_tenant

        slug = f"drill{secrets.token_hex(4)}"
        email = f"admin@{slug}.example"
        result = await provision_tenant(
            self.engine, slug=slug, name=f"Drill {slug}", admin_email=email, admin_password=ADMIN_PASSWORD
        )
        await set_license(self.engine, slug, seats=100_000, status="active")
        return result.tenant, email

    def sink(self, delay: float = 0.0) -> DrillMailSink:
        sink = DrillMailSink(delay)
        sink.start()
        self.sinks.append(sink)
        return sink

    def env(self, sink: DrillMailSink, database_url: str | None = None) -> dict[str, str]:
        return drill_env(database_url or self.database_url, sink.url, self.queue)

    def start(self, proc: Proc) -> Any:
        self.procs.append(proc)
        return proc.start()

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    async def sweep_outbox(self, tenant: Any) -> int:
        """What ``sweep_outbox`` does for ``tenant``, without its 20 s wait: enqueue every undispatched message on
        the drill's queue (PostgreSQL broker, like the drill's processes). Returns how many it enqueued."""
        from tajiconnect.tasks.outbox import sweep_tenant
        from tajiconnect.tasks.queue import create_queue

        queue = create_queue(dataclasses.replace(self.settings, queue_name=self.queue, redis_url=None))
        await queue.connect()
        try:
            return await sweep_tenant(self.engine, queue, tenant, older_than=datetime.timedelta(0))
        finally:
            await queue.disconnect()


@pytest.fixture
async def drill(engine, settings, database_url: str, migrated, tmp_path: Path) -> AsyncIterator[Drill]:
    from tajiconnect.worker import load_tasks

    load_tasks()  # the test builds jobs too (the outbox sweep)
    state = Drill(engine=engine, database_url=database_url, settings=settings, logs=tmp_path)
    try:
        yield state
    finally:
        for proc in reversed(state.procs):
            proc.stop()
        for sink in state.sinks:
            sink.stop()
