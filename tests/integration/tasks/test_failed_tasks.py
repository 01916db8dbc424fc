"""Tasks that fail for good: recorded by the real worker (and from SAQ's own records), shown to operators on the
apex's ``/platform/tasks``, retried from the page and from ``tajiconnect tasks retry`` under the same key (audited),
refused twice, and hidden from everyone else."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from saq import Job
from saq.job import Status
from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.tasks.base import REGISTRY, TaskPolicy, enqueue, tenant_task
from tajiconnect.tasks.failures import HIDDEN, shown_kwargs
from tajiconnect.tasks.models import FailedTask
from tajiconnect.tenancy.context import current_tenant, tenant_context
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tajiconnect.tenancy.service import change_status
from tajiconnect.worker import create_worker
from tests.integration.conftest import csrf, post_form

SCRIPT = Path(sys.executable).with_name("tajiconnect")
SECRET = "tok-" + uuid.uuid4().hex  # in a link argument: never shown

#: ``flaky_report`` fails while this is true; every run is recorded in RUNS as (tenant, label, job key).
FAILING = {"on": True}
RUNS: list[tuple[str, str, str]] = []


@tenant_task(policy=TaskPolicy(retries=2, retry_delay=0.0, retry_backoff=False))
async def ops_test_flaky(ctx: dict[str, Any], *, label: str, link: str) -> dict[str, str]:
    """A test-only task: fails (on each of its two attempts) while FAILING is on."""
    tenant = current_tenant()
    assert tenant is not None
    RUNS.append((tenant.slug, label, ctx["job"].key))
    if FAILING["on"]:
        raise RuntimeError(f"ops test failure for {label}")
    return {"label": label}


async def failed_row(engine, key: str) -> FailedTask | None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return await session.scalar(select(FailedTask).where(FailedTask.job_key == key))


async def retry_entries(engine, failed_id: uuid.UUID) -> list[PlatformAuditEntry]:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            return list((await session.scalars(select(PlatformAuditEntry).where(
                PlatformAuditEntry.action == "platform.task.retried",
                PlatformAuditEntry.target_id == str(failed_id)))).all())


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = await asyncio.to_thread(subprocess.run, [str(SCRIPT), *args], capture_output=True, text=True,
                                     timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == code, (result.stdout, result.stderr)
    return result


async def fail_for_good(make_tenant, run_jobs, engine, label: str) -> tuple[Any, FailedTask]:
    tenant = await make_tenant("opsf")
    FAILING["on"] = True
    await run_jobs(0)  # connects the drainer's queues
    with tenant_context(tenant):
        job = await enqueue(run_jobs.queues, ops_test_flaky, key=f"flaky:{label}", label=label,
                            link=f"https://{tenant.slug}.example/invite/{SECRET}")
    assert job is not None
    await run_jobs()
    key = f"{tenant.slug}:flaky:{label}"
    assert [run for run in RUNS if run[2] == key] == [(tenant.slug, label, key)] * 2  # both attempts, then given up
    row = await failed_row(engine, key)
    assert row is not None, "the worker recorded nothing"
    return tenant, row


async def test_a_task_failing_for_good_is_shown_retried_once_and_runs_again(
    make_tenant, run_jobs, engine, as_operator, operator
):
    tenant, row = await fail_for_good(make_tenant, run_jobs, engine, "page<i>")  # markup in kwargs and the error
    _, other_row = await fail_for_good(make_tenant, run_jobs, engine, "other")
    assert (row.status, row.attempts, row.tenant_slug, row.task, row.queue) == (
        "failed", 2, tenant.slug, "ops_test_flaky", run_jobs.queues["default"].name)
    assert "RuntimeError: ops test failure for page<i>" in (row.error or "") and row.retried_at is None

    async with as_operator() as client:
        listing = await client.get("/platform/tasks", params={"tenant": tenant.slug})
        assert listing.status_code == 200
        match = re.search(rf'<tr id="failed-{row.id}">(.*?)</tr>', listing.text, re.S)
        assert match, listing.text
        shown = text_of(match.group(1))
        assert "ops_test_flaky" in shown and tenant.slug in shown and "RuntimeError: ops test failure for page" in shown
        assert f"failed-{other_row.id}" not in listing.text  # filtered by tenant
        by_task = await client.get("/platform/tasks", params={"task": "ops_test_flaky"})
        assert f"failed-{row.id}" in by_task.text and f"failed-{other_row.id}" in by_task.text

        detail = await client.get(f"/platform/tasks/{row.id}")
        assert detail.status_code == 200
        assert "Traceback" in detail.text and row.job_key.replace("<i>", "&lt;i&gt;") in detail.text
        assert SECRET not in detail.text and SECRET not in listing.text and HIDDEN in detail.text
        assert "page<i>" not in detail.text and "page<i>" not in listing.text  # escaped everywhere
        assert "page&lt;i&gt;" in listing.text and "page\\u003ci\\u003e" in detail.text  # the error; the kwargs

        retried = await post_form(client, f"/platform/tasks/{row.id}/retry")
        assert retried.status_code == 303 and retried.headers["location"].endswith("notice=task_retried")
        after = await failed_row(engine, row.job_key)
        assert after is not None and after.retried_at is not None and after.retried_by == operator.email
        [entry] = await retry_entries(engine, row.id)
        assert entry.actor_email == operator.email and entry.details["job_key"] == row.job_key

        FAILING["on"] = False
        await run_jobs()
        assert [run for run in RUNS if run[2] == row.job_key][-1] == (tenant.slug, "page<i>", row.job_key)
        assert len([run for run in RUNS if run[2] == row.job_key]) == 3  # ran again under its own key
        job = await run_jobs.queues.job(row.job_key)
        assert job is not None and job.status == Status.COMPLETE

        again = await post_form(client, f"/platform/tasks/{row.id}/retry")
        assert again.status_code == 303 and again.headers["location"].endswith("problem=retried")
        page = await client.get(again.headers["location"])
        assert "retried already" in page.text and "retry-history" in page.text
        assert operator.email in text_of(page.text)
        assert len(await retry_entries(engine, row.id)) == 1
        open_only = await client.get("/platform/tasks", params={"tenant": tenant.slug})
        assert f"failed-{row.id}" not in open_only.text
        everything = await client.get("/platform/tasks", params={"tenant": tenant.slug, "show": "all"})
        assert f"failed-{row.id}" in everything.text
        assert (await post_form(client, f"/platform/tasks/{uuid.uuid4()}/retry")).status_code == 404
        assert (await client.get(f"/platform/tasks/{uuid.uuid4()}")).status_code == 404

    # The CLI refuses the retried one and unknown ids with one line.
    assert str(row.id) in (await cli("tasks", "failed", "--all", "--tenant", tenant.slug)).stdout
    assert str(row.id) not in (await cli("tasks", "failed", "--tenant", tenant.slug)).stdout
    twice = await cli("tasks", "retry", str(row.id), code=1)
    assert twice.stderr.strip().count("\n") == 0 and "retried already" in twice.stderr
    unknown = await cli("tasks", "retry", str(uuid.uuid4()), code=1)
    assert unknown.stderr.strip().startswith("Error: no failed task")
    assert "not a failed task" in (await cli("tasks", "retry", "nonsense", code=1)).stderr


async def refused_for_good(make_tenant, run_jobs, engine, count: int) -> tuple[Any, list[FailedTask]]:
    """``count_users`` jobs of a suspended organization: refused (no retry), recorded by the worker."""
    tenant = await make_tenant("opsc")
    await set_status(engine, tenant.slug, "suspended")
    await run_jobs(0)
    keys = []
    with tenant_context(tenant):
        for n in range(count):
            assert await enqueue(run_jobs.queues, "count_users", key=f"count:{n}") is not None
            keys.append(f"{tenant.slug}:count:{n}")
    await run_jobs()
    rows = [await failed_row(engine, key) for key in keys]
    for each in rows:
        assert each is not None and (each.status, each.attempts, each.task) == ("failed", 1, "count_users")
        assert "is suspended" in (each.error or "")
    await set_status(engine, tenant.slug, "active")
    return tenant, rows  # type: ignore[return-value]


async def set_status(engine, slug: str, status: str) -> None:
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            await change_status(session, slug, status)
    invalidate_tenant_cache()


async def test_the_cli_lists_and_retries_under_the_same_key(make_tenant, run_jobs, engine):
    tenant, [row] = await refused_for_good(make_tenant, run_jobs, engine, 1)
    listed = await cli("tasks", "failed")
    line = next(line for line in listed.stdout.splitlines() if line.startswith(str(row.id)))
    assert "count_users" in line and tenant.slug in line and "open" in line and "suspended" in line
    done = await cli("tasks", "retry", str(row.id))
    assert done.stdout.strip() == f"retried {row.id}: count_users ({tenant.slug}) as {row.job_key}"
    [entry] = await retry_entries(engine, row.id)
    assert entry.actor_email == "cli" and entry.details["via"] == "cli"
    await run_jobs()
    job = await run_jobs.queues.job(row.job_key)
    assert job is not None and job.status == Status.COMPLETE and job.result["tenant"] == tenant.slug
    assert "retried already" in (await cli("tasks", "retry", str(row.id), code=1)).stderr
    assert str(row.id) not in (await cli("tasks", "failed")).stdout


async def test_retry_all_open_from_the_cli(make_tenant, run_jobs, engine):
    tenant, rows = await refused_for_good(make_tenant, run_jobs, engine, 2)
    done = await cli("tasks", "retry", "--all-open", "--tenant", tenant.slug)
    assert sorted(done.stdout.splitlines()) == sorted(
        f"retried {row.id}: count_users ({tenant.slug}) as {row.job_key}" for row in rows)
    await run_jobs()
    for row in rows:
        job = await run_jobs.queues.job(row.job_key)
        assert job is not None and job.status == Status.COMPLETE
    assert (await cli("tasks", "retry", "--all-open", "--tenant", tenant.slug)).stdout.strip() == "no open failed tasks"
    assert "give one failed task's ID" in (await cli("tasks", "retry", code=2)).stderr


async def test_a_job_saq_aborted_outside_the_worker_is_recorded(settings, engine, make_tenant):
    """An orphan whose worker is gone and that has no attempt left is aborted by ``requeue_orphans``: the minutely
    ``record_failed_jobs`` scan records it."""
    tenant = await make_tenant("opso")
    settings = dataclasses.replace(settings, queue_name=f"test-{uuid.uuid4().hex[:10]}")
    worker = create_worker(settings, concurrency=1)
    await worker.routing.connect()
    try:
        worker.id = "b-this-worker"
        await worker.worker_info()
        key = f"{tenant.slug}:orphan:{uuid.uuid4().hex[:6]}"
        job = await worker.queue.enqueue(Job(function="count_users", kwargs={"tenant": tenant.slug}, key=key,
                                             retries=1))
        assert job is not None
        dequeued = await worker.queue.dequeue(timeout=1)
        assert dequeued is not None and dequeued.key == key
        dequeued.worker_id, dequeued.attempts = "gone-worker", 1
        await dequeued.update(status=Status.ACTIVE)
        await asyncio.sleep(0.01)
        assert await worker.requeue_orphans(quiet_for=0) == [key]
        assert await failed_row(engine, key) is None  # nobody's after_process saw it
        ctx = {"engine": engine, "queue": worker.routing}
        assert (await REGISTRY["record_failed_jobs"].fn(ctx)) == {"recorded": 1}
        row = await failed_row(engine, key)
        assert row is not None and (row.status, row.tenant_slug, row.task) == ("aborted", tenant.slug, "count_users")
        assert row.error == "worker gone"
        assert (await REGISTRY["record_failed_jobs"].fn(ctx)) == {"recorded": 0}  # once
    finally:
        await worker.routing.disconnect()


async def test_operators_only(browser, signed_in, org, make_tenant, run_jobs, engine):
    _, row = await fail_for_good(make_tenant, run_jobs, engine, "guard")
    paths = ("/platform/tasks", f"/platform/tasks/{row.id}")
    async with browser(None) as client:
        for path in paths:
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in", path
        token = await csrf(client, "/platform/sign-in")
        response = await client.post(f"/platform/tasks/{row.id}/retry", data={"_csrf_token": token})
        assert response.status_code == 303 and response.headers["location"] == "/platform/sign-in"
    async with signed_in(org.admin) as member:  # a tenant's admin, on the tenant's host
        for path in paths:
            assert (await member.get(path)).status_code == 404, path
        assert (await post_form(member, f"/platform/tasks/{row.id}/retry")).status_code == 404
    still = await failed_row(engine, row.job_key)
    assert still is not None and still.retried_at is None


async def test_the_csrf_token_is_required(as_operator, make_tenant, run_jobs, engine):
    _, row = await fail_for_good(make_tenant, run_jobs, engine, "csrf")
    async with as_operator() as client:
        response = await client.post(f"/platform/tasks/{row.id}/retry", data={})
        assert response.status_code == 403
    still = await failed_row(engine, row.job_key)
    assert still is not None and still.retried_at is None


def test_secret_looking_arguments_are_hidden():
    shown = shown_kwargs({"tenant": "a", "to": "x@example.org", "context": {"link": "https://a/t/abc",
                          "user_name": "Ann", "items": [{"reset_token": "s"}]}, "password": "p"})
    assert shown == {"tenant": "a", "to": "x@example.org", "password": HIDDEN,
                     "context": {"link": HIDDEN, "user_name": "Ann", "items": [{"reset_token": HIDDEN}]}}
