"""``tajiconnect tenants license`` and ``tajiconnect plans list``, run as the real command against the test database.

Each change is in the platform audit log (before and after, ``via: cli``); each refusal is one ``Error:`` line, a
non-zero exit, and no change at all.
"""

from __future__ import annotations

import datetime
import json
import os

import pytest

from tests.cli.test_cli import SECRET_KEY, cli, cli_all, error_line, query
from tests.conftest import BASE_DOMAIN
from tests.integration.conftest import create_member, set_user

TODAY = datetime.date.today()
TRIAL_END = TODAY + datetime.timedelta(days=30)


@pytest.fixture(scope="module")
def env(database_url, migrated) -> dict[str, str]:
    """The environment of test_cli.py's commands (``cli`` checks that its secret key is never printed)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TAJI_BASE_DOMAIN": BASE_DOMAIN,
        "TAJI_SECRET_KEY": SECRET_KEY,
        "TAJI_PUBLIC_PORT": "8000",
        "TAJI_PUBLIC_SCHEME": "http",
        "TAJI_LOG_LEVEL": "WARNING",
    }


def license_row(database_url: str, slug: str) -> tuple:
    [row] = query(
        database_url,
        "SELECT p.code, l.seats, l.status, l.term_start, l.term_end FROM public.licenses l"
        " JOIN public.plans p ON p.id = l.plan_id JOIN public.tenants t ON t.id = l.tenant_id WHERE t.slug = %s",
        slug,
    )
    return row


def audit_rows(database_url: str, slug: str) -> list[tuple]:
    return query(
        database_url,
        "SELECT action, actor_email, details FROM public.platform_audit_log"
        " WHERE target_type = 'tenant' AND target_id = %s ORDER BY occurred_at",
        slug,
    )


@pytest.fixture(scope="module")
async def licensed(make_tenant, engine):
    """Two tenants on a 30-day trial of Standard with 50 seats; the first has 2 seat holders (and a teacher)."""
    from tajiconnect.domains.licensing.service import set_license

    first, second = await make_tenant("clil"), await make_tenant("clil")
    now = datetime.datetime.now(datetime.UTC)
    for _ in range(2):
        member = await create_member(engine, first, ["student"])
        await set_user(engine, first, member.id, seat_assigned_at=now)
    await create_member(engine, first, ["teacher"])
    for tenant in (first, second):
        await set_license(engine, tenant.slug, seats=50, status="trialing")
    return first, second


def test_license_without_options_prints_the_current_license(env, licensed):
    first, _ = licensed
    out = cli(env, "tenants", "license", first.slug).stdout
    assert f"tenant: {first.slug} ({first.name}, active)" in out
    assert "plan:   standard (Standard)" in out
    assert "seats:  2 used of 50 (48 available)" in out
    assert "status: trialing" in out
    assert f"term:   {TODAY.isoformat()} to {TRIAL_END.isoformat()}" in out


def test_license_changes_only_that_tenant_and_is_audited(env, database_url, licensed):
    first, second = licensed
    untouched = license_row(database_url, second.slug)
    out = cli(
        env, "tenants", "license", first.slug, "--seats", "1", "--plan", "enterprise", "--status", "active",
        "--until", "2031-12-31",
    ).stdout
    assert (
        f"changed license of {first.slug}: plan standard -> enterprise, seats 50 -> 1, status trialing -> active,"
        f" term_end {TRIAL_END.isoformat()} -> 2031-12-31"
    ) in out
    assert "seats:  2 used of 1 (0 available, 1 over)" in out
    assert license_row(database_url, first.slug) == ("enterprise", 1, "active", TODAY, datetime.date(2031, 12, 31))
    assert license_row(database_url, second.slug) == untouched
    assert audit_rows(database_url, second.slug) == []
    [(action, actor, details)] = audit_rows(database_url, first.slug)
    assert (action, actor, details["via"]) == ("platform.license.changed", "system", "cli")
    assert details["tenant"] == first.slug
    assert details["before"] == {
        "plan": "standard", "seats": 50, "status": "trialing", "term_end": TRIAL_END.isoformat()
    }
    assert details["after"] == {"plan": "enterprise", "seats": 1, "status": "active", "term_end": "2031-12-31"}

    # The same values again: nothing changes, nothing is recorded. "--until none" ends the term's end date.
    same = cli(env, "tenants", "license", first.slug, "--seats", "1", "--plan", "enterprise").stdout
    assert f"license of {first.slug} unchanged" in same
    opened = cli(env, "tenants", "license", first.slug, "--until", "none").stdout
    assert "term_end 2031-12-31 -> none" in opened and f"term:   {TODAY.isoformat()} to no end" in opened
    assert license_row(database_url, first.slug)[4] is None
    rows = audit_rows(database_url, first.slug)
    assert len(rows) == 2 and rows[1][2]["after"] == {"term_end": None}


def test_license_refusals_change_nothing(env, database_url, licensed):
    _, second = licensed
    before = license_row(database_url, second.slug)
    slug = second.slug
    results = cli_all(
        env,
        (("tenants", "license", "nosuchtenant", "--seats", "5"), 1),
        (("tenants", "license", "Not_A_Slug"), 1),
        (("tenants", "license", slug, "--plan", "gold"), 1),
        (("tenants", "license", slug, "--seats", "-1"), 2),
        (("tenants", "license", slug, "--seats", "1000001"), 2),
        (("tenants", "license", slug, "--seats", "99999999999999999999999"), 2),
        (("tenants", "license", slug, "--seats", "many"), 2),
        (("tenants", "license", slug, "--status", "paid"), 2),
        (("tenants", "license", slug, "--until", "31/12/2030"), 2),
        (("tenants", "license", slug, "--until", "2001-01-01"), 1),
        (("tenants", "license", slug, "--seats", "10", "--until", "2001-01-01"), 1),
    )
    lines = [error_line(r) for r in results]
    assert "no tenant with slug 'nosuchtenant'" in lines[0]
    assert "invalid slug" in lines[1]
    assert "no plan with code 'gold'" in lines[2]
    assert all("'--seats'" in line for line in lines[3:7])
    assert "'--status'" in lines[7] and "past_due" in lines[7]
    assert "'--until'" in lines[8]
    assert f"the term cannot end before it starts ({TODAY.isoformat()})" in lines[9] == lines[10]
    assert license_row(database_url, slug) == before
    assert audit_rows(database_url, slug) == []


def test_suspend_and_resume_are_audited(env, database_url, licensed):
    _, second = licensed
    cli(env, "tenants", "suspend", second.slug)
    cli(env, "tenants", "suspend", second.slug)  # already suspended: nothing more to record
    cli(env, "tenants", "resume", second.slug)
    rows = audit_rows(database_url, second.slug)
    assert [(action, details["before"], details["after"], details["via"]) for action, _, details in rows] == [
        ("platform.tenant.suspended", {"status": "active"}, {"status": "suspended"}, "cli"),
        ("platform.tenant.resumed", {"status": "suspended"}, {"status": "active"}, "cli"),
    ]
    assert query(database_url, "SELECT status FROM public.tenants WHERE slug = %s", second.slug) == [("active",)]


def test_plans_list(env):
    text, as_json = cli_all(env, (("plans", "list"), 0), (("plans", "list", "--json"), 0))
    lines = text.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["starter", "standard", "enterprise"]
    assert "4.00 USD/seat/month" in lines[1] and "40.00 USD/seat/year" in lines[1]
    assert lines[2].endswith("features: careers, custom_domain, sso")
    plans = json.loads(as_json.stdout)
    assert [p["code"] for p in plans] == ["starter", "standard", "enterprise"]
    assert plans[0] == {
        "code": "starter", "name": "Starter", "price_monthly_cents": 200, "price_yearly_cents": 2000,
        "currency": "USD", "features": {"careers": False, "custom_domain": False, "sso": False}, "public": True,
    }
