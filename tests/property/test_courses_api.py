"""Properties of the courses API and builder: any JSON body for a course or a lesson, any text in the builder's
details form. Never a 5xx; refusals are problems (API) or 409/422 fragments (builder); a success reads back as
acknowledged, with tags normalized and lesson HTML sanitized."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.integration.conftest import bearer_for, create_member
from tests.property.support import FOREIGN_RANDOM, PROPS, any_text, check_api, json_bodies, open_session

pytestmark = FOREIGN_RANDOM

COURSE_MEMBERS = {
    "title": any_text(30),
    "summary": any_text(30),
    "category": st.one_of(st.none(), any_text(20)),
    "tags": st.lists(any_text(12), max_size=4),
    "level": st.sampled_from(["beginner", "advanced", "expert", ""]),
    "language": st.sampled_from(["en", "sw", "pt-BR", "EN", "x" * 11]),
    "estimated_minutes": st.one_of(st.none(), st.integers(-5, 10**6)),
    "visibility": st.sampled_from(["tenant", "hidden", "groups", "all"]),
    "self_enroll": st.booleans(),
    "prerequisite_ids": st.lists(st.sampled_from([str(uuid.uuid4()), "x"]), max_size=2),
    "revision": st.integers(-1, 3),
}
LESSON_MEMBERS = {
    "title": any_text(30),
    "kind": st.sampled_from(["text", "link", "embed", "quiz", "video", "game"]),
    "body": any_text(60),
    "url": st.one_of(st.none(), st.sampled_from(["https://youtu.be/dQw4w9WgXcQ", "javascript:alert(1)",
                                                 "https://vimeo.com/1", "https://e.org/x"]), any_text(20)),
    "estimated_minutes": st.one_of(st.none(), st.integers(-5, 20_000)),
}


@pytest.fixture
async def course_env(new_org, browser, engine):
    org = await new_org("pcr")
    teacher = await create_member(engine, org.tenant, ["teacher"])
    async with browser(org.tenant) as client:
        headers = await bearer_for(client, teacher)
        course = (await client.post("/api/v1/courses", headers=headers, json={"title": "Base"})).json()
        module = (await client.post(f"/api/v1/courses/{course['id']}/modules", headers=headers,
                                    json={"title": "M"})).json()
        yield client, headers, course["id"], module["id"], teacher


@PROPS
@given(body=json_bodies(COURSE_MEMBERS))
async def test_course_patch_bodies(course_env, body):
    client, headers, course_id, _module, _teacher = course_env
    response = await client.patch(f"/api/v1/courses/{course_id}", headers={**headers, "content-type":
                                  "application/json"}, content=body)
    if check_api(response, {200}, {400, 409, 413}):
        saved = response.json()
        assert saved["tags"] == [t for t in saved["tags"] if t == t.lower().strip()]
        again = (await client.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
        assert again == saved


@PROPS
@given(body=json_bodies(LESSON_MEMBERS, required=("title", "kind")))
async def test_lesson_bodies(course_env, body):
    client, headers, _course, module_id, _teacher = course_env
    response = await client.post(f"/api/v1/modules/{module_id}/lessons", headers={**headers, "content-type":
                                 "application/json"}, content=body)
    if check_api(response, {201}, {400, 409, 413}):
        lesson = response.json()
        assert "<script" not in lesson["body_html"].lower() and "javascript:" not in lesson["body_html"].lower()
        if lesson["kind"] == "embed" and lesson["url"]:
            assert lesson["url"].startswith(("https://www.youtube-nocookie.com/", "https://player.vimeo.com/"))


@PROPS
@given(title=any_text(30), minutes=any_text(12), tags=any_text(30), revision=any_text(6),
       visibility=any_text(8), groups=st.lists(any_text(8), max_size=2))
async def test_builder_details_form(course_env, engine, title, minutes, tags, revision, visibility, groups):
    client, _headers, course_id, _module, teacher = course_env
    if not client.cookies.get("__Host-taji_session"):
        await open_session(client, teacher)
    from tests.integration.conftest import post_form

    form = {"details_form": "1", "title": title, "estimated_minutes": minutes, "tags": tags, "revision": revision,
            "visibility": visibility, "visible_group_ids": groups}
    response = await post_form(client, f"/teach/courses/{course_id}/details", form, headers={"HX-Request": "true"})
    assert response.status_code in (200, 400, 409, 422), response.text[:300]
