"""The roster import in a browser: an admin uploads a CSV with some bad rows, sees the errors, uploads the fixed
file, confirms, watches the progress bar and sees the seats in use go up."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import _in_fresh_loop
from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e

ROWS = 2_500  # enough for the background path (over 500 rows) to take a moment a person can watch
SEATS = 5_000
WAIT_MS = 120_000  # a 2,500-row check or apply on a busy machine


def write_roster(path: Path, domain: str, *, bad: bool) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "last_name", "roles", "groups", "parent_email", "external_id"])
        for i in range(ROWS):
            writer.writerow([f"pupil{i}@{domain}", f"Pupil{i}", "Kamau", "student", f"Form {i % 4 + 1}", "",
                             f"ADM-{i:05d}"])
        if bad:
            writer.writerow(["not-an-email", "Broken", "Row", "student", "", "", ""])
            writer.writerow([f"wizard@{domain}", "Merlin", "Mage", "wizard", "", "", ""])
            writer.writerow([f"pupil0@{domain}", "Pupil0", "Again", "student", "", "", ""])
    return path


def set_seats(settings, slug: str, seats: int) -> None:
    from tajiconnect.db.session import create_engine
    from tajiconnect.domains.licensing.service import set_license

    async def update() -> None:
        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            await set_license(engine, slug, seats=seats, status="active")
        finally:
            await engine.dispose()

    _in_fresh_loop(update)


def test_admin_imports_a_roster_fixes_the_errors_and_watches_it_apply(create_tenant, settings, page, tmp_path):
    org = create_tenant("imp", kind="school")
    set_seats(settings, org.slug, SEATS)
    domain = f"{org.slug}.example"
    broken = write_roster(tmp_path / "class-lists.csv", domain, bad=True)
    fixed = write_roster(tmp_path / "class-lists-fixed.csv", domain, bad=False)

    sign_in(page, org.base_url, org.admin_email, org.admin_password)
    expect_signed_in(page, org.admin_name)
    page.goto(org.url("/admin/users"))
    page.get_by_role("link", name="Import members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import members")
    expect(page.locator("#seat-usage")).to_have_text(f"Seats in use: 0 of {SEATS} (5000 available).")

    # The file with bad rows: checked in the background, with a progress bar, then the errors come first.
    page.get_by_label("Roster file").set_input_files(str(broken))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("progressbar", name="Checking the file")).to_be_visible()
    expect(page.locator("#import-summary")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#import-format")).to_have_text("TajiConnect template")
    expect(page.locator("#import-summary")).to_contain_text("3 errors")
    first_rows = page.locator("#import-rows tbody tr")
    expect(first_rows.nth(0)).to_contain_text('"not-an-email" is not a valid email address.')
    expect(first_rows.nth(1)).to_contain_text('Unknown role "wizard"')
    expect(first_rows.nth(2)).to_contain_text("Duplicate of line 2 (same email address).")
    expect(page.get_by_role("button", name="Confirm the import")).to_be_disabled()
    expect(page.locator("#apply-blocked")).to_have_text("3 rows have errors. Fix the file and upload it again.")
    expect(page.get_by_role("link", name="Download the error report (CSV)")).to_be_visible()

    # The fixed file goes through the same check, then the admin confirms and watches it apply.
    page.get_by_role("link", name="Upload a corrected file").click()
    page.get_by_label("Roster file").set_input_files(str(fixed))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#import-summary")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#import-summary")).to_contain_text(f"{ROWS} new")
    expect(page.locator("#import-summary")).to_contain_text("0 errors")
    expect(page.locator("#import-seats")).to_have_text(f"Seats needed: {ROWS}. Available: {SEATS}.")
    confirm = page.get_by_role("button", name="Confirm the import")
    expect(confirm).to_be_enabled()
    confirm.click()
    progress = page.get_by_role("progressbar", name="Importing the members")
    expect(progress).to_be_visible()
    expect(page.locator("#import-progress")).to_contain_text(f"of {ROWS:,} rows")
    expect(page.locator("#import-result")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#import-result")).to_contain_text(f"{ROWS} new members invited")
    expect(page.locator("#import-status")).to_have_text("Imported")
    expect(page.locator("#seat-usage")).to_have_text(f"Seats in use: {ROWS} of {SEATS} (2500 available).")

    # The members list shows them; the imports list shows both files.
    page.goto(org.url("/admin/users?q=pupil1234"))
    expect(page.locator("#users-results")).to_contain_text("Pupil1234 Kamau")
    page.goto(org.url("/admin/imports"))
    expect(page.locator("#seat-usage")).to_have_text(f"Seats in use: {ROWS} of {SEATS} (2500 available).")
    expect(page.locator("#imports-list tbody tr")).to_have_count(2)
