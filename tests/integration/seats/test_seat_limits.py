"""The seat limit holds everywhere a learner could get a seat: invitations, role changes, reactivations (pages and
API), and under two admins acting at the same moment: the database's lock decides, never Python alone."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tajiconnect.db.session import session_scope
from tests.conftest import host_of
from tests.integration.conftest import (
    bearer,
    bearer_for,
    load_user,
    post_form,
    problem_of,
    sign_in,
    tokens_for,
)
from tests.integration.seats.conftest import add_learner, member_count, seat_events, seat_of, seats_used


@pytest.fixture(scope="module")
async def full(new_org, engine):
    """One seat, held: any new seat holder is refused until it is freed."""
    org = await new_org("seatlim", seats=1)
    holder = await add_learner(engine, org.tenant, name="Holder")
    return org, holder


# --- refused when full, on the pages and in the API -------------------------------------------------------------


async def test_inviting_a_learner_is_refused_when_full(signed_in, browser, full, engine):
    org, _holder = full
    before = await member_count(engine, org.tenant)
    async with signed_in(org.admin) as client:
        page = await post_form(client, "/admin/users/invite", {"email": "page.learner@example.org", "roles": "student"})
        teacher = await post_form(client, "/admin/users/invite", {"email": "page.teacher@example.org",
                                                                    "roles": "teacher"})
    assert page.status_code == 409 and "Not enough seats: 1 more seat is needed (1 of 1 in use)." in page.text
    assert teacher.status_code == 303  # other roles hold no seat
    async with browser(org.tenant) as client:
        api = await client.post("/api/v1/users", json={"email": "api.learner@example.org", "roles": ["student"]},
                                headers=await bearer_for(client, org.admin))
    body = problem_of(api, 409)
    assert body["missing_seats"] == 1 and "1 more seat is needed" in body["detail"]
    assert await member_count(engine, org.tenant) == before + 1  # the teacher only
    assert await seats_used(engine, org.tenant) == 1


async def test_making_someone_a_learner_is_refused_when_full(signed_in, browser, full, make_user, engine):
    org, _holder = full
    teacher = await make_user(org.tenant, ["teacher"])
    async with signed_in(org.admin) as client:
        page = await post_form(client, f"/admin/users/{teacher.id}/roles", {"roles": ["teacher", "student"]})
    assert page.status_code == 409 and "1 more seat is needed" in page.text
    async with browser(org.tenant) as client:
        api = await client.patch(f"/api/v1/users/{teacher.id}", json={"roles": ["student"]},
                                 headers=await bearer_for(client, org.admin))
    assert problem_of(api, 409)["missing_seats"] == 1
    assert (await load_user(engine, org.tenant, teacher.id)).roles == ["teacher"]
    assert await seat_events(engine, org.tenant, teacher.id) == []


async def test_reactivating_a_learner_is_refused_when_full(signed_in, browser, full, engine):
    org, holder = full
    gone = await add_learner(engine, org.tenant, name="Gone", seat=False, status="deactivated")
    async with signed_in(org.admin) as client:
        page = await post_form(client, f"/admin/users/{gone.id}/reactivate")
    assert page.status_code == 409 and "1 more seat is needed" in page.text
    async with browser(org.tenant) as client:
        api = await client.post(f"/api/v1/users/{gone.id}/reactivate", headers=await bearer_for(client, org.admin))
    assert problem_of(api, 409)["missing_seats"] == 1
    assert (await load_user(engine, org.tenant, gone.id)).status == "deactivated"
    assert await seats_used(engine, org.tenant) == 1
    # Once the admin reclaims the holder's seat, the reactivation goes through (and takes that seat).
    async with browser(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        assert (await client.post("/api/v1/seats/reclaim", json={"user_id": str(holder.id)},
                                  headers=auth)).status_code == 200
        assert (await client.post(f"/api/v1/users/{gone.id}/reactivate", headers=auth)).status_code == 200
        # and the seat is back in use: nothing for the former holder now
        again = await client.post("/api/v1/seats/assign", json={"user_id": str(holder.id)}, headers=auth)
    assert problem_of(again, 409)["missing_seats"] == 1
    assert await seat_of(engine, org.tenant, gone.id) is not None
    assert await seats_used(engine, org.tenant) == 1


# --- two admins at the same moment -----------------------------------------------------------------------------


@asynccontextmanager
async def served(settings: Any) -> AsyncIterator[Any]:
    """The app served on the test's own event loop (as a real server would), so that requests run concurrently;
    entered and left in the test's own task (the lifespan must be). Its invitation emails go to a queue of their
    own that no worker drains."""
    from tajiconnect.app import create_app

    app = create_app(dataclasses.replace(settings, queue_name=f"{settings.queue_name}-seatrace"))
    async with app.lifespan():
        yield app


@asynccontextmanager
async def live_client(app: Any, tenant: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{host_of(tenant)}") as client:
        yield client


async def waiting_on_locks(engine: Any, count: int, within: float = 20.0) -> None:
    """Return once ``count`` backends of this database wait for a lock on the license row."""
    deadline = time.monotonic() + within
    async with engine.connect() as conn:
        while True:
            waiting = await conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                # (the statement's text is cut at 1 kB in pg_stat_activity: match its start, not its FOR UPDATE)
                " AND wait_event_type = 'Lock' AND query ILIKE 'SELECT%public.licenses%'"
            ))
            await conn.rollback()  # a new snapshot of pg_stat_activity on each look
            if waiting >= count:
                return
            assert time.monotonic() < deadline, f"only {waiting} of {count} requests reached the seat check"
            await asyncio.sleep(0.05)


async def test_two_admins_inviting_for_the_last_seat_at_the_same_moment(settings, new_org, make_user, engine):
    """Both invitations reach the seat check while the license row is held, then race for it: exactly one gets
    the last seat, the other is refused with 1 missing seat, and the count never exceeds the license."""
    org = await new_org("seatrace", seats=3)
    for i in range(2):
        await add_learner(engine, org.tenant, name=f"Learner {i}")
    other_admin = await make_user(org.tenant, ["org_admin"])
    before = await member_count(engine, org.tenant)
    async with served(settings) as app, live_client(app, org.tenant) as one, live_client(app, org.tenant) as two:
        first = bearer((await tokens_for(one, org.admin))["access_token"])
        second = bearer((await tokens_for(two, other_admin))["access_token"])

        async def invite(client: httpx.AsyncClient, auth: dict[str, str], email: str) -> httpx.Response:
            return await client.post("/api/v1/users", json={"email": email, "roles": ["student"]}, headers=auth)

        async with session_scope(engine, schema=None) as holder:
            # Hold the license row: both requests get as far as the seat check and wait there, together.
            await holder.execute(text("SELECT 1 FROM public.licenses WHERE tenant_id = :t FOR UPDATE"),
                                 {"t": org.tenant.id})
            race = asyncio.gather(invite(one, first, "race.one@example.org"), invite(two, second,
                                                                                     "race.two@example.org"))
            await waiting_on_locks(engine, 2)
        responses = await race  # the holder committed: the lock is free and they go, one after the other
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409)
    body = problem_of(refused, 409)
    assert body["missing_seats"] == 1 and "1 more seat is needed (3 of 3 in use)" in body["detail"]
    assert await seats_used(engine, org.tenant) == 3
    assert await member_count(engine, org.tenant) == before + 1  # the refused invitation left nothing behind


async def test_two_admins_on_the_pages_at_the_same_moment(settings, new_org, make_user, engine):
    """The same race through the invitation form, sent at once by two signed-in admins, a few times over."""
    org = await new_org("seatracep", seats=1)
    other_admin = await make_user(org.tenant, ["org_admin"])
    async with served(settings) as app, live_client(app, org.tenant) as one, live_client(app, org.tenant) as two:
        assert (await sign_in(one, org.admin.email)).status_code == 303
        assert (await sign_in(two, other_admin.email)).status_code == 303
        for round_ in range(3):
            if round_:  # make room for exactly one more learner
                await set_seats(engine, org, await seats_used(engine, org.tenant) + 1)
            answers = await asyncio.gather(
                post_form(one, "/admin/users/invite", {"email": f"p{round_}.one@example.org", "roles": "student"}),
                post_form(two, "/admin/users/invite", {"email": f"p{round_}.two@example.org", "roles": "student"}),
            )
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [303, 409], statuses
            refused = next(a for a in answers if a.status_code == 409)
            assert "1 more seat is needed" in refused.text
            assert await seats_used(engine, org.tenant) == round_ + 1


async def set_seats(engine: Any, org: Any, seats: int) -> None:
    from tajiconnect.domains.licensing.service import set_license

    await set_license(engine, org.tenant.slug, seats=seats)
