"""The preview: every row checked against the file and the organization before anything is written, errors first,
what changes for members who are already there, the error report; nothing is written until the admin confirms."""

from __future__ import annotations

import csv
import io
import re

from tajiconnect.db.session import session_scope
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import audit_entries, create_member, post_form, set_user
from tests.integration.roster.conftest import api, counts, rows, scalar, upload_api, upload_page, write_csv


async def organization(engine, new_org, d: str):
    """A school with members the file will name: matched by external id or email, changed or not."""
    org = await new_org("prv", kind="school")
    t = org.tenant
    amina = await create_member(engine, t, ["student"], email=f"a@{d}", name="Amina Wanjiru")
    baraka = await create_member(engine, t, ["teacher"], email=f"b@{d}", name="Baraka")
    chebet = await create_member(engine, t, ["student"], email=f"c@{d}", name="Chebet")
    gone = await create_member(engine, t, ["student"], email=f"gone@{d}", name="Gone", status="deactivated")
    await create_member(engine, t, ["student"], email=f"h@{d}", name="Hawa")
    grace = await create_member(engine, t, ["student"], email=f"g@{d}", name="Gideon")
    await set_user(engine, t, amina.id, external_id="ADM-1")
    await set_user(engine, t, chebet.id, external_id="ADM-3")
    await set_user(engine, t, grace.id, external_id="ADM-6")
    with tenant_context(t):
        async with session_scope(engine) as session:
            form1 = Group(name="Form 1", kind="class", depth=0)
            session.add(form1)
            await session.flush()
            session.add(GroupMembership(group_id=form1.id, user_id=amina.id, role="member"))
    return org, {"amina": amina, "baraka": baraka, "chebet": chebet, "gone": gone}


def the_file(d: str, admin_email: str, *, with_errors: bool) -> list[list[str]]:
    good = {
        2: [f"a@{d}", "Amina", "Wanjiru", "student", "Form 1", "", "ADM-1"],  # unchanged
        3: [f"b@{d}", "Baraka", "Otieno", "teacher", "form 1", "", ""],  # name; leads Form 1
        4: [f"c2@{d}", "Chebet", "", "student", "", "", "ADM-3"],  # found by external id: new email
        8: [f"e@{d}", "Eve", "Akinyi", "student", "Form 9", f"p@{d}", "E-5"],  # new, new class, parent to invite
        9: [admin_email, "admin", "", "teacher", "", "", ""],  # an import never takes org_admin away
        10: [f"gone@{d}", "Gone", "", "student", "", "", ""],  # deactivated: not reactivated
    }
    bad = {
        5: ["not-an-email", "Xavier", "", "student", "", "", ""],
        6: [f"d@{d}", "Dan", "", "wizard", "", "", ""],
        7: [f"A@{d}", "Amina", "again", "student", "", "", ""],  # same email as line 2 (any case)
        11: [f"f@{d}", "Fatuma", "", "student", "", "", "ADM-3"],  # same external id as line 4
        12: [f"h@{d}", "Gideon", "", "student", "", "", "ADM-6"],  # ADM-6 is Gideon, h@ is Hawa
    }
    lines = {**good, **(bad if with_errors else {})}
    return [lines[n] for n in sorted(lines)]


async def test_the_preview_checks_every_row_against_the_file_and_the_organization(
    engine, new_org, signed_in, tmp_path, domain
):
    d = domain
    org, people = await organization(engine, new_org, d)
    before = await counts(engine, org.tenant)
    path = write_csv(tmp_path / "roster.csv", the_file(d, org.admin.email, with_errors=True))
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        s = body["summary"]
        assert (s["new"], s["updated"], s["unchanged"], s["errors"], s["parents_new"]) == (1, 3, 2, 5, 1)
        assert (s["seats_needed"], s["missing_seats"], s["can_apply"]) == (1, 0, False)
        assert s["blocking"] == ["5 rows have errors. Fix the file and upload it again."]
        assert s["groups_to_create"] == ["Form 9"] and s["warnings"] == [
            'The class "Form 9" does not exist yet: it will be created.'
        ]
        errors = {e["line"]: e["errors"] for e in body["errors"]}
        assert sorted(errors) == [5, 6, 7, 11, 12]
        assert errors[5] == ['"not-an-email" is not a valid email address.']
        assert errors[6][0].startswith('Unknown role "wizard". Use one of: student')
        assert errors[7] == ["Duplicate of line 2 (same email address)."]
        assert errors[11] == ["Duplicate of line 4 (same external id)."]
        assert errors[12] == [f"The email address h@{d} belongs to another member (external id ADM-6)."]

        url = f"/admin/imports/{body['id']}"
        page = await client.get(url)
        lines = [int(n) for n in re.findall(r'<tr id="import-line-(\d+)"', page.text)]
        assert lines == [5, 6, 7, 11, 12, 2, 3, 4, 8, 9, 10]  # errors first, then by line
        assert re.search(r'<button type="submit" disabled aria-describedby="apply-blocked">Confirm the import',
                         page.text)
        assert "5 rows have errors. Fix the file and upload it again." in page.text
        assert "Name: Baraka → Baraka Otieno" in page.text and "Joins: form 1" in page.text
        assert f"Email: c@{d} → c2@{d}" in page.text
        assert "Roles: org_admin → org_admin, teacher" in page.text
        assert f"The parent p@{d} is not a member yet and will be invited." in page.text
        assert "This member is deactivated. The import does not reactivate them." in page.text

        # The error report, and the errors page by page.
        report = await client.get(f"{url}/errors.csv")
        assert report.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
        assert table[0] == ["line", "email", "errors"]
        assert [r[0] for r in table[1:]] == ["5", "6", "7", "11", "12"]
        assert table[1][2] == '"not-an-email" is not a valid email address.'
        first = (await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}/errors?per_page=2")).json()
        third = (await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}/errors?per_page=2&page=3")).json()
        assert (first["total"], [e["line"] for e in first["items"]], [e["line"] for e in third["items"]]) == (
            5, [5, 6], [12]
        )
        api_report = await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}/errors.csv")
        assert api_report.content == report.content

        # Confirming is refused as a whole: nothing at all was written.
        refused = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert refused.status_code == 409 and refused.json()["missing_seats"] == 0
        assert "5 rows have errors" in refused.json()["detail"]
        page_refused = await post_form(client, f"{url}/apply")
        assert page_refused.status_code == 409
        assert await counts(engine, org.tenant) == before
        name = await scalar(engine, org.tenant, "SELECT name FROM users WHERE id = :i", i=people["baraka"].id)
        assert name == "Baraka"

        # The fixed file goes through.
        fixed = write_csv(tmp_path / "roster-fixed.csv", the_file(d, org.admin.email, with_errors=False))
        upload = await upload_page(client, fixed)
        assert upload.status_code == 303
        fixed_url = upload.headers["location"]
        page = await client.get(fixed_url)
        assert re.search(r'<button type="submit" aria-describedby="apply-help">Confirm the import', page.text)
        done = await post_form(client, f"{fixed_url}/apply")
        assert done.status_code == 303 and done.headers["location"] == f"{fixed_url}?notice=applied"
        result = await client.get(done.headers["location"])
        assert "The import was applied." in result.text
        assert "1 new member invited" in result.text and "3 members updated" in result.text

    members = {
        email: (name, list(roles), status, external_id)
        for email, name, roles, status, external_id in await rows(
            engine, org.tenant, "SELECT email, name, roles, status, external_id FROM users"
        )
    }
    assert members[f"b@{d}"] == ("Baraka Otieno", ["teacher"], "active", None)
    assert f"c@{d}" not in members and members[f"c2@{d}"] == ("Chebet", ["student"], "active", "ADM-3")
    assert members[f"e@{d}"] == ("Eve Akinyi", ["student"], "invited", "E-5")
    assert members[f"p@{d}"] == ("p", ["parent"], "invited", None)
    assert members[org.admin.email][1] == ["org_admin", "teacher"]
    assert members[f"gone@{d}"][2] == "deactivated"
    groups = await rows(
        engine, org.tenant,
        "SELECT g.name, g.kind, u.email, m.role FROM group_memberships m JOIN groups g ON g.id = m.group_id"
        " JOIN users u ON u.id = m.user_id WHERE m.ended_at IS NULL ORDER BY g.name, u.email",
    )
    assert [tuple(g) for g in groups] == [
        ("Form 1", "class", f"a@{d}", "member"),
        ("Form 1", "class", f"b@{d}", "leader"),
        ("Form 9", "class", f"e@{d}", "member"),
    ]
    assert await scalar(
        engine, org.tenant,
        "SELECT p.email FROM parent_links l JOIN users p ON p.id = l.parent_id JOIN users s ON s.id = l.learner_id"
        " WHERE s.email = :e AND l.source = 'import'", e=f"e@{d}",
    ) == f"p@{d}"
    seat = await rows(engine, org.tenant, "SELECT user_email, change, reason, actor_email FROM seat_events"
                                          " WHERE reason = 'imported'")
    assert [tuple(s) for s in seat] == [(f"e@{d}", "assigned", "imported", org.admin.email)]
    [entry] = await audit_entries(engine, org.tenant, "roster.import.applied")
    assert entry.actor_email == org.admin.email
    assert (entry.details["created"], entry.details["updated"], entry.details["parents_invited"]) == (1, 3, 1)


async def test_rows_the_source_marks_deleted_are_skipped_not_imported(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("prs")
    headers = ["user_id", "login_id", "first_name", "last_name", "full_name", "email", "status"]
    path = write_csv(tmp_path / "users.csv", [["u1", "x", "Old", "Pupil", "Old Pupil", f"old@{domain}", "deleted"]],
                     headers)
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert (body["summary"]["skipped"], body["summary"]["new"], body["summary"]["can_apply"]) == (1, 0, True)
        page = await client.get(f"/admin/imports/{body['id']}")
        assert re.search(r'<tr id="import-line-2" class="row-skip">', page.text) and "Skipped" in page.text
        assert (await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")).status_code == 200
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM users WHERE email = :e", e=f"old@{domain}") == 0


async def test_a_parent_email_on_a_row_that_is_not_a_learner_is_an_error(new_org, signed_in, tmp_path, domain):
    org = await new_org("prp")
    path = write_csv(tmp_path / "r.csv", [[f"t@{domain}", "Tina", "", "teacher", "", f"p@{domain}", ""]])
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert body["errors"] == [{
            "line": 2, "email": f"t@{domain}", "errors": ["Only learners can have a parent email."],
            "warnings": [f"The parent p@{domain} is not a member yet and will be invited."],
        }]
