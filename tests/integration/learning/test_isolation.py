"""Another organization's course, path, team, person, enrollment and assignment ids are "not found" everywhere."""

from __future__ import annotations

from tests.integration.conftest import bearer_for, post_form, problem_of
from tests.integration.learning.conftest import make_course


async def test_other_tenants_ids_are_not_found(browser, signed_in, engine, make_company):
    home = await make_company("lrh")
    away = await make_company("lra")
    foreign_course = await make_course(engine, away.tenant, "Foreign course")
    own_course = await make_course(engine, home.tenant, "Own course")
    async with browser(away.tenant) as client:
        admin = await bearer_for(client, away.admin)
        path = (await client.post("/api/v1/paths", headers=admin, json={"title": "Foreign path"})).json()
        await client.put(f"/api/v1/paths/{path['id']}/stages", headers=admin,
                         json={"stages": [{"title": "S", "course_ids": [str(foreign_course)]}]})
        await client.post(f"/api/v1/paths/{path['id']}/publish", headers=admin)
        assigned = (await client.post(f"/api/v1/courses/{foreign_course}/enrollments", headers=admin,
                                      json={"team_ids": [str(away.team_id)]})).json()
        assignment_id = assigned["assignments"][0]["id"]
        enrollment_id = (await client.get(f"/api/v1/courses/{foreign_course}/enrollments",
                                          headers=admin)).json()["items"][0]["id"]
    async with browser(home.tenant) as client:
        admin = await bearer_for(client, home.admin)
        for method, url in (
            ("post", f"/api/v1/courses/{foreign_course}/enrollments"),
            ("get", f"/api/v1/courses/{foreign_course}/enrollments"),
            ("delete", f"/api/v1/enrollments/{enrollment_id}"),
            ("delete", f"/api/v1/assignments/{assignment_id}"),
            ("get", f"/api/v1/paths/{path['id']}"),
            ("post", f"/api/v1/paths/{path['id']}/publish"),
            ("post", f"/api/v1/paths/{path['id']}/enrollments"),
            ("put", f"/api/v1/paths/{path['id']}/stages"),
        ):
            kwargs = {"json": {"stages": []}} if method == "put" else {}
            problem_of(await client.request(method.upper(), url, headers=admin, **kwargs), 404)
        url = f"/api/v1/courses/{own_course}/enrollments"
        problem_of(await client.post(url, headers=admin, json={"team_ids": [str(away.team_id)]}), 404)
        problem_of(await client.post(url, headers=admin, json={"user_ids": [str(away.learners[0].id)]}), 404)
        stages = {"stages": [{"title": "S", "course_ids": [str(foreign_course)]}]}
        mine = (await client.post("/api/v1/paths", headers=admin, json={"title": "Mine"})).json()
        problem_of(await client.put(f"/api/v1/paths/{mine['id']}/stages", headers=admin, json=stages), 404)
    async with signed_in(home.admin) as client:
        for url in (f"/courses/{foreign_course}", f"/courses/{foreign_course}/assign", f"/paths/{path['id']}",
                    f"/teach/paths/{path['id']}", f"/paths/{path['id']}/assign"):
            assert (await client.get(url)).status_code == 404, url
        assert (await post_form(client, f"/courses/{foreign_course}/enroll")).status_code == 404
        assert (await client.get("/teach/progress", params={"group": str(away.team_id)})).status_code == 404
        assert "Foreign course" not in (await client.get("/courses", params={"q": "foreign"})).text
        assert "Foreign course" not in (await client.get("/teach/progress")).text
