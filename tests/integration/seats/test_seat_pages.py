"""The admin's seat pages: usage and warnings, learners with or without a seat, assign / reclaim / reassign with a
reason (audited, in the seat history), refusals that write nothing, and who may see them."""

from __future__ import annotations

import html
import re

import pytest

from tajiconnect.domains.licensing.service import set_license
from tests.integration.conftest import audit_entries, post_form, sign_in, tokens_for
from tests.integration.seats.conftest import add_learner, seat_events, seat_of, seats_used

HTMX = {"HX-Request": "true", "HX-Target": "seats-results"}


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="seat-row-([0-9a-f-]+)">', html)


def figure(html: str, name: str) -> int:
    match = re.search(rf'<dd id="seats-{name}">(\d+)</dd>', html)
    assert match, name
    return int(match.group(1))


@pytest.fixture(scope="module")
async def classroom(new_org, engine):
    """5 seats: 3 learners holding one (Ada, Ben, Cy), 1 learner without (Dee), 1 deactivated learner, 1 teacher."""
    org = await new_org("seatp", seats=5)
    learners = {
        "ada": await add_learner(engine, org.tenant, name="Ada Seat"),
        "ben": await add_learner(engine, org.tenant, name="Ben Seat"),
        "cy": await add_learner(engine, org.tenant, name="Cy Seat"),
        "dee": await add_learner(engine, org.tenant, name="Dee Noseat", seat=False),
        "eve": await add_learner(engine, org.tenant, name="Eve Gone", seat=False, status="deactivated"),
    }
    from tests.integration.conftest import create_member

    learners["tom"] = await create_member(engine, org.tenant, ["teacher"], name="Tom Teacher")
    return org, learners


async def test_usage_license_and_learners(signed_in, classroom):
    org, people = classroom
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/seats")
        holding = await client.get("/admin/seats?seat=holding")
        without = await client.get("/admin/seats?seat=without")
        search = await client.get("/admin/seats?q=NOSEAT")
    assert page.status_code == 200
    assert (figure(page.text, "used"), figure(page.text, "purchased"), figure(page.text, "available")) == (3, 5, 2)
    assert 'id="license-plan"' in page.text and "Active" in page.text
    assert "Only 2 seats are free." in page.text  # near the limit: fewer than 3 left
    rows = row_ids(page.text)
    assert len(rows) == 5 and str(people["tom"].id) not in rows  # learners only
    assert [str(people[k].id) for k in ("ada", "ben", "cy")] == row_ids(holding.text)
    assert set(row_ids(without.text)) == {str(people["dee"].id), str(people["eve"].id)}
    assert row_ids(search.text) == [str(people["dee"].id)]
    # Actions fit the state: reclaim/reassign for holders, assign for an active learner without, none when deactivated.
    assert f'/admin/seats/{people["ada"].id}/reclaim' in page.text
    assert f'/admin/seats/{people["ada"].id}/reassign' in page.text
    assert f'/admin/seats/{people["dee"].id}/assign' in page.text
    assert f'/admin/seats/{people["eve"].id}/assign' not in page.text
    assert 'href="/admin/seats"' in page.text  # in the admin navigation


async def test_htmx_filter_swaps_only_the_results(signed_in, classroom):
    org, _people = classroom
    async with signed_in(org.admin) as client:
        partial = await client.get("/admin/seats?seat=holding", headers=HTMX)
    assert partial.status_code == 200
    assert "<html" not in partial.text and "3 learners" in partial.text and len(row_ids(partial.text)) == 3


async def test_learners_are_paginated_and_pager_links_keep_the_filter(signed_in, new_org, engine):
    org = await new_org("seatpg", seats=100)
    for i in range(30):
        await add_learner(engine, org.tenant, name=f"Learner {i:02d}", seat=i % 10 != 0, password=None)
    async with signed_in(org.admin) as client:
        first = await client.get("/admin/seats")
        second = await client.get("/admin/seats?page=2")
        holding = await client.get("/admin/seats?seat=holding")
        holding2 = await client.get("/admin/seats?seat=holding&page=2")
        without = await client.get("/admin/seats?seat=without")
    assert "30 learners" in first.text and "Page 1 of 2" in first.text
    assert len(row_ids(first.text)) == 25 and len(row_ids(second.text)) == 5
    assert set(row_ids(first.text)).isdisjoint(row_ids(second.text))
    assert "27 learners" in holding.text and 'href="?q=&seat=holding&page=2"' in html.unescape(holding.text)
    assert len(row_ids(holding2.text)) == 2
    assert "3 learners" in without.text and "Page 1 of" not in without.text


async def test_assign_reclaim_and_reassign_with_reasons(signed_in, new_org, engine):
    org = await new_org("seatact", seats=2)
    ann = await add_learner(engine, org.tenant, name="Ann", seat=False)
    bob = await add_learner(engine, org.tenant, name="Bob", seat=False)
    async with signed_in(org.admin) as client:
        confirm = await client.get(f"/admin/seats/{ann.id}/assign")
        assert confirm.status_code == 200 and "Reason (optional)" in confirm.text
        done = await post_form(client, f"/admin/seats/{ann.id}/assign", {"reason": "joined class 4B"})
        assert done.status_code == 303 and done.headers["location"] == "/admin/seats?notice=seat_assigned"
        assert "The seat was assigned." in (await client.get(done.headers["location"])).text
        # Both seats now taken (Ann, and Bob below): the reassign still works, as one step.
        await post_form(client, f"/admin/seats/{bob.id}/assign")
        carl = await add_learner(engine, org.tenant, name="Carl", seat=False)
        choose = await client.get(f"/admin/seats/{ann.id}/reassign")
        assert f'value="{carl.id}"' in choose.text and f'value="{bob.id}"' not in choose.text  # only those without
        moved = await post_form(client, f"/admin/seats/{ann.id}/reassign", {"to": str(carl.id), "reason": "left"})
        assert moved.status_code == 303 and moved.headers["location"] == "/admin/seats?notice=seat_reassigned"
        back = await post_form(client, f"/admin/seats/{bob.id}/reclaim", {"reason": ""})
        assert back.status_code == 303
    assert await seat_of(engine, org.tenant, ann.id) is None
    assert await seat_of(engine, org.tenant, carl.id) is not None
    assert await seat_of(engine, org.tenant, bob.id) is None
    assert await seats_used(engine, org.tenant) == 1
    # The history: who, what, by whom, why.
    history = [(e.user_email, e.change, e.reason, e.actor_email, e.note) for e in await seat_events(engine, org.tenant)]
    admin = org.admin.email
    assert history == [
        (ann.email, "assigned", "assigned", admin, "joined class 4B"),
        (bob.email, "assigned", "assigned", admin, None),
        (ann.email, "released", "reassigned", admin, "left"),
        (carl.email, "assigned", "reassigned", admin, "left"),
        (bob.email, "released", "reclaimed", admin, None),
    ]
    audit = [(e.action, e.subject_email, e.actor_email, e.details.get("reason")) for e in await audit_entries(
        engine, org.tenant) if e.action.startswith("seat.")]
    assert audit == [
        ("seat.assigned", ann.email, admin, "joined class 4B"),
        ("seat.assigned", bob.email, admin, None),
        ("seat.reassigned", carl.email, admin, "left"),
        ("seat.reclaimed", bob.email, admin, None),
    ]
    reassigned = next(e for e in await audit_entries(engine, org.tenant, "seat.reassigned"))
    assert reassigned.details["from_email"] == ann.email
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/seats/history")
    assert page.status_code == 200 and page.text.count('class="seat-event"') == 5
    assert "joined class 4B" in page.text and "Reassigned" in page.text and f"by {admin}" in page.text


async def test_a_reclaimed_learner_keeps_account_history_and_sign_in(signed_in, browser, new_org, engine):
    org = await new_org("seatrc", seats=3)
    lea = await add_learner(engine, org.tenant, name="Lea")
    async with signed_in(org.admin) as client:
        page = await client.get(f"/admin/seats/{lea.id}/reclaim")
        assert "can still sign in" in page.text
        assert (await post_form(client, f"/admin/seats/{lea.id}/reclaim", {"reason": "graduated"})).status_code == 303
        listed = await client.get("/admin/seats?q=lea")
        member = await client.get(f"/admin/users/{lea.id}")
    assert row_ids(listed.text) == [str(lea.id)] and "No seat" in listed.text
    assert member.status_code == 200 and "Active" in member.text  # the account is as it was
    async with browser(org.tenant) as client:
        assert (await sign_in(client, lea.email)).status_code == 303  # still signs in
        assert (await tokens_for(client, lea))["access_token"]
    events = await seat_events(engine, org.tenant, lea.id)
    assert [(e.change, e.reason, e.note) for e in events] == [
        ("assigned", "assigned", None), ("released", "reclaimed", "graduated")
    ]
    assert [e.action for e in await audit_entries(engine, org.tenant, "seat.reclaimed")] == ["seat.reclaimed"]
    # And a seat can come back.
    async with signed_in(org.admin) as client:
        assert (await post_form(client, f"/admin/seats/{lea.id}/assign")).status_code == 303
    assert await seat_of(engine, org.tenant, lea.id) is not None


async def test_assigning_with_no_seat_free_is_refused_naming_the_missing_seat(signed_in, new_org, engine):
    org = await new_org("seatfull", seats=1)
    await add_learner(engine, org.tenant, name="Holder")
    wait = await add_learner(engine, org.tenant, name="Waiting", seat=False)
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/seats")
        refused = await post_form(client, f"/admin/seats/{wait.id}/assign", {"reason": "please"})
    assert "No seat is free" in page.text
    assert refused.status_code == 409
    assert "Not enough seats: 1 more seat is needed (1 of 1 in use)." in refused.text
    assert 'value="please"' in refused.text  # what the admin typed is kept
    assert await seat_of(engine, org.tenant, wait.id) is None
    assert await seats_used(engine, org.tenant) == 1
    assert await seat_events(engine, org.tenant, wait.id) == []
    assert await audit_entries(engine, org.tenant, "seat.assigned") == []


async def test_reassign_over_a_lowered_license_is_refused_and_writes_nothing(signed_in, new_org, engine):
    org = await new_org("seatover", seats=3)
    holders = [await add_learner(engine, org.tenant, name=f"H{i}") for i in range(3)]
    newcomer = await add_learner(engine, org.tenant, name="New", seat=False)
    await set_license(engine, org.tenant.slug, seats=1)  # the operator lowered it: 3 held, 1 bought
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/seats")
        refused = await post_form(client, f"/admin/seats/{holders[0].id}/reassign", {"to": str(newcomer.id)})
    assert "2 more seats are in use than the license allows" in page.text
    assert refused.status_code == 409 and "2 more seats are needed (3 of 1 in use)" in refused.text
    assert await seat_of(engine, org.tenant, holders[0].id) is not None
    assert await seat_of(engine, org.tenant, newcomer.id) is None
    assert len(await seat_events(engine, org.tenant)) == 3  # only the three original assignments
    # Reclaiming still works, so the admin can get back under the limit.
    async with signed_in(org.admin) as client:
        assert (await post_form(client, f"/admin/seats/{holders[1].id}/reclaim")).status_code == 303
    assert await seats_used(engine, org.tenant) == 2


async def test_refusals_for_the_learners_state(signed_in, classroom, engine):
    org, people = classroom
    async with signed_in(org.admin) as client:
        twice = await post_form(client, f"/admin/seats/{people['ada'].id}/assign")
        none = await post_form(client, f"/admin/seats/{people['dee'].id}/reclaim")
        gone = await post_form(client, f"/admin/seats/{people['eve'].id}/assign")
        teacher = await post_form(client, f"/admin/seats/{people['tom'].id}/assign")
        to_holder = await post_form(client, f"/admin/seats/{people['ada'].id}/reassign", {"to": str(people["ben"].id)})
        to_self = await post_form(client, f"/admin/seats/{people['ada'].id}/reassign", {"to": str(people["ada"].id)})
        nobody = await post_form(client, f"/admin/seats/{people['ada'].id}/reassign", {"to": ""})
        too_long = await post_form(client, f"/admin/seats/{people['dee'].id}/assign", {"reason": "x" * 501})
    assert twice.status_code == 409 and "Ada Seat already holds a seat." in twice.text
    assert none.status_code == 409 and "Dee Noseat holds no seat." in none.text
    assert gone.status_code == 409 and "Only invited or active learners can hold a seat." in gone.text
    assert teacher.status_code == 409
    assert to_holder.status_code == 409 and "Ben Seat already holds a seat." in to_holder.text
    assert to_self.status_code == 409 and "Choose another learner" in to_self.text
    assert nobody.status_code == 422 and "Choose the learner who receives the seat." in nobody.text
    assert too_long.status_code == 422 and "Use at most 500 characters." in too_long.text
    assert await seat_of(engine, org.tenant, people["dee"].id) is None
    assert await seats_used(engine, org.tenant) == 3


@pytest.mark.parametrize("roles", [["teacher"], ["manager"], ["student"]])
async def test_members_without_admin_rights_get_403(browser, classroom, make_user, engine, roles):
    org, people = classroom
    member = await make_user(org.tenant, roles)
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        for path in ("/admin/seats", "/admin/seats/history", f"/admin/seats/{people['dee'].id}/assign",
                     f"/admin/seats/{people['ada'].id}/reassign"):
            assert (await client.get(path)).status_code == 403, path
        assert (await post_form(client, f"/admin/seats/{people['dee'].id}/assign")).status_code == 403
        assert (await post_form(client, f"/admin/seats/{people['ada'].id}/reclaim")).status_code == 403
        assert 'href="/admin/seats"' not in (await client.get("/")).text
    assert await seat_of(engine, org.tenant, people["dee"].id) is None
    assert await seat_of(engine, org.tenant, people["ada"].id) is not None


async def test_anonymous_visitors_are_sent_to_sign_in(browser, classroom):
    org, _people = classroom
    async with browser(org.tenant) as client:
        response = await client.get("/admin/seats")
    assert response.status_code == 303 and response.headers["location"] == "/auth/sign-in?next=/admin/seats"


async def test_another_organizations_learners_are_404_and_untouched(signed_in, classroom, new_org, engine):
    org, people = classroom
    other = await new_org("seatoth", seats=5)
    theirs = await add_learner(engine, other.tenant, name="Theirs", seat=False)
    their_holder = await add_learner(engine, other.tenant, name="Their holder")
    async with signed_in(org.admin) as client:
        for path in (f"/admin/seats/{theirs.id}/assign", f"/admin/seats/{their_holder.id}/reclaim",
                     f"/admin/seats/{their_holder.id}/reassign", "/admin/seats/not-a-uuid/assign"):
            assert (await client.get(path)).status_code == 404, path
        assert (await post_form(client, f"/admin/seats/{theirs.id}/assign")).status_code == 404
        assert (await post_form(client, f"/admin/seats/{their_holder.id}/reclaim")).status_code == 404
        # Giving our seat to their learner: not a member here.
        refused = await post_form(client, f"/admin/seats/{people['cy'].id}/reassign", {"to": str(theirs.id)})
        listed = await client.get("/admin/seats?q=theirs")
    assert refused.status_code == 422
    assert row_ids(listed.text) == []
    assert await seat_of(engine, other.tenant, theirs.id) is None
    assert await seat_of(engine, other.tenant, their_holder.id) is not None
    assert await seat_of(engine, org.tenant, people["cy"].id) is not None
    assert await seat_events(engine, other.tenant, theirs.id) == []
