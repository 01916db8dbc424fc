"""The job board API (bearer token):

* ``GET /api/v1/jobs?q=&location=&workplace=&kind=``: offered jobs for the caller's organization's learners (403 when
  the organization has not opened the board), each with the caller's match; ``?own=true`` instead lists the jobs of
  the caller's organization (employers and admins), in every status.
* ``GET /api/v1/jobs/{id}``: an offered job, or one of the caller's organization's own; ``POST /api/v1/jobs``,
  ``PATCH``/``DELETE /api/v1/jobs/{id}``, ``POST /api/v1/jobs/{id}/submit`` and ``/close``: employers write their
  organization's jobs (a delete only of a draft never submitted).
* ``POST /api/v1/jobs/{id}/applications``: apply, sending what the body names; ``GET`` lists the applications to
  one of the caller's organization's jobs (employers).
* ``GET /api/v1/applications``: the caller's own applications; ``GET /api/v1/applications/{id}``: one, for its
  applicant or its job's employers; ``PATCH`` moves it (employers: a step and a note) or withdraws it (its
  applicant: ``{"status": "withdrawn"}``).

A request that does not validate is a 400; a valid value the service refuses a 409 naming its ``field``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.jobs import applications, board, matching, postings
from tajiconnect.domains.jobs.models import ApplicationStatus as Step
from tajiconnect.domains.jobs.models import Job, JobApplication, JobSkill, Workplace
from tajiconnect.domains.jobs.models import JobKind as Kind
from tajiconnect.domains.jobs.models import JobStatus as Status
from tajiconnect.domains.jobs.models import SalaryPeriod as Period
from tajiconnect.domains.jobs.postings import JobError
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, SUSPENDED, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Words = Annotated[str | None, Parameter(max_length=board.SEARCH_MAX, description="Words (web search syntax).")]
Place = Annotated[str | None, Parameter(max_length=board.SEARCH_MAX, description="Part of the place.")]
Amount = Annotated[int, Meta(ge=0, le=postings.SALARY_LIMIT)]
Level = Annotated[int, Meta(ge=1, le=5)]
NOT_FOUND = "No such job offered to the caller, nor one of their organization's."
CLOSED = "The caller's organization has not opened the job board (or the caller is suspended)."
EMPLOYERS = f"Only the organization's employers and admins. {SUSPENDED}"
APP_NOT_FOUND = "No such application of the caller's, nor one to their organization's jobs."


class SkillIn(msgspec.Struct, forbid_unknown_fields=True):
    skill_id: uuid.UUID
    level: Level


class JobIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=postings.TITLE_MAX, pattern=NOT_BLANK)]
    description: Annotated[str, Meta(max_length=postings.DESCRIPTION_MAX)] = ""
    location: Annotated[str, Meta(max_length=postings.LOCATION_MAX)] = ""
    workplace: Workplace = "onsite"
    kind: Kind = "full_time"
    salary_min: Amount | None = None
    salary_max: Amount | None = None
    currency: Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")] = "KES"
    salary_period: Period = "month"
    closes_on: datetime.date | None = None
    skills: Annotated[list[SkillIn], Meta(max_length=postings.SKILLS_MAX)] = []


class JobPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are; ``skills`` replaces them all."""

    title: Annotated[str, Meta(min_length=1, max_length=postings.TITLE_MAX, pattern=NOT_BLANK)] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=postings.DESCRIPTION_MAX)] | UnsetType = UNSET
    location: Annotated[str, Meta(max_length=postings.LOCATION_MAX)] | UnsetType = UNSET
    workplace: Workplace | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    salary_min: Amount | UnsetType | None = UNSET
    salary_max: Amount | UnsetType | None = UNSET
    currency: Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")] | UnsetType = UNSET
    salary_period: Period | UnsetType = UNSET
    closes_on: datetime.date | UnsetType | None = UNSET
    skills: Annotated[list[SkillIn], Meta(max_length=postings.SKILLS_MAX)] | UnsetType = UNSET


class RequiredOut(msgspec.Struct):
    key: str
    name: str
    level: int


class MatchLine(msgspec.Struct):
    key: str
    name: str
    required: int
    have: int


class MatchOut(msgspec.Struct):
    """The caller's match: the share of the required levels their evidenced skills cover (levels weigh)."""

    percent: Annotated[int, Meta(ge=0, le=100)]
    met: list[MatchLine]
    missing: list[MatchLine]


class JobOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    employer: str
    description: str
    description_html: str
    location: str
    workplace: Workplace
    kind: Kind
    salary_min: int | None
    salary_max: int | None
    currency: str
    salary_period: Period
    closes_on: str | None
    status: Status
    published_at: Timestamp | None
    skills: list[RequiredOut]
    match: MatchOut | None


class JobPage(msgspec.Struct):
    items: list[JobOut]
    total: int
    page: int
    per_page: int


class ApplyIn(msgspec.Struct, forbid_unknown_fields=True):
    """What to send: the résumé as PDF or not, some of the caller's certificates, some of their evidenced skills
    (by key, as ``GET /api/v1/jobs`` names them in ``match``), a cover letter."""

    include_resume: bool = True
    certificate_ids: Annotated[list[uuid.UUID], Meta(max_length=50)] = []
    skill_keys: Annotated[list[Annotated[str, Meta(max_length=130)]], Meta(max_length=50)] = []
    cover_letter: Annotated[str, Meta(max_length=applications.LETTER_MAX)] = ""


class ApplicationOut(msgspec.Struct):
    id: uuid.UUID
    job_id: uuid.UUID
    job_title: str
    status: Step
    applicant_name: str
    applicant_email: str
    cover_letter: str
    certificates: list[dict[str, str]]
    skills: list[dict[str, str | int]]
    match_percent: int
    has_resume: bool
    created_at: Timestamp
    updated_at: Timestamp


class ApplicationPage(msgspec.Struct):
    items: list[ApplicationOut]
    total: int
    page: int
    per_page: int


class ApplicationPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Employers: the next step (or the current one, with a note only); applicants: ``withdrawn``."""

    status: Step
    note: Annotated[str, Meta(max_length=applications.NOTE_MAX)] = ""


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def match_json(m: matching.Match) -> MatchOut:
    return MatchOut(percent=m.percent,
                    met=[MatchLine(key=x.key, name=x.name, required=x.required, have=x.have) for x in m.met],
                    missing=[MatchLine(key=x.key, name=x.name, required=x.required, have=x.have) for x in m.missing])


def job_json(job: Job, employer: str, skills: list[JobSkill], match: matching.Match | None) -> JobOut:
    return JobOut(
        id=job.id, title=job.title, employer=employer, description=job.description,
        description_html=job.description_html, location=job.location, workplace=job.workplace,  # type: ignore[arg-type]
        kind=job.kind, salary_min=job.salary_min, salary_max=job.salary_max,  # type: ignore[arg-type]
        currency=job.currency, salary_period=job.salary_period,  # type: ignore[arg-type]
        closes_on=job.closes_on.isoformat() if job.closes_on else None, status=job.status,  # type: ignore[arg-type]
        published_at=job.published_at.isoformat() if job.published_at else None,
        skills=[RequiredOut(key=s.key, name=s.name, level=s.level) for s in skills],
        match=match_json(match) if match else None)


def application_json(a: JobApplication, title: str) -> ApplicationOut:
    return ApplicationOut(
        id=a.id, job_id=a.job_id, job_title=title, status=a.status, applicant_name=a.applicant_name,  # type: ignore[arg-type]
        applicant_email=a.applicant_email, cover_letter=a.cover_letter, certificates=a.certificates,
        skills=a.skills, match_percent=a.match_percent, has_resume=a.has_resume,
        created_at=a.created_at.isoformat(), updated_at=a.updated_at.isoformat())


def _values(data: JobIn | JobPatch, job: Job | None = None) -> dict[str, object]:
    names = ("title", "description", "location", "workplace", "kind", "salary_min", "salary_max", "currency",
             "salary_period", "closes_on")
    values: dict[str, object] = {n: getattr(job, n) for n in names} if job else {}
    for name in names:
        value = getattr(data, name)
        if value is not UNSET:
            values[name] = value
    return values


class JobsApi(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    async def _employer(self, request: Request) -> None:
        if not postings.may_employ(request.scope["user"]):
            raise refusal(JobError(_("Only employers and admins of the organization do this."), status=403))

    @get("/", name="api.jobs.list", summary="Search the job board (or, with own=true, my organization's jobs)",
         **problems(*GUARDED, notes={403: f"{CLOSED} With `own`: {EMPLOYERS}"}))
    async def index(self, request: Request, db_session: DbSession, q: FromQuery[Words] = None,
                    location: FromQuery[Place] = None, workplace: FromQuery[Workplace | None] = None,
                    kind: FromQuery[Kind | None] = None,
                    own: FromQuery[Annotated[bool, Parameter(description="My organization's jobs (employers).")]]
                    = False,
                    page: PageParam = 1, per_page: PerPage = 20) -> JobPage:
        me = request.scope["user"]
        if own:
            await self._employer(request)
            found, total = await postings.own_jobs(db_session, page=page, per_page=per_page)
            skills = await postings.skills_of(db_session, [o.job.id for o in found])
            employer = (await postings.employer_profile(db_session)).name
            return JobPage(items=[job_json(o.job, employer, skills[o.job.id], None) for o in found], total=total,
                           page=page, per_page=per_page)
        if not await board.allowed(db_session):
            raise refusal(JobError(_("Your organization has not opened the job board."), status=403))
        filters = board.Filters(q=(q or "").strip(), location=(location or "").strip(), workplace=workplace or "",
                                kind=kind or "")
        listed, total = await board.search(db_session, filters, page=page, per_page=per_page)
        skills = await postings.skills_of(db_session, [x.job.id for x in listed])
        have = await matching.levels_of(db_session, me.id)
        return JobPage(items=[job_json(x.job, x.employer, skills[x.job.id], matching.score_of(skills[x.job.id], have))
                              for x in listed],
            total=total, page=page, per_page=per_page)

    @post("/", name="api.jobs.create", summary="Write a job (a draft; employers)",
          **problems(*BODY, *GUARDED, 409, idempotent=True, notes={
              403: EMPLOYERS, 409: "A value the board refuses: the minimum above the maximum, a past closing date, "
                                   "no place for on-site work, a skill not in the taxonomy (`field`)."}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[JobIn]) -> JobOut:
        await self._employer(request)
        try:
            job = await postings.create(db_session, _acting(request), _values(data),
                                        [(s.skill_id, s.level) for s in data.skills])
        except JobError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._own_json(db_session, job)

    async def _own_json(self, db_session: DbSession, job: Job) -> JobOut:
        skills = (await postings.skills_of(db_session, [job.id]))[job.id]
        return job_json(job, (await postings.employer_profile(db_session)).name, skills, None)

    @get("/{job_id:str}", name="api.jobs.show", summary="A job: offered to me, or one of my organization's",
         **problems(*GUARDED, 404, notes={403: SUSPENDED, 404: NOT_FOUND}))
    async def show(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> JobOut:
        me = request.scope["user"]
        if postings.may_employ(me):
            try:
                return await self._own_json(db_session, await postings.own_job(db_session, job_id))
            except JobError:
                pass
        found = await board.get_offered(db_session, job_id) if await board.allowed(db_session) else None
        if found is None:
            raise refusal(JobError(_("No such job here."), status=404))
        job, employer = found
        skills = (await postings.skills_of(db_session, [job.id]))[job.id]
        have = await matching.levels_of(db_session, me.id)
        return job_json(job, employer.name, skills, matching.score_of(skills, have))

    @patch("/{job_id:str}", name="api.jobs.update", summary="Change one of my organization's jobs (employers)",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: EMPLOYERS, 404: NOT_FOUND, 409: "A value the board refuses, or the job is closed (`field`)."}))
    async def update(self, request: Request, db_session: DbSession, job_id: FromPath[str],
                     data: JSONBody[JobPatch]) -> JobOut:
        await self._employer(request)
        try:
            current = await postings.own_job(db_session, job_id, lock=True)  # what the patch applies to
            job = await postings.update(db_session, _acting(request), job_id, _values(data, current),
                                        None if data.skills is UNSET else [(s.skill_id, s.level) for s in data.skills])
        except JobError as exc:
            raise refusal(exc, refused_value=True) from exc
        return await self._own_json(db_session, job)

    @delete("/{job_id:str}", name="api.jobs.delete", status_code=HTTP_204_NO_CONTENT,
            summary="Delete a draft never submitted (employers)",
            **problems(*GUARDED, 404, 409, idempotent=True, notes={
                403: EMPLOYERS, 404: NOT_FOUND, 409: "Not a draft: close it instead."}))
    async def remove(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> None:
        await self._employer(request)
        try:
            await postings.delete_draft(db_session, _acting(request), job_id)
        except JobError as exc:
            raise refusal(exc) from exc

    @post("/{job_id:str}/submit", name="api.jobs.submit", status_code=200,
          summary="Publish a job, or send it to review first (employers)",
          **problems(*GUARDED, 404, 409, idempotent=True, notes={
              403: EMPLOYERS, 404: NOT_FOUND, 409: "Not a draft or rejected job, or its closing date passed."}))
    async def submit(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> JobOut:
        await self._employer(request)
        try:
            job = await postings.submit(db_session, _acting(request), job_id)
        except JobError as exc:
            raise refusal(exc) from exc
        return await self._own_json(db_session, job)

    @post("/{job_id:str}/close", name="api.jobs.close", status_code=200, summary="Close a job (employers)",
          **problems(*GUARDED, 404, idempotent=True, notes={403: EMPLOYERS, 404: NOT_FOUND}))
    async def close(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> JobOut:
        await self._employer(request)
        try:
            job = await postings.close(db_session, _acting(request), job_id)
        except JobError as exc:
            raise refusal(exc) from exc
        return await self._own_json(db_session, job)

    @post("/{job_id:str}/applications", name="api.jobs.apply", summary="Apply to a job, sending what I choose",
          **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
              403: SUSPENDED, 404: f"{NOT_FOUND} Or the board is closed to the caller's organization.",
              409: "Applied already, or a certificate or skill that is not the caller's (`field`)."}))
    async def apply(self, request: Request, db_session: DbSession, job_id: FromPath[str],
                    data: JSONBody[ApplyIn]) -> ApplicationOut:
        snapshot = applications.Snapshot(include_resume=data.include_resume, certificate_ids=data.certificate_ids,
                                          skill_keys=data.skill_keys, cover_letter=data.cover_letter)
        try:
            made = await applications.apply(db_session, _acting(request), job_id, snapshot)
        except JobError as exc:
            raise refusal(exc, refused_value=True) from exc
        title = await db_session.scalar(select(Job.title).where(Job.id == made.job_id))
        return application_json(made, title or "")

    @get("/{job_id:str}/applications", name="api.jobs.applications",
         summary="The applications to one of my organization's jobs (employers)",
         **problems(*GUARDED, 404, notes={403: EMPLOYERS, 404: NOT_FOUND}))
    async def job_applications(self, request: Request, db_session: DbSession, job_id: FromPath[str],
                               status: FromQuery[Step | None] = None, page: PageParam = 1, per_page: PerPage = 25
                               ) -> ApplicationPage:
        await self._employer(request)
        try:
            job, found, total = await applications.for_job(db_session, job_id, status=status or "", page=page,
                                                            per_page=per_page)
        except JobError as exc:
            raise refusal(exc) from exc
        return ApplicationPage(items=[application_json(a, job.title) for a in found],
                               total=total, page=page, per_page=per_page)


class ApplicationsApi(Controller):
    path = "/api/v1/applications"
    tags = ["jobs"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.applications.mine", summary="My applications and their steps",
         **problems(*GUARDED, notes={403: SUSPENDED}))
    async def mine(self, request: Request, db_session: DbSession, page: PageParam = 1,
                   per_page: PerPage = 25) -> ApplicationPage:
        found, total = await applications.mine(db_session, request.scope["user"], page=page, per_page=per_page)
        return ApplicationPage(items=[application_json(m.application, m.title) for m in found], total=total,
                               page=page, per_page=per_page)

    async def _readable(self, request: Request, db_session: DbSession, application_id: str
                        ) -> tuple[JobApplication, Job, bool]:
        """The application and its job, and whether the caller is its employer (else its applicant)."""
        me = request.scope["user"]
        key = parse_uuid(application_id)
        row = (await db_session.execute(select(JobApplication, Job).join(Job, Job.id == JobApplication.job_id).where(
            JobApplication.id == key))).first() if key else None
        if row is not None:
            application, job = row
            tenant = require_tenant().id
            if job.tenant_id == tenant and postings.may_employ(me):
                return application, job, True
            if application.applicant_tenant_id == tenant and application.applicant_id == me.id:
                return application, job, False
        raise refusal(JobError(_("No such application."), status=404))

    @get("/{application_id:str}", name="api.applications.show", summary="One application (its applicant or employer)",
         **problems(*GUARDED, 404, notes={403: SUSPENDED, 404: APP_NOT_FOUND}))
    async def show(self, request: Request, db_session: DbSession, application_id: FromPath[str]) -> ApplicationOut:
        application, job, _employer = await self._readable(request, db_session, application_id)
        return application_json(application, job.title)

    @patch("/{application_id:str}", name="api.applications.update",
           summary="Move an application along (employers) or withdraw mine",
           **problems(*BODY, *GUARDED, 404, 409, idempotent=True, notes={
               403: SUSPENDED, 404: APP_NOT_FOUND,
               409: "Not a step this application can take from where it is, or a note-only change without a note "
                    "(`field`)."}))
    async def update(self, request: Request, db_session: DbSession, application_id: FromPath[str],
                     data: JSONBody[ApplicationPatch]) -> ApplicationOut:
        application, job, employer = await self._readable(request, db_session, application_id)
        try:
            if employer:
                moved = await applications.move(db_session, _acting(request), application.id, data.status, data.note)
            elif data.status == "withdrawn":
                moved = await applications.withdraw(db_session, _acting(request), application.id)
            else:
                raise JobError(_("An applicant can only withdraw."), status=409, field="status")
        except JobError as exc:
            raise refusal(exc, refused_value=True) from exc
        return application_json(moved, job.title)


