"""The job board across organizations: an employer posts, an operator approves, a learner of another organization
finds it with their match explained and applies with what they choose; the employer moves the application along
and the learner is told once; nothing crosses beyond the snapshot; schools are closed unless they open the board;
an operator hides a job."""

from __future__ import annotations

import datetime
import re
import uuid

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.jobs.models import Job, JobApplication, JobApplicationEvent
from tajiconnect.domains.jobs.tasks import deliver, deliver_waiting_job_events
from tajiconnect.domains.notifications.models import Notification
from tests.integration.certificates.conftest import pdf_text
from tests.integration.conftest import post_form
from tests.integration.groups.conftest import tenant_session
from tests.integration.jobs.conftest import build_board, events, job_row
from tests.integration.resumes.conftest import a_certificate


async def publish(engine, job_id) -> None:
    """As if an operator approved it."""
    async with session_scope(engine, schema=None) as session:
        job = await session.get(Job, uuid.UUID(job_id))
        job.status, job.published_at = "published", datetime.datetime.now(datetime.UTC)


async def notifications(engine, tenant, user_id, category: str) -> list[Notification]:
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.category == category))).all())


def post_job(b, **extra):
    return {"title": "Junior data analyst", "description": "Clean **data** <script>x</script>",
            "location": "Douala", "workplace": "hybrid", "kind": "full_time", "salary_min": "250,000",
            "salary_max": "400000", "currency": "xaf", "salary_period": "month",
            "skill_0": b.cleaning_name, "level_0": "3", "skill_1": b.charts_name, "level_1": "2", **extra}


async def test_a_job_from_posting_to_interview_across_organizations(engine, new_org, make_user, signed_in,
                                                                      as_operator):
    b = await build_board(engine, new_org, make_user)
    certificate = await a_certificate(engine, b.learner_org.tenant, b.learner.id, "Aïcha Ndiaye", "Excel avancé")
    await a_certificate(engine, b.learner_org.tenant, b.learner.id, "Aïcha Ndiaye", "Private hobby")
    async with signed_in(b.employer) as client:
        bad = await post_form(client, "/employer/jobs", post_job(b, salary_min="500000"))
        assert bad.status_code == 422 and "The minimum is above the maximum." in bad.text
        assert 'value="Junior data analyst"' in bad.text  # nothing typed is lost
        unknown = await post_form(client, "/employer/jobs", post_job(b, skill_0="Juggling"))
        assert unknown.status_code == 422 and "Juggling" in unknown.text
        made = await post_form(client, "/employer/jobs", post_job(b))
        assert made.status_code == 303
        job_id = re.search(r"/employer/jobs/([0-9a-f-]+)", made.headers["location"]).group(1)
        assert (await post_form(client, f"/employer/jobs/{job_id}", {"action": "submit"})).status_code == 303
    job = await job_row(engine, uuid.UUID(job_id))
    assert job.status == "pending" and job.currency == "XAF" and job.salary_min == 250000
    assert "<script>" not in job.description_html and "<strong>data</strong>" in job.description_html

    async with signed_in(b.learner) as client:  # not public before the review
        assert (await client.get(f"/jobs/{job_id}")).status_code == 404
        assert job_id not in (await client.get("/jobs")).text
    async with as_operator() as client:
        queue = await client.get("/platform/jobs")
        assert queue.status_code == 200 and "Junior data analyst" in queue.text
        refused = await post_form(client, f"/platform/jobs/{job_id}", {"action": "reject", "note": ""})
        assert refused.status_code == 422
        assert (await post_form(client, f"/platform/jobs/{job_id}", {"action": "approve"})).status_code == 303
    assert (await job_row(engine, uuid.UUID(job_id))).status == "published"

    async with signed_in(b.learner) as client:
        listing = await client.get("/jobs?q=analyst&location=douala")
        assert listing.status_code == 200 and f'data-job="{job_id}"' in listing.text
        assert f'data-job="{job_id}"' not in (await client.get("/jobs?q=plumber")).text
        page = await client.get(f"/jobs/{job_id}")
        assert page.status_code == 200
        # "Nettoyage de données" here is the employer's "Data cleaning": matched by the starter code; 3 of 5 levels
        assert "60%" in page.text and b.charts_name in page.text
        applied = await post_form(client, f"/jobs/{job_id}/apply", {
            "include_resume": "on", "certificate": str(certificate.id), "skill": "code:data-cleaning",
            "cover_letter": "Je suis motivée."})
        assert applied.status_code == 303, applied.text
        again = await post_form(client, f"/jobs/{job_id}/apply", {"cover_letter": "again"})
        assert again.status_code in (200, 409)
        mine = (await client.get("/jobs/applications")).text
        assert "Junior data analyst" in mine
    async with session_scope(engine, schema=None) as session:
        [application] = (await session.scalars(select(JobApplication).where(
            JobApplication.job_id == uuid.UUID(job_id)))).all()
    assert application.certificates[0]["title"] == "Excel avancé" and len(application.certificates) == 1
    assert application.skills == [{"key": "code:data-cleaning", "name": "Nettoyage de données", "level": 4}]
    assert application.match_percent == 60

    [applied_event] = await events(engine, application.id)
    assert await deliver(engine, applied_event.id) is True
    assert await deliver(engine, applied_event.id) is False  # told once
    told = await notifications(engine, b.employer_org.tenant, b.employer.id, "job_application")
    assert len(told) == 1 and "Aïcha Ndiaye" in told[0].title

    async with signed_in(b.employer) as client:
        listed = await client.get(f"/employer/jobs/{job_id}/applications")
        assert str(application.id) in listed.text
        page = await client.get(f"/employer/applications/{application.id}")
        assert page.status_code == 200 and "Je suis motivée." in page.text and "Excel avancé" in page.text
        assert "Private hobby" not in page.text
        resume = await client.get(f"/employer/applications/{application.id}/resume")
        assert resume.status_code == 200 and "Aïcha Ndiaye" in pdf_text(resume.content)
        assert (await post_form(client, f"/employer/applications/{application.id}",
                                {"status": "applied", "note": ""})).status_code == 422
        assert (await post_form(client, f"/employer/applications/{application.id}",
                                {"status": "withdrawn"})).status_code == 409
        moved = await post_form(client, f"/employer/applications/{application.id}",
                                {"status": "interview", "note": "Strong data cleaning."})
        assert moved.status_code == 303
        assert "Interview" in (await client.get(f"/employer/applications/{application.id}")).text
    interview = (await events(engine, application.id))[-1]
    assert interview.status == "interview" and interview.note == "Strong data cleaning."
    assert await deliver(engine, interview.id) is True
    async with signed_in(b.employer) as client:  # a note alone tells nobody
        assert (await post_form(client, f"/employer/applications/{application.id}",
                                {"status": "interview", "note": "Call on Monday"})).status_code == 303
    note = (await events(engine, application.id))[-1]
    assert note.note == "Call on Monday" and note.notified_at is not None
    assert await deliver(engine, note.id) is False
    told = await notifications(engine, b.learner_org.tenant, b.learner.id, "job_application")
    assert len(told) == 1 and "Junior data analyst" in told[0].title
    async with signed_in(b.learner) as client:  # the employer's note stays theirs
        assert "Strong data cleaning." not in (await client.get("/jobs/applications")).text

    async with as_operator() as client:
        assert (await post_form(client, f"/platform/jobs/{job_id}", {"action": "hide", "note": "Scam report"})
                ).status_code == 303
    async with session_scope(engine, schema=None) as session:
        actions = (await session.scalars(select(PlatformAuditEntry.action).where(
            PlatformAuditEntry.target_id == job_id))).all()
    assert sorted(actions) == ["platform.job.approve", "platform.job.hide"]
    async with signed_in(b.learner) as client:
        assert (await client.get(f"/jobs/{job_id}")).status_code == 404
        assert f'data-job="{job_id}"' not in (await client.get("/jobs")).text
        assert "Junior data analyst" in (await client.get("/jobs/applications")).text  # still theirs to follow


async def test_each_side_sees_only_its_own(engine, new_org, make_user, signed_in):
    b = await build_board(engine, new_org, make_user, "jx")
    rival = await make_user(b.learner_org.tenant, ["employer"])  # an employer in the learner's organization
    async with signed_in(b.employer) as client:
        made = await post_form(client, "/employer/jobs", post_job(b))
        job_id = re.search(r"/employer/jobs/([0-9a-f-]+)", made.headers["location"]).group(1)
    await publish(engine, job_id)
    async with signed_in(b.learner) as client:
        assert (await post_form(client, f"/jobs/{job_id}/apply", {"cover_letter": "Hello"})).status_code == 303
        assert (await post_form(client, f"/jobs/{job_id}/apply", {"certificate": str(uuid.uuid4())})
                ).status_code in (409, 422)
    async with session_scope(engine, schema=None) as session:
        application_id = (await session.scalars(select(JobApplication.id).where(
            JobApplication.job_id == uuid.UUID(job_id)))).one()
    async with signed_in(rival) as client:  # another organization's employer sees nothing of it
        for path in (f"/employer/jobs/{job_id}", f"/employer/jobs/{job_id}/applications",
                     f"/employer/applications/{application_id}", f"/employer/applications/{application_id}/resume"):
            assert (await client.get(path)).status_code == 404, path
        assert (await post_form(client, f"/employer/applications/{application_id}",
                                {"status": "rejected"})).status_code == 404
        assert (await post_form(client, f"/employer/jobs/{job_id}", {"action": "close"})).status_code == 404
    async with signed_in(b.learner) as client:  # a learner is no employer
        assert (await client.get("/employer")).status_code == 403
        assert (await client.get(f"/employer/applications/{application_id}")).status_code == 403
    other_learner = await make_user(b.learner_org.tenant, ["student"])
    async with signed_in(other_learner) as client:  # nor can withdraw someone else's application
        assert (await post_form(client, f"/jobs/applications/{application_id}/withdraw", {})).status_code == 404
    async with signed_in(b.pupil) as client:  # a school's board is closed by default
        assert (await client.get("/jobs")).status_code == 404
        assert (await client.get(f"/jobs/{job_id}")).status_code == 404
        assert (await post_form(client, f"/jobs/{job_id}/apply", {})).status_code == 404
    async with signed_in(b.school.admin) as client:
        assert (await post_form(client, "/admin/jobs/settings", {"jobs_allowed": "on"})).status_code == 303
    async with signed_in(b.pupil) as client:
        assert f'data-job="{job_id}"' in (await client.get("/jobs")).text
    async with signed_in(b.learner) as client:
        assert (await post_form(client, f"/jobs/applications/{application_id}/withdraw", {})).status_code == 303
        assert (await post_form(client, f"/jobs/applications/{application_id}/withdraw", {})).status_code == 303
    [applied, withdrawn] = await events(engine, application_id)
    assert withdrawn.status == "withdrawn" and withdrawn.by == "applicant"
    async with session_scope(engine, schema=None) as session:  # their deliveries were lost a while ago
        for event in (applied, withdrawn):
            row = await session.get(JobApplicationEvent, event.id)
            row.created_at = row.created_at - datetime.timedelta(minutes=5)
    swept = await deliver_waiting_job_events({"engine": engine})
    assert swept["told"] >= 2
    assert all(e.notified_at is not None for e in await events(engine, application_id))
    told = await notifications(engine, b.employer_org.tenant, b.employer.id, "job_application")
    assert len(told) == 2  # applied, then withdrew: each once
    assert len(await notifications(engine, b.employer_org.tenant, b.employer.id, "job_application")) == 2


async def test_a_changed_job_is_reviewed_again_and_operators_decisions_show_where_the_job_is(
        engine, new_org, make_user, signed_in, as_operator, monkeypatch, settings):
    import dataclasses

    from tajiconnect.domains.jobs import postings

    b = await build_board(engine, new_org, make_user, "jrv")
    async with signed_in(b.employer) as client:
        made = await post_form(client, "/employer/jobs", post_job(b, title=f"Cashier {uuid.uuid4().hex[:6]}"))
        job_id = re.search(r"/employer/jobs/([0-9a-f-]+)", made.headers["location"]).group(1)
        await post_form(client, f"/employer/jobs/{job_id}", {"action": "submit"})
    async with as_operator() as client:
        assert (await post_form(client, f"/platform/jobs/{job_id}", {"action": "reject", "note": "Add the hours"})
                ).headers["location"].startswith("/platform/jobs?status=pending")
    async with signed_in(b.employer) as client:
        page = (await client.get(f"/employer/jobs/{job_id}")).text
        assert "Add the hours" in page and "Rejected" in page
        assert (await post_form(client, f"/employer/jobs/{job_id}", post_job(
            b, title="Cashier, 8:00-16:00", action="save"))).status_code == 303
        assert (await post_form(client, f"/employer/jobs/{job_id}", {"action": "submit"})).status_code == 303
    job = await job_row(engine, uuid.UUID(job_id))
    assert job.status == "pending" and job.review_note == ""  # the operators' note goes with the new review
    await publish(engine, job_id)
    async with signed_in(b.employer) as client:  # a published job changed goes back to review, off the board
        assert (await post_form(client, f"/employer/jobs/{job_id}", post_job(
            b, title="Cashier, 9:00-17:00", action="save"))).status_code == 303
    assert (await job_row(engine, uuid.UUID(job_id))).status == "pending"
    async with signed_in(b.learner) as client:
        assert (await client.get(f"/jobs/{job_id}")).status_code == 404
    await publish(engine, job_id)
    async with as_operator() as client:
        refused = await post_form(client, f"/platform/jobs/{job_id}", {"action": "hide", "note": " "})
        assert refused.status_code == 422 and "Say why" in refused.text  # shown on the published list, its card
        assert f'data-job="{job_id}"' in refused.text
        assert (await post_form(client, f"/platform/jobs/{job_id}", {"action": "hide", "note": "Reported"})
                ).status_code == 303
        assert (await job_row(engine, uuid.UUID(job_id))).status == "hidden"
        assert (await post_form(client, f"/platform/jobs/{job_id}", {"action": "show"})).status_code == 303
    assert (await job_row(engine, uuid.UUID(job_id))).status == "published"

    # without review, submitting publishes at once
    monkeypatch.setattr(postings, "get_settings", lambda: dataclasses.replace(settings, job_review=False))
    async with signed_in(b.employer) as client:
        made = await post_form(client, "/employer/jobs", post_job(b, title=f"Baker {uuid.uuid4().hex[:6]}"))
        other = re.search(r"/employer/jobs/([0-9a-f-]+)", made.headers["location"]).group(1)
        await post_form(client, f"/employer/jobs/{other}", {"action": "submit"})
    published = await job_row(engine, uuid.UUID(other))
    assert published.status == "published" and published.published_at is not None
