"""The résumés API: mine, its entries, its PDF, the share link; a reviewer reads only while reviewing; bad input;
another organization."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tajiconnect.web.idempotency import IdempotentRequest
from tests.integration.certificates.conftest import pdf_text
from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.resumes.conftest import a_certificate

API = "/api/v1/resumes"


async def test_the_resume_api(engine, new_org, make_user, signed_in, client_for):
    org, other = await new_org("rsa"), await new_org("rsb")
    learner = await make_user(org.tenant, ["student"], name="Zoë Ndéla")
    teacher = await make_user(org.tenant, ["teacher"])
    stranger = await make_user(other.tenant, ["teacher"])
    certificate = await a_certificate(engine, org.tenant, learner.id, "Zoë Ndéla", "Solar basics")
    async with signed_in(learner) as client:
        me = await bearer_for(client, learner)
        mine = await client.get(API + "/me", headers=me)
        assert mine.status_code == 200 and mine.json()["name"] == "Zoë Ndéla"
        assert [c["title"] for c in mine.json()["certificates"]] == ["Solar basics"]
        resume_id = mine.json()["id"]
        changed = await client.patch(API + "/me", headers=me, json={
            "headline": "Solar technician", "languages": [{"name": "Français", "level": "native"}],
            "hidden_certificate_ids": [str(certificate.id)], "layout": "compact"})
        assert changed.status_code == 200 and changed.json()["certificates"][0]["hidden"] is True
        for body, status in (({"website": "javascript:alert(1)"}, 409), ({"website": "http://[x"}, 409),
                             ({"layout": "fancy"}, 400),
                             ({"languages": [{"name": "A", "level": "native"}, {"name": "a", "level": "basic"}]},
                              409), ({"headline": "x" * 161}, 400), ({"nope": 1}, 400), ({"phone": "call me"}, 409)):
            assert (await client.patch(API + "/me", headers=me, json=body)).status_code == status, body
        entry = await client.post(API + "/me/entries", headers=me, json={
            "kind": "experience", "title": "Installer", "start_month": "2022-01", "current": True})
        assert entry.status_code == 201, entry.text
        entry_id = entry.json()["id"]
        for body in ({"kind": "experience", "title": "X", "start_month": "2022-13"},
                     {"kind": "hobby", "title": "X"}, {"kind": "experience", "title": " "}):
            assert (await client.post(API + "/me/entries", headers=me, json=body)).status_code == 400, body
        refused = await client.patch(f"{API}/me/entries/{entry_id}", headers=me, json={
            "title": "Installer", "start_month": "2022-01", "end_month": "2021-01"})
        assert problem_of(refused, 409)["field"] == "end_month"
        pdf = await client.get(f"{API}/{resume_id}/pdf?layout=modern", headers=me)
        assert pdf.status_code == 200 and "Zoë Ndéla" in pdf_text(pdf.content) and "Installer" in pdf_text(pdf.content)
        assert (await client.get(f"{API}/{resume_id}/pdf?layout=fancy", headers=me)).status_code == 400
        shared = await client.post(API + "/me/share", headers=me)
        assert shared.status_code == 201 and "/r/" in shared.json()["url"]
        again = await client.post(API + "/me/share", headers={**me, "Idempotency-Key": "share-1"})
        retried = await client.post(API + "/me/share", headers={**me, "Idempotency-Key": "share-1"})
        assert again.status_code == retried.status_code == 201  # a secret answer is never stored to replay
        assert again.json()["url"] != retried.json()["url"] and "idempotent-replayed" not in retried.headers
        async with tenant_session(engine, org.tenant) as session:
            assert await session.scalar(select(func.count()).select_from(IdempotentRequest).where(
                IdempotentRequest.user_id == learner.id)) == 0
        assert (await client.delete(API + "/me/share", headers=me)).status_code == 204
    shares = [e.action for e in await audit_entries(engine, org.tenant) if e.action.startswith("resume.share.")]
    assert sorted(shares) == ["resume.share.created", "resume.share.replaced", "resume.share.replaced",
                              "resume.share.revoked"]
    async with signed_in(learner) as client:
        assert (await post_form(client, "/career/resume/reviews", {"reviewer": teacher.email})).status_code == 303
    async with signed_in(teacher) as client:
        headers = await bearer_for(client, teacher)
        listed = await client.get(API, headers=headers)
        assert [(r["id"], r["mine"]) for r in listed.json()["items"]] == [(resume_id, False)]
        assert (await client.get(f"{API}/{resume_id}", headers=headers)).json()["headline"] == "Solar technician"
        assert (await client.delete(f"{API}/me/entries/{entry_id}", headers=headers)).status_code == 404
    async with signed_in(stranger) as client:
        headers = await bearer_for(client, stranger)
        for url in (f"{API}/{resume_id}", f"{API}/{resume_id}/pdf", f"{API}/{uuid.uuid4()}"):
            assert (await client.get(url, headers=headers)).status_code == 404, url
        assert (await client.delete(f"{API}/me/entries/{entry_id}", headers=headers)).status_code == 404
    async with signed_in(learner) as client:
        me = await bearer_for(client, learner)
        assert (await client.delete(f"{API}/me/entries/{entry_id}", headers=me)).status_code == 204
        assert (await client.delete(f"{API}/me/entries/{entry_id}", headers=me)).status_code == 404
