"""Careers in the demo (``tenants/demo/careers.toml``), made once through the product's own services: the skills the
demo's courses build (and the evidence of those who completed them), a learner's résumé, the organization's job
board opened, and a second organization (an employer) whose job the learner applied to and which moved the
application to interview. A second run changes nothing."""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.service import new_user, normalize_email, organization_settings
from tajiconnect.domains.audit.service import SYSTEM, Acting
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.jobs import applications, postings
from tajiconnect.domains.jobs.models import Job, JobApplication
from tajiconnect.domains.resumes import service as resumes
from tajiconnect.domains.skills import evidence, targets, taxonomy
from tajiconnect.domains.skills.models import Skill, SkillTarget
from tajiconnect.tenancy.branding import TENANTS_DIR
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tajiconnect.tenancy.service import TenantNotFoundError, load_tenant, provision_tenant


def careers_definition(slug: str, tenants_dir: Path = TENANTS_DIR) -> dict[str, Any]:
    path = tenants_dir / slug / "careers.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


async def _skill_ids(session: Any, codes: dict[str, int]) -> list[tuple[Any, int]]:
    await taxonomy.ensure_starter(session)
    found = dict((await session.execute(select(Skill.code, Skill.id).where(Skill.code.in_(list(codes))))).all())
    return [(found[code], level) for code, level in codes.items() if code in found]


async def _builds_and_resume(engine: AsyncEngine, school: TenantRef, spec: dict[str, Any]) -> None:
    with tenant_context(school):
        async with session_scope(engine) as session:
            admin = await session.scalar(select(User).where(User.roles.contains(["org_admin"]))
                                         .order_by(User.created_at))
            acting = Acting(admin, SYSTEM)
            if spec.get("jobs_allowed"):
                (await organization_settings(session)).jobs_allowed = True
            for build in spec.get("builds", []):
                course = await session.scalar(select(Course).where(Course.title == build["course"]))
                if course is None or await session.scalar(select(SkillTarget.id).where(
                        SkillTarget.course_id == course.id).limit(1)):
                    continue
                await targets.set_targets(session, acting, targets.Thing("course", course.id),
                                          await _skill_ids(session, build["skills"]))
            learners = list((await session.scalars(select(User.id))).all())
            await evidence.record(session, user_ids=learners)
            entry = spec.get("resume")
            learner = await session.scalar(select(User).where(User.email == normalize_email(entry["learner"]))) \
                if entry else None
            if entry and learner is not None and not (await resumes.mine(session, learner)).headline:
                await resumes.update(session, learner, **{k: entry[k] for k in (
                    "headline", "summary", "phone", "location", "languages") if k in entry})
                for item in entry.get("entries", []):
                    await resumes.add_entry(session, learner, item["kind"], dict(item))


async def _employer(engine: AsyncEngine, spec: dict[str, Any]) -> TenantRef:
    try:
        company = await load_tenant(engine, spec["slug"])
    except TenantNotFoundError:
        company = (await provision_tenant(engine, slug=spec["slug"], name=spec["name"], kind="company",
                                          admin_email=spec["admin_email"], admin_password=spec["admin_password"],
                                          admin_name=spec["admin_name"])).tenant
    with tenant_context(company):
        async with session_scope(engine) as session:
            hiring = await session.scalar(select(User).where(User.email == normalize_email(spec["employer_email"])))
            if hiring is None:
                hiring = new_user(email=spec["employer_email"], name=spec["employer_name"],
                                  password=spec["employer_password"], roles=["employer"])
                hiring.email_verified_at = datetime.datetime.now(datetime.UTC)
                session.add(hiring)
                await session.flush()
            profile = await postings.employer_profile(session)
            if not profile.about:
                await postings.update_profile(session, Acting(hiring, SYSTEM), name=spec["name"],
                                              about=spec.get("about", ""), location=spec.get("location", ""),
                                              website=spec.get("website", ""))
    return company


async def _jobs(engine: AsyncEngine, company: TenantRef, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The employer's jobs by title, posted and published once (as if the operators approved them)."""
    found: dict[str, Any] = {}
    with tenant_context(company):
        async with session_scope(engine) as session:
            hiring = await session.scalar(select(User).where(User.roles.contains(["employer"])).order_by(
                User.created_at))
            for spec in jobs:
                job = await session.scalar(select(Job).where(Job.tenant_id == company.id, Job.title == spec["title"]))
                if job is None:
                    values = {k: spec.get(k) for k in ("title", "description", "location", "workplace", "kind",
                                                       "salary_min", "salary_max", "currency", "salary_period")}
                    job = await postings.create(session, Acting(hiring, SYSTEM), values,
                                                await _skill_ids(session, spec.get("skills", {})))
                    job.status, job.published_at = "published", datetime.datetime.now(datetime.UTC)
                found[spec["title"]] = job.id
    return found


async def seed_careers(engine: AsyncEngine, school: TenantRef, spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Everything in ``spec``; the employer organization's logins as (role, email, password)."""
    if not spec:
        return []
    await _builds_and_resume(engine, school, spec)
    employer = spec.get("employer")
    if not employer:
        return []
    company = await _employer(engine, employer)
    jobs = await _jobs(engine, company, spec.get("jobs", []))
    wanted = spec.get("application")
    if wanted and wanted["job"] in jobs:
        with tenant_context(school):
            async with session_scope(engine) as session:
                learner = await session.scalar(select(User).where(User.email == normalize_email(wanted["learner"])))
                exists = await session.scalar(select(JobApplication.id).where(
                    JobApplication.job_id == jobs[wanted["job"]], JobApplication.applicant_tenant_id == school.id))
                made = None
                if learner is not None and exists is None:
                    skills = await _keys(session, learner.id)
                    made = await applications.apply(session, Acting(learner, SYSTEM), jobs[wanted["job"]],
                                                    applications.Snapshot(True, [], skills, wanted["cover_letter"]))
        if made is not None and wanted.get("moved_to"):
            with tenant_context(company):
                async with session_scope(engine) as session:
                    hiring = await session.scalar(select(User).where(User.roles.contains(["employer"])))
                    await applications.move(session, Acting(hiring, SYSTEM), made.id, wanted["moved_to"],
                                            wanted.get("note", ""))
    return [("employer", employer["employer_email"], employer["employer_password"])]


async def _keys(session: Any, user_id: Any) -> list[str]:
    from tajiconnect.domains.jobs.matching import levels_of

    return sorted(await levels_of(session, user_id))
