"""Who sees a certificate (pages and API), the public verification page and its JSON, revoking."""

from __future__ import annotations

from tests.integration.conftest import audit_entries, bearer_for, post_form, problem_of
from tests.integration.parents.conftest import add_link
from tests.integration.progress.conftest import add_group


async def test_who_may_see_and_download_a_certificate(org, other_org, make_user, engine, signed_in, issued):
    done = await issued(name="Amina Ochieng")
    cert = done.certificate
    parent = await make_user(org.tenant, ["parent"])
    await add_link(engine, org.tenant, parent.id, done.learner.id)
    stranger_parent = await make_user(org.tenant, ["parent"])
    manager = await make_user(org.tenant, ["manager"])
    await add_group(engine, org.tenant, members=[done.learner.id], leaders=[manager.id])
    other_manager = await make_user(org.tenant, ["manager"])
    other_teacher = await make_user(org.tenant, ["teacher"])
    classmate = await make_user(org.tenant, ["student"])

    download = f"/certificates/{cert.id}/download"
    people = f"/people/{done.learner.id}/certificates"
    for member in (done.learner, parent, manager, done.teacher, org.admin):
        async with signed_in(member) as client:
            answer = await client.get(download)
            assert answer.status_code == 303, member.roles
            assert answer.headers["location"].startswith(("/files/", "http"))
            listed = await client.get(people)
            assert listed.status_code == 200 and "Amina Ochieng" in listed.text and cert.title in listed.text
            api = await client.get(f"/api/v1/certificates/{cert.id}", headers=await bearer_for(client, member))
            assert api.status_code == 200 and api.json()["download_url"]
            assert api.json()["verify_url"].endswith(f"/verify/{cert.code}")
    for member in (stranger_parent, other_manager, other_teacher, classmate):
        async with signed_in(member) as client:
            assert (await client.get(download)).status_code == 404, member.roles
            assert (await client.get(people)).status_code == 404, member.roles
            headers = await bearer_for(client, member)
            problem_of(await client.get(f"/api/v1/certificates/{cert.id}", headers=headers), 404)
            problem_of(await client.get(f"/api/v1/users/{done.learner.id}/certificates", headers=headers), 404)
    async with signed_in(other_org.admin) as client:  # another organization's admin, on their own host
        assert (await client.get(download)).status_code == 404
        assert (await client.get(people)).status_code == 404
        problem_of(await client.get(f"/api/v1/certificates/{cert.id}",
                                    headers=await bearer_for(client, other_org.admin)), 404)

    async with signed_in(done.learner) as client:
        mine = await client.get("/learn/certificates")
        assert mine.status_code == 200 and download in mine.text and cert.title in mine.text
        headers = await bearer_for(client, done.learner)
        listed = (await client.get("/api/v1/certificates", headers=headers)).json()
        assert [c["id"] for c in listed["items"]] == [str(cert.id)] and listed["total"] == 1
        assert listed["items"][0]["ready"] is True
        theirs = (await client.get(f"/api/v1/users/{done.learner.id}/certificates", headers=headers)).json()
        assert theirs["total"] == 1


async def test_verification_valid_revoked_unknown_and_another_tenants_code(
    org, other_org, browser, signed_in, engine, issued
):
    valid = (await issued(name="Zawadi Wanjirũ Mwangi", title="Kiswahili 101")).certificate
    revoked = (await issued(name="Amélie Öztürk-Ngũgĩ")).certificate
    elsewhere = (await issued(tenant=other_org.tenant)).certificate

    async with signed_in(org.admin) as admin:
        refused = await post_form(admin, f"/admin/certificates/{revoked.id}/revoke", {"reason": "   "})
        assert refused.status_code == 422 and 'id="e-reason"' in refused.text
        done = await post_form(admin, f"/admin/certificates/{revoked.id}/revoke", {"reason": "Exam fraud found"})
        assert done.status_code == 303
        listed = await admin.get("/admin/certificates", params={"q": "Zawadi"})
        assert listed.status_code == 200 and "Zawadi Wanjirũ Mwangi" in listed.text
        assert "Amélie" not in listed.text
    [entry] = [e for e in await audit_entries(engine, org.tenant, "certificate.revoked")
               if e.target_id == str(revoked.id)]
    assert entry.details["reason"] == "Exam fraud found" and entry.actor_id == org.admin.id

    async with browser(org.tenant) as anonymous:
        page = await anonymous.get(f"/verify/{valid.code}")
        assert page.status_code == 200 and "This certificate is valid." in page.text
        assert "Zawadi Wanjirũ Mwangi" in page.text and "Kiswahili 101" in page.text and org.tenant.name in page.text
        data = (await anonymous.get(f"/verify/{valid.code}.json")).json()
        assert data["status"] == "valid" and data["learner_name"] == "Zawadi Wanjirũ Mwangi"
        assert data["organization"] == org.tenant.name and data["title"] == "Kiswahili 101"
        assert (await anonymous.get(f"/verify/{valid.code.lower()}")).status_code == 200  # typed in lower case

        page = await anonymous.get(f"/verify/{revoked.code}")
        assert page.status_code == 200 and "was revoked" in page.text and "Exam fraud found" in page.text
        data = (await anonymous.get(f"/verify/{revoked.code}.json")).json()
        assert data["status"] == "revoked" and data["revoked_reason"] == "Exam fraud found" and data["revoked_at"]

        for code in ("NOSUCHCODE234567", elsewhere.code):
            page = await anonymous.get(f"/verify/{code}")
            assert page.status_code == 404 and "No certificate with this code" in page.text
            answer = await anonymous.get(f"/verify/{code}.json")
            assert answer.status_code == 404 and answer.json() == {"status": "unknown"}
            assert elsewhere.learner_name not in page.text


async def test_revoking_through_the_api_needs_an_admin_and_a_reason(org, make_user, signed_in, issued):
    done = await issued()
    path = f"/api/v1/certificates/{done.certificate.id}/revoke"
    async with signed_in(done.learner) as client:
        problem_of(await client.post(path, json={"reason": "mine"}, headers=await bearer_for(client, done.learner)),
                   403)
    async with signed_in(done.teacher) as client:
        problem_of(await client.post(path, json={"reason": "x"}, headers=await bearer_for(client, done.teacher)), 403)
    async with signed_in(org.admin) as client:
        headers = await bearer_for(client, org.admin)
        problem_of(await client.post(path, json={}, headers=headers), 400)
        problem_of(await client.post(path, json={"reason": ""}, headers=headers), 400)
        answer = await client.post(path, json={"reason": "Issued by mistake"}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "revoked" and answer.json()["revoked_reason"] == "Issued by mistake"
        again = problem_of(await client.post(path, json={"reason": "Twice"}, headers=headers), 409)
        assert again["field"] == "status"
        problem_of(await client.post("/api/v1/certificates/00000000-0000-0000-0000-000000000000/revoke",
                                     json={"reason": "x"}, headers=headers), 404)
    async with signed_in(done.learner) as client:
        page = await client.get("/learn/certificates")
        assert "Revoked" in page.text
