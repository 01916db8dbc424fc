"""Per-tenant template overrides (``tenants/<slug>/templates/``) are served to that tenant only."""

from __future__ import annotations

import pytest

OVERRIDE = """{% extends "layouts/base.html" %}
{% block content %}<p id="override">Custom home of {{ tenant.slug }}</p>{% endblock %}
"""


@pytest.fixture(scope="module")
async def pair(make_tenant):
    return await make_tenant("tplown"), await make_tenant("tploth")


async def test_override_is_served_to_its_tenant_only(client_for, tenant_files, pair):
    owner, other = pair
    tenant_files(owner.slug, "templates/home/index.html", OVERRIDE)
    # The other tenant first, then the owner, then the other again: no environment or cache is shared.
    for tenant, overridden in ((other, False), (owner, True), (other, False), (None, False)):
        async with client_for(tenant) as client:
            response = await client.get("/")
        assert response.status_code == 200
        assert ('id="override"' in response.text) is overridden
        assert "Powered by TajiConnect" in response.text  # the shared layout, which the override extends
        if overridden:
            assert f"Custom home of {owner.slug}" in response.text
        elif tenant is not None:
            assert tenant.name in response.text
