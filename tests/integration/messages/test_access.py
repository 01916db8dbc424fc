"""Who may write to whom, for every role pair, through the API (and the rules checked again on every message)."""

from __future__ import annotations

import datetime

from sqlalchemy import update

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.groups.conftest import tenant_session
from tests.integration.messages.conftest import build_school


async def start(client, member, to):
    return await client.post("/api/v1/conversations", json={"to": str(to.id)},
                             headers=await bearer_for(client, member))


async def test_who_may_write_to_whom(new_org, make_user, engine, client_for):
    s = await build_school(new_org, make_user, engine)
    allowed = [
        (s.learner, s.teacher), (s.teacher, s.classmate), (s.parent, s.teacher), (s.teacher, s.parent),
        (s.teacher, s.other_teacher), (s.manager, s.teacher), (s.admin, s.learner), (s.admin, s.unlinked_parent),
        (s.unlinked_parent, s.admin), (s.learner, s.admin), (s.manager, s.other_teacher),
    ]
    refused = [
        (s.learner, s.classmate),  # a school: learner-to-learner is off by default
        (s.learner, s.other_teacher), (s.other_teacher, s.learner),  # not their teacher
        (s.learner, s.parent), (s.parent, s.learner),  # a parent writes to teachers, not to learners
        (s.unlinked_parent, s.teacher), (s.teacher, s.unlinked_parent),
        (s.parent, s.other_teacher), (s.parent, s.unlinked_parent),
        (s.manager, s.learner), (s.learner, s.manager),
        (s.learner, s.learner),  # nobody with themselves
    ]
    async with client_for(s.org.tenant) as client:
        for sender, recipient in allowed:
            response = await start(client, sender, recipient)
            assert response.status_code in (200, 201), (sender.email, recipient.email, response.text)
            assert response.json()["kind"] == "direct" and response.json()["may_write"] is True
        for sender, recipient in refused:
            problem_of(await start(client, sender, recipient), 404)
        # Both ways lead to the same conversation: 200 the second time.
        first = await start(client, s.parent, s.teacher)
        again = await start(client, s.teacher, s.parent)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        # Exactly one of to/group_id; unknown members refused by the schema.
        auth = await bearer_for(client, s.teacher)
        problem_of(await client.post("/api/v1/conversations", json={}, headers=auth), 409)
        problem_of(await client.post("/api/v1/conversations", json={"to": "x"}, headers=auth), 400)
        problem_of(await client.post("/api/v1/conversations", json={"to": str(s.learner.id), "x": 1}, headers=auth),
                   400)


async def test_the_organization_setting_lets_learners_talk(new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        problem_of(await start(client, s.learner, s.classmate), 404)
    async with signed_in(s.teacher) as teacher:  # a teacher cannot change it
        assert (await post_form(teacher, "/admin/messages/settings", {"learner_messages": "on"})).status_code == 403
    async with signed_in(s.admin) as admin:
        page = await admin.get("/admin/security")
        assert 'name="learner_messages"' in page.text and "checked" not in page.text.split("learner_messages")[1][:40]
        saved = await post_form(admin, "/admin/messages/settings", {"learner_messages": "on"})
        assert saved.status_code == 303
        assert 'name="learner_messages" checked' in (await admin.get("/admin/security")).text
        entries = await admin.get("/admin/audit?action=org.messages.updated")
        assert entries.status_code == 200 and "org.messages.updated" in entries.text
    async with client_for(s.org.tenant) as client:
        assert (await start(client, s.learner, s.classmate)).status_code == 201
        assert (await start(client, s.learner, s.other_teacher)).status_code == 404  # still not their teacher


async def test_companies_let_learners_talk_by_default(new_org, make_user, engine, client_for):
    s = await build_school(new_org, make_user, engine, kind="company")
    async with client_for(s.org.tenant) as client:
        assert (await start(client, s.learner, s.classmate)).status_code == 201


async def test_the_rules_are_checked_on_every_message(new_org, make_user, engine, client_for):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        conversation = (await start(client, s.learner, s.teacher)).json()["id"]
        auth = await bearer_for(client, s.learner)
        sent = await client.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "Hello"},
                                 headers=auth)
        assert sent.status_code == 201 and sent.json()["body"] == "Hello" and sent.json()["mine"] is True
        async with tenant_session(engine, s.org.tenant) as session:  # the learner leaves the class and the course
            gone = datetime.datetime.now(datetime.UTC)
            await session.execute(update(GroupMembership).where(GroupMembership.user_id == s.learner.id).values(
                ended_at=gone))
            await session.execute(update(Enrollment).where(Enrollment.user_id == s.learner.id).values(
                status="withdrawn", withdrawn_at=gone))
        problem_of(await client.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "Still?"},
                                     headers=auth), 403)
        detail = await client.get(f"/api/v1/conversations/{conversation}", headers=auth)
        assert detail.status_code == 200 and detail.json()["may_write"] is False  # history stays readable


async def test_class_conversations(new_org, make_user, engine, client_for, signed_in):
    s = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        body = {"group_id": str(s.group_id)}
        for outsider in (s.learner, s.other_teacher, s.parent):
            problem_of(await client.post("/api/v1/conversations", json=body,
                                         headers=await bearer_for(client, outsider)), 403)
        made = await client.post("/api/v1/conversations", json=body, headers=await bearer_for(client, s.teacher))
        assert made.status_code == 201 and made.json()["kind"] == "group"
        cid = made.json()["id"]
        assert {m["name"] for m in made.json()["members"]} == {"Tess Teacher", "Lena Learner", "Carl Classmate"}
        assert (await client.post("/api/v1/conversations", json=body,
                                  headers=await bearer_for(client, s.admin))).status_code == 200
        url = f"/api/v1/conversations/{cid}/messages"
        assert (await client.post(url, json={"body": "Welcome, class"},
                                  headers=await bearer_for(client, s.teacher))).status_code == 201
        for reader in (s.learner, s.classmate):
            got = await client.get(url, headers=await bearer_for(client, reader))
            assert got.status_code == 200 and [m["body"] for m in got.json()["items"]] == ["Welcome, class"]
        for outsider in (s.parent, s.unlinked_parent, s.other_teacher, s.manager):
            problem_of(await client.get(url, headers=await bearer_for(client, outsider)), 404)
        # A school: learners read the class conversation but do not write in it.
        problem_of(await client.post(url, json={"body": "hi all"}, headers=await bearer_for(client, s.learner)), 403)
    async with signed_in(s.classmate) as classmate:
        page = await classmate.get(f"/messages/{cid}")
        assert page.status_code == 200 and "Welcome, class" in page.text and 'id="send-form"' not in page.text
        assert (await post_form(classmate, f"/messages/{cid}/leave")).status_code == 303
        assert (await classmate.get(f"/messages/{cid}")).status_code == 404
        listing = await classmate.get("/messages")
        assert f"/messages/{cid}/rejoin" in listing.text
        back = await post_form(classmate, f"/messages/{cid}/rejoin")
        assert back.status_code == 303 and (await classmate.get(f"/messages/{cid}")).status_code == 200
    async with signed_in(s.parent) as parent:  # not in the group: nothing to rejoin
        assert (await post_form(parent, f"/messages/{cid}/rejoin")).status_code == 404
    async with signed_in(s.admin) as admin:
        assert (await post_form(admin, "/admin/messages/settings", {"learner_messages": "on"})).status_code == 303
    async with client_for(s.org.tenant) as client:
        assert (await client.post(url, json={"body": "hi all"},
                                  headers=await bearer_for(client, s.learner))).status_code == 201
        # An admin who joined keeps it only while an admin.
        second_admin = await make_user(s.org.tenant, ["org_admin", "teacher"])
        assert (await client.post("/api/v1/conversations", json=body,
                                  headers=await bearer_for(client, second_admin))).status_code == 200
        assert (await client.get(url, headers=await bearer_for(client, second_admin))).status_code == 200
        async with tenant_session(engine, s.org.tenant) as session:
            (await session.get(User, second_admin.id)).roles = ["teacher"]
        problem_of(await client.get(url, headers=await bearer_for(client, second_admin)), 404)
        # The class is archived at the end of the year: its conversation is read, never written.
        async with tenant_session(engine, s.org.tenant) as session:
            (await session.get(Group, s.group_id)).archived_at = datetime.datetime.now(datetime.UTC)
        teacher = await bearer_for(client, s.teacher)
        problem_of(await client.post(url, json={"body": "Still here?"}, headers=teacher), 403)
        history = await client.get(url, headers=teacher)
        assert history.status_code == 200 and "hi all" in [m["body"] for m in history.json()["items"]]


async def test_another_organization_sees_nothing(new_org, make_user, engine, client_for):
    s = await build_school(new_org, make_user, engine)
    other = await build_school(new_org, make_user, engine)
    async with client_for(s.org.tenant) as client:
        cid = (await start(client, s.parent, s.teacher)).json()["id"]
        auth = await bearer_for(client, s.parent)
        sent = (await client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "Secret"},
                                  headers=auth)).json()
    async with client_for(other.org.tenant) as client:
        for member in (other.admin, other.teacher):
            auth = await bearer_for(client, member)
            problem_of(await client.get(f"/api/v1/conversations/{cid}", headers=auth), 404)
            problem_of(await client.get(f"/api/v1/conversations/{cid}/messages", headers=auth), 404)
            problem_of(await client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "x"},
                                         headers=auth), 404)
            problem_of(await client.post(f"/api/v1/messages/{sent['id']}/report", json={"reason": "x"},
                                         headers=auth), 404)
            # The other organization's member ids are nobody here.
            problem_of(await client.post("/api/v1/conversations", json={"to": str(s.teacher.id)}, headers=auth),
                       404)
            listing = await client.get("/api/v1/conversations", headers=auth)
            assert listing.json()["total"] == 0
        # A token of one organization is refused on another's host.
        problem_of(await client.get("/api/v1/conversations", headers=await _foreign_token(client_for, s)), 401)


async def _foreign_token(client_for, s):
    async with client_for(s.org.tenant) as client:
        return await bearer_for(client, s.parent)
