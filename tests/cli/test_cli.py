"""The real ``tajiconnect`` command, run as a subprocess against the test database.

Every run is checked for leaks: neither ``TAJI_SECRET_KEY`` nor a password given on the command line may appear in
its output. Refusals must exit non-zero with exactly one ``Error: ...`` line and no traceback.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from saq.job import Status

from tajiconnect.tasks.base import enqueue
from tajiconnect.tasks.queue import create_queue
from tajiconnect.tenancy.branding import tenant_definition
from tajiconnect.tenancy.context import tenant_context
from tests.conftest import BASE_DOMAIN
from tests.support import free_port

SCRIPT = Path(sys.executable).with_name("tajiconnect")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tajiconnect.cli"]
SECRET_KEY = "cli-secret-" + secrets.token_hex(16)
ADMIN_PASSWORD = "Umbrella-Kettle-Savannah-42"
NEVER_SHOWN = (SECRET_KEY, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def cli_env(database_url, migrated) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TAJI_BASE_DOMAIN": BASE_DOMAIN,
        "TAJI_SECRET_KEY": SECRET_KEY,
        "TAJI_PUBLIC_PORT": "8000",
        "TAJI_PUBLIC_SCHEME": "http",
        "TAJI_LOG_LEVEL": "WARNING",
    }


def cli(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run ``tajiconnect *args``; check its exit status, that a refusal is one clear line, and that nothing leaks."""
    proc = subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, f"{args}: exit {proc.returncode}\n{output}"
    for secret in NEVER_SHOWN:
        assert secret not in output, f"{args} printed a secret"
    if code != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, f"{args}: expected one 'Error:' line\n{proc.stderr}"
        assert "Traceback" not in output
    return proc


def cli_all(env: dict[str, str], *calls: tuple[tuple[str, ...], int]) -> list[subprocess.CompletedProcess[str]]:
    """Several independent ``cli`` runs at once (each one starts a Python interpreter: slow)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda call: cli(env, *call[0], code=call[1]), calls))


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in proc.stderr.splitlines() if line.startswith("Error: "))


def query(database_url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def new_slug(prefix: str = "cli") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def create(env: dict[str, str], slug: str, *extra: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    return cli(
        env, "tenants", "create", slug, "--name", f"CLI {slug}", "--admin-email", f"admin@{slug}.example",
        "--admin-password", ADMIN_PASSWORD, *extra, code=code,
    )


def test_db_upgrade(cli_env, alpha):
    everything = cli(cli_env, "db", "upgrade")  # one at a time: concurrent upgrades refuse (see below)
    one = cli(cli_env, "db", "upgrade", "--tenant", alpha.slug)
    parallel = cli(cli_env, "db", "upgrade", "--parallel", "2")
    unknown, bad_parallel = cli_all(
        cli_env, (("db", "upgrade", "--tenant", "nosuchtenant"), 1), (("db", "upgrade", "--parallel", "0"), 2)
    )
    assert "public: at head" in everything.stdout and "failed: 0" in everything.stdout
    assert "already current: 1," in one.stdout
    assert "failed: 0" in parallel.stdout
    assert "nosuchtenant" in error_line(unknown)
    assert "--parallel" in error_line(bad_parallel)


def test_db_upgrade_refuses_while_another_runs(cli_env, database_url):
    from tajiconnect.db.migrate import UPGRADE_LOCK_KEY

    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
        proc = cli(cli_env, "db", "upgrade", code=1)
    assert "another 'db upgrade' is running" in error_line(proc)


def test_tenants_create(cli_env, database_url):
    slug = new_slug()
    proc = create(cli_env, slug, "--kind", "school", "--locale", "sw")
    assert f"created tenant {slug} (school)" in proc.stdout
    assert f"http://{slug}.{BASE_DOMAIN}:8000" in proc.stdout
    assert f"admin@{slug}.example" in proc.stdout
    assert query(database_url, "SELECT kind, status, locale FROM public.tenants WHERE slug = %s", slug) == [
        ("school", "active", "sw")
    ]
    assert query(database_url, f'SELECT roles FROM "tenant_{slug}".users') == [(["org_admin"],)]


def test_tenants_create_without_password_issues_an_invitation(cli_env):
    slug = new_slug()
    proc = cli(cli_env, "tenants", "create", slug, "--name", "Invited", "--admin-email", f"boss@{slug}.example")
    assert f"http://{slug}.{BASE_DOMAIN}:8000/auth/invitation/" in proc.stdout


def test_tenants_create_refusals(cli_env, database_url):
    taken = new_slug()
    create(cli_env, taken)
    fresh = new_slug()
    ok = ("--admin-email", "x@y.example", "--admin-password", ADMIN_PASSWORD)
    duplicate, reserved, invalid, short, bad_kind, no_email, no_name = cli_all(
        cli_env,
        (("tenants", "create", taken, "--name", "Again", *ok), 1),
        (("tenants", "create", "admin", "--name", "X", *ok), 1),
        (("tenants", "create", "Bad_Slug", "--name", "X", *ok), 1),
        (("tenants", "create", fresh, "--name", "X", "--admin-email", "x@y.example", "--admin-password", "short"), 1),
        (("tenants", "create", fresh, "--name", "X", *ok, "--kind", "church"), 2),
        (("tenants", "create", fresh, "--name", "X"), 2),
        (("tenants", "create", fresh, *ok), 2),
    )
    assert "already exists" in error_line(duplicate)
    assert "reserved" in error_line(reserved)
    assert "Bad_Slug" in error_line(invalid)
    assert "10 characters" in error_line(short)
    assert "--kind" in error_line(bad_kind)
    assert "--admin-email" in error_line(no_email)
    assert "--name" in error_line(no_name)
    assert query(database_url, "SELECT count(*) FROM public.tenants WHERE slug = %s", fresh) == [(0,)]
    assert query(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", f"tenant_{fresh}") == [(0,)]
    assert query(database_url, "SELECT name FROM public.tenants WHERE slug = %s", taken) == [(f"CLI {taken}",)]


def test_tenants_list(cli_env, alpha, beta):
    tenants = {t["slug"]: t for t in json.loads(cli(cli_env, "tenants", "list", "--json").stdout)}
    for tenant in (alpha, beta):
        assert tenants[tenant.slug] == {
            "slug": tenant.slug, "name": tenant.name, "kind": tenant.kind, "status": tenant.status,
            "locale": tenant.locale, "schema": tenant.schema,
        }
    plain = cli(cli_env, "tenants", "list").stdout.splitlines()
    assert any(line.startswith(alpha.slug) and alpha.name in line for line in plain)


def test_tenants_suspend_resume_delete(cli_env, database_url):
    slug = new_slug()
    create(cli_env, slug)

    def status() -> list[tuple]:
        return query(database_url, "SELECT status FROM public.tenants WHERE slug = %s", slug)

    assert cli(cli_env, "tenants", "suspend", slug).stdout.strip() == f"suspended tenant {slug}"
    assert status() == [("suspended",)]
    assert cli(cli_env, "tenants", "resume", slug).stdout.strip() == f"resumed tenant {slug}"
    assert status() == [("active",)]
    # Deleting follows the console's rules: a cancelled license past its retention, and a ready export.
    refused = cli(cli_env, "tenants", "delete", slug, "--yes", code=1)
    assert "Only an organization whose license is cancelled" in error_line(refused)
    # The override skips only the retention: an active license stays refused with it.
    still = cli(cli_env, "tenants", "delete", slug, "--yes", "--override-retention", code=1)
    assert "Only an organization whose license is cancelled" in error_line(still)
    cli(cli_env, "tenants", "license", slug, "--status", "cancelled")
    unexported = cli(cli_env, "tenants", "delete", slug, "--yes", "--override-retention", code=1)
    assert "Export the organization first" in error_line(unexported)
    exported = cli(cli_env, "tenants", "export", slug).stdout
    export_id = re.search(r"^export ([0-9a-f-]{36}): \d+ bytes", exported, re.M).group(1)
    assert f"key: platform/exports/{export_id}.zip" in exported
    path = re.search(r"^path: (.+)$", exported, re.M).group(1)
    assert "manifest.json" in zipfile.ZipFile(path).namelist()
    deleted = cli(cli_env, "tenants", "delete", slug, "--yes", "--override-retention").stdout.strip()
    assert deleted == f"deleted tenant {slug} (export {export_id})"
    assert status() == []
    assert query(database_url, "SELECT action, details->>'export_id' FROM public.platform_audit_log"
                 " WHERE target_id = %s AND action = 'platform.tenant.deleted'", slug) == [
        ("platform.tenant.deleted", export_id)]
    assert query(database_url, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", f"tenant_{slug}") == [(0,)]

    deleted_again, suspend_missing, invalid, no_slug = cli_all(
        cli_env, (("tenants", "delete", slug, "--yes"), 1), (("tenants", "suspend", new_slug("gone")), 1),
        (("tenants", "resume", "Not-Valid!"), 1), (("tenants", "suspend"), 2),
    )
    assert f"no tenant with slug '{slug}'" in error_line(deleted_again)
    assert "no tenant with slug" in error_line(suspend_missing)
    assert "Not-Valid!" in error_line(invalid)
    assert "SLUG" in error_line(no_slug)


def test_tenants_add_domain(cli_env, alpha, beta, database_url):
    domain = f"learn.{alpha.slug}.example.org"
    proc = cli(cli_env, "tenants", "add-domain", alpha.slug, domain.upper())
    assert proc.stdout.strip() == f"{domain} now serves tenant {alpha.slug}"
    assert query(
        database_url,
        "SELECT t.slug FROM public.tenant_domains d JOIN public.tenants t ON t.id = d.tenant_id WHERE d.domain = %s",
        domain,
    ) == [(alpha.slug,)]
    duplicate, not_a_host = cli_all(
        cli_env,
        (("tenants", "add-domain", beta.slug, domain), 1),
        (("tenants", "add-domain", beta.slug, "intranet"), 1),
    )
    assert "already registered" in error_line(duplicate)
    assert "not a host name" in error_line(not_a_host)


def test_demo_is_idempotent(cli_env, database_url):
    spec = tenant_definition("demo")
    first = cli(cli_env, "demo")
    second = cli(cli_env, "demo")
    assert "already there" in second.stdout
    for proc in (first, second):
        assert f"http://demo.{BASE_DOMAIN}:8000" in proc.stdout
        for user in spec["users"]:
            assert user["email"] in proc.stdout
    emails = [row[0] for row in query(database_url, "SELECT email FROM tenant_demo.users ORDER BY email")]
    assert emails == sorted(u["email"] for u in spec["users"])  # no duplicates from the second run
    links = query(
        database_url,
        "SELECT p.email, c.email FROM tenant_demo.parent_links l JOIN tenant_demo.users p ON p.id = l.parent_id "
        "JOIN tenant_demo.users c ON c.id = l.learner_id",
    )
    assert links == [(link["parent"], link["learner"]) for link in spec["parent_links"]]  # made once


async def test_worker_burst_runs_queued_jobs_and_exits(cli_env, settings, alpha):
    from tajiconnect.tasks.maintenance import count_users

    queue = create_queue(settings)
    await queue.connect()
    try:
        with tenant_context(alpha):
            job = await enqueue(queue, count_users)
        cli(cli_env, "worker", "--burst", "--concurrency", "2")
        await job.refresh()
    finally:
        await queue.disconnect()
    assert job.status == Status.COMPLETE, job.error
    assert job.result["tenant"] == alpha.slug and job.result["active_users"] >= 1


def test_run_serves_health_and_tenants(cli_env, alpha):
    port = free_port()
    server = subprocess.Popen(
        [*COMMAND, "run", "--port", str(port)], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        home = httpx.get(f"{base}/", headers={"Host": f"{alpha.slug}.{BASE_DOMAIN}"}, timeout=10)
        assert home.status_code == 200 and alpha.name in home.text
        unknown = httpx.get(f"{base}/", headers={"Host": f"nosuch.{BASE_DOMAIN}"}, timeout=10)
        assert unknown.status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    for secret in NEVER_SHOWN:
        assert secret not in output
    assert server.returncode is not None
