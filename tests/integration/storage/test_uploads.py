"""Resumable uploads through ``/api/v1/uploads`` (bearer) and ``/uploads`` (session + CSRF), on both backends."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.settings import MIB
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for, drain, problem_of
from tests.integration.storage.conftest import HTML, mp4_bytes, pdf_bytes, png_bytes

API = "/api/v1/uploads"


@pytest.fixture(scope="module")
async def author(make_user, org):
    return await make_user(org.tenant, ["teacher"])


@pytest.fixture(scope="module")
async def learner(make_user, org):
    return await make_user(org.tenant, ["student"])


async def send_part(client, headers, upload_id: str, number: int, data: bytes, base: str = API) -> None:
    """Send one part where the server says: a presigned S3 URL (outside the app) or the app itself."""
    target = await client.get(f"{base}/{upload_id}/parts/{number}", headers=headers)
    assert target.status_code == 200, target.text
    body = target.json()
    assert body["method"] == "PUT" and body["size"] == len(data)
    if body["url"].startswith("http"):
        async with httpx.AsyncClient() as outside:
            answer = await outside.put(body["url"], content=data)
        assert answer.status_code == 200, answer.text
    else:
        assert body["url"] == f"{base}/{upload_id}/parts/{number}"
        answer = await client.put(body["url"], content=data, headers=headers)
        assert answer.status_code == 204, answer.text


async def test_a_video_uploads_in_parts_and_resumes(storage, client_for, org, author):
    video = mp4_bytes(11 * MIB)  # three parts of 5 MiB, 5 MiB and 1 MiB
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, author)
        created = await client.post(API, json={"purpose": "video", "filename": "Lesson 1.mp4", "size": len(video)},
                                    headers=auth)
        assert created.status_code == 201, created.text
        upload = created.json()
        assert (upload["part_size"], upload["part_count"], upload["status"]) == (5 * MIB, 3, "uploading")
        parts = [video[i * 5 * MIB:(i + 1) * 5 * MIB] for i in range(3)]
        await send_part(client, auth, upload["id"], 1, parts[0])
        await send_part(client, auth, upload["id"], 2, parts[1])
        # The connection is lost here; the page asks what is done and sends only the rest.
        status = (await client.get(f"{API}/{upload['id']}", headers=auth)).json()
        assert status["done_parts"] == [1, 2] and status["status"] == "uploading"
        early = await client.post(f"{API}/{upload['id']}/complete", headers=auth)
        assert "3" in problem_of(early, 409)["detail"]
        await send_part(client, auth, upload["id"], 3, parts[2])
        done = await client.post(f"{API}/{upload['id']}/complete", headers=auth)
        assert done.status_code == 200, done.text
        ready = done.json()
        assert ready["status"] == "ready" and ready["content_type"] == "video/mp4" and ready["size"] == len(video)
        again = await client.post(f"{API}/{upload['id']}/complete", headers=auth)
        assert again.status_code == 200 and again.json()["status"] == "ready"
        late = await client.get(f"{API}/{upload['id']}/parts/1", headers=auth)
        problem_of(late, 409)
        url = ready["url"]
        if url.startswith("http"):
            async with httpx.AsyncClient() as outside:
                read = await outside.get(url, headers={"range": "bytes=0-99"})
        else:
            read = await client.get(url, headers={"range": "bytes=0-99"})
        assert read.status_code == 206 and read.content == video[:100]


async def test_wrong_parts_sizes_and_types_are_refused(storage, client_for, org, author, engine, run_jobs):
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, author)
        too_big = await client.post(API, json={"purpose": "document", "filename": "a.pdf", "size": 51 * MIB},
                                    headers=auth)
        problem_of(too_big, 413)
        bad = await client.post(API, json={"purpose": "folder", "filename": "a.pdf", "size": 10}, headers=auth)
        problem_of(bad, 400)
        # An HTML page named .pdf: refused on its first part when it comes through the app...
        upload = (await client.post(API, json={"purpose": "document", "filename": "report.pdf", "size": len(HTML)},
                                    headers=auth)).json()
        wrong_size = await client.put(f"{API}/{upload['id']}/parts/1", content=HTML[:-1], headers=auth)
        problem_of(wrong_size, 422)
        refused = await client.put(f"{API}/{upload['id']}/parts/1", content=HTML, headers=auth)
        problem_of(refused, 415)
        problem_of(await client.get(f"{API}/{upload['id']}/parts/2", headers=auth), 404)
        # ...and at completion when it went straight to S3 (or once more through the app): the file fails.
        target = (await client.get(f"{API}/{upload['id']}/parts/1", headers=auth)).json()
        if target["url"].startswith("http"):
            async with httpx.AsyncClient() as outside:
                assert (await outside.put(target["url"], content=HTML)).status_code == 200
        else:
            upload = (await client.post(API, json={"purpose": "document", "filename": "r.pdf", "size": len(HTML)},
                                        headers=auth)).json()
            # Straight into the backend, past the app's early check of the first part.
            await storage.backend.put_part(f"tenants/{org.tenant.id}/files/{upload['id']}/original",
                                           await backend_upload_id(engine, org.tenant, upload["id"]), 1, HTML)
        failed = await client.post(f"{API}/{upload['id']}/complete", headers=auth)
        problem_of(failed, 415)
        status = (await client.get(f"{API}/{upload['id']}", headers=auth)).json()
        assert status["status"] == "failed" and status["url"] is None
        # A real PDF goes through, with its pages counted.
        pdf = pdf_bytes(2)
        upload = (await client.post(API, json={"purpose": "document", "filename": "ok.pdf", "size": len(pdf)},
                                    headers=auth)).json()
        await send_part(client, auth, upload["id"], 1, pdf)
        ready = (await client.post(f"{API}/{upload['id']}/complete", headers=auth)).json()
        assert ready["content_type"] == "application/pdf" and ready["pages"] == 2
    # The completion deferred the page rendering (outbox): a real worker renders the pages.
    run_jobs.worker.context["storage"] = storage
    try:
        await drain(run_jobs)
    finally:
        run_jobs.worker.context.pop("storage", None)
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            document = await session.get(StoredFile, uuid.UUID(ready["id"]))
    assert document.details == {"pages": 2, "pages_ready": True} and sorted(document.renditions) == ["page-1", "page-2"]


async def backend_upload_id(engine, tenant, file_id: str) -> str:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return str((await session.get(StoredFile, uuid.UUID(file_id))).upload_id)


async def test_only_authors_upload_course_files_and_anyone_their_picture(storage, client_for, org, learner):
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, learner)
        refused = await client.post(API, json={"purpose": "video", "filename": "v.mp4", "size": 100}, headers=auth)
        problem_of(refused, 403)
        picture = png_bytes()
        created = await client.post(API, json={"purpose": "avatar", "filename": "me.png", "size": len(picture)},
                                    headers=auth)
        assert created.status_code == 201
        problem_of(await client.post(API, json={"purpose": "avatar", "filename": "x", "size": 1}), 401)


async def test_another_persons_or_organizations_upload_is_not_found(storage, client_for, org, other_org, author,
                                                                   make_user):
    picture = png_bytes()
    colleague = await make_user(org.tenant, ["teacher"])
    stranger = await make_user(other_org.tenant, ["org_admin"])
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, author)
        upload = (await client.post(API, json={"purpose": "image", "filename": "a.png", "size": len(picture)},
                                    headers=auth)).json()
        theirs = await bearer_for(client, colleague)
        for method, path in (("GET", ""), ("GET", "/parts/1"), ("PUT", "/parts/1"), ("POST", "/complete"),
                             ("DELETE", "")):
            answer = await client.request(method, f"{API}/{upload['id']}{path}", headers=theirs,
                                          content=picture if method == "PUT" else None)
            problem_of(answer, 404)
    async with client_for(other_org.tenant) as elsewhere:
        auth_b = await bearer_for(elsewhere, stranger)
        for method, path in (("GET", ""), ("GET", "/parts/1"), ("PUT", "/parts/1"), ("POST", "/complete"),
                             ("DELETE", "")):
            answer = await elsewhere.request(method, f"{API}/{upload['id']}{path}", headers=auth_b,
                                             content=picture if method == "PUT" else None)
            problem_of(answer, 404)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, author)
        await send_part(client, auth, upload["id"], 1, picture)
        ready = (await client.post(f"{API}/{upload['id']}/complete", headers=auth)).json()
        assert ready["status"] == "ready"
        if not ready["url"].startswith("http"):  # the file's app URL on the other organization's host
            async with client_for(other_org.tenant) as elsewhere:
                assert (await elsewhere.get(ready["url"])).status_code == 404
        aborted = await client.delete(f"{API}/{upload['id']}", headers=auth)
        problem_of(aborted, 409)


async def test_pages_upload_with_their_session_and_a_csrf_header(storage, signed_in, org, author):
    picture = png_bytes()
    async with signed_in(author) as client:
        await client.get("/account/profile")
        token = client.cookies.get("csrftoken")
        body = {"purpose": "avatar", "filename": "me.png", "size": len(picture)}
        problem_of(await client.post("/uploads", json=body, headers={"accept": "application/json"}), 403)
        headers = {"x-csrftoken": token, "accept": "application/json"}
        created = await client.post("/uploads", json=body, headers=headers)
        assert created.status_code == 201, created.text
        upload = created.json()
        await send_part(client, headers, upload["id"], 1, picture, base="/uploads")
        ready = await client.post(f"/uploads/{upload['id']}/complete", headers=headers)
        assert ready.json()["status"] == "ready"
        upload = (await client.post("/uploads", json=body, headers=headers)).json()
        assert (await client.delete(f"/uploads/{upload['id']}", headers=headers)).status_code == 204
        gone = await client.get(f"/uploads/{upload['id']}", headers=headers)
        problem_of(gone, 404)
