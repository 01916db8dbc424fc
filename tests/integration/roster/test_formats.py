"""Uploading rosters exported from other systems: each format recognized by its headers, any encoding and
delimiter a spreadsheet writes, and the column-mapping step for anything else."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import bearer_for, post_form
from tests.integration.roster.conftest import (
    XLSX,
    api,
    file_part,
    rows,
    scalar,
    upload_api,
    upload_page,
    write_csv,
    write_xlsx,
)


def moodle(d: str) -> tuple[list[str], list[list[str]]]:
    headers = ["username", "password", "firstname", "lastname", "email", "idnumber", "cohort1", "cohort2"]
    return headers, [
        ["amina.w", "Pa55word!", "Amina", "Wanjiru", f"amina@{d}", "ADM-1", "Form 2 East", "Chess Club"],
        ["baraka.o", "Pa55word!", "Baraka", "Otiéno", f"baraka@{d}", "ADM-2", "Form 2 East", ""],
    ]


def canvas(d: str) -> tuple[list[str], list[list[str]]]:
    headers = ["user_id", "login_id", "first_name", "last_name", "full_name", "email", "status"]
    return headers, [
        ["u1", "amina", "Amina", "Wanjiru", "Amina Wanjiru", f"amina@{d}", "active"],
        ["u2", "baraka", "Baraka", "Otieno", "Baraka Otieno", f"baraka@{d}", "active"],
        ["u3", "gone", "Old", "Pupil", "Old Pupil", f"gone@{d}", "deleted"],
    ]


def oneroster(d: str) -> tuple[list[str], list[list[str]]]:
    headers = [
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
        "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
        "password",
    ]
    return headers, [
        ["s1", "active", "", "true", "org1", "student", "amina", "", "Amina", "Wanjiru", "", "", f"amina@{d}", "",
         "", "p1", "07", ""],
        ["p1", "active", "", "true", "org1", "parent", "grace", "", "Grace", "Wanjiru", "", "", f"grace@{d}", "",
         "", "s1", "", ""],
        ["t1", "active", "", "true", "org1", "teacher", "baraka", "", "Baraka", "Otieno", "", "", f"baraka@{d}",
         "", "", "", "", ""],
    ]


def google(d: str) -> tuple[list[str], list[list[str]]]:
    headers = [
        "First Name [Required]", "Last Name [Required]", "Email Address [Required]", "Password [Required]",
        "Org Unit Path [Required]", "Employee ID", "Status [READ ONLY]",
    ]
    return headers, [
        ["Amina", "Wanjiru", f"amina@{d}", "****", "/Students/Form 2 East", "E-1", "Active"],
        ["Baraka", "Otieno", f"baraka@{d}", "****", "/Students/Form 2 East", "E-2", "Active"],
        ["Old", "Pupil", f"gone@{d}", "****", "/Students", "E-3", "Suspended"],
    ]


def template(d: str) -> tuple[list[str], list[list[str]]]:
    headers = ["email", "first_name", "last_name", "name", "roles", "groups", "parent_email", "external_id"]
    return headers, [
        [f"amina@{d}", "Amina", "Wanjiru", "", "student", "Form 2 East; Chess Club", f"grace@{d}", "ADM-1"],
        [f"baraka@{d}", "", "", "Baraka Otieno", "teacher", "Form 2 East", "", "T-1"],
    ]


FORMATS = {
    # format: (file maker, kind, expected summary, member emails -> roles, memberships)
    "moodle": (moodle, {"new": 2, "skipped": 0}, {"amina": ["student"], "baraka": ["student"]},
               {("amina", "Form 2 East"), ("amina", "Chess Club"), ("baraka", "Form 2 East")}),
    "canvas": (canvas, {"new": 2, "skipped": 1}, {"amina": ["student"], "baraka": ["student"]}, set()),
    "oneroster": (oneroster, {"new": 3, "skipped": 0},
                  {"amina": ["student"], "grace": ["parent"], "baraka": ["teacher"]}, set()),
    "google": (google, {"new": 2, "skipped": 1}, {"amina": ["student"], "baraka": ["student"]},
               {("amina", "Form 2 East"), ("baraka", "Form 2 East")}),
    "taji": (template, {"new": 2, "parents_new": 1},
             {"amina": ["student"], "baraka": ["teacher"], "grace": ["parent"]},
             {("amina", "Form 2 East"), ("amina", "Chess Club"), ("baraka", "Form 2 East")}),
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("code", list(FORMATS))
async def test_each_format_is_recognized_and_imported(code, kind, new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("fmt", kind="school")
    make, expected, roles, memberships = FORMATS[code]
    headers, data = make(domain)
    path = (
        write_xlsx(tmp_path / f"{code}.xlsx", data, headers) if kind == "xlsx"
        else write_csv(tmp_path / f"{code}.csv", data, headers)
    )
    async with signed_in(org.admin) as client:
        answer = await upload_api(client, org.admin, path, XLSX if kind == "xlsx" else "text/csv")
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["format"], body["status"], body["errors"]) == (code, "ready", [])
        assert body["encoding"] == (None if kind == "xlsx" else "utf-8")
        assert {k: body["summary"][k] for k in expected} == expected
        applied = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")
        assert applied.status_code == 200, applied.text
        assert applied.json()["status"] == "applied"

    found = await rows(
        engine, org.tenant, "SELECT split_part(email, '@', 1), roles, status FROM users WHERE email LIKE :d",
        d=f"%@{domain}",
    )
    assert {local: list(r) for local, r, _status in found} == roles
    assert {status for _local, _r, status in found} == {"invited"}
    joined = await rows(
        engine, org.tenant,
        "SELECT split_part(u.email, '@', 1), g.name, g.kind FROM group_memberships m JOIN users u ON u.id = m.user_id"
        " JOIN groups g ON g.id = m.group_id WHERE m.ended_at IS NULL",
    )
    assert {(who, group) for who, group, _kind in joined} == memberships
    assert {k for _who, _group, k in joined} <= {"class"}  # a school's teams are classes
    if code == "oneroster":  # agentSourcedIds links the student to the parent of the same file
        assert await scalar(
            engine, org.tenant,
            "SELECT p.email FROM parent_links l JOIN users p ON p.id = l.parent_id JOIN users s ON s.id = l.learner_id"
            " WHERE s.email = :e", e=f"amina@{domain}",
        ) == f"grace@{domain}"
    if code in ("moodle", "canvas", "oneroster"):  # external ids come from the source system
        assert await scalar(engine, org.tenant, "SELECT external_id FROM users WHERE email = :e",
                            e=f"amina@{domain}") == {"moodle": "ADM-1", "canvas": "u1", "oneroster": "s1"}[code]


ACCENTED = [["Élodie", "Dupré"], ["Zoë", "Müller"], ["Wanjiku", "Ng'ang'a"]]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "reported"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ";", "utf-8-sig"),  # Excel's "CSV UTF-8", French Excel: semicolons
        ("cp1252", ";", "cp1252"),  # Excel's plain "CSV" on Windows in French
        ("latin-1", "\t", "cp1252"),  # Latin-1 text is read as Windows-1252 (a superset for these characters)
    ],
)
async def test_encodings_and_delimiters(encoding, delimiter, reported, new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("enc")
    data = [[f"p{i}@{domain}", first, last, "élève", "Équipe A", "", f"E{i}"] for i, (first, last) in
            enumerate(ACCENTED)]
    path = write_csv(tmp_path / "export.csv", data, delimiter=delimiter, encoding=encoding)
    async with signed_in(org.admin) as client:
        answer = await upload_api(client, org.admin, path)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["encoding"], body["delimiter"], body["format"]) == (reported, delimiter, "taji")
        assert body["summary"]["new"] == 3 and body["summary"]["errors"] == 0
        assert body["summary"]["groups_to_create"] == ["Équipe A"]
        assert (await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/apply")).status_code == 200
    names = await rows(engine, org.tenant, "SELECT name, roles FROM users WHERE email LIKE :d ORDER BY email",
                       d=f"%@{domain}")
    assert [(n, list(r)) for n, r in names] == [(f"{a} {b}", ["student"]) for a, b in ACCENTED]
    assert await scalar(engine, org.tenant, "SELECT name FROM groups") == "Équipe A"


async def test_the_page_shows_the_detected_format_and_file(new_org, signed_in, tmp_path, domain):
    org = await new_org("fmp")
    headers, data = moodle(domain)
    path = write_csv(tmp_path / "moodle-users.csv", data, headers, delimiter=";", encoding="cp1252")
    async with signed_in(org.admin) as client:
        page = await client.get("/admin/imports")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text and 'href="/admin/imports/template.csv"' in page.text
        answer = await upload_page(client, path)
        assert answer.status_code == 303, answer.text
        detail = await client.get(answer.headers["location"])
        assert detail.status_code == 200
        assert re.search(r'id="import-format">Moodle \(Upload users\)<', detail.text)
        assert "CSV, cp1252, separated by semicolon" in detail.text
        assert "2 new" in detail.text and 'id="apply-blocked"' not in detail.text
        template = await client.get("/admin/imports/template.csv")
        assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
        assert template.content.startswith(b"\xef\xbb\xbfemail,first_name,last_name,name,roles,groups")


async def test_unreadable_files_are_refused_with_the_reason(new_org, signed_in, tmp_path):
    org = await new_org("fmu")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    old_excel = tmp_path / "old.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    async with signed_in(org.admin) as client:
        answer = await upload_page(client, empty)
        assert answer.status_code == 422 and "The file is empty." in answer.text
        assert 'aria-invalid="true"' in answer.text
        no_file = await post_form(client, "/admin/imports", {"note": "nothing"})
        assert no_file.status_code == 422 and "Choose a CSV or Excel" in no_file.text
        assert (await api(client, org.admin, "GET", "/api/v1/imports")).json()["total"] == 0  # nothing stored
        # The API makes a failed import that says why (a schema-valid upload is never refused).
        answer = await upload_api(client, org.admin, old_excel, "application/vnd.ms-excel")
        assert answer.status_code == 201
        body = answer.json()
        assert (body["status"], body["format"], body["total_rows"], body["summary"]) == ("failed", None, 0, None)
        assert "97-2003" in body["failure"]
        page = await client.get(f"/admin/imports/{body['id']}")
        assert 'id="import-failure"' in page.text and "97-2003" in page.text
        for step in ("apply", "mapping"):
            refused = await api(client, org.admin, "POST", f"/api/v1/imports/{body['id']}/{step}",
                                json={"mapping": {"email": "a", "name": "b"}})
            assert refused.status_code == 409, step
        # The upload form is closed: a part it does not declare is a 400, and nothing is stored.
        headers = await bearer_for(client, org.admin)
        extra = await client.post("/api/v1/imports", headers=headers, data={"note": "x"},
                                  files=file_part(old_excel, "application/vnd.ms-excel"))
        assert extra.status_code == 400 and "note" in extra.json()["detail"]
        assert (await api(client, org.admin, "GET", "/api/v1/imports")).json()["total"] == 1


async def test_files_over_the_limit_are_413(new_org, signed_in, tmp_path):
    from tajiconnect.domains.roster.files import MAX_BYTES

    org = await new_org("fml")
    big = tmp_path / "big.csv"
    big.write_bytes(b"email,name\n" + b"x" * MAX_BYTES)
    async with signed_in(org.admin) as client:
        answer = await upload_api(client, org.admin, big)
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "10 MiB" in answer.json()["detail"]
        page = await upload_page(client, big)
        assert page.status_code == 413 and "10 MiB" in page.text


async def test_unknown_columns_get_a_mapping_step_prefilled_with_guesses(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("fmm")
    headers = ["Courriel", "Nom complet", "Profil", "Classe", "Téléphone"]
    data = [[f"awa@{domain}", "Awa Diop", "élève", "6e B", "+221"], [f"moussa@{domain}", "Moussa Ba", "professeur",
                                                                      "6e B", ""]]
    path = write_csv(tmp_path / "pronote.csv", data, headers, delimiter=";")
    async with signed_in(org.admin) as client:
        answer = await upload_page(client, path)
        assert answer.status_code == 303
        url = answer.headers["location"]
        page = await client.get(url)
        assert "Which column holds what?" in page.text
        assert re.search(r'<select id="map-email"[^>]*>.*?<option value="Courriel" selected>', page.text, re.S)
        assert re.search(r'<select id="map-name"[^>]*>.*?<option value="Nom complet" selected>', page.text, re.S)
        assert re.search(r'<select id="map-groups"[^>]*multiple[^>]*>.*?<option value="Classe" selected>', page.text,
                         re.S)
        # A mapping without an email column is refused, with the values kept.
        refused = await post_form(client, f"{url}/mapping", {"map_email": "", "map_name": "Nom complet"})
        assert refused.status_code == 422
        assert "Choose the column that holds the email addresses." in refused.text
        assert re.search(r'<option value="Nom complet" selected>', refused.text)
        done = await post_form(client, f"{url}/mapping", {"map_email": "Courriel", "map_name": "Nom complet",
                                                          "map_roles": "Profil", "map_groups": "Classe"})
        assert done.status_code == 303
        page = await client.get(url)
        assert re.search(r'id="import-format">Other \(columns mapped by hand\)<', page.text)
        assert "2 new" in page.text
        import_id = url.rsplit("/", 1)[-1]
        body = (await api(client, org.admin, "GET", f"/api/v1/imports/{import_id}")).json()
        assert body["mapping"] == {"email": "Courriel", "name": "Nom complet", "roles": ["Profil"],
                                   "groups": ["Classe"]}
        assert (await api(client, org.admin, "POST", f"/api/v1/imports/{import_id}/apply")).status_code == 200
    assert await rows(engine, org.tenant, "SELECT name, roles FROM users WHERE email LIKE :d ORDER BY email",
                      d=f"%@{domain}") == [("Awa Diop", ["student"]), ("Moussa Ba", ["teacher"])]


async def test_the_mapping_api(new_org, signed_in, tmp_path, domain):
    org = await new_org("fma")
    path = write_csv(tmp_path / "x.csv", [[f"a@{domain}", "A B"]], ["Mail address", "Who"])
    async with signed_in(org.admin) as client:
        body = (await upload_api(client, org.admin, path)).json()
        assert (body["status"], body["format"], body["summary"]) == ("needs_mapping", None, None)
        assert body["mapping"]["email"] == "Mail address"
        url = f"/api/v1/imports/{body['id']}"
        refused = await api(client, org.admin, "POST", f"{url}/apply")
        assert refused.status_code == 409 and refused.json()["missing_seats"] == 0
        bad = await api(client, org.admin, "POST", f"{url}/mapping", json={"mapping": {"email": "Nope", "name": "Who"}})
        assert bad.status_code == 409 and 'no column "Nope"' in bad.json()["detail"]
        empty = await api(client, org.admin, "POST", f"{url}/mapping", json={"mapping": {"email": "", "name": None}})
        assert empty.status_code == 409 and "Choose the column that holds the email" in empty.json()["detail"]
        unknown = await api(client, org.admin, "POST", f"{url}/mapping", json={"mapping": {"mail": "x"}})
        assert unknown.status_code == 400
        good = await api(client, org.admin, "POST", f"{url}/mapping",
                         json={"mapping": {"email": "Mail address", "name": "Who"}})
        assert good.status_code == 200, good.text
        assert (good.json()["status"], good.json()["summary"]["new"]) == ("ready", 1)
        assert (await api(client, org.admin, "POST", f"{url}/apply")).json()["status"] == "applied"
        late = await api(client, org.admin, "POST", f"{url}/mapping",
                         json={"mapping": {"email": "Mail address", "name": "Who"}})
        assert late.status_code == 409


async def test_an_upload_with_an_idempotency_key_is_answered_once(new_org, signed_in, engine, tmp_path, domain):
    org = await new_org("fmi")
    path = write_csv(tmp_path / "x.csv", [[f"a@{domain}", "A", "B", "student", "", "", ""]])
    async with signed_in(org.admin) as client:
        key = {"Idempotency-Key": "upload-1"}
        first = await api(client, org.admin, "POST", "/api/v1/imports", headers=key,
                          files={"file": (path.name, path.read_bytes(), "text/csv")})
        again = await api(client, org.admin, "POST", "/api/v1/imports", headers=key,
                          files={"file": (path.name, path.read_bytes(), "text/csv")})
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
        other = await api(client, org.admin, "POST", "/api/v1/imports", headers=key,
                          files={"file": ("y.csv", path.read_bytes() + b"b@x.example,B,C,,,,\r\n", "text/csv")})
        assert other.status_code == 422
        empty = await api(client, org.admin, "POST", "/api/v1/imports", headers={"Idempotency-Key": "upload-2"})
        assert empty.status_code == 400
    assert await scalar(engine, org.tenant, "SELECT count(*) FROM roster_imports") == 1
