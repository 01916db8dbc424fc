"""Reviews: only learners enrolled now or before (completed) rate and review; one each, editable; the course's
count and sum stay right under concurrent reviews; staff hide reviews (audited); the fragment and the API."""

from __future__ import annotations

import asyncio
import uuid

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.courses import service
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.courses.conftest import actions, enroll, load_course


async def published_course(client, headers, title="Chemistry") -> str:
    course = (await client.post("/api/v1/courses", headers=headers, json={"title": title})).json()
    module = (await client.post(f"/api/v1/courses/{course['id']}/modules", headers=headers,
                                json={"title": "M"})).json()
    await client.post(f"/api/v1/modules/{module['id']}/lessons", headers=headers,
                      json={"title": "L", "kind": "text", "body": "x"})
    assert (await client.post(f"/api/v1/courses/{course['id']}/publish", headers=headers)).status_code == 200
    return course["id"]


async def test_only_enrolled_learners_review(browser, signed_in, engine, academy):
    first, second, outsider = academy.learners
    async with browser(academy.tenant) as client:
        teacher = await bearer_for(client, academy.teacher)
        cid = await published_course(client, teacher)
    await enroll(engine, academy.tenant, cid, first.id)
    await enroll(engine, academy.tenant, cid, second.id, status="completed")
    await enroll(engine, academy.tenant, cid, outsider.id, status="withdrawn")

    async with signed_in(first) as client:
        fragment = await client.get(f"/courses/{cid}/reviews")
        assert fragment.status_code == 200 and 'name="rating"' in fragment.text and "No ratings yet." in fragment.text
        saved = await post_form(client, f"/courses/{cid}/reviews", {"rating": "4", "body": "<b>Good</b>"},
                                headers={"HX-Request": "true"})
        assert saved.status_code == 200 and "Your review was saved." in saved.text
        assert "&lt;b&gt;Good&lt;/b&gt;" in saved.text and "<b>Good</b>" not in saved.text
        bad = await post_form(client, f"/courses/{cid}/reviews", {"rating": "6"})
        assert bad.status_code == 422 and 'id="e-rating"' in bad.text
        edited = await post_form(client, f"/courses/{cid}/reviews", {"rating": "2", "body": "Changed my mind"})
        assert edited.status_code == 200 and "Changed my mind" in edited.text
    async with signed_in(second) as client:
        assert (await post_form(client, f"/courses/{cid}/reviews", {"rating": "5"})).status_code == 200
    async with signed_in(outsider) as client:  # withdrawn: sees the reviews, may not write one
        fragment = await client.get(f"/courses/{cid}/reviews")
        assert fragment.status_code == 200 and 'name="rating"' not in fragment.text
        assert (await post_form(client, f"/courses/{cid}/reviews", {"rating": "1"})).status_code == 403
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (2, 7)

    async with browser(academy.tenant) as client:
        learner = await bearer_for(client, first)
        listing = (await client.get(f"/api/v1/courses/{cid}/reviews", headers=learner)).json()
        assert listing["rating_count"] == 2 and listing["rating_average"] == 3.5 and listing["total"] == 2
        assert (await client.get(f"/api/v1/courses/{cid}", headers=learner)).json()["rating_average"] == 3.5
        outsider_token = await bearer_for(client, outsider)
        problem_of(await client.post(f"/api/v1/courses/{cid}/reviews", headers=outsider_token,
                                     json={"rating": 3}), 403)
        problem_of(await client.post(f"/api/v1/courses/{cid}/reviews", headers=learner, json={"rating": 0}), 400)
        again = await client.post(f"/api/v1/courses/{cid}/reviews", headers=learner, json={"rating": 5, "body": "!"})
        assert again.status_code == 200 and again.json()["rating"] == 5
        review_id = again.json()["id"]
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (2, 10)

    # Staff hide a review: it leaves the average and the learners' list; showing it again restores both.
    async with signed_in(academy.teacher) as client:
        hidden = await post_form(client, f"/courses/{cid}/reviews/{review_id}/hide")
        assert hidden.status_code == 200 and "Hidden" in hidden.text
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (1, 5)
    async with signed_in(second) as client:
        assert "!" not in (await client.get(f"/courses/{cid}/reviews")).text.split('id="reviews-title"')[1]
        assert (await post_form(client, f"/courses/{cid}/reviews/{review_id}/show")).status_code == 404
    async with signed_in(academy.teacher) as client:
        assert (await post_form(client, f"/courses/{cid}/reviews/{review_id}/show")).status_code == 200
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (2, 10)

    # The API does the same for the course's staff only.
    async with browser(academy.tenant) as client:
        teacher, other = await bearer_for(client, academy.teacher), await bearer_for(client, academy.other_teacher)
        path = f"/api/v1/courses/{cid}/reviews/{review_id}"
        problem_of(await client.patch(path, headers=other, json={"status": "hidden"}), 404)
        problem_of(await client.patch(path, headers=teacher, json={"status": "gone"}), 400)
        problem_of(await client.patch(f"/api/v1/courses/{uuid.uuid4()}/reviews/{review_id}", headers=teacher,
                                      json={"status": "hidden"}), 404)
        hidden = await client.patch(path, headers=teacher, json={"status": "hidden"})
        assert hidden.status_code == 200 and hidden.json()["hidden"] is True and hidden.json()["name"] == "Learner 0"
        listing = (await client.get(f"/api/v1/courses/{cid}/reviews", headers=teacher)).json()
        assert listing["total"] == 2 and listing["rating_count"] == 1  # staff still see it, the average does not
    assert {"course.review_hidden", "course.review_shown"} <= set(await actions(engine, academy.tenant))


async def test_two_concurrent_reviews_keep_the_average_right(browser, engine, academy):
    first, second, _third = academy.learners
    async with browser(academy.tenant) as client:
        cid = await published_course(client, await bearer_for(client, academy.teacher), "Physics")
    for learner in (first, second):
        await enroll(engine, academy.tenant, cid, learner.id)

    release = asyncio.Event()
    started = asyncio.Event()

    async def review(member, stars, *, hold: bool) -> None:
        with tenant_context(academy.tenant):
            async with session_scope(engine) as session:
                user = await session.get(User, member.id)
                who = service.Acting(user, Actor(id=user.id, email=user.email))
                await service.save_review(session, who, cid, rating=stars)
                if hold:  # keep the transaction (and the course's row lock) open while the other one runs
                    started.set()
                    await release.wait()

    holder = asyncio.create_task(review(first, 5, hold=True))
    await started.wait()
    other = asyncio.create_task(review(second, 2, hold=False))
    await asyncio.sleep(0.3)
    assert not other.done()  # waits for the first transaction's row lock instead of reading a stale count
    release.set()
    await asyncio.gather(holder, other)
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (2, 7)

    # Through HTTP at the same moment, too.
    async with browser(academy.tenant) as client:
        a, b = await bearer_for(client, first), await bearer_for(client, second)
        answers = await asyncio.gather(
            client.post(f"/api/v1/courses/{cid}/reviews", headers=a, json={"rating": 1}),
            client.post(f"/api/v1/courses/{cid}/reviews", headers=b, json={"rating": 4}),
        )
        assert [r.status_code for r in answers] == [200, 200]
    course = await load_course(engine, academy.tenant, cid)
    assert (course.rating_count, course.rating_sum) == (2, 5)
