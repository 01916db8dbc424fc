"""Scheduled upkeep (``tasks/upkeep.py``) fanned out per tenant (``tasks/schedule.py``): each purge removes only
what expired past its retention, in the tenant of the job; the fan-out makes one job per tenant per tick, keyed
``<slug>:<task>:<tick>``; one tenant's failure stops nothing else and is listed in ``failed_tasks``; stored
streaks are reset in each learner's own time zone."""

from __future__ import annotations

import asyncio
import datetime
import secrets
import uuid
from typing import Any

from saq.job import Status
from sqlalchemy import select, text

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import EmailToken, RefreshToken, User, UserSession
from tajiconnect.domains.parents.models import PairingCode
from tajiconnect.domains.progress.models import LearnerStats
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.platform.models import OperatorSession
from tajiconnect.platform.service import create_operator
from tajiconnect.tasks.base import REGISTRY
from tajiconnect.tasks.models import FailedTask
from tajiconnect.tasks.schedule import SCHEDULED, fan_out, tick_of
from tajiconnect.tasks.upkeep import TENANT_TABLES, reset_streaks
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import delete_tenant

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def ago(delta: datetime.timedelta) -> datetime.datetime:
    return NOW - delta


async def admin_id(engine, tenant) -> uuid.UUID:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await session.scalar(select(User.id).where(User.email == f"admin@{tenant.slug}.example"))


def session_row(model: Any, user_id: uuid.UUID, expires: datetime.datetime) -> Any:
    return model(id_hash=secrets.token_hex(32), public_id=secrets.token_urlsafe(16)[:22], stage="full",
                 created_at=ago(40 * DAY), last_seen_at=ago(DAY), expires_at=expires, user_id=user_id)


async def seed(engine, tenant) -> dict[str, set[str]]:
    """Expired and live rows of each purged kind; returns the ids expected to stay, by table."""
    user = await admin_id(engine, tenant)
    keep: dict[str, set[str]] = {}
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            sessions = [session_row(UserSession, user, ago(DAY)), session_row(UserSession, user, NOW + DAY)]
            tokens = [EmailToken(user_id=user, purpose="invite", token_hash=secrets.token_hex(32), expires_at=at,
                                 used_at=used)
                      for at, used in ((ago(8 * DAY), None), (ago(8 * DAY), ago(9 * DAY)), (ago(6 * DAY), None),
                                       (NOW + DAY, ago(DAY)))]
            gone_family, live_family = uuid.uuid4(), uuid.uuid4()
            refresh = [
                RefreshToken(user_id=user, family_id=gone_family, token_hash=secrets.token_hex(32),
                             expires_at=ago(3 * DAY), used_at=ago(20 * DAY)),
                RefreshToken(user_id=user, family_id=gone_family, token_hash=secrets.token_hex(32),
                             expires_at=ago(2 * DAY), revoked_at=ago(10 * DAY)),
                # spent long ago, but its family lives on: kept, so that presenting it still revokes the family
                RefreshToken(user_id=user, family_id=live_family, token_hash=secrets.token_hex(32),
                             expires_at=ago(3 * DAY), used_at=ago(25 * DAY)),
                RefreshToken(user_id=user, family_id=live_family, token_hash=secrets.token_hex(32),
                             expires_at=NOW + 5 * DAY),
            ]
            codes = [PairingCode(learner_id=user, code_hash=secrets.token_hex(32), created_by_id=user,
                                 expires_at=at, used_at=used)
                     for at, used in ((ago(2 * DAY), None), (ago(3 * DAY), ago(4 * DAY)),
                                      (ago(datetime.timedelta(hours=1)), None), (NOW + DAY, None))]
            imports = [RosterImport(created_by_id=user, created_by_email="a@example.org", filename=f"{n}.csv",
                                    file_data=b"x", status=status, applied_at=applied, summary={"new": 1})
                       for n, (status, applied) in enumerate((("applied", ago(31 * DAY)), ("applied", ago(29 * DAY)),
                                                              ("ready", None)))]
            session.add_all([*sessions, *tokens, *refresh, *codes, *imports])
            await session.flush()
            session.add_all([RosterImportRow(import_id=imp.id, line=line, data={"email": "x"}, action="new")
                             for imp in imports for line in (1, 2)])
            keep["user_sessions"] = {sessions[1].id_hash}
            keep["email_tokens"] = {str(tokens[2].id), str(tokens[3].id)}
            keep["refresh_tokens"] = {str(refresh[2].id), str(refresh[3].id)}
            keep["pairing_codes"] = {str(codes[2].id), str(codes[3].id)}
            keep["roster_import_rows"] = {str(imports[1].id), str(imports[2].id)}
            keep["roster_imports"] = {str(imp.id) for imp in imports}
    return keep


async def present(engine, tenant) -> dict[str, set[str]]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            async def ids(sql: str) -> set[str]:
                return {str(v) for v in (await session.scalars(text(sql))).all()}

            return {
                "user_sessions": await ids("SELECT id_hash FROM user_sessions"),
                "email_tokens": await ids("SELECT id FROM email_tokens"),
                "refresh_tokens": await ids("SELECT id FROM refresh_tokens"),
                "pairing_codes": await ids("SELECT id FROM pairing_codes"),
                "roster_import_rows": await ids("SELECT DISTINCT import_id FROM roster_import_rows"),
                "roster_imports": await ids("SELECT id FROM roster_imports"),
            }


async def drain(run_jobs) -> None:
    await run_jobs(100_000)


async def test_the_daily_purge_removes_only_what_expired_per_tenant(make_tenant, run_jobs, engine, settings):
    from tajiconnect.domains.licensing.service import set_license

    first, second, cancelled = await make_tenant("opsp"), await make_tenant("opsp"), await make_tenant("opsc")
    await set_license(engine, cancelled.slug, status="cancelled")  # its data waits unchanged for its deletion
    kept = {t.slug: await seed(engine, t) for t in (first, second)}
    assert "purge_expired" in SCHEDULED["daily"]
    await run_jobs(0)
    ctx = {"engine": engine, "settings": settings, "queue": run_jobs.queues}
    # A minute into today: "5 minutes later" below stays in the same day whatever the clock says.
    at = tick_of("daily", datetime.datetime.now(datetime.UTC)) + datetime.timedelta(minutes=1)
    tick = tick_of("daily", at).isoformat()
    key = f"{first.slug}:purge_expired:{tick}"

    # The fan-out's job carries its tenant: run alone, it purges that tenant and nobody else.
    result = await fan_out(ctx, "daily", at=at)
    assert result["enqueued"] >= 2 and result["failed"] == []
    job = await run_jobs.queues.job(key)
    assert job is not None and job.kwargs == {"tenant": first.slug, "tick": tick}
    assert await run_jobs.queues.job(f"{cancelled.slug}:purge_expired:{tick}") is None
    assert job.queue is not None and job.queue.name == run_jobs.queues["default"].name
    before_second = await present(engine, second)
    counts = await REGISTRY["purge_expired"].fn({**ctx, "job": None}, **job.kwargs)
    assert counts == {"user_sessions": 1, "email_tokens": 2, "refresh_tokens": 2, "pairing_codes": 2,
                      "roster_import_rows": 2}
    assert await present(engine, first) == kept[first.slug]
    assert await present(engine, second) == before_second  # untouched by the first tenant's job

    # The same tick enqueued again (a second worker, a retried fan-out) makes no second job for any tenant.
    again = await fan_out(ctx, "daily", at=at + datetime.timedelta(minutes=5))
    assert again["enqueued"] == 0
    await drain(run_jobs)
    done = await run_jobs.queues.job(f"{second.slug}:purge_expired:{tick}")
    assert done is not None and done.status == Status.COMPLETE and done.attempts == 1
    assert await present(engine, second) == kept[second.slug]
    assert (await fan_out(ctx, "daily", at=at))["enqueued"] == 0  # still one per tenant once they ran
    # Idempotent: the next day's run finds nothing more to delete.
    assert await REGISTRY["purge_expired"].fn({**ctx, "job": None}, tenant=second.slug, tick=tick) == {
        "user_sessions": 0, "email_tokens": 0, "refresh_tokens": 0, "pairing_codes": 0, "roster_import_rows": 0}


async def test_one_tenants_failure_stops_no_other(make_tenant, run_jobs, engine, settings):
    broken, healthy = await make_tenant("opsb"), await make_tenant("opsh")
    await seed(engine, healthy)
    await seed(engine, broken)
    with tenant_context(broken):
        async with session_scope(engine) as session:
            await session.execute(text("DROP TABLE pairing_codes"))  # this tenant's schema is broken
    try:
        await run_jobs(0)
        ctx = {"engine": engine, "settings": settings, "queue": run_jobs.queues}
        # A tick of its own, in the past: a future tick would purge, in every tenant of the test database, what
        # expires before it (other tests' live sessions).
        at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        tick = tick_of("daily", at).isoformat()
        await fan_out(ctx, "daily", at=at)
        failed = None
        for _ in range(40):  # the broken tenant's job is retried once (after a short delay), then given up
            await drain(run_jobs)
            with tenant_context(None):
                async with session_scope(engine, schema=None) as session:
                    failed = await session.scalar(select(FailedTask).where(
                        FailedTask.job_key == f"{broken.slug}:purge_expired:{tick}"))
            if failed is not None:
                break
            await asyncio.sleep(0.5)
        assert failed is not None and failed.tenant_slug == broken.slug and failed.attempts == 2
        assert "pairing_codes" in (failed.error or "")
        done = await run_jobs.queues.job(f"{healthy.slug}:purge_expired:{tick}")  # the other tenant's purge ran
        assert done is not None and done.status == Status.COMPLETE
        assert set(done.result) == set(TENANT_TABLES)
    finally:
        await delete_tenant(engine, broken.slug)  # no later fan-out trips over it


async def test_expired_operator_sessions_are_purged(engine, settings):
    operator = await create_operator(engine, email=f"up.{uuid.uuid4().hex[:6]}@taji.example", name="Up",
                                     password="amber-compass-willow-twenty")
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            rows = [session_row(OperatorSession, operator.id, ago(DAY)), session_row(OperatorSession, operator.id,
                                                                                   NOW + DAY)]
            session.add_all(rows)
    result = await REGISTRY["purge_operator_sessions"].fn({"engine": engine, "settings": settings})
    assert result["operator_sessions"] >= 1
    with tenant_context(None):
        async with session_scope(engine, schema=None) as session:
            left = set((await session.scalars(select(OperatorSession.id_hash).where(
                OperatorSession.user_id == operator.id))).all())
    assert left == {rows[1].id_hash}


async def test_streaks_are_reset_in_each_learners_time_zone(make_tenant, make_user, engine):
    tenant, other = await make_tenant("opss"), await make_tenant("opss")
    now = datetime.datetime(2026, 6, 10, 3, 0, tzinfo=datetime.UTC)  # Nairobi: 06:00 on the 10th; LA: 20:00 the 9th
    cases = {  # name: (zone, last active day, stored streak, expected after)
        "nairobi_broken": ("Africa/Nairobi", datetime.date(2026, 6, 8), 5, 0),
        "nairobi_alive": ("Africa/Nairobi", datetime.date(2026, 6, 9), 4, 4),
        "la_alive": ("America/Los_Angeles", datetime.date(2026, 6, 8), 3, 3),  # LA's yesterday is the 8th
        "la_broken": ("America/Los_Angeles", datetime.date(2026, 6, 7), 2, 0),
        "zero": ("Africa/Nairobi", datetime.date(2026, 5, 1), 0, 0),
    }
    members: dict[str, Any] = {}
    for target in (tenant, other):
        for name, (zone, last_on, streak, _) in cases.items():
            member = await make_user(target, ["student"])
            members[f"{target.slug}:{name}"] = member
            with tenant_context(target):
                async with session_scope(engine) as session:
                    await session.execute(text("UPDATE users SET time_zone = :z WHERE id = :id"),
                                          {"z": zone, "id": member.id})
                    session.add(LearnerStats(user_id=member.id, streak_days=streak, best_streak=max(streak, 6),
                                             last_active_on=last_on))
    with tenant_context(tenant):
        assert await reset_streaks(engine, now=now, batch=2) == 2  # batches smaller than the learners
        assert await reset_streaks(engine, now=now) == 0  # idempotent

    async def streaks(target: Any) -> dict[str, tuple[int, int]]:
        with tenant_context(target):
            async with session_scope(engine) as session:
                out = {}
                for name in cases:
                    stats = await session.get(LearnerStats, members[f"{target.slug}:{name}"].id)
                    out[name] = (stats.streak_days, stats.best_streak)
                return out

    assert await streaks(tenant) == {name: (after, max(streak, 6)) for name, (_, _, streak, after) in cases.items()}
    assert await streaks(other) == {name: (streak, max(streak, 6)) for name, (_, _, streak, _) in cases.items()}
    assert "reset_broken_streaks" in SCHEDULED["hourly"]
