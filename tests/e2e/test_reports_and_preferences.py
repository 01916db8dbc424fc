"""Two background-work flows in a browser on a 390 px phone, against the server's own worker:

* an admin asks for a course completion report as XLSX, watches it finish (the status part polls itself, then
  stops), and downloads a workbook that holds the learner;
* a learner chooses what they are told and how: email off for grades, a bad phone number refused with the form
  kept, then quiet hours saved.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import E2E_PASSWORD, in_tenant
from tests.e2e.flows import sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
COURSE = "Drip irrigation"
LEARNER = "Chiamaka Ọ̀kọ́"


def seed(settings, slug: str) -> None:
    """A published course with one learner enrolled."""
    from tests.integration.conftest import create_member
    from tests.integration.progress.conftest import build_course, enroll

    async def add(engine: Any, tenant: Any) -> None:
        learner = await create_member(engine, tenant, ["student"], E2E_PASSWORD, email=f"chi@{slug}.example",
                                      name=LEARNER)
        course = await build_course(engine, tenant, kinds=("text", "text"), title=COURSE)
        await enroll(engine, tenant, learner.id, course.id)

    in_tenant(settings, slug, add)


def test_an_admin_gets_a_completion_report_as_a_workbook(create_tenant, new_page, settings):
    org = create_tenant("rep")
    seed(settings, org.slug)
    admin = new_page()
    admin.set_viewport_size(PHONE)
    sign_in(admin, org.base_url, org.admin_email, org.admin_password)
    admin.goto(org.url("/reports"))
    admin.get_by_role("link", name="Ask for a report").click()
    admin.get_by_label("Report", exact=True).select_option("completion")
    admin.get_by_label("Format").select_option("xlsx")
    admin.get_by_role("button", name="Ask for the report").click()

    download = admin.locator("#report-download")
    expect(download).to_be_visible(timeout=30_000)  # the status part polled itself until the worker finished
    expect(admin.locator("#report-status-body")).not_to_have_attribute("hx-trigger", "every 2s")
    with admin.expect_download() as info:
        download.click()
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()), read_only=True)
    cells = {str(value) for row in book.active.iter_rows(values_only=True) for value in row if value is not None}
    assert LEARNER in cells and COURSE in cells
    assert admin.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")


def test_a_learner_chooses_channels_and_quiet_hours(create_tenant, new_page, settings):
    org = create_tenant("pref")
    seed(settings, org.slug)
    learner = new_page()
    learner.set_viewport_size(PHONE)
    sign_in(learner, org.base_url, f"chi@{org.slug}.example", E2E_PASSWORD)
    learner.goto(org.url("/notifications/preferences"))

    grades_by_email = learner.get_by_role("checkbox", name="Grades and feedback: Email")
    expect(grades_by_email).to_be_checked()  # the category's default
    grades_by_email.uncheck()
    learner.get_by_label("From", exact=True).fill("21:00")
    learner.get_by_label("Until").fill("06:30")
    learner.get_by_label("Mobile number for SMS").fill("0712 not a number")
    learner.get_by_role("button", name="Save").click()

    # Refused, with the field's error, and nothing typed is lost.
    phone = learner.get_by_label("Mobile number for SMS")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_value("0712 not a number")
    expect(learner.get_by_label("From", exact=True)).to_have_value("21:00")

    phone.fill("+254712345678")
    learner.get_by_role("button", name="Save").click()
    learner.goto(org.url("/notifications/preferences"))
    expect(learner.get_by_role("checkbox", name="Grades and feedback: Email")).not_to_be_checked()
    expect(learner.get_by_role("checkbox", name="Grades and feedback: In the app")).to_be_checked()
    expect(learner.get_by_label("From", exact=True)).to_have_value("21:00")
    expect(learner.get_by_label("Until")).to_have_value("06:30")
    expect(learner.get_by_label("Mobile number for SMS")).to_have_value("+254712345678")
    assert learner.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
