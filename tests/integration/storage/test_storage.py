"""The storage service on both backends: saving, reading through short-lived URLs, refusals, tenant isolation."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.storage import signing
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.tasks import render_document_pages
from tajiconnect.tenancy.context import tenant_context
from tests.integration.storage.conftest import HTML, pdf_bytes, png_bytes, with_limits


async def save(engine, tenant, storage, data: bytes, *, purpose: str = "image", filename: str = "x.png",
               user=None) -> StoredFile:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await storage.save(session, data, filename=filename, purpose=purpose, user=user)


def url_of(tenant, storage, file: StoredFile, **kwargs) -> str:
    with tenant_context(tenant):
        return storage.url(file, **kwargs)


async def fetch(client_for, tenant, url: str, **kwargs) -> httpx.Response:
    """GET a file URL the way a browser would: presigned S3 URLs directly, app URLs on the tenant's host."""
    if url.startswith("http"):
        async with httpx.AsyncClient() as outside:
            return await outside.get(url, **kwargs)
    async with client_for(tenant) as client:
        return await client.get(url, **kwargs)


async def test_a_saved_file_is_read_back_through_its_url(storage, engine, alpha, client_for):
    image = png_bytes()
    file = await save(engine, alpha, storage, image, filename="../../etc/Photo é.png")
    assert file.status == "ready" and file.content_type == "image/png" and file.size == len(image)
    assert file.key == f"tenants/{alpha.id}/files/{file.id}/original"
    assert file.original_name == "Photo é.png"  # no path from the name, ever
    answer = await fetch(client_for, alpha, url_of(alpha, storage, file))
    assert answer.status_code == 200 and answer.content == image
    assert answer.headers["content-type"].startswith("image/png")
    download = await fetch(client_for, alpha, url_of(alpha, storage, file, download=True))
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Photo%20%C3%A9.png" in download.headers["content-disposition"]


async def test_size_and_content_type_are_checked(storage, engine, alpha):
    small = with_limits(storage, image=100)
    with pytest.raises(StorageError) as too_big:
        await save(engine, alpha, small, png_bytes((64, 64)))
    assert too_big.value.status == 413
    with pytest.raises(StorageError) as html_as_pdf:
        await save(engine, alpha, storage, HTML, purpose="document", filename="report.pdf")
    assert html_as_pdf.value.status == 415
    with pytest.raises(StorageError) as png_as_video:
        await save(engine, alpha, storage, png_bytes(), purpose="video", filename="film.mp4")
    assert png_as_video.value.status == 415
    document = await save(engine, alpha, storage, pdf_bytes(3), purpose="document", filename="notes.png")
    assert document.content_type == "application/pdf" and document.details["pages"] == 3


async def test_pdf_pages_become_images_once(storage, engine, alpha, client_for):
    document = await save(engine, alpha, storage, pdf_bytes(2), purpose="document", filename="notes.pdf")
    ctx = {"engine": engine, "storage": storage}
    with tenant_context(alpha):
        assert await render_document_pages(ctx, file_id=str(document.id)) == 2
        assert await render_document_pages(ctx, file_id=str(document.id)) == 2  # a repeat is harmless
        async with session_scope(engine) as session:
            stored = await session.get(StoredFile, document.id)
    assert stored.details == {"pages": 2, "pages_ready": True}
    assert sorted(stored.renditions) == ["page-1", "page-2"]
    assert stored.renditions["page-2"]["key"] == f"tenants/{alpha.id}/files/{document.id}/page-2"
    page = await fetch(client_for, alpha, url_of(alpha, storage, stored, rendition="page-2"))
    assert page.status_code == 200 and page.content[8:12] == b"WEBP"
    assert 'filename="notes-page-2.webp"' in page.headers["content-disposition"]
    with pytest.raises(StorageError):
        url_of(alpha, storage, stored, rendition="page-3")


async def test_local_urls_are_bound_to_tenant_expiry_and_content(local_storage, app, engine, alpha, beta,
                                                                client_for):
    app.state.storage = storage = local_storage
    image = png_bytes()
    file = await save(engine, alpha, storage, image)
    url = url_of(alpha, storage, file)
    assert (await fetch(client_for, alpha, url)).content == image
    # The same token on another organization's host, or the other organization's own token for this file id.
    assert (await fetch(client_for, beta, url)).status_code == 404
    forged = signing.sign(storage.secret, beta.id, signing.FileGrant(file.id, "original", False,
                                                                     int(time.time()) + 60))
    assert (await fetch(client_for, beta, f"/files/{forged}")).status_code == 404
    # Tampered (another file id, inline -> download, a later expiry) and expired tokens.
    token = url.removeprefix("/files/")
    other = uuid.uuid4().hex
    for bad in (other + token[32:], token.replace(".i.", ".d."), token.replace(token.split(".")[3], "9999999999")):
        assert (await fetch(client_for, alpha, f"/files/{bad}")).status_code == 404
    expired = signing.sign(storage.secret, alpha.id, signing.FileGrant(file.id, "original", False,
                                                                       int(time.time()) - 1))
    assert (await fetch(client_for, alpha, f"/files/{expired}")).status_code == 404
    assert (await fetch(client_for, alpha, "/files/not-a-token")).status_code == 404


async def test_local_files_answer_byte_ranges(local_storage, app, engine, alpha, client_for):
    app.state.storage = storage = local_storage
    data = pdf_bytes(1)
    file = await save(engine, alpha, storage, data, purpose="document", filename="a.pdf")
    url = url_of(alpha, storage, file)
    whole = await fetch(client_for, alpha, url, headers={"accept-encoding": "gzip"})
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"].startswith("private")
    assert "content-encoding" not in whole.headers and whole.content == data
    first = await fetch(client_for, alpha, url, headers={"range": "bytes=0-9"})
    assert first.status_code == 206 and first.content == data[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(data)}"
    tail = await fetch(client_for, alpha, url, headers={"range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    rest = await fetch(client_for, alpha, url, headers={"range": "bytes=100-"})
    assert rest.status_code == 206 and rest.content == data[100:]
    beyond = await fetch(client_for, alpha, url, headers={"range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"


async def test_s3_presigned_urls_carry_type_and_disposition(s3_storage, engine, alpha):
    file = await save(engine, alpha, s3_storage, pdf_bytes(1), purpose="document", filename="plan.pdf")
    url = url_of(alpha, s3_storage, file, download=True)
    assert "X-Amz-Expires=" in url and "X-Amz-Signature=" in url
    assert f"tenants/{alpha.id}/files/{file.id}/original" in url
    async with httpx.AsyncClient() as outside:
        answer = await outside.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith('attachment; filename="plan.pdf"')


async def test_pages_allow_the_s3_origin_when_files_live_in_s3(settings, moto_server, alpha):
    import dataclasses

    from litestar.testing import AsyncTestClient

    from tajiconnect.app import create_app
    from tajiconnect.settings import StorageSettings
    from tests.conftest import host_of

    s3_settings = dataclasses.replace(settings, storage=StorageSettings(bucket="taji-test",
                                                                        endpoint_url=moto_server.url))
    app = create_app(s3_settings)
    assert app.state.storage.kind == "s3"
    async with AsyncTestClient(app=app, base_url=f"https://{host_of(alpha)}") as client:
        policy = (await client.get("/auth/sign-in")).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["connect-src"] == directives["media-src"] == f"'self' {moto_server.url}"
    assert directives["img-src"] == f"'self' data: {moto_server.url}" and directives["script-src"] == "'self'"
