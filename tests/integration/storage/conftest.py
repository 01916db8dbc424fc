"""Storage tests run on BOTH backends: the local filesystem (a temporary directory) and S3 (a moto server).

``storage`` is parametrized; while a test runs, the app's ``app.state.storage`` is that backend's service.
"""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tajiconnect.domains.storage.backends import LocalBackend, S3Backend
from tajiconnect.domains.storage.service import Storage
from tajiconnect.settings import MIB, StorageSettings
from tests.support import MotoServer

BUCKET = "taji-test"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    # Dummy credentials for the fake server, through boto3's own environment chain.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_storage(moto_server: MotoServer, settings: Any) -> Storage:
    config = StorageSettings(bucket=BUCKET, endpoint_url=moto_server.url, region="us-east-1", part_size=5 * MIB)
    backend = S3Backend(config)
    backend.client.create_bucket(Bucket=BUCKET)
    return Storage(backend, config, settings.secret_key.get().encode())


@pytest.fixture(scope="session")
def local_storage(tmp_path_factory: pytest.TempPathFactory, settings: Any) -> Storage:
    root: Path = tmp_path_factory.mktemp("storage")
    config = StorageSettings(directory=root, part_size=5 * MIB)
    return Storage(LocalBackend(root), config, settings.secret_key.get().encode())


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, app: Any) -> Iterator[Storage]:
    chosen: Storage = request.getfixturevalue(f"{request.param}_storage")
    before = app.state.storage
    app.state.storage = chosen
    yield chosen
    app.state.storage = before


def with_limits(storage: Storage, **limits: int) -> Storage:
    """The same backend with other size limits."""
    settings = dataclasses.replace(storage.settings, size_limits={**storage.settings.size_limits, **limits})
    return Storage(storage.backend, settings, storage.secret)


# --- real files of each kind ------------------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(pages: int = 2) -> bytes:
    """A real PDF of ``pages`` A4 pages, made with pdfium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842).close()
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def mp4_bytes(size: int) -> bytes:
    """``size`` bytes that start like an MP4 file (an ``ftyp`` box), the rest filler."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + os.urandom(size - len(head))


HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def new_id() -> str:
    return str(uuid.uuid4())
