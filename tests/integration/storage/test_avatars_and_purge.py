"""Avatars in storage (new ones, and old ``user_avatars`` rows moved by the CLI) and the purge of abandoned uploads,
on both backends; the CLI runs as a real subprocess with the backend's configuration."""

from __future__ import annotations

import asyncio
import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import text

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.avatars import process_avatar
from tajiconnect.domains.accounts.models import User, UserAvatar
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.domains.storage.service import Storage
from tajiconnect.settings import MIB
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for, load_user, post_form
from tests.integration.storage.conftest import BUCKET, mp4_bytes, png_bytes

SCRIPT = Path(sys.executable).with_name("tajiconnect")


async def cli(storage: Storage, *args: str) -> subprocess.CompletedProcess[str]:
    """``tajiconnect ...`` against the test database, configured for ``storage``'s backend."""
    env = {**os.environ, "TAJI_LOG_LEVEL": "WARNING"}
    if storage.kind == "s3":
        env.update(S3_BUCKET=BUCKET, S3_ENDPOINT_URL=str(storage.settings.endpoint_url), S3_REGION="us-east-1")
    else:
        env.pop("S3_BUCKET", None)
        env["TAJI_STORAGE_DIR"] = str(storage.settings.directory)
    result = await asyncio.to_thread(subprocess.run, [str(SCRIPT), *args], env=env, capture_output=True, text=True,
                                     timeout=120)
    assert result.returncode == 0, result.stderr
    assert "testing" not in result.stdout + result.stderr  # no credential ever printed
    return result


async def read_avatar(client, member) -> bytes:
    """Follow ``/avatars/<id>`` to the picture's storage URL (in the app, or presigned outside it) and read it."""
    moved_on = await client.get(f"/avatars/{member.id}")
    assert moved_on.status_code == 302, moved_on.text
    location = moved_on.headers["location"]
    if location.startswith("http"):
        async with httpx.AsyncClient() as outside:
            answer = await outside.get(location)
    else:
        answer = await client.get(location)
    assert answer.status_code == 200
    return answer.content


async def test_old_avatars_are_served_then_moved(storage, engine, new_org, make_user, signed_in):
    org = await new_org("avm")
    member = await make_user(org.tenant, ["student"])
    viewer = await make_user(org.tenant, ["student"])
    picture = process_avatar(png_bytes((40, 20)))
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:  # a picture saved before storage existed
            session.add(UserAvatar(user_id=member.id, data=picture, content_type="image/webp",
                                   updated_at=datetime.datetime.now(datetime.UTC)))
            (await session.get(User, member.id)).has_avatar = True
    async with signed_in(viewer) as client:
        before = await client.get(f"/avatars/{member.id}")
        assert before.status_code == 200 and before.content == picture
    result = await cli(storage, "storage", "move-avatars", "--tenant", org.tenant.slug)
    assert "moved 1 picture(s)" in result.stdout
    again = await cli(storage, "storage", "move-avatars", "--tenant", org.tenant.slug)
    assert "moved 0 picture(s)" in again.stdout
    user = await load_user(engine, org.tenant, member.id)
    assert user.avatar_file_id is not None and user.has_avatar
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            assert await session.get(UserAvatar, member.id) is None
            file = await session.get(StoredFile, user.avatar_file_id)
    assert file.key == f"tenants/{org.tenant.id}/files/{file.id}/original" and file.purpose == "avatar"
    assert await storage.read(file) == picture
    async with signed_in(viewer) as client:
        assert await read_avatar(client, member) == picture


async def test_a_picture_uploaded_in_parts_becomes_the_avatar(storage, engine, org, make_user, signed_in, client_for):
    member = await make_user(org.tenant, ["student"])
    raw = png_bytes((1024, 200))
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, member)
        upload = (await client.post("/api/v1/uploads", json={"purpose": "avatar", "filename": "me.png",
                                                             "size": len(raw)}, headers=auth)).json()
        assert (await client.put(f"/api/v1/uploads/{upload['id']}/parts/1", content=raw, headers=auth)).status_code \
            == 204
        assert (await client.post(f"/api/v1/uploads/{upload['id']}/complete", headers=auth)).status_code == 200
    other = await make_user(org.tenant, ["student"])
    async with signed_in(other) as client:  # someone else's upload id is refused
        refused = await post_form(client, "/account/profile", {"name": "X", "locale": "en", "time_zone":
                                                               "Africa/Nairobi", "avatar_file_id": upload["id"]})
        assert refused.status_code == 422
    async with signed_in(member) as client:
        saved = await post_form(client, "/account/profile", {"name": "Me", "locale": "en", "time_zone":
                                                             "Africa/Nairobi", "avatar_file_id": upload["id"]})
        assert saved.status_code == 303, saved.text
        shown = await read_avatar(client, member)
    picture = Image.open(io.BytesIO(shown))
    assert (picture.format, picture.size) == ("WEBP", (512, 100))  # re-encoded, not the uploaded bytes
    user = await load_user(engine, org.tenant, member.id)
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            raw_upload = await session.get(StoredFile, upload["id"])
    assert raw_upload.status == "deleted" and user.avatar_file_id != raw_upload.id


async def test_abandoned_uploads_are_purged(storage, engine, new_org, make_user, client_for):
    org = await new_org("pur")
    author = await make_user(org.tenant, ["teacher"])
    video = mp4_bytes(6 * MIB)
    ids = []
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, author)
        for _ in range(2):
            upload = (await client.post("/api/v1/uploads", json={"purpose": "video", "filename": "v.mp4",
                                                                 "size": len(video)}, headers=auth)).json()
            put = await client.put(f"/api/v1/uploads/{upload['id']}/parts/1", content=video[:5 * MIB], headers=auth)
            assert put.status_code == 204
            ids.append(upload["id"])
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            await session.execute(text("UPDATE stored_files SET created_at = now() - interval '25 hours' "
                                       "WHERE id = :id"), {"id": ids[0]})
            old = await session.get(StoredFile, ids[0])
            old_key, old_upload = old.key, old.upload_id
    result = await cli(storage, "storage", "purge-uploads", "--tenant", org.tenant.slug)
    assert "purged 1 upload(s)" in result.stdout
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            old, recent = await session.get(StoredFile, ids[0]), await session.get(StoredFile, ids[1])
    assert (old.status, old.upload_id) == ("deleted", None) and recent.status == "uploading"
    assert await storage.backend.list_parts(old_key, old_upload) == {}
    assert await storage.backend.list_parts(recent.key, recent.upload_id) == {1: 5 * MIB}


async def test_a_deleted_members_picture_is_deleted_too(storage, engine, org, make_user, signed_in, client_for):
    member = await make_user(org.tenant, ["student"])
    async with signed_in(member) as client:
        saved = await post_form(client, "/account/profile", {"name": "Gone", "locale": "en",
                                                             "time_zone": "Africa/Nairobi"},
                                files={"avatar": ("me.png", png_bytes(), "image/png")})
        assert saved.status_code == 303
    file_id = (await load_user(engine, org.tenant, member.id)).avatar_file_id
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            file = await session.get(StoredFile, file_id)
    assert await storage.backend.size(file.key) is not None
    async with client_for(org.tenant) as client:
        deleted = await client.delete(f"/api/v1/users/{member.id}", headers=await bearer_for(client, org.admin))
        assert deleted.status_code == 204, deleted.text
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            file = await session.get(StoredFile, file_id)
    assert file.status == "deleted" and await storage.backend.size(file.key) is None
