"""The gap against a career pathway: what is met and missing, the learning that closes it ranked per hour, one
click to enroll or ask the manager, the manager's answer, the team; another organization's ids."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from tajiconnect.domains.enrollments.models import Enrollment, LearningRequest
from tajiconnect.domains.notifications.models import Notification
from tests.integration.careers.conftest import build_career, evidence
from tests.integration.conftest import audit_entries, bearer_for, post_form, statements
from tests.integration.groups.conftest import tenant_session


def offers(html: str) -> list[str]:
    return re.findall(r'data-offer="([0-9a-f-]+)"', html)


async def rows(engine, tenant, model, *where):
    async with tenant_session(engine, tenant) as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def test_the_gap_ranks_what_closes_it_and_one_click_enrolls_or_asks(engine, new_org, make_user, signed_in,
                                                                           client_for):
    c = await build_career(engine, new_org, make_user)
    async with signed_in(c.learner) as client:
        page = await client.get(f"/career/pathways/{c.pathway_id}")
        assert page.status_code == 200
        # biggest gaps first: both miss 2 levels; sheets requires more
        assert re.findall(r'data-skill="([0-9a-f-]+)"', page.text) == [str(c.sheets), str(c.charts)]
        assert 'id="gap-percent">20%' in page.text  # 1 of 5 levels; the declared 4 does not count
        assert "You say 4" in page.text
        # 2 levels in 1 h, then 4 levels in 4 h (the course, then the path holding it: same value, by title)
        assert offers(page.text) == [str(c.quick), str(c.path), str(c.long)]

        api = await client.get(f"/api/v1/pathways/{c.pathway_id}/gap", headers=await bearer_for(client, c.learner))
        assert api.status_code == 200
        body = api.json()
        assert [(s["skill_id"], s["have"], s["missing"], s["declared"]) for s in body["skills"]] == [
            (str(c.sheets), 1, 2, None), (str(c.charts), 0, 2, 4)]
        assert [(o["id"], o["levels_closed"], o["hours"], o["action"]) for o in body["offers"]] == [
            (str(c.quick), 2, 1.0, "enroll"), (str(c.path), 4, 4.0, "ask"), (str(c.long), 4, 4.0, "ask")]
        assert body["percent"] == 20 and body["met"] is False

        enrolled = await post_form(client, f"/career/pathways/{c.pathway_id}/enroll", {"kind": "course",
                                                                                       "id": str(c.quick)})
        assert enrolled.status_code == 303
        assert len(await rows(engine, c.tenant, Enrollment, Enrollment.user_id == c.learner.id,
                              Enrollment.course_id == c.quick)) == 1
        refused = await post_form(client, f"/career/pathways/{c.pathway_id}/enroll", {"kind": "course",
                                                                                      "id": str(c.long)})
        assert refused.status_code == 409 and "by assignment only" in refused.text
        for _ in range(2):  # asking twice is one request, one notification
            asked = await post_form(client, f"/career/pathways/{c.pathway_id}/ask", {"kind": "course",
                                                                                     "id": str(c.long)})
            assert asked.status_code == 303
        page = (await client.get(f"/career/pathways/{c.pathway_id}")).text
        assert "Asked: waiting for an answer" in page and "Continue" in page
        refused = await post_form(client, f"/career/pathways/{c.pathway_id}/ask", {"kind": "course",
                                                                                   "id": str(c.quick)})
        assert refused.status_code == 409  # open to them, or enrolled already
        for bad in ({"kind": "x", "id": str(c.long)}, {"kind": "course", "id": str(uuid.uuid4())},
                    {"kind": "course", "id": "nope"}):
            assert (await post_form(client, f"/career/pathways/{c.pathway_id}/ask", bad)).status_code == 404
    [request] = await rows(engine, c.tenant, LearningRequest, LearningRequest.user_id == c.learner.id)
    assert request.status == "open" and request.pathway_id == c.pathway_id
    told = await rows(engine, c.tenant, Notification, Notification.category == "learning_request")
    assert [n.user_id for n in told] == [c.manager.id]

    async with signed_in(c.manager) as client:
        listing = await client.get("/team/requests")
        assert listing.status_code == 200 and "Amina Wanjiru" in listing.text and "Long analysis" in listing.text
        assert "1 request to take learning waits for an answer" in (await client.get("/")).text
        bad = await post_form(client, f"/team/requests/{request.id}", {"decision": "maybe"})
        assert bad.status_code == 422
        approved = await post_form(client, f"/team/requests/{request.id}", {"decision": "approve"})
        assert approved.status_code == 303
        again = await post_form(client, f"/team/requests/{request.id}", {"decision": "decline"})
        assert again.status_code == 409 and "answered already" in again.text
        # the learner's gap, seen by their manager; not the outsider's
        seen = await client.get(f"/career/pathways/{c.pathway_id}?user_id={c.learner.id}")
        assert seen.status_code == 200 and "The gap of Amina Wanjiru." in seen.text and "Enroll" not in seen.text
        assert (await client.get(f"/career/pathways/{c.pathway_id}?user_id={c.outsider.id}")).status_code == 404
        team = await client.get(f"/career/pathways/{c.pathway_id}/team")
        assert team.status_code == 200
        assert re.findall(r'data-user="([0-9a-f-]+)"', team.text) == [str(c.learner.id)]
        api = await client.get(f"/api/v1/pathways/{c.pathway_id}/gap?user_id={c.outsider.id}",
                               headers=await bearer_for(client, c.manager))
        assert api.status_code == 404
    assert len(await rows(engine, c.tenant, Enrollment, Enrollment.user_id == c.learner.id,
                          Enrollment.course_id == c.long, Enrollment.withdrawn_at.is_(None))) == 1
    [request] = await rows(engine, c.tenant, LearningRequest, LearningRequest.id == request.id)
    assert request.status == "approved" and request.decided_by_id == c.manager.id
    assert [e.action for e in await audit_entries(engine, c.tenant, "learning.request.approved")] == [
        "learning.request.approved"]
    answers = await rows(engine, c.tenant, Notification, Notification.user_id == c.learner.id,
                         Notification.category == "learning_request")
    assert len(answers) == 1 and "approved" in answers[0].title

    async with signed_in(c.outsider) as client:  # the outsider sees no one else's gap, and no requests page
        assert (await client.get(f"/career/pathways/{c.pathway_id}?user_id={c.learner.id}")).status_code == 404
        assert (await client.get("/team/requests")).status_code == 403


async def test_a_declined_request_tells_the_learner_why(engine, new_org, make_user, signed_in):
    c = await build_career(engine, new_org, make_user, "card")
    async with signed_in(c.learner) as client:
        assert (await post_form(client, f"/career/pathways/{c.pathway_id}/ask",
                                {"kind": "path", "id": str(c.path)})).status_code == 303
    [request] = await rows(engine, c.tenant, LearningRequest, LearningRequest.user_id == c.learner.id)
    async with signed_in(c.org.admin) as client:  # admins decide any request
        declined = await post_form(client, f"/team/requests/{request.id}",
                                   {"decision": "decline", "reason": "Next quarter"})
        assert declined.status_code == 303
    [answer] = await rows(engine, c.tenant, Notification, Notification.user_id == c.learner.id,
                          Notification.category == "learning_request")
    assert "declined" in answer.title and "Next quarter" in answer.body
    assert not await rows(engine, c.tenant, Enrollment, Enrollment.user_id == c.learner.id,
                          Enrollment.course_id == c.long)


async def test_a_met_role_and_the_statements_do_not_grow(engine, new_org, make_user, signed_in):
    c = await build_career(engine, new_org, make_user, "carm")
    async with signed_in(c.learner) as client:
        small = await statements(client, f"/career/pathways/{c.pathway_id}")
        await evidence(engine, c.tenant, c.learner.id, c.sheets, 4)
        await evidence(engine, c.tenant, c.learner.id, c.charts, 2)
        page = (await client.get(f"/career/pathways/{c.pathway_id}")).text
        assert "Every skill this role requires is met." in page and 'id="gap-percent">100%' in page
        assert offers(page) == []
        listing = (await client.get("/career/pathways?q=Data+clerk")).text
        assert "You have 100% of it" in listing
        assert await statements(client, f"/career/pathways/{c.pathway_id}") <= small


async def test_another_organization_reaches_nothing(engine, new_org, make_user, signed_in):
    c = await build_career(engine, new_org, make_user, "carx")
    other = await build_career(engine, new_org, make_user, "cary")
    async with signed_in(other.learner) as client:
        assert (await post_form(client, f"/career/pathways/{c.pathway_id}/ask",
                                {"kind": "course", "id": str(c.long)})).status_code == 404
    async with signed_in(c.learner) as client:
        for path in (f"/career/pathways/{other.pathway_id}", f"/career/pathways/{c.pathway_id}?user_id="
                     f"{other.learner.id}", f"/career/pathways/{c.pathway_id}/nope"):
            assert (await client.get(path)).status_code == 404, path
        assert (await post_form(client, f"/career/pathways/{c.pathway_id}/ask",
                                {"kind": "course", "id": str(other.long)})).status_code == 404
        headers = await bearer_for(client, c.learner)
        assert (await client.get(f"/api/v1/pathways/{other.pathway_id}/gap", headers=headers)).status_code == 404
        assert (await client.get(f"/api/v1/pathways/{other.pathway_id}", headers=headers)).status_code == 404
    async with signed_in(other.manager) as client:
        assert (await client.get(f"/career/pathways/{c.pathway_id}/team")).status_code == 404
    async with signed_in(c.learner) as client:
        await post_form(client, f"/career/pathways/{c.pathway_id}/ask", {"kind": "course", "id": str(c.long)})
    [request] = await rows(engine, c.tenant, LearningRequest, LearningRequest.user_id == c.learner.id)
    async with signed_in(other.org.admin) as client:
        assert (await post_form(client, f"/team/requests/{request.id}", {"decision": "approve"})).status_code == 404


async def test_the_team_api(engine, new_org, make_user, signed_in):
    c = await build_career(engine, new_org, make_user, "cart")
    async with signed_in(c.manager) as client:
        team = await client.get(f"/api/v1/pathways/{c.pathway_id}/team", headers=await bearer_for(client, c.manager))
        assert team.status_code == 200
        body = team.json()
        assert [(m["user_id"], m["percent"], m["skills_missing"]) for m in body["members"]] == [
            (str(c.learner.id), 20, 2)]
        assert {s["skill_id"]: s["members_meeting"] for s in body["skills"]} == {str(c.sheets): 0, str(c.charts): 0}
        gap = await client.get(f"/api/v1/pathways/{c.pathway_id}/gap?user_id={c.learner.id}",
                               headers=await bearer_for(client, c.manager))
        assert gap.status_code == 200 and gap.json()["user_id"] == str(c.learner.id)
        assert (await client.get(f"/api/v1/pathways/{c.pathway_id}/gap?user_id=nope",
                                 headers=await bearer_for(client, c.manager))).status_code == 400
    async with signed_in(c.learner) as client:
        assert (await client.get(f"/api/v1/pathways/{c.pathway_id}/team",
                                 headers=await bearer_for(client, c.learner))).status_code == 403


async def test_completed_learning_is_not_offered_and_archived_roles_are_for_admins(engine, new_org, make_user,
                                                                                  signed_in):
    import datetime

    from tajiconnect.domains.careers.models import CareerPathway
    from tajiconnect.domains.progress.service import _record_completion

    c = await build_career(engine, new_org, make_user, "carc")
    async with tenant_session(engine, c.tenant) as session:  # completed the quick course, then withdrew from it
        await _record_completion(session, c.learner.id, datetime.datetime.now(datetime.UTC), course_id=c.quick)
        session.add(Enrollment(course_id=c.quick, user_id=c.learner.id, source="self", status="withdrawn",
                               withdrawn_at=datetime.datetime.now(datetime.UTC)))
    async with signed_in(c.learner) as client:
        assert str(c.quick) not in offers((await client.get(f"/career/pathways/{c.pathway_id}")).text)
    async with tenant_session(engine, c.tenant) as session:
        (await session.get(CareerPathway, c.pathway_id)).archived_at = datetime.datetime.now(datetime.UTC)
    async with signed_in(c.manager) as client:  # offered to nobody but admins, the manager's views included
        for path in (f"/career/pathways/{c.pathway_id}?user_id={c.learner.id}",
                     f"/career/pathways/{c.pathway_id}/team"):
            assert (await client.get(path)).status_code == 404, path
    async with signed_in(c.org.admin) as client:
        assert (await client.get(f"/career/pathways/{c.pathway_id}?user_id={c.learner.id}")).status_code == 200


async def test_a_learner_without_a_leader_asks_the_admins_and_the_home_costs_the_same(engine, new_org, make_user,
                                                                                    signed_in):
    c = await build_career(engine, new_org, make_user, "cara")
    async with signed_in(c.outsider) as client:  # in no group: nobody leads them
        small = await statements(client, "/career")
        assert (await post_form(client, f"/career/pathways/{c.pathway_id}/ask",
                                {"kind": "course", "id": str(c.long)})).status_code == 303
        for n in range(3):
            await post_form(client, "/career/resume/entries", {"kind": "experience", "title": f"Job {n}"})
        assert await statements(client, "/career") == small
    told = await rows(engine, c.tenant, Notification, Notification.category == "learning_request")
    assert [n.user_id for n in told] == [c.org.admin.id]
