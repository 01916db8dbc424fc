"""Helpers for the certificate tests: a learner who completed a course, its certificate issued by the worker."""

from __future__ import annotations

import datetime
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pypdfium2
import pytest
from sqlalchemy import func, select

from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.tasks.outbox import sweep_tenant
from tests.integration.conftest import drain
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course


@pytest.fixture
def worker_storage(app, run_jobs):
    """Every test worker stores files where the app serves them from."""
    for worker in run_jobs.workers:
        worker.context["storage"] = app.state.storage
    yield app.state.storage
    for worker in run_jobs.workers:
        worker.context.pop("storage", None)


@dataclass
class Issued:
    learner: Any
    course_id: uuid.UUID
    teacher: Any
    certificate: Certificate


async def complete(engine, tenant, user_id: uuid.UUID, course_id: uuid.UUID) -> None:
    async with tenant_session(engine, tenant) as session:
        await _record_completion(session, user_id, datetime.datetime.now(datetime.UTC), course_id=course_id)


async def dispatch(engine, tenant, run_jobs) -> int:
    """Hand the tenant's deferred tasks to the queue (as the request's commit would) and run every job."""
    await run_jobs()  # connects the queues
    await sweep_tenant(engine, run_jobs.queues, tenant, older_than=datetime.timedelta(0))
    return await drain(run_jobs)


async def certificates_of(engine, tenant, user_id) -> list[Certificate]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Certificate).where(Certificate.user_id == user_id))).all())


async def live_files(engine, tenant, user_id) -> list[StoredFile]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(StoredFile).where(
            StoredFile.purpose == "certificate", StoredFile.uploaded_by_id == user_id,
            StoredFile.status != "deleted"))).all())


async def count_rows(engine, tenant, model, **where) -> int:
    async with tenant_session(engine, tenant) as session:
        return int(await session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


@pytest.fixture
def issued(org, make_user, engine, run_jobs, worker_storage):
    """``await issued(name=..., title=...)``: a learner who completed a course (owned by a new teacher), with the
    certificate the worker issued."""

    async def make(name: str | None = None, title: str | None = None, tenant=None) -> Issued:
        tenant = tenant or org.tenant
        teacher = await make_user(tenant, ["teacher"], name="Grace Teacher")
        learner = await make_user(tenant, ["student"], name=name or f"Learner {uuid.uuid4().hex[:6]}")
        course = await build_course(engine, tenant, owner_id=teacher.id,
                                    title=title or f"Course {uuid.uuid4().hex[:6]}")
        await complete(engine, tenant, learner.id, course.id)
        await dispatch(engine, tenant, run_jobs)
        [certificate] = await certificates_of(engine, tenant, learner.id)
        return Issued(learner, course.id, teacher, certificate)

    return make
