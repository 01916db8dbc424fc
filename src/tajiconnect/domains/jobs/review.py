"""Operators and the job board (apex host, ``/platform/jobs``): jobs waiting for review, approve or reject with a
note, hide a published job (and show it again). Every decision is in the platform audit log."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.jobs.models import Employer, Job
from tajiconnect.domains.jobs.postings import JobError
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.models import Tenant
from tajiconnect.validation import clean_text

PER_PAGE = 25
NOTE_MAX = 500
ACTIONS = {"approve": ("pending", "published"), "reject": ("pending", "rejected"),
           "hide": ("published", "hidden"), "show": ("hidden", "published")}


@dataclass
class Queued:
    job: Job
    employer: str
    tenant_slug: str


async def listing(session: AsyncSession, *, status: str = "pending", page: int = 1,
                  per_page: int = PER_PAGE) -> tuple[list[Queued], int]:
    rows = (await session.execute(
        select(Job, Employer.name, Tenant.slug, func.count().over())
        .join(Employer, Employer.id == Job.employer_id).join(Tenant, Tenant.id == Job.tenant_id)
        .where(Job.status == status).order_by(Job.updated_at, Job.id)
        .offset((page - 1) * per_page).limit(per_page))).all()
    return [Queued(r[0], r[1], r[2]) for r in rows], int(rows[0][3]) if rows else 0


async def decide(session: AsyncSession, actor: Actor, job_id: uuid.UUID, action: str,
                 note: str = "") -> Job:
    if action not in ACTIONS:
        raise JobError(_("Choose approve, reject, hide or show."), field="action")
    text_ = clean_text(note, NOTE_MAX, "note", error=JobError)
    if action in ("reject", "hide") and not text_:
        raise JobError(_("Say why: the employer reads it."), field="note")
    job = await session.scalar(select(Job).where(Job.id == job_id).with_for_update()
                               .execution_options(populate_existing=True))
    if job is None:
        raise JobError(_("No such job."), status=404)
    before, after = ACTIONS[action]
    if job.status != before:
        raise JobError(_("This job is not waiting for that."), status=409)
    job.status, job.review_note = after, text_
    if after == "published":  # when it became public (again): what alerts and "newest" go by
        job.published_at = datetime.datetime.now(datetime.UTC)
    await session.flush()
    await record(session, actor, f"platform.job.{action}", target_type="job", target_id=job.id,
                 model=PlatformAuditEntry, title=job.title, note=text_ or None)
    return job


