"""Applying an import: all or nothing, idempotent, within the seats (also when two imports race for the last
ones), and the roster export that imports back unchanged."""

from __future__ import annotations

import asyncio
import csv
import io

from sqlalchemy import text

from tajiconnect.db.session import session_scope
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import post_form
from tests.integration.roster.conftest import (
    api,
    counts,
    learners,
    scalar,
    seats_used,
    upload_api,
    upload_page,
    write_csv,
)


def family_rows(d: str) -> list[list[str]]:
    return [
        [f"amina@{d}", "Amina", "Wanjiru", "student", "Form 2 East; Chess", f"grace@{d}", "ADM-1"],
        [f"brian@{d}", "Brian", "Wanjiru", "student", "Form 2 East", f"grace@{d}", "ADM-2"],
        [f"grace@{d}", "Grace", "Wanjiru", "parent", "", "", ""],
        [f"tom@{d}", "Tom", "Mboya", "teacher; parent", "Form 2 East", "", "T-9"],
        [f"zawadi@{d}", "Zawadi", "Otieno", "student", "Chess", f"olive@{d}", ""],
    ]


async def test_reimporting_the_same_file_changes_nothing(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("idem")
    path = write_csv(tmp_path / "family.csv", family_rows(domain))
    async with signed_in(org.admin) as client:
        first = (await upload_api(client, org.admin, path)).json()
        applied = await api(client, org.admin, "POST", f"/api/v1/imports/{first['id']}/apply")
        assert applied.json()["summary"]["applied"]["created"] == 5
        after_first = await counts(engine, org.tenant)
        again = (await upload_api(client, org.admin, path)).json()
        s = again["summary"]
        assert (s["new"], s["updated"], s["unchanged"], s["errors"], s["parents_new"]) == (0, 0, 5, 0, 0)
        assert (s["seats_needed"], s["groups_to_create"], s["warnings"]) == (0, [], [])
        replay = await api(client, org.admin, "POST", f"/api/v1/imports/{again['id']}/apply")
        assert replay.status_code == 200 and replay.json()["status"] == "applied"
        assert replay.json()["summary"]["applied"]["memberships_added"] == 0
        twice = await api(client, org.admin, "POST", f"/api/v1/imports/{again['id']}/apply")
        assert twice.status_code == 409 and "already applied" in twice.json()["detail"]
    # Nothing was added, not even history (an audit entry per import aside).
    assert await counts(engine, org.tenant) == after_first
    assert after_first["parent_links"] == 3 and after_first["groups"] == 2


async def test_a_failure_in_the_middle_of_apply_leaves_nothing(new_org, signed_in, engine, tmp_path, domain):
    """Parent links are written after members, seats, groups and memberships: a refusal there undoes them all."""
    org = await new_org("atom")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            await session.execute(text(
                "CREATE FUNCTION refuse_links() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'links are refused'; END $$"
            ))
            await session.execute(text(
                "CREATE TRIGGER refuse_links BEFORE INSERT ON parent_links FOR EACH ROW EXECUTE FUNCTION refuse_links()"
            ))
    before = await counts(engine, org.tenant)
    path = write_csv(tmp_path / "family.csv", family_rows(domain))
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert body["summary"]["can_apply"]
        answer = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert answer.status_code == 500
        page = await post_form(client, f"/admin/imports/{body['id']}/apply")
        assert page.status_code == 500
        status = (await api(client, org.admin, "GET", f"/api/v1/imports/{body['id']}")).json()["status"]
    assert status == "ready"  # still waiting for a confirmation that can go through
    assert await counts(engine, org.tenant) == before
    assert await seats_used(engine, org.tenant) == 0


async def test_an_import_over_the_seat_limit_is_refused_naming_the_missing_seats(
    new_org, signed_in, engine, seats, tmp_path, domain
):
    org = await new_org("seat")
    await seats(org.tenant, 3)
    rows_ = [*learners(5, domain), [f"teach@{domain}", "Tea", "Cher", "teacher", "", "", ""]]  # no seat
    path = write_csv(tmp_path / "five.csv", rows_)
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        s = body["summary"]
        assert (s["seats_needed"], s["seats_available"], s["missing_seats"], s["can_apply"]) == (5, 3, 2, False)
        assert s["blocking"] == ["Not enough seats: 2 more seats are needed (0 of 3 in use)."]
        page = await client.get(f"/admin/imports/{body['id']}")
        assert "Seats needed: 5. Available: 3." in page.text
        assert 'disabled aria-describedby="apply-blocked"' in page.text
        refused = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert refused.status_code == 409
        assert refused.json()["missing_seats"] == 2
        assert refused.json()["detail"] == "Not enough seats: 2 more seats are needed (0 of 3 in use)."
        assert await seats_used(engine, org.tenant) == 0
        # Two more seats bought: checking again lets it through.
        await seats(org.tenant, 5)
        assert (await post_form(client, f"/admin/imports/{body['id']}/check")).status_code == 303
        page = await client.get(f"/admin/imports/{body['id']}")
        assert 'id="apply-blocked"' not in page.text
        assert (await post_form(client, f"/admin/imports/{body['id']}/apply")).status_code == 303
    assert await seats_used(engine, org.tenant) == 5


async def test_two_imports_racing_for_the_last_seats_one_wins_the_other_is_refused_whole(
    new_org, signed_in, engine, seats, tmp_path, domain
):
    org = await new_org("race")
    await seats(org.tenant, 4)
    first = write_csv(tmp_path / "first.csv", learners(3, domain, prefix="F"))
    second = write_csv(tmp_path / "second.csv", learners(3, domain, start=10, prefix="S"))
    async with signed_in(org.admin) as client:
        ids = [(await upload_api(client, org.admin, p)).json()["id"] for p in (first, second)]
        headers = await _headers(client, org)
        answers = await asyncio.gather(
            *(client.post(f"/api/v1/imports/{i}/apply", headers=headers) for i in ids)
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["missing_seats"] == 2
        assert "2 more seats are needed (3 of 4 in use)" in loser.json()["detail"]
        lost_id = ids[answers.index(loser)]
        # The loser's preview is redone with the reason; none of its rows was written.
        lost = (await api(client, org.admin, "GET", f"/api/v1/imports/{lost_id}")).json()
        assert (lost["status"], lost["summary"]["missing_seats"], lost["summary"]["can_apply"]) == ("ready", 2, False)
        assert "2 more seats are needed" in lost["failure"]
        page = await client.get(f"/admin/imports/{lost_id}")
        assert 'id="import-failure"' in page.text
    assert await seats_used(engine, org.tenant) == 3
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM users WHERE 'student' = ANY(roles)") == 3


async def test_the_same_import_confirmed_twice_at_once_is_applied_once(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("twice")
    path = write_csv(tmp_path / "x.csv", learners(4, domain))
    async with signed_in(org.admin) as client:
        import_id = (await upload_api(client, org.admin, path)).json()["id"]
        headers = await _headers(client, org)
        answers = await asyncio.gather(
            *(client.post(f"/api/v1/imports/{import_id}/apply", headers=headers) for _ in range(2))
        )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM seat_events") == 4


async def _headers(client, org):
    from tests.integration.conftest import bearer_for

    return await bearer_for(client, org.admin)


async def test_the_roster_export_imports_back_unchanged(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("round", kind="school")
    path = write_csv(tmp_path / "family.csv", family_rows(domain))
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert (await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")).status_code == 200
        page_export = await client.get("/admin/roster/export.csv")
        api_export = await api(client, org.admin, "GET", "/api/v1/roster.csv")
        assert page_export.status_code == api_export.status_code == 200
        assert page_export.content == api_export.content
        assert 'filename="roster.csv"' in page_export.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(page_export.content.decode("utf-8-sig"))))
        by_email = {r["email"]: r for r in table}
        assert list(table[0]) == ["email", "first_name", "last_name", "name", "roles", "groups", "parent_email",
                                  "external_id"]
        assert by_email[f"amina@{domain}"] == {
            "email": f"amina@{domain}", "first_name": "", "last_name": "", "name": "Amina Wanjiru",
            "roles": "student", "groups": "Chess; Form 2 East", "parent_email": f"grace@{domain}",
            "external_id": "ADM-1",
        }
        assert by_email[f"tom@{domain}"]["roles"] == "teacher; parent"
        assert by_email[org.admin.email]["roles"] == "org_admin"
        exported = tmp_path / "roster.csv"
        exported.write_bytes(page_export.content)
        again = (await upload_api(client, org.admin, exported)).json()
        s = again["summary"]
        assert (again["format"], s["new"], s["updated"], s["errors"], s["unchanged"]) == ("taji", 0, 0, 0, len(table))


async def test_another_organizations_imports_do_not_exist_here(new_org, signed_in, tmp_path, domain):
    owner, other = await new_org("own"), await new_org("oth")
    path = write_csv(tmp_path / "x.csv", learners(2, domain))
    async with signed_in(owner.admin) as client:
        import_id = (await upload_api(client, owner.admin, path)).json()["id"]
        assert (await client.get(f"/admin/imports/{import_id}")).status_code == 200
    async with signed_in(other.admin) as client:
        for url in ("", "/progress", "/errors.csv"):
            assert (await client.get(f"/admin/imports/{import_id}{url}")).status_code == 404
        for url in ("/apply", "/check", "/mapping"):
            answer = await post_form(client, f"/admin/imports/{import_id}{url}", {"map_email": "email"})
            assert answer.status_code == 404
        for method, url in (("GET", ""), ("GET", "/errors"), ("GET", "/errors.csv"), ("POST", "/apply")):
            answer = await api(client, other.admin, method, f"/api/v1/imports/{import_id}{url}")
            assert answer.status_code == 404, url
            assert answer.headers["content-type"].startswith("application/problem+json")
        mapping = await api(client, other.admin, "POST", f"/api/v1/imports/{import_id}/mapping",
                            json={"mapping": {"email": "email", "name": "first_name"}})
        assert mapping.status_code == 404
        listed = await api(client, other.admin, "GET", "/api/v1/imports")
        assert listed.json()["total"] == 0
        assert "x.csv" not in (await client.get("/admin/imports")).text
    async with signed_in(owner.admin) as client:
        assert (await api(client, owner.admin, "GET", f"/api/v1/imports/{import_id}")).json()["status"] == "ready"


async def test_only_admins_import(new_org, signed_in, make_user, tmp_path, domain):
    org = await new_org("perm")
    teacher = await make_user(org.tenant, ["teacher", "manager"])
    path = write_csv(tmp_path / "x.csv", learners(1, domain))
    async with signed_in(teacher) as client:
        for url in ("/admin/imports", "/admin/imports/template.csv", "/admin/roster/export.csv"):
            assert (await client.get(url)).status_code == 403
        assert (await upload_page(client, path)).status_code == 403
        assert (await upload_api(client, teacher, path)).status_code == 403
        assert (await api(client, teacher, "GET", "/api/v1/roster.csv")).status_code == 403
    async with signed_in(org.admin) as client:
        members = await client.get("/admin/users")
        assert 'href="/admin/imports"' in members.text and 'href="/admin/roster/export.csv"' in members.text


async def test_past_imports_are_listed_newest_first(new_org, signed_in, tmp_path, domain):
    org = await new_org("list")
    async with signed_in(org.admin) as client:
        for n in range(3):
            await upload_api(client, org.admin, write_csv(tmp_path / f"file{n}.csv", learners(1, domain, start=n)))
        listed = (await api(client, org.admin, "GET", "/api/v1/imports?per_page=2")).json()
        assert (listed["total"], [i["filename"] for i in listed["items"]]) == (3, ["file2.csv", "file1.csv"])
        page = await client.get("/admin/imports")
        assert page.text.index("file2.csv") < page.text.index("file0.csv")
