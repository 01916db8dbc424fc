"""The employer's side of the job board: the organization's employer profile and its jobs.

Who: members with the ``employer`` role, and admins, of the organization in scope; they act for it, and see and
change only its jobs (every query here is bounded by the tenant's id). Each change is audited in the
organization's log.

A job is written as a draft, checked field by field (:class:`JobError` names the field): a title, a Markdown
description (kept with its sanitized HTML), a place and whether the work is on site, hybrid or remote, its kind, a
salary range (whole amounts, the minimum not above the maximum) in a currency (three letters) per hour, month or
year, a closing date not in the past, and at most :data:`SKILLS_MAX` skills from the organization's taxonomy with
the level required. Submitting publishes it, or sends it to the operators first when the platform reviews jobs
(``TAJI_JOB_REVIEW``); changing a published job sends it back to review then. The employer closes a job; a
rejected job can be changed and submitted again.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import markdown
from tajiconnect.domains.jobs.matching import key_of
from tajiconnect.domains.jobs.models import (
    JOB_KINDS,
    SALARY_PERIODS,
    WORKPLACES,
    Employer,
    Job,
    JobApplication,
    JobSkill,
)
from tajiconnect.domains.skills.models import LEVELS, Skill
from tajiconnect.i18n import gettext as _
from tajiconnect.settings import get_settings
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.validation import FieldError, clean_text, web_address

TITLE_MAX, DESCRIPTION_MAX, LOCATION_MAX, NAME_MAX, ABOUT_MAX, WEBSITE_MAX = 160, 20_000, 120, 200, 5000, 300
SALARY_LIMIT = 1_000_000_000
SKILLS_MAX = 20
PER_PAGE = 25
EMPLOYER_ROLES = ("employer", "org_admin")


class JobError(FieldError):
    """What the job board refuses (``validation.FieldError``)."""


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def may_employ(user: Any) -> bool:
    return user is not None and user.is_active and any(r in (user.roles or ()) for r in EMPLOYER_ROLES)


def _text(value: Any, limit: int, field: str, *, required: bool = False, lines: bool = False,
          markdown: bool = False) -> str:
    return clean_text(value, limit, field, required=required, lines=lines, markdown=markdown, error=JobError)


def _amount(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = value.replace(",", "").replace(" ", "")
        if not value.isascii() or not value.isdigit() or len(value) > 10:
            raise JobError(_("Give a whole amount."), field=field)
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SALARY_LIMIT:
        raise JobError(_("Give a whole amount from 0 to %(n)s.") % {"n": f"{SALARY_LIMIT:,}"}, field=field)
    return value


def _date(value: Any, field: str, kept: datetime.date | None = None) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) else None
        except ValueError:
            value = None
    if not isinstance(value, datetime.date):
        raise JobError(_("Give a date as YYYY-MM-DD."), field=field)
    if value < datetime.datetime.now(datetime.UTC).date() and value != kept:  # an unchanged date may have passed
        raise JobError(_("The closing date has passed."), field=field)
    if value.year > 2100:
        raise JobError(_("Give a date as YYYY-MM-DD."), field=field)
    return value


@dataclass
class JobFields:
    title: str
    description: str
    location: str
    workplace: str
    kind: str
    salary_min: int | None
    salary_max: int | None
    currency: str
    salary_period: str
    closes_on: datetime.date | None


def clean_job(values: dict[str, Any], *, kept_closes_on: datetime.date | None = None) -> JobFields:
    """The job's fields checked (pure but for today's date); :class:`JobError` names the first field at fault."""
    fields_ = JobFields(
        title=_text(values.get("title"), TITLE_MAX, "title", required=True),
        description=_text(values.get("description"), DESCRIPTION_MAX, "description", markdown=True),
        location=_text(values.get("location"), LOCATION_MAX, "location"),
        workplace=values.get("workplace") or "onsite", kind=values.get("kind") or "full_time",
        salary_min=_amount(values.get("salary_min"), "salary_min"),
        salary_max=_amount(values.get("salary_max"), "salary_max"),
        currency=(values.get("currency") or "KES").strip().upper() if isinstance(values.get("currency", ""), str)
        else "", salary_period=values.get("salary_period") or "month",
        closes_on=_date(values.get("closes_on"), "closes_on", kept_closes_on))
    if fields_.workplace not in WORKPLACES:
        raise JobError(_("Choose on site, hybrid or remote."), field="workplace")
    if fields_.kind not in JOB_KINDS:
        raise JobError(_("Choose a kind of work from the list."), field="kind")
    if fields_.salary_period not in SALARY_PERIODS:
        raise JobError(_("Choose per hour, month or year."), field="salary_period")
    if not re.fullmatch(r"[A-Z]{3}", fields_.currency):
        raise JobError(_("Give a currency as three letters, such as KES or XAF."), field="currency")
    if fields_.salary_min is not None and fields_.salary_max is not None and fields_.salary_min > fields_.salary_max:
        raise JobError(_("The minimum is above the maximum."), field="salary_max")
    if fields_.workplace != "remote" and not fields_.location:
        raise JobError(_("Say where the work is, or choose remote."), field="location")
    return fields_


# --- the employer profile ---------------------------------------------------------------------------------------


async def employer_profile(session: AsyncSession) -> Employer:
    """The organization's employer profile, made with its name the first time."""
    tenant = require_tenant()
    found = await session.scalar(select(Employer).where(Employer.tenant_id == tenant.id))
    if found is not None:
        return found
    moment = now()
    await session.execute(insert(Employer).values(id=uuid.uuid4(), tenant_id=tenant.id, name=tenant.name,
                                                  created_at=moment, updated_at=moment).on_conflict_do_nothing())
    made = await session.scalar(select(Employer).where(Employer.tenant_id == tenant.id))
    assert made is not None
    return made


async def update_profile(session: AsyncSession, acting: Acting, **values: Any) -> Employer:
    employer = await employer_profile(session)
    employer.name = _text(values.get("name"), NAME_MAX, "name", required=True)
    employer.about = _text(values.get("about"), ABOUT_MAX, "about", lines=True)
    employer.location = _text(values.get("location"), LOCATION_MAX, "location")
    employer.website = web_address(values.get("website"), WEBSITE_MAX, "website", error=JobError)
    await session.flush()
    await record(session, acting.actor, "employer.updated", target_type="employer", target_id=employer.id,
                 name=employer.name)
    return employer


# --- jobs ---------------------------------------------------------------------------------------------------------


async def own_job(session: AsyncSession, job_id: Any, *, lock: bool = False) -> Job:
    """A job of the organization in scope (another organization's ids are not found)."""
    key = parse_uuid(job_id)
    stmt = select(Job).where(Job.id == key, Job.tenant_id == require_tenant().id)
    if lock:  # read again under the lock, whatever the session holds
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt) if key else None
    if found is None:
        raise JobError(_("No such job here."), status=404)
    return found


async def _skills(session: AsyncSession, pairs: list[tuple[Any, Any]]) -> list[tuple[str, str, int]]:
    """(key, name, level) of the organization's skills chosen for a job."""
    if len(pairs) > SKILLS_MAX:
        raise JobError(_("At most %(n)d skills.") % {"n": SKILLS_MAX}, field="skills")
    wanted: dict[uuid.UUID, int] = {}
    for skill_id, level in pairs:
        key = parse_uuid(skill_id) if not isinstance(skill_id, uuid.UUID) else skill_id
        if key is None:
            raise JobError(_("Choose a skill from the list."), field="skill_id")
        if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
            raise JobError(_("Choose a level from 1 to 5."), field="level")
        if key in wanted:
            raise JobError(_("Each skill once."), field="skill_id")
        wanted[key] = level
    if not wanted:
        return []
    found = (await session.execute(select(Skill.id, Skill.code, Skill.name).where(
        Skill.id.in_(list(wanted)), Skill.archived_at.is_(None)))).all()
    if len(found) != len(wanted):
        raise JobError(_("Choose a skill from the list."), field="skill_id")
    keyed = [(key_of(code, name), name, wanted[sid]) for sid, code, name in found]
    if len({k for k, _n, _l in keyed}) != len(keyed):
        raise JobError(_("Each skill once."), field="skill_id")
    return keyed


async def skills_of(session: AsyncSession, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[JobSkill]]:
    found: dict[uuid.UUID, list[JobSkill]] = {j: [] for j in job_ids}
    if job_ids:
        for s in (await session.scalars(select(JobSkill).where(JobSkill.job_id.in_(job_ids))
                                        .order_by(JobSkill.level.desc(), JobSkill.name))).all():
            found[s.job_id].append(s)
    return found


async def _set_skills(session: AsyncSession, job: Job, keyed: list[tuple[str, str, int]]) -> None:
    await session.execute(delete(JobSkill).where(JobSkill.job_id == job.id))
    session.add_all(JobSkill(job_id=job.id, key=k, name=n, level=lvl) for k, n, lvl in keyed)
    await session.flush()


async def create(session: AsyncSession, acting: Acting, values: dict[str, Any],
                 skills: list[tuple[Any, Any]] | None = None) -> Job:
    fields_ = clean_job(values)
    keyed = await _skills(session, skills or [])
    employer = await employer_profile(session)
    job = Job(employer_id=employer.id, tenant_id=employer.tenant_id, posted_by_id=acting.user.id, status="draft",
              description_html=markdown.render(fields_.description), **fields_.__dict__)
    session.add(job)
    await session.flush()
    await _set_skills(session, job, keyed)
    await record(session, acting.actor, "job.created", target_type="job", target_id=job.id, title=job.title)
    return job


async def update(session: AsyncSession, acting: Acting, job_id: Any, values: dict[str, Any],
                 skills: list[tuple[Any, Any]] | None = None) -> Job:
    job = await own_job(session, job_id, lock=True)
    if job.status in ("closed", "hidden"):
        raise JobError(_("This job is closed: it can no longer be changed."), status=409)
    fields_ = clean_job(values, kept_closes_on=job.closes_on)
    keyed = await _skills(session, skills) if skills is not None else None
    for name, value in fields_.__dict__.items():
        setattr(job, name, value)
    job.description_html = markdown.render(fields_.description)
    if job.status == "published" and get_settings().job_review:
        job.status = "pending"  # a changed job is reviewed again
    await session.flush()
    if keyed is not None:
        await _set_skills(session, job, keyed)
    await record(session, acting.actor, "job.updated", target_type="job", target_id=job.id, title=job.title,
                 status=job.status)
    return job


async def submit(session: AsyncSession, acting: Acting, job_id: Any) -> Job:
    """Publish a draft or rejected job, or send it to the operators first (see the module)."""
    job = await own_job(session, job_id, lock=True)
    if job.status not in ("draft", "rejected"):
        raise JobError(_("Only a draft or a rejected job is submitted."), status=409)
    if job.closes_on is not None and job.closes_on < now().date():
        raise JobError(_("The closing date has passed."), status=409, field="closes_on")
    if get_settings().job_review:
        job.status = "pending"
    else:
        job.status, job.published_at = "published", now()  # when it became public: alerts announce it then
    job.review_note = ""
    await session.flush()
    await record(session, acting.actor, "job.submitted", target_type="job", target_id=job.id, title=job.title,
                 status=job.status)
    return job


async def delete_draft(session: AsyncSession, acting: Acting, job_id: Any) -> None:
    """Delete a draft (a job never submitted); anything else is closed instead."""
    job = await own_job(session, job_id, lock=True)
    if job.status != "draft":
        raise JobError(_("Only a draft is deleted: close this job instead."), status=409)
    await record(session, acting.actor, "job.deleted", target_type="job", target_id=job.id, title=job.title)
    await session.delete(job)
    await session.flush()


async def close(session: AsyncSession, acting: Acting, job_id: Any) -> Job:
    job = await own_job(session, job_id, lock=True)
    if job.status != "closed":
        job.status = "closed"
        await session.flush()
        await record(session, acting.actor, "job.closed", target_type="job", target_id=job.id, title=job.title)
    return job


@dataclass
class OwnJob:
    job: Job
    applications: int
    waiting: int  # applied, not looked at yet


async def own_jobs(session: AsyncSession, *, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[OwnJob], int]:
    """The organization's jobs, newest first, with their applications counted (one statement)."""
    own = select(Job.id).where(Job.tenant_id == require_tenant().id)
    counts = (select(JobApplication.job_id, func.count().label("n"),
                     func.count().filter(JobApplication.status == "applied").label("waiting"))
              .where(JobApplication.job_id.in_(own)).group_by(JobApplication.job_id).subquery())
    rows = (await session.execute(
        select(Job, func.coalesce(counts.c.n, 0), func.coalesce(counts.c.waiting, 0), func.count().over())
        .outerjoin(counts, counts.c.job_id == Job.id)
        .where(Job.tenant_id == require_tenant().id)
        .order_by(Job.created_at.desc(), Job.id).offset((page - 1) * per_page).limit(per_page))).all()
    return [OwnJob(r[0], int(r[1]), int(r[2])) for r in rows], int(rows[0][3]) if rows else 0
