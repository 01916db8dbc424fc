"""The skills page: my levels and their evidence, declaring and taking back a skill, bad input, HTMX, another
organization's ids."""

from __future__ import annotations

import datetime
import re
import uuid

from tajiconnect.domains.progress.service import _record_completion
from tajiconnect.domains.skills.tasks import record_skill_evidence
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import post_form
from tests.integration.groups.conftest import tenant_session
from tests.integration.progress.conftest import build_course
from tests.integration.skills.test_evidence import a_skill, declare


def skill_ids(html: str) -> list[str]:
    return re.findall(r'data-skill="([0-9a-f-]+)"', html)


async def test_my_skills_page(new_org, make_user, signed_in, engine):
    org, other = await new_org("skpg"), await new_org("skpo")
    learner = await make_user(org.tenant, ["student"])
    course = await build_course(engine, org.tenant, kinds=("text",), title="Wiring a house")
    wiring = await a_skill(engine, org.tenant, f"House wiring {uuid.uuid4().hex[:4]}")
    await declare(engine, org.tenant, wiring, 3, course_id=course.id)
    async with tenant_session(engine, org.tenant) as session:
        await _record_completion(session, learner.id, datetime.datetime.now(datetime.UTC), course_id=course.id)
    with tenant_context(org.tenant):
        await record_skill_evidence({"engine": engine}, user_ids=[str(learner.id)])
    foreign = await a_skill(engine, other.tenant)

    async with signed_in(learner) as client:
        page = await client.get("/skills")
        assert page.status_code == 200
        assert skill_ids(page.text) == [str(wiring)]
        assert "Completed the course Wiring a house" in page.text and "3 · Works independently" in page.text
        found = await client.get("/skills?q=plumb", headers={"HX-Request": "true", "HX-Target": "skills-found"})
        assert found.status_code == 200 and "<html" not in found.text
        plumbing = re.search(r'name="skill_id" value="([0-9a-f-]+)"', found.text)
        assert plumbing and "Plumb" in found.text
        added = await post_form(client, "/skills/declare", {"skill_id": plumbing.group(1), "level": "2"})
        assert added.status_code == 303
        page = (await client.get("/skills")).text
        assert skill_ids(page) == [str(wiring), plumbing.group(1)]  # evidenced first, then declared
        assert "Declared by you: 2 · Beginner" in page
        for bad in ({"skill_id": plumbing.group(1), "level": "9"}, {"skill_id": plumbing.group(1), "level": "²"},
                    {"skill_id": plumbing.group(1)}):
            refused = await post_form(client, "/skills/declare", bad)
            assert refused.status_code == 422 and "Choose a level from 1 to 5." in refused.text
        for missing in (str(foreign), str(uuid.uuid4()), "x\x00"):
            assert (await post_form(client, "/skills/declare", {"skill_id": missing, "level": "2"})).status_code in (
                400, 404)
        assert (await post_form(client, "/skills/withdraw", {"skill_id": plumbing.group(1)})).status_code == 303
        assert skill_ids((await client.get("/skills")).text) == [str(wiring)]
        assert (await client.get("/skills?q=" + "x" * 101)).status_code == 400


async def test_a_courses_skills_page(new_org, make_user, signed_in, engine):
    org = await new_org("skcp")
    teacher, stranger = await make_user(org.tenant, ["teacher"]), await make_user(org.tenant, ["teacher"])
    course = await build_course(engine, org.tenant, kinds=("text",), owner_id=teacher.id, title="Pipes")
    path = f"/teach/courses/{course.id}/skills"
    async with signed_in(stranger) as client:  # not the course's staff
        assert (await client.get(path)).status_code == 404
    async with signed_in(teacher) as client:
        assert f'href="{path}"' in (await client.get(f"/teach/courses/{course.id}")).text
        page = await client.get(path)
        assert page.status_code == 200 and "No skill yet" in page.text
        found = await client.get(path + "?q=plumb", headers={"HX-Request": "true", "HX-Target": "skills-found"})
        skill = re.search(r'name="skill_id" value="([0-9a-f-]+)"', found.text).group(1)
        assert (await post_form(client, path + "/add", {"skill_id": skill, "level": "3"})).status_code == 303
        assert skill_ids((await client.get(path)).text) == [skill]
        assert (await post_form(client, path + "/add", {"skill_id": skill, "level": "4"})).status_code == 303
        assert "4 · Advanced" in (await client.get(path)).text  # the level changed, the skill once
        for bad in ({"skill_id": skill, "level": "7"}, {"skill_id": str(uuid.uuid4()), "level": "2"},
                    {"skill_id": "nope", "level": "2"}):
            assert (await post_form(client, path + "/add", bad)).status_code == 422, bad
        assert (await post_form(client, path + "/remove", {"skill_id": skill})).status_code == 303
        assert skill_ids((await client.get(path)).text) == []
    async with signed_in(org.admin) as client:  # admins too
        assert (await client.get(path)).status_code == 200


async def test_admins_keep_the_taxonomy(new_org, make_user, signed_in, engine):
    from tests.integration.conftest import audit_entries

    org = await new_org("skad")
    teacher = await make_user(org.tenant, ["teacher"])
    async with signed_in(teacher) as client:
        assert (await client.get("/admin/skills")).status_code == 403
    name = f"Cocoa grading {uuid.uuid4().hex[:4]}"
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/skills")
        assert page.status_code == 200 and len(skill_ids(page.text)) == 50  # a page of the shared set
        made = await post_form(client, "/admin/skills", {"name": name, "category": "Agriculture"})
        assert made.status_code == 303
        listed = (await client.get(made.headers["location"])).text
        [skill] = skill_ids(listed)
        assert "Added here" in listed
        again = await post_form(client, "/admin/skills", {"name": name.lower(), "category": "Other"})
        assert again.status_code == 409 and "exists already" in again.text
        blank = await post_form(client, "/admin/skills", {"name": "  ", "category": "Other"})
        assert blank.status_code == 422 and "cannot be blank" in blank.text
        saved = await post_form(client, f"/admin/skills/{skill}", {"name": name + " II", "category": "Agriculture",
                                                                  "archived": "on"})
        assert saved.status_code == 303
        edit = (await client.get(f"/admin/skills/{skill}")).text
        assert f"{name} II" in edit and "checked" in edit
        assert (await client.get(f"/admin/skills/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/admin/skills?category=" + "x" * 81)).status_code == 400
        fragment = await client.get("/admin/skills?q=plumb", headers={"HX-Request": "true",
                                                                      "HX-Target": "admin-skills"})
        assert fragment.status_code == 200 and "<html" not in fragment.text and "Plumbing" in fragment.text
    assert len(await audit_entries(engine, org.tenant, "skill.updated")) == 1
