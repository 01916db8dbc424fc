"""Two backends with one small interface: the local filesystem (the embedded default) and S3 (boto3).

Everything is ``async``; boto3 is synchronous, so each S3 call runs in a worker thread and never blocks the event
loop. Keys are checked (``keys.check_key``) before they reach a path or a request. Multipart uploads keep their
parts in the backend (S3 itself, or ``<root>/<file prefix>/_parts/<upload id>/<part number>`` locally) until
completion.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from tajiconnect.domains.storage.keys import check_key
from tajiconnect.settings import StorageSettings

CHUNK = 256 * 1024


class Backend(Protocol):
    kind: str

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def put_file(self, key: str, path: Path, content_type: str) -> None: ...
    async def size(self, key: str) -> int | None: ...
    def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...
    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes: ...
    async def delete_prefix(self, prefix: str) -> list[str]:
        """Delete every object under ``prefix``; the ones the store refused ("key: reason"), empty when all went."""
    def presigned_get(self, key: str, *, content_type: str, disposition: str, expires: int) -> str | None: ...
    async def create_multipart(self, key: str, content_type: str) -> str: ...
    def presigned_part(self, key: str, upload_id: str, number: int, expires: int) -> str | None: ...
    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> None: ...
    async def list_parts(self, key: str, upload_id: str) -> dict[int, int]: ...
    async def complete_multipart(self, key: str, upload_id: str, count: int) -> None: ...
    async def abort_multipart(self, key: str, upload_id: str) -> None: ...


class LocalBackend:
    """Files under ``root`` (``var/storage`` by default), one file per key."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _upload_dir(self, key: str, upload_id: str) -> Path:
        """Where the parts of an upload wait: next to the object, under the same tenant and file prefix."""
        if not upload_id.isalnum():
            raise ValueError("not an upload id")
        return self._path(key).parent / "_parts" / upload_id

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        temporary.write_bytes(data)
        os.replace(temporary, path)  # readers see the old file or the new one, never half of one

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the local file ``path`` (copied without reading it into memory)."""
        def copy() -> None:
            target = self._path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)

        await asyncio.to_thread(copy)

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start..end`` (inclusive; ``end=None``: to the end of the object), in chunks."""
        path = self._path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = await asyncio.to_thread(handle.read, CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        return b"".join([chunk async for chunk in self.open(key, start, end)])

    async def delete_prefix(self, prefix: str) -> list[str]:
        if not prefix.startswith("tenants/") or ".." in prefix:
            raise ValueError("not a storage prefix")
        folder = self.root / prefix

        def remove() -> list[str]:
            failed: list[str] = []
            if folder.exists():
                if sys.version_info >= (3, 12):
                    shutil.rmtree(folder, onexc=lambda _f, path, exc: failed.append(f"{path}: {exc}"))
                else:
                    shutil.rmtree(folder, onerror=lambda _f, path, info: failed.append(f"{path}: {info[1]}"))
            return failed

        return await asyncio.to_thread(remove)

    def presigned_get(self, key: str, *, content_type: str, disposition: str, expires: int) -> str | None:
        return None  # served by the app itself (/files/<token>)

    async def create_multipart(self, key: str, content_type: str) -> str:
        upload_id = secrets.token_hex(16)
        await asyncio.to_thread(self._upload_dir(key, upload_id).mkdir, parents=True, exist_ok=True)
        return upload_id

    def presigned_part(self, key: str, upload_id: str, number: int, expires: int) -> str | None:
        return None  # parts are PUT to the app

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._upload_dir(key, upload_id) / str(number), data)

    async def list_parts(self, key: str, upload_id: str) -> dict[int, int]:
        folder = self._upload_dir(key, upload_id)

        def listing() -> dict[int, int]:
            if not folder.is_dir():
                return {}
            return {int(p.name): p.stat().st_size for p in folder.iterdir() if p.name.isdigit()}

        return await asyncio.to_thread(listing)

    async def complete_multipart(self, key: str, upload_id: str, count: int) -> None:
        folder, target = self._upload_dir(key, upload_id), self._path(key)

        def assemble() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
            with temporary.open("wb") as out:
                for number in range(1, count + 1):
                    with (folder / str(number)).open("rb") as part:
                        shutil.copyfileobj(part, out, CHUNK)
            os.replace(temporary, target)
            shutil.rmtree(folder, ignore_errors=True)

        await asyncio.to_thread(assemble)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._upload_dir(key, upload_id), True)


class S3Backend:
    """Objects in one bucket (``S3_BUCKET``), on AWS or any S3-compatible store (``S3_ENDPOINT_URL``)."""

    kind = "s3"

    def __init__(self, settings: StorageSettings, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.bucket
        # Credentials: boto3's own chain (environment, profile, instance role); never passed or logged here.
        self.client = client or boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region or "us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path" if settings.endpoint_url else
                                                            "virtual"}, retries={"max_attempts": 3},
                          # Presigned part URLs a browser fills in cannot carry a checksum computed here.
                          request_checksum_calculation="when_required", response_checksum_validation="when_required"),
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, method), Bucket=self.bucket, **kwargs)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("put_object", Key=check_key(key), Body=data, ContentType=content_type)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the local file ``path`` (boto3 uploads a large one in parts)."""
        await asyncio.to_thread(self.client.upload_file, str(path), self.bucket, check_key(key),
                                ExtraArgs={"ContentType": content_type})

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = await self._call("head_object", Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    async def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        answer = await self._call("get_object", Key=check_key(key), **extra)
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        return b"".join([chunk async for chunk in self.open(key, start, end)])

    async def delete_prefix(self, prefix: str) -> list[str]:
        if not prefix.startswith("tenants/") or ".." in prefix:
            raise ValueError("not a storage prefix")
        failed: list[str] = []
        token: str | None = None
        while True:  # a listing holds at most 1,000 keys, and so does one delete_objects
            page = {"ContinuationToken": token} if token else {}
            answer = await self._call("list_objects_v2", Prefix=prefix, **page)
            keys = [{"Key": item["Key"]} for item in answer.get("Contents", [])]
            if keys:
                # Quiet: the answer lists only the objects the store refused (access denied, a held object...).
                done = await self._call("delete_objects", Delete={"Objects": keys, "Quiet": True})
                failed += [f"{e.get('Key')}: {e.get('Code')}" for e in done.get("Errors", [])]
            token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
            if token is None:
                return failed

    def presigned_get(self, key: str, *, content_type: str, disposition: str, expires: int) -> str | None:
        # Signing is local computation (no network call), so it is safe on the event loop.
        return str(self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key), "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition, "ResponseCacheControl": "private, max-age=300"},
            ExpiresIn=expires,
        ))

    async def create_multipart(self, key: str, content_type: str) -> str:
        answer = await self._call("create_multipart_upload", Key=check_key(key), ContentType=content_type)
        return str(answer["UploadId"])

    def presigned_part(self, key: str, upload_id: str, number: int, expires: int) -> str | None:
        return str(self.client.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self.bucket, "Key": check_key(key), "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=expires,
        ))

    async def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> None:
        await self._call("upload_part", Key=check_key(key), UploadId=upload_id, PartNumber=number, Body=data)

    async def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        marker = 0
        while True:
            answer = await self._call("list_parts", Key=check_key(key), UploadId=upload_id, PartNumberMarker=marker)
            parts.extend(answer.get("Parts", []))
            if not answer.get("IsTruncated"):
                return parts
            marker = int(answer["NextPartNumberMarker"])

    async def list_parts(self, key: str, upload_id: str) -> dict[int, int]:
        """Parts received so far (none for an upload S3 no longer knows: aborted or completed)."""
        from botocore.exceptions import ClientError

        try:
            parts = await self._parts(key, upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return {}
            raise
        return {int(p["PartNumber"]): int(p["Size"]) for p in parts}

    async def complete_multipart(self, key: str, upload_id: str, count: int) -> None:
        # The ETags come from S3 itself, not from the browser (which may not be allowed to read them).
        parts = sorted(await self._parts(key, upload_id), key=lambda p: int(p["PartNumber"]))
        await self._call("complete_multipart_upload", Key=check_key(key), UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": int(p["PartNumber"]), "ETag": p["ETag"]} for p in parts[:count]]})

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            await self._call("abort_multipart_upload", Key=check_key(key), UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise


def backend_from(settings: StorageSettings) -> Backend:
    return S3Backend(settings) if settings.bucket else LocalBackend(settings.directory)
