"""The learner's side of the job board: who may see it, search, one job, and what the board says about demand.

* The board is open to the members of an organization that allows it: its setting, else on for companies and off
  for schools (where learners may be minors). Closed to them, every page and API answer of the board is "not
  found".
* Offered jobs are the published ones whose closing date has not passed. Search is PostgreSQL full-text search
  (``websearch_to_tsquery`` on the title, place and description, best first, then newest) with filters for the
  place, on site/hybrid/remote and the kind of work; one statement per page.
* Insights come from the offered jobs themselves: how many ask for each skill (by the cross-organization key), and
  salary ranges per role (title) and place, per currency and period.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, func, or_, select
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import OrganizationSettings
from tajiconnect.domains.accounts.service import organization_settings, setting_by_kind
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.jobs.models import Employer, Job, JobSkill

PER_PAGE = 20
SEARCH_MAX = 200


async def allowed(session: AsyncSession) -> bool:
    return await setting_by_kind(session, OrganizationSettings.jobs_allowed)


async def set_allowed(session: AsyncSession, actor: Actor, allowed_: bool) -> None:
    """The organization's job board setting (admins); audited."""
    before = await allowed(session)
    (await organization_settings(session)).jobs_allowed = allowed_
    await record(session, actor, "org.jobs.updated", before=before, jobs_allowed=allowed_)


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def offered() -> ColumnElement[bool]:
    return and_(Job.status == "published", or_(Job.closes_on.is_(None), Job.closes_on >= today()))


@dataclass
class Filters:
    q: str = ""
    location: str = ""
    workplace: str = ""
    kind: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def where_of(filters: Filters) -> list[ColumnElement[bool]]:
    where = [offered()]
    if filters.q:
        where.append(Job.search_vector.op("@@")(func.websearch_to_tsquery("simple", filters.q)))
    if filters.location:
        where.append(Job.location.icontains(filters.location, autoescape=True))
    if filters.workplace:
        where.append(Job.workplace == filters.workplace)
    if filters.kind:
        where.append(Job.kind == filters.kind)
    return where


@dataclass
class Listed:
    job: Job
    employer: str


async def search(session: AsyncSession, filters: Filters, *, page: int = 1, per_page: int = PER_PAGE,
                 published_after: datetime.datetime | None = None,
                 published_until: datetime.datetime | None = None) -> tuple[list[Listed], int]:
    """One page of offered jobs matching ``filters`` and the total, best match first, then newest."""
    where = where_of(filters)
    if published_after is not None:
        where.append(Job.published_at > published_after)
    if published_until is not None:
        where.append(Job.published_at <= published_until)
    order = [Job.published_at.desc(), Job.id]
    if filters.q:
        order.insert(0, func.ts_rank(Job.search_vector, func.websearch_to_tsquery("simple", filters.q)).desc())
    rows = (await session.execute(
        select(Job, Employer.name, func.count().over()).join(Employer, Employer.id == Job.employer_id)
        .where(*where).order_by(*order)
        .offset((page - 1) * per_page).limit(per_page))).all()
    return [Listed(r[0], r[1]) for r in rows], int(rows[0][2]) if rows else 0


async def get_offered(session: AsyncSession, job_id: Any) -> tuple[Job, Employer] | None:
    key = parse_uuid(job_id)
    row = (await session.execute(select(Job, Employer).join(Employer, Employer.id == Job.employer_id)
                                 .where(Job.id == key, offered()))).first() if key else None
    return (row[0], row[1]) if row else None


async def best_matches(session: AsyncSession, have: dict[str, int], *, limit: int = 3,
                       considered: int = 200) -> list[tuple[Listed, int]]:
    """Among the newest ``considered`` offered jobs that name skills, the ``limit`` that ``have`` (a learner's
    {key: level}) matches best, each with its match in percent (``matching.score``'s rule), scored in the database
    (one statement, then one for the jobs)."""
    recent = select(Job.id).where(offered()).order_by(Job.published_at.desc(), Job.id).limit(considered).subquery()
    levels = func.unnest(sa_cast(list(have), ARRAY(Text)), sa_cast(list(have.values()), ARRAY(Integer))
                         ).table_valued("key", "level").render_derived()
    got = func.coalesce(levels.c.level, 0)
    share = func.sum(func.least(got, JobSkill.level)) * 1.0 / func.sum(JobSkill.level)
    ranked = (await session.execute(
        select(JobSkill.job_id, share).join(recent, recent.c.id == JobSkill.job_id)
        .outerjoin(levels, levels.c.key == JobSkill.key)
        .group_by(JobSkill.job_id).order_by(share.desc(), JobSkill.job_id).limit(limit))).all()
    if not ranked:
        return []
    rows = {r[0].id: Listed(r[0], r[1]) for r in (await session.execute(
        select(Job, Employer.name).join(Employer, Employer.id == Job.employer_id)
        .where(Job.id.in_([r[0] for r in ranked])))).all()}
    return [(rows[i], int(float(got) * 100 + 0.5)) for i, got in ranked if i in rows]


# --- insights -----------------------------------------------------------------------------------------------------


async def demand(session: AsyncSession, keys: list[str]) -> dict[str, int]:
    """How many offered jobs ask for each skill key."""
    if not keys:
        return {}
    rows = (await session.execute(
        select(JobSkill.key, func.count(func.distinct(JobSkill.job_id))).join(Job, Job.id == JobSkill.job_id)
        .where(JobSkill.key.in_(keys), offered()).group_by(JobSkill.key))).all()
    return {k: int(n) for k, n in rows}


@dataclass
class SalaryRange:
    location: str
    currency: str
    period: str
    jobs: int
    low: int
    high: int
    median: int


async def salaries(session: AsyncSession, role: str, *, limit: int = 10) -> list[SalaryRange]:
    """Salary ranges of the offered jobs whose title names ``role``, per place, currency and period."""
    words = " ".join(role.split())
    if not words:
        return []
    low = func.coalesce(Job.salary_min, Job.salary_max)
    high = func.coalesce(Job.salary_max, Job.salary_min)
    place = func.coalesce(func.nullif(Job.location, ""), "remote")
    rows = (await session.execute(
        select(place, Job.currency, Job.salary_period, func.count(), func.min(low), func.max(high),
               func.percentile_cont(0.5).within_group((low + high) / 2))
        .where(offered(), Job.title.icontains(words, autoescape=True), low.is_not(None))
        .group_by(place, Job.currency, Job.salary_period)
        .order_by(func.count().desc(), place).limit(limit))).all()
    return [SalaryRange(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]


async def top_skills(session: AsyncSession, limit: int = 15) -> list[tuple[str, str, int]]:
    """The skills the offered jobs ask for most: (key, a name, jobs)."""
    rows = (await session.execute(
        select(JobSkill.key, func.min(JobSkill.name), func.count(func.distinct(JobSkill.job_id)))
        .join(Job, Job.id == JobSkill.job_id).where(offered())
        .group_by(JobSkill.key).order_by(func.count(func.distinct(JobSkill.job_id)).desc(), JobSkill.key)
        .limit(limit))).all()
    return [(r[0], r[1], int(r[2])) for r in rows]


