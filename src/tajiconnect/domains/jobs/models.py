"""The job board (public schema: it crosses organizations).

``employers``: one employer profile per organization (tenant): the name jobs are posted under, what it does,
where, its website. Members with the ``employer`` role (and admins) of that organization act for it.

``jobs``: what an employer posts: title, description (Markdown, kept with its sanitized HTML), where (a place,
remote or hybrid), the kind of work, a salary range in a currency and per period, a closing date, and the skills it
requires (``job_skills``). Its life: ``draft`` -> ``pending`` (waiting for an operator, when the platform reviews
jobs) -> ``published`` (or ``rejected`` with a note) -> ``closed`` by the employer or past its closing date;
an operator may ``hide`` a published job. Only published jobs whose closing date has not passed are offered.
A full-text vector of the title, description and place is kept by PostgreSQL.

``job_skills``: each skill a job requires with its level (1-5), named as the employer's taxonomy names it and with
the starter code when it is one of the shared starter skills: learners of other organizations are matched by the
code, else by the name.

``job_applications``: a learner of any organization that allows it applies with a snapshot they choose to send:
their name and email, the résumé PDF (at most :data:`RESUME_MAX` bytes), the certificates and evidenced skills they
picked, a cover letter. Nothing else about them crosses organizations. One application per learner and job.
Its status moves applied -> screening -> interview -> offer -> hired, or rejected, or withdrawn (by the learner).

``job_application_events``: each status change, with the employer's note (theirs only) and whether the learner has
been told (``notified_at``), so the notice in the learner's organization is made exactly once.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, column_property, mapped_column

from tajiconnect.db.base import PublicModel, TenantModel

JobStatus = Literal["draft", "pending", "published", "rejected", "closed", "hidden"]
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
JobKind = Literal["full_time", "part_time", "contract", "internship", "apprenticeship", "volunteer"]
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
Workplace = Literal["onsite", "hybrid", "remote"]
WORKPLACES: tuple[str, ...] = get_args(Workplace)
SalaryPeriod = Literal["hour", "month", "year"]
SALARY_PERIODS: tuple[str, ...] = get_args(SalaryPeriod)
ApplicationStatus = Literal["applied", "screening", "interview", "offer", "hired", "rejected", "withdrawn"]
APPLICATION_STATUSES: tuple[str, ...] = get_args(ApplicationStatus)
RESUME_MAX = 2_000_000

_SEARCH = ("setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
           "setweight(to_tsvector('simple', coalesce(location, '')), 'B') || "
           "setweight(to_tsvector('simple', coalesce(description, '')), 'C')")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Employer(PublicModel):
    __tablename__ = "employers"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.tenants.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    about: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(300), default="")


class Job(PublicModel):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("workplace", WORKPLACES), name="workplace"),
        CheckConstraint(_in("salary_period", SALARY_PERIODS), name="salary_period"),
        CheckConstraint("salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max", name="salary"),
        Index("ix_jobs_open", "status", "closes_on", "published_at"),
        Index("ix_jobs_tenant", "tenant_id", "status"),
        Index("ix_jobs_search", "search_vector", postgresql_using="gin"),
    )

    employer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.employers.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.tenants.id", ondelete="CASCADE"))
    posted_by_id: Mapped[uuid.UUID] = mapped_column()  # a member of the employer's organization
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    workplace: Mapped[str] = mapped_column(String(8), default="onsite")
    kind: Mapped[str] = mapped_column(String(16), default="full_time")
    salary_min: Mapped[int | None] = mapped_column(Integer, default=None)
    salary_max: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    salary_period: Mapped[str] = mapped_column(String(6), default="month")
    closes_on: Mapped[datetime.date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    review_note: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, Computed(_SEARCH, persisted=True), deferred=True)


class JobSkill(PublicModel):
    __tablename__ = "job_skills"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        UniqueConstraint("job_id", "key"),
        Index("ix_job_skills_key", "key"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.jobs.id", ondelete="CASCADE"))
    #: How learners of any organization are matched: ``code:<starter code>`` or ``name:<lower-case name>``.
    key: Mapped[str] = mapped_column(String(130))
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(SmallInteger)


class JobApplication(PublicModel):
    __tablename__ = "job_applications"
    __table_args__ = (
        CheckConstraint(_in("status", APPLICATION_STATUSES), name="status"),
        UniqueConstraint("job_id", "applicant_tenant_id", "applicant_id"),
        Index("ix_job_applications_applicant", "applicant_tenant_id", "applicant_id"),
        Index("ix_job_applications_job", "job_id", "status"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.jobs.id", ondelete="CASCADE"))
    applicant_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.tenants.id", ondelete="CASCADE"))
    applicant_id: Mapped[uuid.UUID] = mapped_column()  # a member of the applicant's organization
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_email: Mapped[str] = mapped_column(String(320))
    cover_letter: Mapped[str] = mapped_column(Text, default="")
    resume_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    #: [{"title", "completed_on", "verification_url"}]
    certificates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    #: [{"key", "name", "level"}]
    skills: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    match_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    status: Mapped[str] = mapped_column(String(10), default="applied")
    #: Whether a résumé came with it (loaded with the row; the PDF itself only when asked for).
    has_resume: Mapped[bool] = column_property(resume_pdf.is_not(None), expire_on_flush=False)  # never changes


class JobApplicationEvent(PublicModel):
    __tablename__ = "job_application_events"
    __table_args__ = (
        Index("ix_job_application_events_application", "application_id", "created_at"),
        Index("ix_job_application_events_unnotified", "created_at", postgresql_where=text("notified_at IS NULL")),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("public.job_applications.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    by: Mapped[str] = mapped_column(String(10))  # employer | applicant
    note: Mapped[str] = mapped_column(String(1000), default="")
    notified_at: Mapped[datetime.datetime | None] = mapped_column(default=None)


class JobSearch(TenantModel):
    """A learner's saved search (tenant schema: it is the learner's): the words and filters, and whether new jobs
    matching it are announced (category ``job_alert``) by the hourly alerts, which remember the newest job they
    have considered (``seen_until``), so each job is announced once per search."""

    __tablename__ = "job_searches"
    __table_args__ = (Index("ix_job_searches_user", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    #: {"q", "location", "workplace", "kind"}
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    alerts: Mapped[bool] = mapped_column(default=True)
    seen_until: Mapped[datetime.datetime | None] = mapped_column(default=None)
