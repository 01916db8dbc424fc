"""Job board pages.

* Learners (their organization's board open, else every page is "not found"): ``/jobs`` search with filters and
  each job's match; ``/jobs/{id}`` the job, its match explained and the application form (what to send is chosen
  there); ``/jobs/applications`` mine and their steps (withdraw); saved searches with alerts.
* Employers (``employer`` role or admins): ``/employer`` the profile and the organization's jobs; a job's form,
  submit, close; ``/employer/jobs/{id}/applications``, one application (the snapshot sent, the résumé PDF) and its
  steps with notes.
* Operators (apex): ``/platform/jobs`` jobs waiting for review (and the published, hidden and rejected ones):
  approve, reject, hide, show, with a note.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.jobs import applications, board, matching, postings, review
from tajiconnect.domains.jobs.models import (
    APPLICATION_STATUSES,
    JOB_KINDS,
    SALARY_PERIODS,
    WORKPLACES,
    Job,
    JobSearch,
)
from tajiconnect.domains.jobs.postings import JobError
from tajiconnect.domains.resumes import service as resumes
from tajiconnect.domains.skills import taxonomy
from tajiconnect.domains.skills.models import Skill
from tajiconnect.i18n import gettext as _
from tajiconnect.platform.pages import APEX, _actor, requires_operator
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

Text = Annotated[str | None, Parameter(max_length=board.SEARCH_MAX)]
Short = Annotated[str | None, Parameter(max_length=40)]
SKILL_ROWS = 8
NO_STORE = {"Cache-Control": "private, no-store"}


def _acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def words() -> dict[str, Any]:
    return {"job_kinds": JOB_KINDS, "workplaces": WORKPLACES, "salary_periods": SALARY_PERIODS,
            "application_statuses": APPLICATION_STATUSES}


# --- learners -----------------------------------------------------------------------------------------------------


class JobPages(Controller):
    path = "/jobs"
    guards = [requires_user]
    include_in_schema = False

    async def _open(self, session: AsyncSession) -> None:
        if not await board.allowed(session):
            raise NotFoundException()

    @get("/", name="jobs.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, q: FromQuery[Text] = None,
                    location: FromQuery[Text] = None, workplace: FromQuery[Short] = None,
                    kind: FromQuery[Short] = None, page: PageParam = 1, notice: FromQuery[Short] = None) -> Template:
        await self._open(db_session)
        me = request.scope["user"]
        filters = board.Filters(q=(q or "").strip(), location=(location or "").strip(),
                                workplace=workplace if workplace in WORKPLACES else "",
                                kind=kind if kind in JOB_KINDS else "")
        found, total = await board.search(db_session, filters, page=page)
        required = await postings.skills_of(db_session, [f.job.id for f in found])
        have = await matching.levels_of(db_session, me.id)
        scores = {f.job.id: matching.score_of(required[f.job.id], have) for f in found}
        context = {"jobs": found, "scores": scores, "filters": filters, "total": total,
                   "paging": page_info(total, page, board.PER_PAGE), "base_query": urlencode(filters.as_dict()),
                   "notice": notice, **words()}
        if wants_fragment(request, "job-results"):  # the results alone: no saved searches, no insights
            return Template("jobs/_results.html", context=context)
        context["searches"] = (await db_session.scalars(select(JobSearch).where(JobSearch.user_id == me.id)
                                                        .order_by(JobSearch.created_at).limit(20))).all()
        context["top_skills"] = await board.top_skills(db_session, 10)
        return Template("jobs/index.html", context=context)

    @get("/applications", name="jobs.applications")
    async def mine(self, request: Request, db_session: DbSession, page: PageParam = 1,
                   notice: FromQuery[Short] = None) -> Template:
        await self._open(db_session)
        found, total = await applications.mine(db_session, request.scope["user"], page=page)
        return Template("jobs/applications.html", context={
            "applications": found, "paging": page_info(total, page, applications.PER_PAGE), "base_query": "",
            "notice": notice})

    @post("/applications/{application_id:str}/withdraw", name="jobs.applications.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession, application_id: FromPath[str]) -> Redirect:
        await self._open(db_session)
        try:
            await applications.withdraw(db_session, _acting(request), application_id)
        except JobError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            return see_other("/jobs/applications", notice="decided")
        return see_other("/jobs/applications", notice="withdrawn")

    @post("/searches", name="jobs.searches.save")
    async def save_search(self, request: Request, db_session: DbSession) -> Redirect:
        await self._open(db_session)
        form = await Form.read(request)
        me = request.scope["user"]
        filters = board.Filters(q=form.get("q").strip()[:board.SEARCH_MAX],
                                location=form.get("location").strip()[:board.SEARCH_MAX],
                                workplace=form.get("workplace") if form.get("workplace") in WORKPLACES else "",
                                kind=form.get("kind") if form.get("kind") in JOB_KINDS else "")
        count = await db_session.scalar(select(func.count()).select_from(JobSearch).where(JobSearch.user_id == me.id))
        if (count or 0) >= 20:
            return see_other("/jobs?" + urlencode(filters.as_dict()), notice="searches_full")
        name = " ".join(form.get("name").split())[:120] or filters.q or _("All jobs")
        db_session.add(JobSearch(user_id=me.id, name=name, filters=filters.as_dict(), alerts=True,
                                 seen_until=func.now()))
        return see_other("/jobs?" + urlencode(filters.as_dict()), notice="search_saved")

    @get("/searches/{search_id:str}", name="jobs.searches.open")
    async def open_search(self, request: Request, db_session: DbSession, search_id: FromPath[str]) -> Redirect:
        key = parse_uuid(search_id)
        found = await db_session.scalar(select(JobSearch).where(
            JobSearch.id == key, JobSearch.user_id == request.scope["user"].id)) if key else None
        if found is None:
            raise NotFoundException()
        return see_other("/jobs?" + urlencode({k: str(v) for k, v in (found.filters or {}).items()}))

    @post("/searches/{search_id:str}/delete", name="jobs.searches.delete")
    async def delete_search(self, request: Request, db_session: DbSession, search_id: FromPath[str]) -> Redirect:
        key = parse_uuid(search_id)
        if key is None:
            raise NotFoundException()
        await db_session.execute(delete(JobSearch).where(JobSearch.id == key,
                                                         JobSearch.user_id == request.scope["user"].id))
        return see_other("/jobs", notice="search_deleted")

    async def _job_page(self, request: Request, session: AsyncSession, job_id: str, *,
                        errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                        status: int = 200) -> Template:
        await self._open(session)
        found = await board.get_offered(session, job_id)
        if found is None:
            raise NotFoundException()
        job, employer = found
        me = request.scope["user"]
        required = (await postings.skills_of(session, [job.id]))[job.id]
        shown = await matching.skills_shown(session, me.id)
        mine = await applications.mine_for_job(session, me, job.id)
        return Template("jobs/job.html", status_code=status, headers=NO_STORE, context={
            "job": job, "employer": employer, "required": required,
            "match": matching.score_of(required, {s.key: s.level for s in shown}),
            "applied": mine,
            "certificates": await resumes.certificates_of(session, me.id) if not mine else [],
            "my_skills": shown if not mine else [],
            "errors": errors or {}, "form": form or {}, **words()})

    @get("/{job_id:str}", name="jobs.show")
    async def show(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> Template:
        return await self._job_page(request, db_session, job_id)

    @post("/{job_id:str}/apply", name="jobs.apply")
    async def apply(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        certificate_ids = [parse_uuid(c) for c in form.getlist("certificate")]
        snapshot = applications.Snapshot(
            include_resume=form.get("include_resume") == "on",
            certificate_ids=[c for c in certificate_ids if c is not None],
            skill_keys=form.getlist("skill")[:50], cover_letter=form.get("cover_letter"))
        try:
            if None in certificate_ids:
                raise JobError(_("Choose certificates from the list."), field="certificate_ids")
            await applications.apply(db_session, _acting(request), job_id, snapshot)
        except JobError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            return await self._job_page(request, db_session, job_id, errors={exc.field or "form": exc.message},
                                        form={"cover_letter": form.get("cover_letter")[:5000]},
                                        status=409 if exc.status == 409 else 422)
        return see_other("/jobs/applications", notice="applied")


# --- employers ----------------------------------------------------------------------------------------------------


def requires_employer(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not postings.may_employ(connection.scope.get("user")):
        raise PermissionDeniedException()


def _job_values(form: Form) -> dict[str, Any]:
    return {k: form.get(k) for k in ("title", "description", "location", "workplace", "kind", "salary_min",
                                     "salary_max", "currency", "salary_period", "closes_on")}


def _skill_rows(form: Form) -> list[tuple[str, int]]:
    """The skill rows as typed (to show them again)."""
    return [(form.get(f"skill_{i}")[:120], int(form.get(f"level_{i}")) if form.get(f"level_{i}") in
             ("1", "2", "3", "4", "5") else 3) for i in range(SKILL_ROWS) if form.get(f"skill_{i}").strip()]


async def _skill_pairs(session: AsyncSession, form: Form) -> list[tuple[Any, Any]]:
    """The skill rows of the job form (a name from the taxonomy and a level) as (skill id, level)."""
    rows = [(" ".join(form.get(f"skill_{i}").split()), form.get(f"level_{i}")) for i in range(SKILL_ROWS)]
    rows = [(name, level) for name, level in rows if name]
    if not rows:
        return []
    found: dict[str, Any] = {r[0]: r[1] for r in (await session.execute(select(func.lower(Skill.name), Skill.id).where(
        func.lower(Skill.name).in_([n.lower() for n, _l in rows]), Skill.archived_at.is_(None)))).all()}
    pairs: list[tuple[Any, Any]] = []
    for name, level in rows:
        if name.lower() not in found:
            raise JobError(_("%(name)s is not a skill of your organization: choose one from the list.")
                           % {"name": name}, field="skills")
        pairs.append((found[name.lower()], int(level) if level in ("1", "2", "3", "4", "5") else None))
    return pairs


class EmployerPages(Controller):
    path = "/employer"
    guards = [requires_user, requires_employer]
    include_in_schema = False

    async def _home(self, request: Request, session: AsyncSession, *, page: int = 1, notice: str | None = None,
                    errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                    status: int = 200) -> Template:
        employer = await postings.employer_profile(session)
        jobs, total = await postings.own_jobs(session, page=page)
        return Template("jobs/employer.html", status_code=status, context={
            "employer": employer, "jobs": jobs, "paging": page_info(total, page, postings.PER_PAGE),
            "base_query": "", "notice": notice, "errors": errors or {}, "form": form or {}, **words()})

    @get("/", name="employer.home")
    async def home(self, request: Request, db_session: DbSession, page: PageParam = 1,
                   notice: FromQuery[Short] = None) -> Template:
        return await self._home(request, db_session, page=page, notice=notice)

    @post("/profile", name="employer.profile")
    async def profile(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        values = {k: form.get(k) for k in ("name", "about", "location", "website")}
        try:
            await postings.update_profile(db_session, _acting(request), **values)
        except JobError as exc:
            return await self._home(request, db_session, errors={exc.field or "form": exc.message}, form=values,
                                    status=422)
        return see_other("/employer", notice="saved")

    async def _form(self, request: Request, session: AsyncSession, job: Any = None, *,
                    errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                    skills: list[tuple[str, int]] | None = None, status: int = 200,
                    notice: str | None = None) -> Template:
        if skills is None:
            skills = [(s.name, s.level) for s in (await postings.skills_of(session, [job.id]))[job.id]] if job else []
        await taxonomy.ensure_starter(session)
        names = (await session.scalars(select(Skill.name).where(Skill.archived_at.is_(None))
                                       .order_by(func.lower(Skill.name)))).all()
        return Template("jobs/job_form.html", status_code=status, context={
            "job": job, "form": form or {}, "errors": errors or {}, "skills": skills, "skill_rows": SKILL_ROWS,
            "skill_names": names, "notice": notice, **words()})

    @get("/jobs/new", name="employer.jobs.new")
    async def new(self, request: Request, db_session: DbSession) -> Template:
        return await self._form(request, db_session)

    @post("/jobs", name="employer.jobs.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        values = _job_values(form)
        rows = _skill_rows(form)
        try:
            job = await postings.create(db_session, _acting(request), values, await _skill_pairs(db_session, form))
        except JobError as exc:
            return await self._form(request, db_session, errors={exc.field or "form": exc.message}, form=values,
                                    skills=rows, status=422)
        return see_other(f"/employer/jobs/{job.id}", notice="saved")

    @get("/jobs/{job_id:str}", name="employer.jobs.edit")
    async def edit(self, request: Request, db_session: DbSession, job_id: FromPath[str],
                   notice: FromQuery[Short] = None) -> Template:
        try:
            job = await postings.own_job(db_session, job_id)
        except JobError as exc:
            raise NotFoundException() from exc
        return await self._form(request, db_session, job, notice=notice)

    @post("/jobs/{job_id:str}", name="employer.jobs.update")
    async def update(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        action = form.get("action") or "save"
        try:
            if action == "submit":
                job = await postings.submit(db_session, _acting(request), job_id)
            elif action == "close":
                job = await postings.close(db_session, _acting(request), job_id)
            else:
                job = await postings.update(db_session, _acting(request), job_id, _job_values(form),
                                            await _skill_pairs(db_session, form))
        except JobError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            current = await postings.own_job(db_session, job_id)
            rows = _skill_rows(form)
            return await self._form(request, db_session, current, errors={exc.field or "form": exc.message},
                                    form=_job_values(form) if action == "save" else {},
                                    skills=rows if action == "save" else None,
                                    status=409 if exc.status == 409 else 422)
        return see_other(f"/employer/jobs/{job.id}", notice={"submit": "submitted", "close": "closed"}.get(
            action, "saved"))

    @get("/jobs/{job_id:str}/applications", name="employer.jobs.applications")
    async def job_applications(self, request: HTMXRequest, db_session: DbSession, job_id: FromPath[str],
                               status: FromQuery[Short] = None, page: PageParam = 1) -> Template:
        shown = status if status in APPLICATION_STATUSES else ""
        try:
            job, found, total = await applications.for_job(db_session, job_id, status=shown, page=page)
        except JobError as exc:
            raise NotFoundException() from exc
        return Template("jobs/employer_applications.html", context={
            "job": job, "applications": found, "status": shown, "base_query": urlencode({"status": shown}),
            "paging": page_info(total, page, applications.PER_PAGE), **words()})

    async def _application(self, request: Request, session: AsyncSession, application_id: str, *,
                           errors: dict[str, str] | None = None, status: int = 200,
                           notice: str | None = None) -> Template:
        try:
            application, job = await applications.for_employer(session, application_id)
        except JobError as exc:
            raise NotFoundException() from exc
        return Template("jobs/employer_application.html", status_code=status, headers=NO_STORE, context={
            "application": application, "job": job, "events": await applications.events_of(session, application.id),
            "errors": errors or {}, "notice": notice,
            "next_steps": [s for s in APPLICATION_STATUSES if applications.may_move(application.status, s)],
            **words()})

    @get("/applications/{application_id:str}", name="employer.application")
    async def application(self, request: Request, db_session: DbSession, application_id: FromPath[str],
                          notice: FromQuery[Short] = None) -> Template:
        return await self._application(request, db_session, application_id, notice=notice)

    @post("/applications/{application_id:str}", name="employer.application.move")
    async def move(self, request: Request, db_session: DbSession, application_id: FromPath[str]
                   ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            moved = await applications.move(db_session, _acting(request), application_id, form.get("status"),
                                            form.get("note"))
        except JobError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            return await self._application(request, db_session, application_id,
                                           errors={exc.field or "form": exc.message},
                                           status=409 if exc.status == 409 else 422)
        return see_other(f"/employer/applications/{moved.id}", notice="saved")

    @get("/applications/{application_id:str}/resume", name="employer.application.resume")
    async def resume(self, db_session: DbSession, application_id: FromPath[str]) -> Response[bytes]:
        from tajiconnect.domains.resumes.pdf import pdf_response

        try:
            data, name = await applications.resume_of(db_session, application_id)
        except JobError as exc:
            raise NotFoundException() from exc
        return pdf_response(data, name)


# --- operators ----------------------------------------------------------------------------------------------------


REVIEWED = ("pending", "published", "hidden", "rejected")  # the operators' lists, by status


class PlatformJobPages(Controller):
    path = "/platform/jobs"
    opt = APEX
    include_in_schema = False
    guards = [requires_operator]

    async def _page(self, session: AsyncSession, *, status: str = "pending", page: int = 1,
                    errors: dict[str, str] | None = None, notice: str | None = None, code: int = 200) -> Template:
        found, total = await review.listing(session, status=status, page=page)
        skills = await postings.skills_of(session, [q.job.id for q in found])
        return Template("jobs/platform.html", status_code=code, context={
            "queued": found, "skills": skills, "status": status, "paging": page_info(total, page, review.PER_PAGE),
            "base_query": urlencode({"status": status}), "errors": errors or {}, "notice": notice})

    @get("/", name="platform.jobs", opt=APEX)
    async def index(self, db_session: DbSession, status: FromQuery[Short] = None, page: PageParam = 1,
                    notice: FromQuery[Short] = None) -> Template:
        shown = status if status in REVIEWED else "pending"
        return await self._page(db_session, status=shown, page=page, notice=notice)

    @post("/{job_id:str}", name="platform.jobs.decide", opt=APEX)
    async def decide(self, request: Request, db_session: DbSession, job_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        key = parse_uuid(job_id)
        if key is None:
            raise NotFoundException()
        try:
            await review.decide(db_session, _actor(request), key, form.get("action"), form.get("note"))
        except JobError as exc:
            if exc.status == 404:
                raise NotFoundException() from exc
            shown = await db_session.scalar(select(Job.status).where(Job.id == key))  # the list its card is in
            return await self._page(db_session, status=shown if shown in REVIEWED else "pending",
                                    errors={str(key): exc.message}, code=422 if exc.status != 409 else 409)
        came_from = review.ACTIONS[form.get("action")][0]  # back to the list the card was in
        return see_other("/platform/jobs?" + urlencode({"status": came_from}), notice="decided")


class AdminJobSettings(Controller):
    """The organization's job board setting (a form on ``/admin/security``); audited."""

    path = "/admin/jobs"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    @post("/settings", name="jobs.settings")
    async def settings(self, request: Request, db_session: DbSession) -> Redirect:
        form = await Form.read(request)
        await board.set_allowed(db_session, actor_of(request), form.get("jobs_allowed") == "on")
        return see_other("/admin/security", notice="saved")
