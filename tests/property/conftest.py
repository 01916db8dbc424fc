"""Fixtures of the property tests, on top of the accounts fixtures (organizations, members, clients)."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tajiconnect.domains.accounts.models import ROLES
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    browser,
    create_member,
    make_user,
    new_org,
    seed_audit,
    signed_in,
)
from tests.property.support import Env, open_session


@pytest.fixture
async def list_env(new_org, browser, engine):  # noqa: F811 (the fixtures imported above)
    """An organization with members whose names and emails hold LIKE wildcards and accents (enough for 2 pages)."""
    org = await new_org("pli")
    names = ["a_b Underscore", "Percent 50% Off", "Back\\slash", "O'Brien", "Zo\u00eb Ac\u00e9", "plain person",
             "another_one"] + [f"Filler {n:02d}" for n in range(22)]
    for n, name in enumerate(names):
        status = ("active", "invited", "deactivated")[n % 3]
        await create_member(engine, org.tenant, [ROLES[n % len(ROLES)]], password=None if status == "invited"
                            else "unused", email=f"m{n}-{uuid.uuid4().hex[:6]}@example.org", name=name,
                            status=status)
    async with browser(org.tenant) as client:
        await open_session(client, org.admin)
        yield Env(org.tenant, client, [org.admin])


@pytest.fixture
async def audit_env(list_env, engine):
    """``list_env`` with audit entries whose emails hold wildcards, over several days (more than one page)."""
    for n, email in enumerate(["a_b@example.org", "percent%@example.org", "back\\slash@example.org",
                               "plain@example.org", None]):
        await seed_audit(engine, list_env.tenant, f"test.action_{n % 2}", 12, email=email, ip="10.0.0.1",
                         ago=datetime.timedelta(days=n * 3))
    return list_env
