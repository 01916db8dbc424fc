"""The job board API: employers write jobs, learners of other organizations search and apply, employers move the
applications; closed boards, other organizations, bad input."""

from __future__ import annotations

import datetime
import uuid

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.jobs import review
from tests.integration.conftest import bearer_for, problem_of
from tests.integration.jobs.conftest import build_board


async def approve(engine, job_id: str) -> None:
    async with session_scope(engine, schema=None) as session:
        await review.decide(session, Actor(email="operator@taji.example"), uuid.UUID(job_id), "approve")


async def test_the_jobs_api_end_to_end(engine, new_org, make_user, signed_in):
    b = await build_board(engine, new_org, make_user, "ja")
    rival = await make_user(b.learner_org.tenant, ["employer"])
    tomorrow = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).date().isoformat()
    token = f"zq{uuid.uuid4().hex[:8]}"  # the board is shared by every test: this job's own word
    body = {"title": f"Data clerk {token}", "description": "Keep the books.", "location": "Nairobi",
            "salary_min": 30000, "salary_max": 45000, "currency": "kes", "closes_on": tomorrow,
            "skills": [{"skill_id": str(b.cleaning), "level": 2}]}
    async with signed_in(b.employer) as client:
        me = await bearer_for(client, b.employer)
        for bad, status in (({**body, "salary_min": 50000}, 409), ({**body, "currency": "12"}, 400),
                            ({**body, "closes_on": "2020-01-01"}, 409), ({**body, "title": " "}, 400),
                            ({**body, "salary_max": 10**12}, 400), ({**body, "location": "", "workplace": "onsite"},
                                                                    409),
                            ({**body, "skills": [{"skill_id": str(uuid.uuid4()), "level": 2}]}, 409)):
            assert (await client.post("/api/v1/jobs", headers=me, json=bad)).status_code == status, bad
        made = await client.post("/api/v1/jobs", headers=me, json=body)
        assert made.status_code == 201, made.text
        job = made.json()
        assert job["status"] == "draft" and job["currency"] == "KES" and job["skills"][0]["key"] == "code:data-cleaning"
        submitted = await client.post(f"/api/v1/jobs/{job['id']}/submit", headers=me)
        assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
        own = await client.get("/api/v1/jobs?own=true", headers=me)
        assert [j["id"] for j in own.json()["items"]] == [job["id"]]
    await approve(engine, job["id"])

    async with signed_in(b.learner) as client:
        me = await bearer_for(client, b.learner)
        found = await client.get(f"/api/v1/jobs?q={token}&location=nairobi", headers=me)
        assert found.status_code == 200
        [item] = found.json()["items"]
        assert item["match"]["percent"] == 100 and item["match"]["met"][0]["key"] == "code:data-cleaning"
        assert (await client.get("/api/v1/jobs?workplace=moon", headers=me)).status_code == 400
        assert (await client.post("/api/v1/jobs", headers=me, json=body)).status_code == 403
        assert problem_of(await client.post(f"/api/v1/jobs/{job['id']}/applications", headers=me, json={
            "skill_keys": ["code:plumbing"]}), 409)["field"] == "skill_keys"
        applied = await client.post(f"/api/v1/jobs/{job['id']}/applications", headers=me, json={
            "include_resume": True, "skill_keys": ["code:data-cleaning"], "cover_letter": "Bonjour"})
        assert applied.status_code == 201, applied.text
        application = applied.json()
        assert application["has_resume"] is True and application["status"] == "applied"
        assert (await client.post(f"/api/v1/jobs/{job['id']}/applications", headers=me, json={})).status_code == 409
        assert [a["id"] for a in (await client.get("/api/v1/applications", headers=me)).json()["items"]] == [
            application["id"]]
        refused = await client.patch(f"/api/v1/applications/{application['id']}", headers=me,
                                     json={"status": "hired"})
        assert problem_of(refused, 409)["field"] == "status"

    async with signed_in(rival) as client:  # another organization's employer
        me = await bearer_for(client, rival)
        for url in (f"/api/v1/applications/{application['id']}", f"/api/v1/jobs/{job['id']}/applications"):
            assert (await client.get(url, headers=me)).status_code == 404, url
        assert (await client.patch(f"/api/v1/applications/{application['id']}", headers=me,
                                   json={"status": "rejected"})).status_code == 404
        assert (await client.patch(f"/api/v1/jobs/{job['id']}", headers=me, json={"title": "Mine"})
                ).status_code == 404
    async with signed_in(b.pupil) as client:  # a school's learner: the board is closed
        me = await bearer_for(client, b.pupil)
        assert (await client.get("/api/v1/jobs", headers=me)).status_code == 403
        assert (await client.get(f"/api/v1/jobs/{job['id']}", headers=me)).status_code == 404
        assert (await client.post(f"/api/v1/jobs/{job['id']}/applications", headers=me, json={})).status_code == 404

    async with signed_in(b.employer) as client:
        me = await bearer_for(client, b.employer)
        listed = await client.get(f"/api/v1/jobs/{job['id']}/applications", headers=me)
        assert [a["applicant_name"] for a in listed.json()["items"]] == ["Aïcha Ndiaye"]
        moved = await client.patch(f"/api/v1/applications/{application['id']}", headers=me,
                                   json={"status": "interview", "note": "Call her"})
        assert moved.status_code == 200 and moved.json()["status"] == "interview"
        assert (await client.patch(f"/api/v1/applications/{application['id']}", headers=me,
                                   json={"status": "screening"})).status_code == 409  # no going back
        assert (await client.delete(f"/api/v1/jobs/{job['id']}", headers=me)).status_code == 409
        async with session_scope(engine, schema=None) as session:  # its closing date passes
            from tajiconnect.domains.jobs.models import Job

            (await session.get(Job, uuid.UUID(job["id"]))).closes_on = datetime.date(2020, 1, 1)
        kept = await client.patch(f"/api/v1/jobs/{job['id']}", headers=me, json={"description": "Keep books."})
        assert kept.status_code == 200, kept.text  # the date passed unchanged is no refusal
        assert problem_of(await client.patch(f"/api/v1/jobs/{job['id']}", headers=me, json={
            "closes_on": "2020-01-02"}), 409)["field"] == "closes_on"
        async with session_scope(engine, schema=None) as session:
            (await session.get(Job, uuid.UUID(job["id"]))).closes_on = None
        closed = await client.post(f"/api/v1/jobs/{job['id']}/close", headers=me)
        assert closed.json()["status"] == "closed"
        assert (await client.patch(f"/api/v1/jobs/{job['id']}", headers=me, json={"title": "X"})).status_code == 409
    async with signed_in(b.learner) as client:
        me = await bearer_for(client, b.learner)
        assert (await client.get(f"/api/v1/jobs/{job['id']}", headers=me)).status_code == 404  # closed
        withdrawn = await client.patch(f"/api/v1/applications/{application['id']}", headers=me,
                                       json={"status": "withdrawn"})
        assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
