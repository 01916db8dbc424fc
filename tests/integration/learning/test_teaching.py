"""``/teach/progress``: what managers see of the groups they lead, filters, overdue, CSV export."""

from __future__ import annotations

import csv
import datetime
import io

from tajiconnect.domains.enrollments.models import Enrollment
from tests.integration.conftest import bearer_for
from tests.integration.learning.conftest import make_course, make_group, set_values


async def test_teaching_view_and_csv(browser, signed_in, engine, company, make_user):
    t = company.tenant
    course = await make_course(engine, t, "=Risky title")
    elsewhere = await make_user(t, ["student"], name="Eve Elsewhere")
    await make_group(engine, t, "Other", members=(elsewhere,))
    async with browser(t) as client:
        admin = await bearer_for(client, company.admin)
        await client.post(f"/api/v1/courses/{course}/enrollments", headers=admin,
                          json={"team_ids": [str(company.team_id)], "user_ids": [str(elsewhere.id)],
                                "due_at": "2020-06-01T00:00:00Z"})
    first = company.learners[0]
    await set_values(engine, t, Enrollment, Enrollment.user_id == first.id, status="completed", progress_percent=100,
                     seconds_spent=5400, completed_at=datetime.datetime.now(datetime.UTC),
                     last_activity_at=datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC))
    async with signed_in(company.manager) as client:
        page = await client.get("/teach/progress")
        assert page.status_code == 200
        assert page.text.count(">=Risky title</a>") == 3  # three learners of Sales; Eve is not in a group Mona leads
        assert "Eve Elsewhere" not in page.text and "1.5" in page.text and "2026-01-02 03:04" in page.text
        overdue = await client.get("/teach/progress", params={"overdue": "1"})
        assert overdue.text.count('class="is-overdue"') == 2 and "Learner 0" not in overdue.text
        done = await client.get("/teach/progress", params={"status": "completed"})
        assert "Learner 0" in done.text and "Learner 1" not in done.text
        group = await client.get("/teach/progress", params={"group": str(company.team_id), "course": str(course)})
        assert group.text.count(">=Risky title</a>") == 3
        assert (await client.get("/teach/progress", params={"group": str(company.other_team_id)})).status_code == 404
        export = await client.get("/teach/progress/export.csv", params={"overdue": "1"})
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["learner", "email", "subject"]
        assert len(rows) == 3 and {r[3] for r in rows[1:]} == {"active"} and rows[1][2] == "'=Risky title"
        assert {r[-1] for r in rows[1:]} == {"yes"}
        fragment = await client.get("/teach/progress", params={"page": "1"},
                                    headers={"HX-Request": "true", "HX-Target": "progress-results"})
        assert "<html" not in fragment.text and fragment.text.count(">=Risky title</a>") == 3
        paths = await client.get("/teach/progress", params={"mode": "path"})
        assert "No learner matches these filters." in paths.text
    # Per path: its enrollments, with the time and last activity of its courses summed.
    async with browser(t) as client:
        admin = await bearer_for(client, company.admin)
        path = (await client.post("/api/v1/paths", headers=admin, json={"title": "Risk path"})).json()
        await client.put(f"/api/v1/paths/{path['id']}/stages", headers=admin,
                         json={"stages": [{"title": "Only", "course_ids": [str(course)]}]})
        await client.post(f"/api/v1/paths/{path['id']}/publish", headers=admin)
        await client.post(f"/api/v1/paths/{path['id']}/enrollments", headers=admin,
                          json={"team_ids": [str(company.team_id)]})
    async with signed_in(company.manager) as client:
        paths = await client.get("/teach/progress", params={"mode": "path", "path": path["id"]})
        assert paths.text.count(">Risk path</a>") == 3 and "Eve Elsewhere" not in paths.text
        assert "1.5" in paths.text and "2026-01-02 03:04" in paths.text  # Learner 0's course time, through the path
        export = await client.get("/teach/progress/export.csv", params={"mode": "path"})
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert len(rows) == 4 and {r[2] for r in rows[1:]} == {"Risk path"}
    async with signed_in(company.admin) as client:
        page = await client.get("/teach/progress")
        assert "Eve Elsewhere" in page.text
    async with signed_in(first) as client:
        assert (await client.get("/teach/progress")).status_code == 403
