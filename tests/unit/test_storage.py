"""Pure pieces of the storage service: settings, keys, content sniffing, signed tokens, byte ranges, the CSP."""

from __future__ import annotations

import io
import time
import uuid

import pytest

from tajiconnect.domains.storage import keys, signing
from tajiconnect.domains.storage.errors import StorageError
from tajiconnect.domains.storage.pages import byte_range
from tajiconnect.domains.storage.service import clean_filename, content_disposition
from tajiconnect.domains.storage.sniff import sniff
from tajiconnect.settings import MIB, SettingsError, load_storage_settings
from tajiconnect.web.security import CONTENT_SECURITY_POLICY, content_security_policy

SECRET = b"unit-test-secret"


@pytest.fixture
def storage_env(monkeypatch):
    for name in ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "TAJI_STORAGE_DIR", "TAJI_STORAGE_PART_MB",
                 "TAJI_STORAGE_URL_SECONDS", "TAJI_STORAGE_MAX_MB_VIDEO", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_storage_is_local_unless_a_bucket_is_set(storage_env, tmp_path):
    local = load_storage_settings()
    assert local.backend == "local" and local.directory.parts[-2:] == ("var", "storage") and local.s3_origin is None
    assert local.size_limits["video"] == 2048 * MIB and local.size_limits["avatar"] == 5 * MIB
    storage_env.setenv("TAJI_STORAGE_DIR", str(tmp_path))
    storage_env.setenv("S3_BUCKET", "lessons")
    storage_env.setenv("S3_ENDPOINT_URL", "https://files.example.org:9000/")
    storage_env.setenv("TAJI_STORAGE_MAX_MB_VIDEO", "500")
    storage_env.setenv("AWS_SECRET_ACCESS_KEY", "never-in-settings")
    s3 = load_storage_settings()
    assert s3.backend == "s3" and s3.s3_origin == "https://files.example.org:9000"
    assert s3.size_limits["video"] == 500 * MIB
    assert "never-in-settings" not in repr(s3)
    storage_env.delenv("S3_ENDPOINT_URL")
    storage_env.setenv("S3_REGION", "af-south-1")
    assert load_storage_settings().s3_origin == "https://lessons.s3.af-south-1.amazonaws.com"


@pytest.mark.parametrize(("name", "value"), [("TAJI_STORAGE_PART_MB", "4"), ("TAJI_STORAGE_URL_SECONDS", "5"),
                                             ("S3_ENDPOINT_URL", "ftp://x"), ("TAJI_STORAGE_MAX_MB_VIDEO", "0"),
                                             ("TAJI_STORAGE_MAX_MB_VIDEO", "lots")])
def test_bad_storage_settings_are_refused(storage_env, name, value):
    storage_env.setenv(name, value)
    with pytest.raises(SettingsError):
        load_storage_settings()


def test_keys_hold_the_tenant_and_file_and_nothing_else():
    tenant, file = uuid.uuid4(), uuid.uuid4()
    assert keys.file_key(tenant, file) == f"tenants/{tenant}/files/{file}/original"
    assert keys.file_key(tenant, file, "720p") == f"tenants/{tenant}/files/{file}/720p"
    for bad in ("../x", "Page 1", "", "a/b"):
        with pytest.raises(ValueError):
            keys.file_key(tenant, file, bad)
    with pytest.raises(ValueError):
        keys.check_key(f"tenants/{tenant}/files/{file}/../../x")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    return out.getvalue()


def test_types_come_from_the_bytes():
    assert sniff(_png(), "image") == "image/png"
    assert sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "document") == "application/pdf"
    assert sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(40), "video") == "video/mp4"
    assert sniff(b"\x1aE\xdf\xa3" + bytes(40), "video") == "video/webm"
    for data, purpose in ((b"<html><body>x</body></html>", "document"), (_png(), "document"), (_png(), "video"),
                          (b"", "image"), (b"GIF89a" + bytes(20), "avatar")):
        with pytest.raises(StorageError) as refused:
            sniff(data, purpose)
        assert refused.value.status == 415


def test_tokens_are_bound_to_the_tenant_and_refuse_any_change():
    tenant, other, file = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    grant = signing.FileGrant(file, "page-2", False, int(time.time()) + 60)
    token = signing.sign(SECRET, tenant, grant)
    assert signing.verify(SECRET, tenant, token) == grant
    assert signing.verify(SECRET, other, token) is None
    assert signing.verify(b"another-secret", tenant, token) is None
    assert signing.verify(SECRET, tenant, token, now=grant.expires + 1) is None
    body, mac = token.rsplit(".", 1)
    for changed in (body.replace("page-2", "page-3"), body.replace(".i.", ".d."), uuid.uuid4().hex + body[32:]):
        assert signing.verify(SECRET, tenant, f"{changed}.{mac}") is None
    assert signing.verify(SECRET, tenant, token + "0") is None


def test_byte_ranges():
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=95-200", 100) == (95, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=-500", 100) == (0, 99)
    assert byte_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert byte_range("items=0-1", 100) is None
    for unsatisfiable in ("bytes=100-", "bytes=5-2", "bytes=-0"):
        with pytest.raises(ValueError):
            byte_range(unsatisfiable, 100)


def test_names_and_dispositions():
    assert clean_filename("C:\\Users\\x\\..\\Report\x00.pdf") == "Report.pdf"
    assert clean_filename("/") == "file"
    assert content_disposition('a"b é.pdf', download=True) == (
        "attachment; filename=\"a_b _.pdf\"; filename*=UTF-8''a%22b%20%C3%A9.pdf")


def test_the_policy_allows_the_s3_origin_only_when_there_is_one():
    assert content_security_policy(None) == CONTENT_SECURITY_POLICY
    policy = content_security_policy("https://files.example.org:9000")
    for directive in ("img-src 'self' data: https://files.example.org:9000",
                      "media-src 'self' https://files.example.org:9000",
                      "connect-src 'self' https://files.example.org:9000", "script-src 'self';"):
        assert directive in policy


def test_the_upload_field_renders_accessible_markup():
    from types import SimpleNamespace

    from tajiconnect.web.templating import _base_environment

    template = _base_environment().from_string(
        '{% from "components/upload.html" import upload_field %}'
        '{{ upload_field("file_id", "video", "Video", value="abc", field_id="file_id-7", hint="MP4", '
        'errors={"file_id": "Too large"}) }}'
        '{{ upload_field("cover_file_id", "cover", "Cover", current=current) }}'
    )
    html = template.render(current=SimpleNamespace(id="f-1", original_name="cover.png"))
    assert '<label for="f-file_id-7-file">Video</label>' in html and 'id="f-file_id-7-file"' in html
    assert 'aria-describedby="h-file_id-7 e-file_id-7 s-file_id-7"' in html and 'aria-invalid="true"' in html
    assert 'name="file_id" value="abc"' in html and 'name="cover_file_id" value="f-1"' in html
    assert 'data-purpose="video"' in html and "Current file: cover.png" in html
    assert 'role="status"' in html and "<progress" in html and "<script" in html and "onclick" not in html
    assert 'data-msg-uploading="Uploading: {percent}%"' in html
