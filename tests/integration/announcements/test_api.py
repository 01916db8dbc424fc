"""The announcements API: who may post to which scope, who receives, parents only when included, scheduled
publishing, withdrawing, another organization."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import update

from tajiconnect.domains.announcements.models import Announcement
from tajiconnect.domains.announcements.tasks import publish_due_announcements
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.tasks.base import enqueue
from tajiconnect.tenancy.context import tenant_context
from tests.integration.announcements.conftest import body, deliver, notified, recipients
from tests.integration.conftest import audit_entries, bearer_for, problem_of
from tests.integration.groups.conftest import tenant_session

API = "/api/v1/announcements"


async def post(client, member, data):
    return await client.post(API + "/", json=data, headers=await bearer_for(client, member))


async def test_who_may_post_to_which_scope(school, client_for):
    s = school
    cases = [
        # (who, scope, target, expected status)
        (s.admin, "tenant", None, 201), (s.admin, "group", s.group_id, 201), (s.admin, "course", s.course_id, 201),
        (s.teacher, "group", s.group_id, 201), (s.co_leader, "group", s.group_id, 201),
        (s.teacher, "tenant", None, 403), (s.teacher, "course", s.course_id, 404),
        (s.teacher, "group", s.other_group_id, 404),
        (s.course_owner, "course", s.course_id, 201), (s.co_teacher, "course", s.course_id, 201),
        (s.course_owner, "group", s.group_id, 404), (s.other_teacher, "course", s.course_id, 404),
        (s.manager, "group", s.group_id, 404), (s.manager, "tenant", None, 403),
        (s.pupil, "group", s.group_id, 403), (s.pupil, "tenant", None, 403),
        (s.parent, "group", s.group_id, 403), (s.unlinked_parent, "course", s.course_id, 403),
        (s.teacher, "group", uuid.uuid4(), 404),
    ]
    async with client_for(s.org.tenant) as client:
        for who, scope, target, expected in cases:
            response = await post(client, who, body(scope, target, publish_at=_later()))  # scheduled: no fan-out
            assert response.status_code == expected, (who.email, scope, response.text)
            if expected != 201:
                problem_of(response, expected)
        missing = await post(client, s.teacher, body("group"))
        assert problem_of(missing, 409)["field"] == "group_id"


async def test_a_class_announcement_reaches_its_learners_and_only_included_parents(
        school, client_for, engine, run_jobs):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        with_parents = await post(client, s.teacher, body("group", s.group_id, include_parents=True))
        assert with_parents.status_code == 201, with_parents.text
        without = await post(client, s.teacher, body("group", s.group_id))
        assert without.status_code == 201
    await deliver(engine, t, run_jobs)
    first, second = with_parents.json()["id"], without.json()["id"]
    assert await recipients(engine, t, first) == {
        s.pupil.id: "audience", s.classmate.id: "audience", s.co_leader.id: "audience", s.parent.id: "parent"}
    assert await recipients(engine, t, second) == {
        s.pupil.id: "audience", s.classmate.id: "audience", s.co_leader.id: "audience"}
    assert await notified(engine, t, first) == {s.pupil.id: 1, s.classmate.id: 1, s.co_leader.id: 1, s.parent.id: 1}
    assert with_parents.json()["recipient_count"] == 4 and with_parents.json()["parent_count"] == 1

    async with client_for(t) as client:
        for who, sees_first, sees_second in [
            (s.pupil, True, True), (s.parent, True, False), (s.unlinked_parent, False, False),
            (s.course_parent, False, False), (s.outsider, False, False), (s.other_teacher, False, False),
            (s.course_learner, False, False), (s.teacher, True, True), (s.admin, True, True),
        ]:
            headers = await bearer_for(client, who)
            for announcement_id, sees in ((first, sees_first), (second, sees_second)):
                response = await client.get(f"{API}/{announcement_id}", headers=headers)
                assert response.status_code == (200 if sees else 404), (who.email, response.text)
            listing = (await client.get(API + "/?per_page=100", headers=headers)).json()
            listed = {item["id"] for item in listing["items"]}
            assert (first in listed) == sees_first and (second in listed) == sees_second, who.email
        mine = (await client.get(f"{API}/{first}", headers=await bearer_for(client, s.parent))).json()
        assert mine["addressed_to_me"] and not mine["manages"] and mine["recipient_count"] is None
        assert "<strong>all</strong>" in mine["body_html"]


async def test_a_course_announcement_goes_to_enrolled_learners_staff_and_their_parents(
        school, client_for, engine, run_jobs):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        response = await post(client, s.co_teacher, body("course", s.course_id, include_parents=True))
        assert response.status_code == 201, response.text
    await deliver(engine, t, run_jobs)
    # The withdrawn learner is not addressed, nor their parent for them (the parent is, for the enrolled child).
    assert await recipients(engine, t, response.json()["id"]) == {
        s.course_learner.id: "audience", s.course_owner.id: "audience", s.course_parent.id: "parent"}


async def test_tenant_wide_reaches_every_member_but_parents_unless_included(school, client_for, engine, run_jobs):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        plain = await post(client, s.admin, body("tenant"))
        parents = await post(client, s.admin, body("tenant", include_parents=True))
    plain_ids, parent_ids = set(await recipients(engine, t, plain.json()["id"])), await recipients(
        engine, t, parents.json()["id"])
    assert s.admin.id not in plain_ids  # the author
    assert {s.teacher.id, s.pupil.id, s.outsider.id, s.manager.id} <= plain_ids
    assert not {s.parent.id, s.course_parent.id, s.unlinked_parent.id} & plain_ids
    assert parent_ids[s.parent.id] == "parent" and parent_ids[s.course_parent.id] == "parent"
    assert s.unlinked_parent.id not in parent_ids


async def test_the_audience_is_the_one_at_publishing(school, client_for, engine, make_user):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        response = await post(client, s.teacher, body("group", s.group_id))
        newcomer = await make_user(t, ["student"])
        async with tenant_session(engine, t) as session:
            from tajiconnect.domains.groups.models import GroupMembership

            session.add(GroupMembership(group_id=s.group_id, user_id=newcomer.id, role="member"))
        later = await client.get(f"{API}/{response.json()['id']}", headers=await bearer_for(client, newcomer))
        assert later.status_code == 404


async def test_scheduled_publishing_by_the_minutely_task(school, client_for, engine, run_jobs):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        teacher = await bearer_for(client, s.teacher)
        created = await client.post(API + "/", json=body("group", s.group_id, publish_at=_later()), headers=teacher)
        assert created.status_code == 201 and created.json()["status"] == "scheduled"
        announcement_id = created.json()["id"]
        pupil = await bearer_for(client, s.pupil)
        assert (await client.get(f"{API}/{announcement_id}", headers=pupil)).status_code == 404
        changed = await client.patch(f"{API}/{announcement_id}", json={"title": "Trip on Friday"}, headers=teacher)
        assert changed.status_code == 200 and changed.json()["title"] == "Trip on Friday"
        past = await client.patch(f"{API}/{announcement_id}", json={"publish_at": "2001-01-01T00:00:00Z"},
                                  headers=teacher)
        assert problem_of(past, 409)["field"] == "publish_at"
        for extreme in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-14:00", "9999-12-31T23:59:00Z"):
            far = await client.patch(f"{API}/{announcement_id}", json={"publish_at": extreme}, headers=teacher)
            assert problem_of(far, 409)["field"] == "publish_at", extreme
        naive = await client.patch(f"{API}/{announcement_id}", json={"publish_at": "2099-01-01T00:00:00"},
                                   headers=teacher)
        problem_of(naive, 400)
        refused = await client.patch(f"{API}/{announcement_id}", json={"title": "x"},
                                     headers=await bearer_for(client, s.co_leader))
        problem_of(refused, 404)  # not the author, not an admin, not (yet) a recipient

        await run_jobs()
        with tenant_context(t):  # not due yet: nothing happens
            await enqueue(run_jobs.queues, publish_due_announcements, key=f"early-{uuid.uuid4()}")
        await deliver(engine, t, run_jobs)
        assert (await client.get(f"{API}/{announcement_id}", headers=pupil)).status_code == 404

        async with tenant_session(engine, t) as session:
            await session.execute(update(Announcement).where(Announcement.id == uuid.UUID(announcement_id)).values(
                publish_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)))
        for _ in range(2):  # twice: published once
            with tenant_context(t):
                await enqueue(run_jobs.queues, publish_due_announcements, key=f"due-{uuid.uuid4()}")
            await deliver(engine, t, run_jobs)
        seen = await client.get(f"{API}/{announcement_id}", headers=pupil)
        assert seen.status_code == 200 and seen.json()["status"] == "published"
        assert seen.json()["title"] == "Trip on Friday"
        counts = await notified(engine, t, announcement_id)  # (a newcomer of an earlier test is a member now)
        assert {s.pupil.id, s.classmate.id, s.co_leader.id} <= set(counts) and set(counts.values()) == {1}
        assert s.teacher.id not in counts and s.parent.id not in counts
        late = await client.patch(f"{API}/{announcement_id}", json={"title": "Too late"}, headers=teacher)
        assert problem_of(late, 409)["field"] == "status"
        recipient_edit = await client.patch(f"{API}/{announcement_id}", json={"title": "x"}, headers=pupil)
        problem_of(recipient_edit, 403)


async def test_publishing_now_needs_the_right_to_address_the_audience(school, client_for, engine, make_user):
    """A leader who schedules to the class, then stops leading it, cannot publish it now (the scheduled run would
    cancel it); an admin still can."""
    s, t = school, school.org.tenant
    leader = await make_user(t, ["teacher"])
    async with tenant_session(engine, t) as session:
        session.add(GroupMembership(group_id=s.group_id, user_id=leader.id, role="leader"))
    async with client_for(t) as client:
        auth = await bearer_for(client, leader)
        created = await client.post(API + "/", json=body("group", s.group_id, publish_at=_later()), headers=auth)
        assert created.status_code == 201, created.text
        announcement_id = created.json()["id"]
        async with tenant_session(engine, t) as session:
            await session.execute(update(GroupMembership).where(GroupMembership.user_id == leader.id).values(
                ended_at=datetime.datetime.now(datetime.UTC)))
        refused = await client.patch(f"{API}/{announcement_id}", json={"publish_now": True}, headers=auth)
        problem_of(refused, 403)
        assert (await client.get(f"{API}/{announcement_id}", headers=auth)).json()["status"] == "scheduled"
        published = await client.patch(f"{API}/{announcement_id}", json={"publish_now": True},
                                       headers=await bearer_for(client, s.admin))
        assert published.status_code == 200 and published.json()["status"] == "published"


async def test_cancel_and_withdraw_are_audited_and_gone(school, client_for, engine):
    s, t = school, school.org.tenant
    async with client_for(t) as client:
        teacher = await bearer_for(client, s.teacher)
        scheduled = (await client.post(API + "/", json=body("group", s.group_id, publish_at=_later()),
                                       headers=teacher)).json()["id"]
        published = (await client.post(API + "/", json=body("group", s.group_id), headers=teacher)).json()["id"]
        pupil = await bearer_for(client, s.pupil)
        problem_of(await client.delete(f"{API}/{published}", headers=pupil), 403)
        problem_of(await client.delete(f"{API}/{published}", headers=await bearer_for(client, s.other_teacher)), 404)
        assert (await client.delete(f"{API}/{scheduled}", headers=teacher)).status_code == 204
        assert (await client.delete(f"{API}/{published}", headers=await bearer_for(client, s.admin))).status_code == 204
        for announcement_id in (scheduled, published):
            problem_of(await client.get(f"{API}/{announcement_id}", headers=teacher), 404)
            problem_of(await client.delete(f"{API}/{announcement_id}", headers=teacher), 404)
        problem_of(await client.get(f"{API}/{published}", headers=pupil), 404)
        statuses = {item["id"]: item["status"] for item in (await client.get(
            API + "/?mine=true&per_page=100", headers=teacher)).json()["items"]}
        assert statuses[scheduled] == "cancelled" and statuses[published] == "withdrawn"
        inbox = {item["id"] for item in (await client.get(API + "/?per_page=100", headers=pupil)).json()["items"]}
        assert published not in inbox
    withdrawn = [e for e in await audit_entries(engine, t, "announcement.withdrawn") if e.target_id == published]
    cancelled = [e for e in await audit_entries(engine, t, "announcement.cancelled") if e.target_id == scheduled]
    assert len(withdrawn) == 1 and withdrawn[0].actor_email == s.admin.email
    assert len(cancelled) == 1 and cancelled[0].actor_email == s.teacher.email


async def test_bad_input_is_a_4xx(school, client_for):
    s = school
    async with client_for(s.org.tenant) as client:
        headers = await bearer_for(client, s.admin)
        for data in (
            {**body("tenant"), "title": "x" * 201}, {**body("tenant"), "title": "   "},
            {**body("tenant"), "body": "x" * 20_001}, {**body("tenant"), "scope": "planet"},
            {**body("tenant"), "extra": 1}, {**body("tenant"), "title": "a\u0000b"},
            {**body("tenant"), "publish_at": "not a time"}, {**body("group"), "group_id": "nope"},
        ):
            response = await client.post(API + "/", json=data, headers=headers)
            assert response.status_code == 400, (data, response.text)
        problem_of(await client.get(API + "/?page=0", headers=headers), 400)
        problem_of(await client.get(API + "/?per_page=101", headers=headers), 400)
        problem_of(await client.get(API + "/not-an-id", headers=headers), 404)


async def test_another_organization_sees_and_changes_nothing(school, client_for, new_org, make_user):
    s = school
    other = await new_org("annx")
    stranger = await make_user(other.tenant, ["teacher"])
    async with client_for(s.org.tenant) as client:
        created = await post(client, s.admin, body("tenant", publish_at=_later()))
        announcement_id = created.json()["id"]
    async with client_for(other.tenant) as client:
        for member in (other.admin, stranger):
            headers = await bearer_for(client, member)
            problem_of(await client.get(f"{API}/{announcement_id}", headers=headers), 404)
            problem_of(await client.patch(f"{API}/{announcement_id}", json={"title": "x"}, headers=headers), 404)
            problem_of(await client.delete(f"{API}/{announcement_id}", headers=headers), 404)
            assert (await client.get(API + "/", headers=headers)).json()["total"] == 0
        refused = await client.post(API + "/", json=body("group", s.group_id),
                                    headers=await bearer_for(client, other.admin))
        problem_of(refused, 404)
        # A token of one organization is refused on the other's host.
        token = await bearer_for(client, other.admin)
    async with client_for(s.org.tenant) as client:
        problem_of(await client.get(f"{API}/{announcement_id}", headers=token), 401)


def _later(hours: int = 2) -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours)).isoformat()
