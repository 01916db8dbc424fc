"""The web shell through HTTP: host routing, error pages, health, static assets, compression."""

from __future__ import annotations

import pytest

from tests.conftest import BASE_DOMAIN


async def test_apex_serves_landing_page(client_for):
    async with client_for(None) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert "Learning for schools and companies" in response.text
    assert '<main id="main"' in response.text


async def test_tenant_host_serves_its_home(client_for, alpha):
    async with client_for(alpha) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert alpha.name in response.text


@pytest.mark.parametrize("host", [f"nosuch.{BASE_DOMAIN}", "example.org", f"a.b.{BASE_DOMAIN}"])
async def test_unknown_host_is_404_page(client_for, host):
    async with client_for(host) as client:
        response = await client.get("/")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Page not found" in response.text


async def test_health_answers_on_every_host(client_for, alpha):
    for target in (None, alpha, f"unknown.{BASE_DOMAIN}"):
        async with client_for(target) as client:
            response = await client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["checks"]["database"]["status"] == "ok"
