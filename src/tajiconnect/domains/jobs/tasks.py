"""The job board in the background.

* ``deliver_job_event(event_id)``: deferred in the transaction that made a ``job_application_events`` row. It tells
  the other side, in *their* organization (the task switches to it through the session machinery): an employer's
  move tells the learner (category ``job_application``); an application or a withdrawal tells the employer's
  members (the ``employer`` role, else the admins). The notification's key is the event's id and the event is
  marked ``notified_at`` in the same transaction, so it is told exactly once whatever the retries.
* ``deliver_waiting_job_events`` (a platform cron, every minute): the backstop for events of the last day whose
  delivery did not happen (a lost job); the events are in the public schema, so one job serves every
  organization.
* ``send_job_alerts`` (hourly, each organization whose board is open): each saved search with alerts on is told
  of the offered jobs that became public since it last looked (one notification per search and run, naming how
  many). A job becomes public (again: approved, shown, changed and approved) at ``published_at``; each run looks
  up to :data:`ALERT_LAG` ago and moves the search's ``seen_until`` there, so a job whose transaction committed a
  little after its ``published_at`` is not skipped. Searches are handled in committed batches.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.jobs import board
from tajiconnect.domains.jobs.models import Job, JobApplication, JobApplicationEvent, JobSearch
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.tasks.base import TaskPolicy, platform_task, tenant_task
from tajiconnect.tasks.schedule import scheduled
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.models import Tenant
from tajiconnect.tenancy.resolver import to_ref

JOBS = TaskPolicy(timeout=120)
STEP_TITLES = {
    "screening": N_("Your application for %(title)s is being screened"),
    "interview": N_("You are invited to interview for %(title)s"),
    "offer": N_("You have an offer for %(title)s"),
    "hired": N_("You are hired for %(title)s"),
    "rejected": N_("Your application for %(title)s was not retained"),
}


async def deliver(engine: AsyncEngine, event_id: uuid.UUID) -> bool:
    """Tell the other side of one event (see the module); whether anyone was told now."""
    async with session_scope(engine, schema=None) as session:
        row = (await session.execute(
            select(JobApplicationEvent, JobApplication, Job).join(
                JobApplication, JobApplication.id == JobApplicationEvent.application_id)
            .join(Job, Job.id == JobApplication.job_id).where(JobApplicationEvent.id == event_id))).first()
        if row is None or row[0].notified_at is not None:
            return False
        event, application, job = row
        to_employer = event.by == "applicant"
        tenant = await session.get(Tenant, job.tenant_id if to_employer else application.applicant_tenant_id)
    if tenant is None or tenant.status != "active":
        return False
    with tenant_context(to_ref(tenant)):
        async with session_scope(engine) as session:
            marked = await session.scalar(update(JobApplicationEvent).where(
                JobApplicationEvent.id == event.id, JobApplicationEvent.notified_at.is_(None))
                .values(notified_at=datetime.datetime.now(datetime.UTC)).returning(JobApplicationEvent.id))
            if marked is None:
                return False
            key = f"job_event:{event.id}"
            if to_employer:
                members = list((await session.scalars(select(User).where(
                    User.status == "active", User.roles.contains(["employer"])))).all()) or list(
                    (await session.scalars(select(User).where(
                        User.status == "active", User.roles.contains(["org_admin"])))).all())
                title = (N_("%(name)s applied for %(title)s") if event.status == "applied"
                         else N_("%(name)s withdrew their application for %(title)s"))
                for member in members:
                    await notify(session, member, "job_application", key=key, title=title,
                                 params={"name": application.applicant_name, "title": job.title},
                                 link=f"/employer/applications/{application.id}")
            else:
                learner = await session.get(User, application.applicant_id)
                if learner is not None and event.status in STEP_TITLES:
                    await notify(session, learner, "job_application", key=key, title=STEP_TITLES[event.status],
                                 params={"title": job.title}, link="/jobs/applications")
    return True


@tenant_task(policy=JOBS)
async def deliver_job_event(ctx: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    key = parse_uuid(event_id)
    return {"told": await deliver(ctx["engine"], key) if key else False}


BACKSTOP_AFTER = datetime.timedelta(minutes=1)
BACKSTOP_WINDOW = datetime.timedelta(days=1)


@platform_task(policy=TaskPolicy(timeout=300))
async def deliver_waiting_job_events(ctx: dict[str, Any]) -> dict[str, Any]:
    """The backstop, once a minute for the whole platform (the events are in the public schema: no fan-out); events
    whose recipient's organization is not active wait without being read each minute."""
    moment = datetime.datetime.now(datetime.UTC)
    recipient = case((JobApplicationEvent.by == "applicant", Job.tenant_id), else_=JobApplication.applicant_tenant_id)
    async with session_scope(ctx["engine"], schema=None) as session:
        waiting = list((await session.scalars(
            select(JobApplicationEvent.id)
            .join(JobApplication, JobApplication.id == JobApplicationEvent.application_id)
            .join(Job, Job.id == JobApplication.job_id)
            .join(Tenant, Tenant.id == recipient)
            .where(JobApplicationEvent.notified_at.is_(None), Tenant.status == "active",
                   JobApplicationEvent.created_at < moment - BACKSTOP_AFTER,
                   JobApplicationEvent.created_at > moment - BACKSTOP_WINDOW)
            .order_by(JobApplicationEvent.created_at).limit(500))).all())
    told = 0
    for event_id in waiting:
        told += await deliver(ctx["engine"], event_id)
    return {"waiting": len(waiting), "told": told}


ALERT_LAG = datetime.timedelta(minutes=5)
ALERT_BATCH = 200


@scheduled("hourly")
@tenant_task(policy=TaskPolicy(timeout=600))
async def send_job_alerts(ctx: dict[str, Any], *, tick: str | None = None,
                          until: datetime.datetime | None = None) -> dict[str, Any]:
    """``until`` (tests): the end of the window instead of now minus :data:`ALERT_LAG`."""
    upto = until or datetime.datetime.now(datetime.UTC) - ALERT_LAG
    async with session_scope(ctx["engine"]) as session:
        if not await board.allowed(session):
            return {"sent": 0, "closed": True}
        ids = list((await session.scalars(
            select(JobSearch.id).join(User, User.id == JobSearch.user_id)
            .where(JobSearch.alerts.is_(True), User.status == "active").order_by(JobSearch.id))).all())
    sent = 0
    for start in range(0, len(ids), ALERT_BATCH):
        async with session_scope(ctx["engine"]) as session:
            rows = (await session.execute(select(JobSearch, User).join(User, User.id == JobSearch.user_id)
                                          .where(JobSearch.id.in_(ids[start:start + ALERT_BATCH])))).all()
            for search, user in rows:
                since = search.seen_until or search.created_at
                if since >= upto:
                    continue
                filters = board.Filters(**{k: str(v) for k, v in (search.filters or {}).items()
                                           if k in ("q", "location", "workplace", "kind")})
                _found, total = await board.search(session, filters, per_page=1, published_after=since,
                                                   published_until=upto)
                search.seen_until = upto
                if total:
                    await notify(session, user, "job_alert", key=f"job_alert:{search.id}:{upto.isoformat()}",
                                 title=N_("New jobs for your search %(name)s"),
                                 body=N_("%(count)s new jobs match it."),
                                 params={"name": search.name, "count": total}, link=f"/jobs/searches/{search.id}")
                    sent += 1
    return {"sent": sent}
