"""Lesson media end to end, on the local filesystem and on S3: a teacher uploads a real video and a real PDF
through the resumable upload API, builds and publishes a course with them, and an enrolled learner gets short-lived
URLs that serve exactly those bytes (the video by ranges, the PDF page by page once the worker rendered them, and
as a download only where the lesson allows it); a learner who is not enrolled gets nothing."""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import bearer_for, drain, problem_of
from tests.integration.progress.conftest import enroll
from tests.integration.storage.test_uploads import send_part

MEDIA = Path(__file__).resolve().parents[3] / "tenants" / "demo" / "media"


@pytest.fixture(scope="module")
async def teacher(make_user, org):
    return await make_user(org.tenant, ["teacher"])


async def upload(client, auth, purpose: str, name: str, data: bytes) -> str:
    created = await client.post("/api/v1/uploads", json={"purpose": purpose, "filename": name,
                                                        "size": len(data)}, headers=auth)
    assert created.status_code == 201, created.text
    upload = created.json()
    size = upload["part_size"]
    for number in range(1, upload["part_count"] + 1):
        await send_part(client, auth, upload["id"], number, data[(number - 1) * size:number * size])
    done = await client.post(f"/api/v1/uploads/{upload['id']}/complete", headers=auth)
    assert done.status_code == 200 and done.json()["status"] == "ready", done.text
    return upload["id"]


async def fetch(client, url: str, **headers: str) -> httpx.Response:
    if url.startswith("http"):  # S3: a presigned URL, outside the app
        async with httpx.AsyncClient() as outside:
            return await outside.get(url, headers=headers)
    return await client.get(url, headers=headers)


async def test_video_and_pdf_lessons_from_upload_to_learner(storage, client_for, org, teacher, make_user, engine,
                                                            run_jobs):
    video, pdf = (MEDIA / "solar-basics.mp4").read_bytes(), (MEDIA / "safe-water-guide.pdf").read_bytes()
    learner, stranger = await make_user(org.tenant), await make_user(org.tenant)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, teacher)
        video_id = await upload(client, auth, "video", "solar-basics.mp4", video)
        pdf_id = await upload(client, auth, "document", "safe-water-guide.pdf", pdf)
        course = (await client.post("/api/v1/courses", json={"title": "Media course"}, headers=auth)).json()
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", json={"title": "M"},
                                    headers=auth)).json()
        lessons = {}
        for kind, file_id, extra in (("video", video_id, {}), ("document", pdf_id, {"allow_download": True})):
            made = await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=auth,
                                     json={"kind": kind, "title": kind.title(), "file_id": file_id, **extra})
            assert made.status_code == 201, made.text
            lessons[kind] = made.json()["id"]
        published = await client.post(f"/api/v1/courses/{course['id']}/publish", headers=auth)
        assert published.status_code == 200, published.text
        run_jobs.worker.context["storage"] = storage  # the worker renders the PDF's pages with this backend
        try:
            await drain(run_jobs)
        finally:
            run_jobs.worker.context.pop("storage", None)
        await enroll(engine, org.tenant, learner.id, course["id"])

        mine = await bearer_for(client, learner)
        shown = (await client.get(f"/api/v1/lessons/{lessons['video']}", headers=mine)).json()
        assert shown["download_url"] is None  # videos are not offered for download unless allowed
        played = await fetch(client, shown["media_url"], range="bytes=0-1023")
        assert played.status_code == 206 and played.content == video[:1024]

        document = (await client.get(f"/api/v1/lessons/{lessons['document']}", headers=mine)).json()
        assert document["pages"] == 3 and len(document["page_urls"]) == 3
        page = await fetch(client, document["page_urls"][2])
        assert page.status_code == 200 and page.headers["content-type"].startswith("image/")
        downloaded = await fetch(client, document["download_url"])
        assert downloaded.status_code == 200 and downloaded.content == pdf
        assert "attachment" in downloaded.headers.get("content-disposition", "")

        # Someone of the organization who is not enrolled gets no lesson and so no URL.
        theirs = await bearer_for(client, stranger)
        problem_of(await client.get(f"/api/v1/lessons/{lessons['video']}", headers=theirs), 404)


async def test_a_course_cover_shows_in_the_catalog_and_on_its_page(storage, client_for, org, teacher, make_user,
                                                                     signed_in):
    from tests.integration.storage.conftest import png_bytes

    cover = png_bytes((64, 36))
    title = f"Covered {uuid.uuid4().hex[:8]}"  # each backend's run makes its own course (files live in one backend)
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, teacher)
        cover_id = await upload(client, auth, "cover", "cover.png", cover)
        course = (await client.post("/api/v1/courses", json={"title": title, "cover_file_id": cover_id},
                                    headers=auth)).json()
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", json={"title": "M"},
                                    headers=auth)).json()
        await client.post(f"/api/v1/modules/{module['id']}/lessons", json={"kind": "text", "title": "T", "body": "x"},
                          headers=auth)
        assert (await client.post(f"/api/v1/courses/{course['id']}/publish", headers=auth)).status_code == 200
    reader = await make_user(org.tenant)
    async with signed_in(reader) as client:
        for path in (f"/courses?q={title.split()[1]}", f"/courses/{course['id']}"):
            page = await client.get(path)
            src = re.search(r'<img class="cover" src="([^"]+)"', page.text)
            assert src is not None, path
            shown = await fetch(client, html.unescape(src.group(1)))
            assert shown.status_code == 200 and shown.content == cover, (path, src.group(1))
