"""Pairing codes: format, keyed hash, single use, expiry, at most three live per learner, throttled redeeming,
and no code crosses from one organization to another."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.signin import MAX_FAILURES
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.parents import codes
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import audit_entries, bearer_for, post_form, seed_audit, tenant_sql
from tests.integration.parents.conftest import links_of

SHOWN = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$")


def test_codes_are_short_unambiguous_and_typed_loosely():
    made = {codes.new_code() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert len(code) == 8 and not set(code) & set("01IOL")
        assert SHOWN.match(codes.shown(code))
    assert codes.normalize(" k7mq-29xd ") == "K7MQ29XD"
    assert codes.normalize("K7MQ 29XD") == "K7MQ29XD"
    for bad in ("", None, "K7MQ-29X", "K7MQ-29XDD", "K7MQ-29X0", "K7MQ-29XI", "K7MQ_29XD", "\uff2b7MQ-29XD"):
        assert codes.normalize(bad) is None, bad


async def test_the_stored_hash_is_keyed_and_bound_to_the_organization(school, other_school):
    with tenant_context(school.tenant):
        here = codes.code_hash("K7MQ29XD", "secret-one")
        assert codes.code_hash("K7MQ29XD", "secret-two") != here
    with tenant_context(other_school.tenant):
        assert codes.code_hash("K7MQ29XD", "secret-one") != here
    assert here != hashlib.sha256(b"K7MQ29XD").hexdigest() and len(here) == 64


async def issue(engine, tenant, learner_id, secret, actor_id=None) -> codes.IssuedCode:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            learner = await session.get(User, learner_id)
            return await codes.issue(session, learner, Actor(id=actor_id or learner_id, email=learner.email),
                                     secret=secret)


async def redeem_api(client, member, code: str):
    return await client.post("/api/v1/pairing-codes/redeem", json={"code": code},
                             headers=await bearer_for(client, member))


async def test_a_code_works_once_and_only_until_it_expires(browser, fresh_org, make_user, engine, settings):
    secret = settings.secret_key.get()
    learner = await make_user(fresh_org.tenant, ["student"])
    mum = await make_user(fresh_org.tenant, ["parent"])
    dad = await make_user(fresh_org.tenant, ["parent"])
    first = await issue(engine, fresh_org.tenant, learner.id, secret)
    second = await issue(engine, fresh_org.tenant, learner.id, secret)
    async with browser(fresh_org.tenant) as client:
        ok = await redeem_api(client, mum, first.code.lower())
        assert ok.status_code == 200, ok.text
        assert ok.json()["child"]["id"] == str(learner.id) and ok.json()["created"] is True
        used = await redeem_api(client, dad, first.code)
        assert used.status_code == 409 and used.json()["reason"] == "used" and used.json()["field"] == "code"
        assert "already used" in used.json()["detail"]
        await tenant_sql(engine, fresh_org.tenant, "UPDATE pairing_codes SET expires_at = now() - interval '1 second' "
                         "WHERE used_at IS NULL")
        expired = await redeem_api(client, dad, second.code)
        assert expired.status_code == 409 and expired.json()["reason"] == "expired"
    assert await links_of(engine, fresh_org.tenant, mum.id) == {learner.id}
    assert await links_of(engine, fresh_org.tenant, dad.id) == set()
    [redeemed] = await audit_entries(engine, fresh_org.tenant, "pairing_code.redeemed")
    assert redeemed.subject_email == mum.email and redeemed.target_id == str(learner.id)
    failures = await audit_entries(engine, fresh_org.tenant, codes.FAILURE)
    assert [f.details["reason"] for f in failures] == ["used", "expired"]
    assert {f.subject_email for f in failures} == {dad.email}


async def test_a_learner_has_at_most_three_live_codes(browser, fresh_org, make_user, engine, settings):
    secret = settings.secret_key.get()
    learner = await make_user(fresh_org.tenant, ["student"])
    parent = await make_user(fresh_org.tenant, ["parent"])
    made = [await issue(engine, fresh_org.tenant, learner.id, secret) for _ in range(4)]
    assert made[-1].retired == 1
    with tenant_context(fresh_org.tenant):
        async with session_scope(engine) as session:
            assert (await codes.live_codes(session, learner.id))[0] == 3
    async with browser(fresh_org.tenant) as client:
        oldest = await redeem_api(client, parent, made[0].code)
        assert oldest.status_code == 409 and oldest.json()["reason"] == "expired"
        newest = await redeem_api(client, parent, made[3].code)
        assert newest.status_code == 200
        # Already linked: another code of the same learner still works, and says nothing changed.
        again = await redeem_api(client, parent, made[2].code)
        assert again.status_code == 200 and again.json()["created"] is False
    with tenant_context(fresh_org.tenant):
        async with session_scope(engine) as session:
            learner_row = await session.get(User, learner.id)
            assert await codes.withdraw(session, learner_row, Actor(email=learner.email)) == 1
            assert (await codes.live_codes(session, learner.id))[0] == 0


async def test_a_code_of_one_organization_means_nothing_in_another(
    browser, school, other_school, make_user, engine, settings
):
    learner = await make_user(school.tenant, ["student"])
    elsewhere = await make_user(other_school.tenant, ["parent"])
    issued = await issue(engine, school.tenant, learner.id, settings.secret_key.get())
    async with browser(other_school.tenant) as client:
        refused = await redeem_api(client, elsewhere, issued.code)
    assert refused.status_code == 404 and refused.json()["reason"] == "invalid"
    assert await links_of(engine, other_school.tenant, elsewhere.id) == set()
    # The code is still good where it was made.
    here = await make_user(school.tenant, ["parent"])
    async with browser(school.tenant) as client:
        assert (await redeem_api(client, here, issued.code)).status_code == 200


async def test_ten_wrong_codes_block_even_the_right_one(browser, fresh_org, make_user, engine, settings, signed_in):
    learner = await make_user(fresh_org.tenant, ["student"])
    parent = await make_user(fresh_org.tenant, ["parent"])
    good = await issue(engine, fresh_org.tenant, learner.id, settings.secret_key.get())
    async with browser(fresh_org.tenant) as client:
        headers = await bearer_for(client, parent)
        for i in range(MAX_FAILURES):
            wrong = await client.post("/api/v1/pairing-codes/redeem", json={"code": f"ZZZZ-ZZZ{(i % 8) + 2}"},
                                      headers=headers)
            assert wrong.status_code == 404 and wrong.json()["reason"] == "invalid"
        # Now even the right code is refused, with a clear answer.
        blocked = await client.post("/api/v1/pairing-codes/redeem", json={"code": good.code}, headers=headers)
        assert blocked.status_code == 429
        assert blocked.headers["content-type"].startswith("application/problem+json")
        assert "15 minutes" in blocked.json()["detail"]
    async with signed_in(parent) as page_client:
        page = await post_form(page_client, "/children/pair", {"pairing_code": good.code})
        assert page.status_code == 429 and "Wait 15 minutes" in page.text
    assert await links_of(engine, fresh_org.tenant, parent.id) == set()
    assert len(await audit_entries(engine, fresh_org.tenant, "pairing_code.throttled")) == 2


@pytest.mark.parametrize("by", ["parent", "address"])
async def test_the_throttle_counts_per_parent_and_per_address(browser, fresh_org, make_user, engine, settings, by):
    learner = await make_user(fresh_org.tenant, ["student"])
    parent = await make_user(fresh_org.tenant, ["parent"])
    issued = await issue(engine, fresh_org.tenant, learner.id, settings.secret_key.get())
    async with browser(fresh_org.tenant) as client:
        headers = await bearer_for(client, parent)
        if by == "parent":  # this parent's failures from elsewhere
            await seed_audit(engine, fresh_org.tenant, codes.FAILURE, MAX_FAILURES, email=parent.email,
                             ip="198.51.100.7")
        else:  # other people's failures from this address (the test client's)
            await seed_audit(engine, fresh_org.tenant, codes.FAILURE, MAX_FAILURES, email="x@else.example",
                             ip="testclient")
        refused = await client.post("/api/v1/pairing-codes/redeem", json={"code": issued.code}, headers=headers)
    assert refused.status_code == 429


async def test_failures_from_elsewhere_or_long_ago_do_not_block(browser, fresh_org, make_user, engine, settings):
    learner = await make_user(fresh_org.tenant, ["student"])
    parent = await make_user(fresh_org.tenant, ["parent"])
    issued = await issue(engine, fresh_org.tenant, learner.id, settings.secret_key.get())
    async with browser(fresh_org.tenant) as client:
        headers = await bearer_for(client, parent)
        await seed_audit(engine, fresh_org.tenant, codes.FAILURE, MAX_FAILURES, email=parent.email,
                         ip="198.51.100.7", ago=datetime.timedelta(minutes=16))
        await seed_audit(engine, fresh_org.tenant, codes.FAILURE, MAX_FAILURES, email="someone@else.example",
                         ip="198.51.100.8")
        # Sign-in failures are another count.
        await seed_audit(engine, fresh_org.tenant, "auth.sign_in.failure", MAX_FAILURES, email=parent.email,
                         ip="testclient")
        ok = await client.post("/api/v1/pairing-codes/redeem", json={"code": issued.code}, headers=headers)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("status", ["deactivated"])
async def test_a_code_of_a_learner_who_left_no_longer_links(browser, fresh_org, make_user, engine, settings, status):
    learner = await make_user(fresh_org.tenant, ["student"])
    parent = await make_user(fresh_org.tenant, ["parent"])
    issued = await issue(engine, fresh_org.tenant, learner.id, settings.secret_key.get())
    await tenant_sql(engine, fresh_org.tenant, "UPDATE users SET status = :s, seat_assigned_at = NULL WHERE id = :id",
                     s=status, id=learner.id)
    async with browser(fresh_org.tenant) as client:
        refused = await redeem_api(client, parent, issued.code)
    assert refused.status_code == 404 and refused.json()["reason"] == "invalid"
