"""Issuing certificates in the background (queue ``certificates``).

``issue_certificate(completion_id)`` is deferred by the progress service in the transaction that records a
completion. It runs in three steps, each safe to repeat:

1. A transaction makes the certificate row if it is missing (``INSERT ... ON CONFLICT (completion_id) DO
   NOTHING``). A certificate that already has its live file is done: the run stops here.
2. The PDF is drawn outside any transaction.
3. A transaction locks the row; if another run linked a file meanwhile, it stops (nothing stored). Otherwise the
   file is stored through the storage service (purpose ``certificate``), linked, and the learner notified
   (``certificate_issued``, key ``certificate:<id>``), all in that one transaction. A worker killed before the
   commit leaves no file row and no link: the retry stores the file again. (The object it may have written to
   the storage backend under a file id no row names is never served.)

``issue_missing_certificates`` (hourly, every tenant) is the backstop: completions with no certificate, and
issued certificates with no live file, go through the same steps.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.certificates import service
from tajiconnect.domains.certificates.models import Certificate
from tajiconnect.domains.certificates.pdf import render_certificate
from tajiconnect.domains.notifications.service import notify
from tajiconnect.domains.progress.models import LearningCompletion
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import Storage
from tajiconnect.domains.storage.tasks import storage_for
from tajiconnect.i18n import N_
from tajiconnect.logs import get_logger
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.schedule import scheduled
from tajiconnect.tenancy.context import require_tenant

log = get_logger(__name__)

CERTIFICATES = TaskPolicy(queue="certificates", timeout=120)
BACKSTOP_BATCH = 200


async def _has_live_file(session: Any, certificate: Certificate) -> bool:
    if certificate.file_id is None:
        return False
    file = await session.get(StoredFile, certificate.file_id)
    return file is not None and file.status == "ready"


def file_name(certificate: Certificate) -> str:
    return f"certificate-{certificate.code}.pdf"


async def run_issue(engine: AsyncEngine, storage: Storage, completion_id: str | uuid.UUID) -> dict[str, Any]:
    """Make the completion's certificate and its file (see the module); safe to run again."""
    tenant = require_tenant()
    async with session_scope(engine) as session:
        certificate = await service.issue_for_completion(session, completion_id)
        if certificate is None:
            return {"skipped": "no such completion"}
        if await _has_live_file(session, certificate):
            return {"certificate_id": str(certificate.id), "done": "already"}
        cert_id = certificate.id
        content = service.content_for(certificate, tenant)
    data = await asyncio.to_thread(render_certificate, content)
    async with session_scope(engine) as session:
        locked = await session.get(Certificate, cert_id, with_for_update=True)
        if locked is None:
            return {"skipped": "gone"}
        if await _has_live_file(session, locked):
            return {"certificate_id": str(cert_id), "done": "already"}
        learner = await session.get(User, locked.user_id)
        file = await storage.save(session, data, filename=file_name(locked), purpose="certificate", user=learner)
        locked.file_id = file.id
        if learner is not None:
            await notify(
                session, learner, "certificate_issued", key=f"certificate:{cert_id}",
                title=N_("Your certificate for %(title)s is ready"),
                body=N_("Download it from My certificates; anyone can check it with the code %(code)s."),
                params={"title": locked.title, "code": service.grouped(locked.code)},
                link="/learn/certificates", data={"certificate_id": str(cert_id)},
            )
    log.info("certificate issued", certificate_id=str(cert_id))
    return {"certificate_id": str(cert_id), "file_id": str(file.id)}


@tenant_task(policy=CERTIFICATES)
async def issue_certificate(ctx: dict[str, Any], *, completion_id: str) -> dict[str, Any]:
    """Issue the certificate of a completion (``learning_completions`` row) and store its PDF; idempotent."""
    return await run_issue(ctx["engine"], storage_for(ctx), completion_id)


async def missing(engine: AsyncEngine, limit: int = BACKSTOP_BATCH) -> list[uuid.UUID]:
    """Completions without a certificate, or whose issued certificate has no live file."""
    async with session_scope(engine) as session:
        stmt = (
            select(LearningCompletion.id)
            .outerjoin(Certificate, Certificate.completion_id == LearningCompletion.id)
            .outerjoin(StoredFile, StoredFile.id == Certificate.file_id)
            .where(or_(Certificate.id.is_(None),
                       and_(Certificate.status == "issued",
                            or_(StoredFile.id.is_(None), StoredFile.status != "ready"))))
            .order_by(LearningCompletion.completed_at)
            .limit(limit)
        )
        return list((await session.scalars(stmt)).all())


async def run_backstop(engine: AsyncEngine, storage: Storage) -> dict[str, Any]:
    done = failed = 0
    for completion_id in await missing(engine):
        try:
            await run_issue(engine, storage, completion_id)
            done += 1
        except Exception:  # one bad completion must not stop the others; the next hour tries again
            failed += 1
            log.exception("certificate backstop failed", completion_id=str(completion_id))
    return {"issued": done, "failed": failed}


@scheduled("hourly")
@tenant_task(policy=TaskPolicy(queue="certificates", timeout=1800))
async def issue_missing_certificates(ctx: dict[str, Any], *, tick: str | None = None) -> dict[str, Any]:
    """Hourly backstop: issue and render what a lost job left undone."""
    return await run_backstop(ctx["engine"], storage_for(ctx))
