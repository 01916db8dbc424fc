"""Applications: what a learner sends, and how an employer moves it along.

* **Applying** (a member of an organization whose board is open, to an offered job): the learner chooses what to
  send, and only that crosses organizations: their name and email; their résumé as PDF (rendered now, kept as it
  was sent); some of their issued certificates (title, date, verification link); some of their skills that
  evidence shows (name and level); a cover letter. The match score at that moment is kept too. One application
  per learner and job (:class:`JobError` 409 on a second).
* **The learner** lists their applications and withdraws one that is not decided yet.
* **The employer** (``postings.may_employ``) sees only the applications to their organization's jobs, and moves
  each along: applied -> screening -> interview -> offer -> hired, or rejected at any point before hired (a
  decided application stays decided), with a note for themselves; a note may also be added without a move.
* Each move is a ``job_application_events`` row, in the same transaction, and a task deferred in it tells the other
  side (the learner in their organization, or the employer's members) exactly once (``tasks.deliver_job_event``).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.jobs import board, matching
from tajiconnect.domains.jobs.models import (
    RESUME_MAX,
    Employer,
    Job,
    JobApplication,
    JobApplicationEvent,
    JobSkill,
)
from tajiconnect.domains.jobs.postings import JobError, own_job
from tajiconnect.domains.resumes import service as resumes
from tajiconnect.domains.resumes.pdf import render
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.validation import clean_text

LETTER_MAX, NOTE_MAX = 5000, 1000
PER_PAGE = 25
FLOW = ("applied", "screening", "interview", "offer", "hired")
DECIDED = ("hired", "rejected", "withdrawn")


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def may_move(current: str, wanted: str) -> bool:
    """Whether an employer may move an application from ``current`` to ``wanted`` (pure)."""
    if current in DECIDED or wanted in ("applied", "withdrawn") or wanted == current:
        return False
    if wanted == "rejected":
        return True
    return wanted in FLOW and FLOW.index(wanted) > FLOW.index(current)


async def _defer_delivery(session: AsyncSession, event_id: uuid.UUID) -> None:
    from tajiconnect.domains.jobs.tasks import deliver_job_event
    from tajiconnect.tasks.outbox import defer

    await defer(session, deliver_job_event, event_id=str(event_id))


async def _event(session: AsyncSession, application: JobApplication, status: str, by: str, note: str = "",
                 *, tell: bool = True) -> JobApplicationEvent:
    """A step (or, with ``tell`` false, a note only: nobody is told, so it is marked told at once)."""
    event = JobApplicationEvent(application_id=application.id, status=status, by=by, note=note,
                                notified_at=None if tell else now())
    session.add(event)
    await session.flush()
    return event


@dataclass
class Snapshot:
    include_resume: bool
    certificate_ids: list[uuid.UUID]
    skill_keys: list[str]
    cover_letter: str


async def apply(session: AsyncSession, acting: Acting, job_id: Any, snapshot: Snapshot) -> JobApplication:
    user = acting.user
    if not await board.allowed(session):
        raise JobError(_("No such job here."), status=404)
    found = await board.get_offered(session, job_id)
    if found is None:
        raise JobError(_("No such job here."), status=404)
    job, _employer = found
    letter = clean_text(snapshot.cover_letter, LETTER_MAX, "cover_letter", markdown=True, error=JobError)
    tenant = require_tenant()
    certificates = await resumes.certificates_of(session, user.id)
    chosen = set(snapshot.certificate_ids)
    if chosen - {c.id for c in certificates}:
        raise JobError(_("Choose certificates from the list."), field="certificate_ids")
    shown = {s.key: s for s in await matching.skills_shown(session, user.id)}
    have = {k: s.level for k, s in shown.items()}
    if set(snapshot.skill_keys) - set(shown):
        raise JobError(_("Choose skills from the list."), field="skill_keys")
    required = [(s.key, s.name, s.level) for s in (await session.scalars(
        select(JobSkill).where(JobSkill.job_id == job.id))).all()]
    pdf = None
    if snapshot.include_resume:
        content = await resumes.content(session, await resumes.mine(session, user), user)
        pdf = await render(content)
        if len(pdf) > RESUME_MAX:
            raise JobError(_("The résumé is too large to send."), field="include_resume")
    moment = now()
    made = (await session.execute(insert(JobApplication).values(
        id=uuid.uuid4(), job_id=job.id, applicant_tenant_id=tenant.id, applicant_id=user.id,
        applicant_name=user.name or user.email, applicant_email=user.email, cover_letter=letter, resume_pdf=pdf,
        certificates=[{"title": c.title, "completed_on": c.completed_on.isoformat(), "verification_url": c.url}
                      for c in certificates if c.id in chosen],
        skills=[{"key": k, "name": shown[k].name, "level": shown[k].level} for k in snapshot.skill_keys],
        match_percent=matching.score(required, have).percent, status="applied", created_at=moment,
        updated_at=moment).on_conflict_do_nothing().returning(JobApplication))).scalar_one_or_none()
    if made is None:
        raise JobError(_("You applied to this job already."), status=409)
    await session.refresh(made, ["has_resume"])  # RETURNING gives the columns, not what derives from them
    event = await _event(session, made, "applied", "applicant")
    await record(session, acting.actor, "job.applied", target_type="job_application", target_id=made.id,
                 job=job.title, certificates=len(chosen), skills=len(snapshot.skill_keys), resume=pdf is not None)
    await _defer_delivery(session, event.id)
    return made


@dataclass
class Mine:
    application: JobApplication
    title: str
    employer: str
    job_open: bool


async def mine(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE
               ) -> tuple[list[Mine], int]:
    rows = (await session.execute(
        select(JobApplication, Job.title, Employer.name, board.offered(), func.count().over())
        .join(Job, Job.id == JobApplication.job_id).join(Employer, Employer.id == Job.employer_id)
        .where(JobApplication.applicant_tenant_id == require_tenant().id, JobApplication.applicant_id == user.id)
        .order_by(JobApplication.updated_at.desc(), JobApplication.id)
        .offset((page - 1) * per_page).limit(per_page))).all()
    return [Mine(r[0], r[1], r[2], bool(r[3])) for r in rows], int(rows[0][4]) if rows else 0


async def mine_for_job(session: AsyncSession, user: Any, job_id: uuid.UUID) -> JobApplication | None:
    return await session.scalar(select(JobApplication).where(
        JobApplication.job_id == job_id, JobApplication.applicant_tenant_id == require_tenant().id,
        JobApplication.applicant_id == user.id))


async def _mine_locked(session: AsyncSession, user: Any, application_id: Any) -> JobApplication:
    key = parse_uuid(application_id)
    found = await session.scalar(select(JobApplication).where(
        JobApplication.id == key, JobApplication.applicant_tenant_id == require_tenant().id,
        JobApplication.applicant_id == user.id).with_for_update().execution_options(populate_existing=True)
    ) if key else None
    if found is None:
        raise JobError(_("No such application."), status=404)
    return found


async def withdraw(session: AsyncSession, acting: Acting, application_id: Any) -> JobApplication:
    application = await _mine_locked(session, acting.user, application_id)
    if application.status in DECIDED:
        raise JobError(_("This application is decided already."), status=409)
    application.status = "withdrawn"
    await session.flush()
    event = await _event(session, application, "withdrawn", "applicant")
    await record(session, acting.actor, "job.application.withdrawn", target_type="job_application",
                 target_id=application.id)
    await _defer_delivery(session, event.id)
    return application


# --- the employer's side ------------------------------------------------------------------------------------------


async def for_job(session: AsyncSession, job_id: Any, *, status: str = "", page: int = 1,
                  per_page: int = PER_PAGE) -> tuple[Job, list[JobApplication], int]:
    """A job of the organization in scope and one page of its applications, best match first."""
    job = await own_job(session, job_id)
    stmt = select(JobApplication, func.count().over()).where(JobApplication.job_id == job.id)
    if status:
        stmt = stmt.where(JobApplication.status == status)
    rows = (await session.execute(stmt.order_by(
        JobApplication.match_percent.desc(), JobApplication.created_at, JobApplication.id)
        .offset((page - 1) * per_page).limit(per_page))).all()
    return job, [r[0] for r in rows], int(rows[0][1]) if rows else 0


async def for_employer(session: AsyncSession, application_id: Any, *, lock: bool = False
                       ) -> tuple[JobApplication, Job]:
    """An application to a job of the organization in scope (else not found)."""
    key = parse_uuid(application_id)
    stmt = (select(JobApplication, Job).join(Job, Job.id == JobApplication.job_id)
            .where(JobApplication.id == key, Job.tenant_id == require_tenant().id))
    if lock:  # read again under the lock, whatever the session holds
        stmt = stmt.with_for_update(of=JobApplication).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).first() if key else None
    if row is None:
        raise JobError(_("No such application."), status=404)
    return row[0], row[1]


async def events_of(session: AsyncSession, application_id: uuid.UUID) -> list[JobApplicationEvent]:
    return list((await session.scalars(select(JobApplicationEvent).where(
        JobApplicationEvent.application_id == application_id).order_by(JobApplicationEvent.created_at,
                                                                      JobApplicationEvent.id))).all())


async def resume_of(session: AsyncSession, application_id: Any) -> tuple[bytes, str]:
    application, _job = await for_employer(session, application_id)
    data = await session.scalar(select(JobApplication.resume_pdf).where(JobApplication.id == application.id))
    if not data:
        raise JobError(_("No résumé was sent with this application."), status=404)
    return data, application.applicant_name


async def move(session: AsyncSession, acting: Acting, application_id: Any, status: str, note: str = ""
               ) -> JobApplication:
    """Move an application along (or only note something when ``status`` is its current one)."""
    application, job = await for_employer(session, application_id, lock=True)
    text_ = clean_text(note, NOTE_MAX, "note", markdown=True, error=JobError)
    if status == application.status:
        if not text_:
            raise JobError(_("Write a note, or choose another step."), field="note")
        await _event(session, application, status, "employer", text_, tell=False)
        return application
    if not may_move(application.status, status):
        raise JobError(_("This application cannot move to that step."), status=409, field="status")
    application.status = status
    await session.flush()
    event = await _event(session, application, status, "employer", text_)
    await record(session, acting.actor, "job.application.moved", target_type="job_application",
                 target_id=application.id, job=job.title, status=status)
    await _defer_delivery(session, event.id)
    return application
