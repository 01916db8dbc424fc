"""Large imports: checked and applied by tasks, with progress committed as they go (and the apply itself
invisible until its single commit), refused as a whole when the seats ran out meanwhile, invitations in batches
(each email once), and a 10,000-row file end to end."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import text, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.roster import apply as applying
from tajiconnect.domains.roster import service, tasks
from tajiconnect.domains.roster.models import RosterImport
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import post_form
from tests.integration.roster.conftest import (
    api,
    counts,
    learners,
    scalar,
    seats_used,
    upload_api,
    upload_page,
    write_csv,
)


async def status_of(engine, tenant, import_id: str) -> tuple[str, int]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            imp = await session.get(RosterImport, uuid.UUID(import_id))
            assert imp is not None
            return imp.status, imp.processed_rows


async def run_until(run_jobs, engine, tenant, import_id: str, wanted: str, *, limit: float = 120) -> None:
    """Run queued jobs one at a time until the import reaches ``wanted`` (other tests' jobs may be queued too)."""
    deadline = time.monotonic() + limit
    while (await status_of(engine, tenant, import_id))[0] != wanted:
        assert time.monotonic() < deadline, f"the import never became {wanted}"
        await run_jobs(max_jobs=1)


@pytest.fixture
def small_batches(monkeypatch):
    """Background work from 6 rows on, in chunks of 3 rows and invitation batches of 4."""
    monkeypatch.setattr(service, "INLINE_MAX_ROWS", 5)
    monkeypatch.setattr(service, "CHUNK", 3)
    monkeypatch.setattr(tasks, "CHUNK", 3)
    monkeypatch.setattr(applying, "CHUNK", 3)
    monkeypatch.setattr(tasks, "INVITE_BATCH", 4)


async def test_a_large_file_is_checked_and_applied_in_the_background(
    small_batches, monkeypatch, new_org, signed_in, engine, run_jobs, mail_sink, tmp_path, domain
):
    org = await new_org("bg")
    data = learners(9, domain, groups="Form 3")
    data[0][5] = f"mother@{domain}"  # a parent to invite too: 10 new members
    path = write_csv(tmp_path / "big.csv", data)

    seen_while_checking: list[int] = []
    store_rows = tasks.store_rows

    async def watched_store_rows(session: Any, key: uuid.UUID, rows: Any, **kw: Any) -> None:
        seen_while_checking.append((await status_of(engine, org.tenant, str(key)))[1])  # committed so far
        await store_rows(session, key, rows, **kw)

    monkeypatch.setattr(tasks, "store_rows", watched_store_rows)

    async with signed_in(org.admin) as client:
        answer = await upload_page(client, path)
        url = answer.headers["location"]
        import_id = url.rsplit("/", 1)[-1]
        page = await client.get(url)
        assert re.search(r'<progress id="import-progress-bar" max="9" value="0">0%</progress>', page.text)
        assert 'hx-get="/admin/imports/' in page.text and 'hx-trigger="every 1s"' in page.text
        assert 'role="status" aria-live="polite"' in page.text
        fragment = await client.get(f"{url}/progress", headers={"HX-Request": "true"})
        assert "HX-Redirect" not in fragment.headers and "0 of 9 rows (0%)" in fragment.text
        assert "<html" not in fragment.text

        await run_until(run_jobs, engine, org.tenant, import_id, "ready")
        assert seen_while_checking == [0, 3, 6, 9]  # the rows (and the parent row), 3 at a time, progress committed
        done = await client.get(f"{url}/progress", headers={"HX-Request": "true"})
        assert done.headers["HX-Redirect"] == url
        preview = (await api(client, org.admin, "GET", f"/api/v1/imports/{import_id}")).json()
        assert (preview["status"], preview["summary"]["new"], preview["summary"]["parents_new"]) == ("ready", 9, 1)

        progress_seen: list[tuple[int, int]] = []
        set_progress = tasks._set_progress

        async def watched_progress(engine_: Any, key: uuid.UUID, status: str, rows_done: int) -> None:
            await set_progress(engine_, key, status, rows_done)
            # Committed progress is visible, the members being written are not (one transaction, not committed).
            visible = await scalar(engine, org.tenant, "SELECT count(*) FROM users WHERE email LIKE :d",
                                   d=f"%@{domain}")
            progress_seen.append(((await status_of(engine, org.tenant, import_id))[1], visible))

        monkeypatch.setattr(tasks, "_set_progress", watched_progress)
        confirm = await post_form(client, f"{url}/apply")
        assert confirm.headers["location"] == f"{url}?notice=applying"
        page = await client.get(confirm.headers["location"])
        assert "The import is being applied." in page.text and "Importing the members" in page.text
        assert (await status_of(engine, org.tenant, import_id)) == ("applying", 0)

        await run_until(run_jobs, engine, org.tenant, import_id, "applied")
        assert [seen for seen, _visible in progress_seen] == [3, 6, 9, 9, 9]
        assert {visible for _seen, visible in progress_seen} == {0}
        assert await scalar(engine, org.tenant, "SELECT count(*) FROM users WHERE email LIKE :d", d=f"%@{domain}") == 10
        assert await seats_used(engine, org.tenant) == 9

        # Invitations: batches of 4, each new member once.
        deadline = time.monotonic() + 60
        while len({str(m["To"]) for m in mail_sink.collector.messages if domain in str(m["To"])}) < 10:
            assert time.monotonic() < deadline, "invitations missing"
            await run_jobs(max_jobs=5)
        summary = (await api(client, org.admin, "GET", f"/api/v1/imports/{import_id}")).json()
        result = await client.get(url)
        assert "10 invitations sent." in result.text
    invited = [str(m["To"]) for m in mail_sink.collector.messages if domain in str(m["To"])]
    assert sorted(invited) == sorted({*invited}) and len(invited) == 10
    assert summary["summary"]["applied"]["invited"] == 10
    tokens = await scalar(engine, org.tenant, "SELECT count(*) FROM email_tokens WHERE purpose = 'invite'")
    assert tokens == 10
    # A batch that already went out is not sent again (a retried or duplicated job).
    with tenant_context(org.tenant):
        again = await tasks.run_invitations(engine, run_jobs.worker.context["settings"], None, import_id, 0)
    assert again == {"skipped": "batch already sent"}
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM email_tokens WHERE purpose = 'invite'") == 10
    batches = await scalar(engine, org.tenant,
                           "SELECT count(*) FROM audit_log WHERE action = 'roster.import.invitations_sent'")
    assert batches == 3


async def test_seats_gone_before_the_task_runs_refuse_the_whole_import(
    small_batches, new_org, signed_in, engine, seats, run_jobs, tmp_path, domain
):
    org = await new_org("bgs")
    await seats(org.tenant, 6)
    path = write_csv(tmp_path / "six.csv", learners(6, domain))
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        await run_until(run_jobs, engine, org.tenant, body["id"], "ready")
        applied = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert applied.status_code == 200 and applied.json()["status"] == "applying"
        await seats(org.tenant, 4)  # the license shrank before the worker got to it
        await run_until(run_jobs, engine, org.tenant, body["id"], "ready")
        lost = (await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}")).json()
        assert lost["failure"] == "Not enough seats: 2 more seats are needed (0 of 4 in use)."
        assert (lost["summary"]["missing_seats"], lost["summary"]["can_apply"]) == (2, False)
        # A confirmation now is refused at once, before any task.
        again = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert again.status_code == 409 and again.json()["missing_seats"] == 2
    assert await seats_used(engine, org.tenant) == 0


async def test_a_background_apply_that_fails_midway_leaves_nothing(small_batches, new_org, engine, tmp_path, domain,
                                                                   signed_in, run_jobs):
    org = await new_org("bga")
    data = learners(8, domain)
    data[3][5] = f"father@{domain}"
    path = write_csv(tmp_path / "x.csv", data)
    async with signed_in(org.admin) as client:
        import_id = (await upload_api(client, org.admin, path)).json()["id"]
        await run_until(run_jobs, engine, org.tenant, import_id, "ready")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            await session.execute(text(
                "CREATE FUNCTION refuse_links() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'links are refused'; END $$"
            ))
            await session.execute(text("CREATE TRIGGER refuse_links BEFORE INSERT ON parent_links"
                                       " FOR EACH ROW EXECUTE FUNCTION refuse_links()"))
            await session.execute(update(RosterImport).where(RosterImport.id == uuid.UUID(import_id))
                                  .values(status="applying", applied_by_email=org.admin.email))
    before = await counts(engine, org.tenant)
    ctx = {"engine": engine, "queue": None, "job": None}  # no attempt left after this one
    with tenant_context(org.tenant), pytest.raises(Exception, match="links are refused"):
        await tasks.apply_import(ctx, import_id=import_id)
    assert await counts(engine, org.tenant) == before
    status = await status_of(engine, org.tenant, import_id)
    assert status[0] == "failed"
    assert await scalar(engine, org.tenant, "SELECT failure FROM roster_imports WHERE id = :i",
                        i=uuid.UUID(import_id)) == "The import could not be completed. Nothing was changed."


async def test_ten_thousand_rows_through_the_background_path(new_org, signed_in, engine, run_jobs, tmp_path, domain):
    org = await new_org("big")
    classes = [f"Class {n}" for n in range(40)]
    data = [
        [f"learner{i}@{domain}", f"Learner{i}", "Test", "student", classes[i % 40], "", f"L{i:05d}"]
        for i in range(10_000)
    ]
    path = write_csv(tmp_path / "ten-thousand.csv", data)
    started = time.perf_counter()
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert (body["status"], body["total_rows"]) == ("validating", 10_000)
        await run_until(run_jobs, engine, org.tenant, body["id"], "ready")
        checked = (await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}")).json()
        assert (checked["summary"]["new"], checked["summary"]["seats_needed"], checked["processed_rows"]) == (
            10_000, 10_000, 10_000
        )
        assert checked["summary"]["groups_to_create_count"] == 40
        applied = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert applied.json()["status"] == "applying"
        await run_until(run_jobs, engine, org.tenant, body["id"], "applied")
    elapsed = time.perf_counter() - started
    # The invitations (50 batches, 10,000 emails) are not this test's subject: mark them sent so that no other test
    # drains them.
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            imp = await session.get(RosterImport, uuid.UUID(body["id"]))
            assert imp is not None
            imp.summary = {**imp.summary, "invitations": {"batch": 0, "sent": 0, "done": True}}
    assert await seats_used(engine, org.tenant) == 10_000
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM group_memberships") == 10_000
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM seat_events WHERE reason = 'imported'") == 10_000
    # A guard against a quadratic slip only: this machine is shared, bench/roster_import.py measures it properly.
    assert elapsed < 300, f"10,000 rows took {elapsed:.1f} s"
