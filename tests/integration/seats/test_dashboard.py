"""The admin dashboard (an org admin's home): seats, members by role, learners active this week, groups, pending
invitations and recent activity, counted right, for admins only, in a fixed number of statements."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest

from tajiconnect.db.session import session_scope
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import create_member, seed_audit, set_user, sign_in, statements
from tests.integration.seats.conftest import add_learner

NOW = datetime.datetime.now(datetime.UTC)


def dd(html: str, attr: str, value: str) -> int:
    match = re.search(rf'<dd {attr}="{value}">(\d+)</dd>', html)
    assert match, (attr, value)
    return int(match.group(1))


def seat_figure(html: str, name: str) -> int:
    match = re.search(rf'<dd id="seats-{name}">(\d+)</dd>', html)
    assert match, name
    return int(match.group(1))


async def add_groups(
    engine: Any, tenant: Any, spec: list[tuple[str, str, str | None, list[uuid.UUID], bool]],
    leader: uuid.UUID | None = None,
) -> None:
    """``(name, kind, parent name, member ids, archived)`` each; besides, a former member (an ended membership)
    in each group with members, and ``leader`` leading each: neither counts as a member."""
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            made: dict[str, Group] = {}
            for name, kind, parent, members, archived in spec:
                group = Group(name=name, kind=kind, parent_id=made[parent].id if parent else None,
                              depth=1 if parent else 0, archived_at=NOW if archived else None)
                session.add(group)
                await session.flush()
                made[name] = group
                session.add_all(GroupMembership(group_id=group.id, user_id=m, role="member") for m in members)
                if members:  # a former member: history, not counted
                    session.add(GroupMembership(group_id=group.id, user_id=members[0], role="member", ended_at=NOW))
                if leader is not None:
                    session.add(GroupMembership(group_id=group.id, user_id=leader, role="leader"))


@pytest.fixture(scope="module")
async def campus(new_org, engine):
    org = await new_org("dash", seats=10, kind="school")
    ids: dict[str, uuid.UUID] = {}
    for key, seen in (("l1", 1), ("l2", 6), ("l3", 10)):  # days since their last sign-in
        member = await add_learner(engine, org.tenant, name=key)
        await set_user(engine, org.tenant, member.id, last_sign_in_at=NOW - datetime.timedelta(days=seen))
        ids[key] = member.id
    invited = await add_learner(engine, org.tenant, name="Invited learner", password=None)
    await set_user(engine, org.tenant, invited.id, created_at=NOW - datetime.timedelta(days=3))
    gone = await add_learner(engine, org.tenant, name="Gone", seat=False, status="deactivated")
    await set_user(engine, org.tenant, gone.id, last_sign_in_at=NOW)  # signed in, but no longer active
    ids["gone"] = gone.id
    staff = [await create_member(engine, org.tenant, roles) for roles in (["teacher"], ["teacher", "parent"],
                                                                        ["manager"])]
    old_invite = await create_member(engine, org.tenant, ["teacher"], None, name="Invited teacher")
    await set_user(engine, org.tenant, old_invite.id, created_at=NOW - datetime.timedelta(days=9))
    await add_groups(engine, org.tenant, [
        ("Grade 1", "grade", None, [], False),
        ("Class 1A", "class", "Grade 1", [ids["l1"], ids["l2"], ids["l3"]], False),
        ("Class 1B", "class", "Grade 1", [ids["l1"]], False),
        ("Old class", "class", "Grade 1", [ids["l1"], ids["l2"], ids["l3"], ids["gone"]], True),
    ], leader=staff[0].id)
    await seed_audit(engine, org.tenant, "test.older", 12, email="someone@example.org", ip=None,
                     ago=datetime.timedelta(hours=1))
    await seed_audit(engine, org.tenant, "test.latest", 1, email="latest@example.org", ip=None)
    return org, invited, old_invite


async def test_the_dashboard_counts(signed_in, campus):
    org, invited, old_invite = campus
    async with signed_in(org.admin) as client:
        home = await client.get("/")
    assert home.status_code == 200
    text = home.text
    assert 'id="dashboard-seats"' in text and "Dashboard" in text
    # Seats: 3 active learners and the invited one hold a seat; the deactivated one does not.
    assert (seat_figure(text, "used"), seat_figure(text, "purchased"), seat_figure(text, "available")) == (4, 10, 6)
    assert 'id="seat-warning"' not in text
    # Members by role: invited and active (the admin, 4 learners, 3 teachers, 1 parent, 1 manager).
    roles = {r: dd(text, "data-role", r) for r in ("org_admin", "manager", "teacher", "student", "parent", "employer")}
    assert roles == {"org_admin": 1, "manager": 1, "teacher": 3, "student": 4, "parent": 1, "employer": 0}
    assert "9 members" in text and "1 deactivated" in text
    # Learners active this week: signed in within 7 days and active (l1, l2; not l3, not the deactivated one).
    assert re.search(r'id="active-learners"><strong>2</strong> of 3 active learners', text)
    # Groups: kinds of a school, archived ones left out; the largest by current members, ended ones not counted.
    assert (dd(text, "data-kind", "grade"), dd(text, "data-kind", "class")) == (1, 2)
    assert "3 groups" in text
    largest = re.search(r'<ul class="plain" id="largest-groups">(.*?)</ul>', text, re.S).group(1)
    assert re.findall(r'<li><a href="/groups/[0-9a-f-]+">([^<]+)</a> <small', largest) == ["Class 1A", "Class 1B"]
    assert "3 members" in largest and "1 member<" in largest
    assert 'href="/groups"' in text
    # Invitations: two pending, the oldest first, and a link to the filtered members list.
    assert "2 invitations not yet accepted" in text
    assert text.index(f'href="/admin/users/{old_invite.id}"') < text.index(f'href="/admin/users/{invited.id}"')
    assert 'href="/admin/users?status=invited"' in text
    # Recent activity: the 10 latest entries, newest first.
    audit = re.search(r'id="dashboard-audit">(.*?)</section>', text, re.S).group(1)
    actions = re.findall(r"<code>([^<]+)</code>", audit)
    assert len(actions) == 10  # of 13 seeded and the admin's own
    tests = [a for a in actions if a.startswith("test.")]
    assert tests[0] == "test.latest" and set(tests[1:]) == {"test.older"}
    times = re.findall(r'<time datetime="([^"]+)"', audit)
    assert times == sorted(times, reverse=True)
    assert 'href="/admin/audit"' in audit


async def test_the_warning_near_the_limit(signed_in, new_org, engine):
    org = await new_org("dashnear", seats=5)
    for i in range(4):
        await add_learner(engine, org.tenant, name=f"n{i}", password=None)
    async with signed_in(org.admin) as client:
        home = await client.get("/")
    assert "Only 1 seat is free." in home.text and 'id="seat-warning"' in home.text


@pytest.mark.parametrize("roles", [["teacher"], ["manager"], ["student"], ["parent"]])
async def test_other_roles_keep_their_home(browser, campus, make_user, roles):
    org, _invited, _old = campus
    member = await make_user(org.tenant, roles)
    async with browser(org.tenant) as client:
        await sign_in(client, member.email)
        home = await client.get("/")
    assert home.status_code == 200
    assert "Hello," in home.text and 'href="/account/profile"' in home.text
    assert 'id="dashboard-seats"' not in home.text and "seats-used" not in home.text
    assert "test.latest" not in home.text


async def test_anonymous_visitors_see_the_welcome_page(browser, campus):
    org, _invited, _old = campus
    async with browser(org.tenant) as client:
        home = await client.get("/")
    assert home.status_code == 200 and 'href="/auth/sign-in"' in home.text and "dashboard" not in home.text


async def test_a_fixed_number_of_statements_whatever_the_size(signed_in, new_org, engine):
    """No statement per learner, group or entry: more of everything, the same statements."""
    org = await new_org("dashn1", seats=1000, kind="company")

    async with signed_in(org.admin) as client:
        await client.get("/")  # caches warm (tenant lookup, templates)
        small = await statements(client, "/")
        members = [(await add_learner(engine, org.tenant, name=f"w{i}", password=None)).id for i in range(30)]
        await add_groups(engine, org.tenant, [(f"Dept {i}", "department", None, members[i:i + 5], False)
                                              for i in range(12)])
        await seed_audit(engine, org.tenant, "test.more", 40, email=None, ip=None)
        large = await statements(client, "/")
    assert small == large
    assert large <= 7, large  # the session, the member and the organization settings; the dashboard: one
