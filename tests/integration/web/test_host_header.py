"""The Host header names a host of ours or the request is refused; absolute links never come from it."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.conftest import BASE_DOMAIN, host_of
from tests.integration.conftest import csrf, drain
from tests.support import asgi_request, link_in

MALFORMED = [
    "{slug}." + BASE_DOMAIN + ":abc",
    "{slug}." + BASE_DOMAIN + ":8201:99",
    "nosuch." + BASE_DOMAIN + ":x:y",
    "{slug}." + BASE_DOMAIN + ":1@evil.example",
    "{slug}." + BASE_DOMAIN + ":0",
    "{slug}." + BASE_DOMAIN + ":65536",
    "{slug}_x." + BASE_DOMAIN,
    "{slug}." + BASE_DOMAIN + " ",
    "evil.example/{slug}." + BASE_DOMAIN,
    "",
]


@pytest.mark.parametrize("host", MALFORMED)
@pytest.mark.parametrize("path", ["/auth/sign-in", "/health", "/api/v1/users/me", "/"])
async def test_a_malformed_host_is_a_400_through_the_normal_error_pages(app, client_for, org, host, path):
    async with client_for(org.tenant):
        status, headers, body = await asgi_request(
            app, "GET", path, headers=[(b"host", host.format(slug=org.tenant.slug).encode())]
        )
    assert status == 400, (host, path, body[:200])
    assert "default-src 'self'" in headers["content-security-policy"]  # the app's own answer, not a bare 500
    if path.startswith("/api/"):
        assert headers["content-type"].startswith("application/problem+json")
        assert json.loads(body)["status"] == 400
    else:
        assert headers["content-type"].startswith("text/html")
        assert "malformed" in body.decode().lower() or "host" in body.decode().lower()


async def test_a_missing_or_repeated_host_is_a_400(app, client_for, org):
    own = host_of(org.tenant).encode()
    async with client_for(org.tenant):
        missing = await asgi_request(app, "GET", "/auth/sign-in", headers=[])
        twice = await asgi_request(app, "GET", "/auth/sign-in", headers=[(b"host", own), (b"host", own)])
        other = await asgi_request(
            app, "GET", "/auth/sign-in", headers=[(b"host", own), (b"host", f"other.{BASE_DOMAIN}".encode())]
        )
        non_ascii = await asgi_request(app, "GET", "/auth/sign-in", headers=[(b"host", "é.taji.test".encode())])
    assert [r[0] for r in (missing, twice, other, non_ascii)] == [400, 400, 400, 400]


async def test_an_absolute_form_target_must_name_the_host_header(app, client_for, org):
    own = host_of(org.tenant)
    async with client_for(org.tenant):
        elsewhere = await asgi_request(
            app, "GET", "/auth/sign-in", headers=[(b"host", own.encode())],
            raw_path=b"http://evil.example/auth/sign-in",
        )
        same = await asgi_request(
            app, "GET", "/auth/sign-in", headers=[(b"host", own.encode())],
            raw_path=f"https://{own}/auth/sign-in".encode(),
        )
    assert elsewhere[0] == 400
    assert same[0] == 200


async def test_a_reset_link_is_built_from_configuration_not_from_the_host_header(
    client_for, fresh_org, mail_sink, run_jobs
):
    """The port and anything else a client puts in Host never reach a mailed link."""
    host_with_port = f"{host_of(fresh_org.tenant)}:8443"
    async with client_for(host_with_port) as client:
        token = await csrf(client, "/auth/forgot-password")
        response = await client.post(
            "/auth/forgot-password", data={"email": fresh_org.admin.email, "_csrf_token": token}
        )
        assert response.status_code == 200
    await drain(run_jobs)
    link = urlsplit(link_in(mail_sink.last_to(fresh_org.admin.email, "Reset"), "/auth/reset-password/"))
    assert (link.scheme, link.netloc) == ("https", host_of(fresh_org.tenant))


async def test_an_invitation_link_is_built_from_configuration(client_for, org, mail_sink, run_jobs):
    from tests.integration.conftest import bearer_for

    async with client_for(f"{host_of(org.tenant)}:9000") as client:
        response = await client.post(
            "/api/v1/users", json={"email": "host.check@example.org", "roles": ["student"]},
            headers=await bearer_for(client, org.admin),
        )
        assert response.status_code == 201, response.text
    await drain(run_jobs)
    link = urlsplit(link_in(mail_sink.last_to("host.check@example.org", "invited"), "/auth/invitation/"))
    assert (link.scheme, link.netloc) == ("https", host_of(org.tenant))
