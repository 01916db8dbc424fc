"""An operator's two-step sign-in on a 390 px phone: the password, then the forced enrollment (the key typed
from the page into an app, here pyotp), the recovery codes shown once, sign out, and sign in again with a code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.test_operator_console import OPERATOR_PASSWORD, no_horizontal_scroll
from tests.e2e.test_operator_console import operator_email as console_operator_email

pytestmark = pytest.mark.e2e

operator_email = console_operator_email  # a new operator, not enrolled, for this module


def fresh_step_code(key: str, after: int | None = None) -> tuple[str, int]:
    """The current code (waiting out a step boundary, and any step up to ``after`` that was used already)."""
    totp = pyotp.TOTP(key)
    while True:
        now = time.time()
        step = int(now // 30)
        if now % 30 < 28.5 and (after is None or step > after):
            return totp.generate_otp(step), step
        time.sleep(30 - now % 30 + 0.1)


def test_an_operator_enrolls_and_signs_in_with_a_code_on_a_phone(e2e_server, new_page, operator_email):
    apex = f"http://localhost:{e2e_server.port}"
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    main = page.locator("main")

    page.goto(apex + "/platform/sign-in")
    main.get_by_label("Email").fill(operator_email)
    main.get_by_label("Password").fill(OPERATOR_PASSWORD)
    main.get_by_role("button", name="Sign in").click()

    # Enrollment is forced: the console is out of reach until it is done.
    expect(page).to_have_url(re.compile(r"/platform/2fa/setup$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step verification")
    expect(page.locator(".qr svg")).to_be_visible()
    no_horizontal_scroll(page)
    page.goto(apex + "/platform/tasks")
    expect(page).to_have_url(re.compile(r"/platform/2fa/setup$"))

    key = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", key), key
    main.get_by_label("Code from the app").fill("000000" if pyotp.TOTP(key).now() != "000000" else "111111")
    main.get_by_role("button", name="Turn on").click()
    expect(page.locator("#e-code")).to_contain_text("That code is not valid")
    code, step = fresh_step_code(key)
    main.get_by_label("Code from the app").fill(code)
    main.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes.all_inner_texts())
    no_horizontal_scroll(page)
    main.get_by_role("link", name="I saved them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizations")

    page.locator("header").get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    expect(main).to_contain_text("10 unused recovery codes")
    no_horizontal_scroll(page)

    page.locator("header").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/platform/sign-in$"))

    main.get_by_label("Email").fill(operator_email)
    main.get_by_label("Password").fill(OPERATOR_PASSWORD)
    main.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/platform/2fa$"))
    no_horizontal_scroll(page)
    main.get_by_label("Code").fill(code)  # the code used to enroll: never accepted twice
    main.get_by_role("button", name="Verify").click()
    expect(page.locator("#e-code")).to_contain_text("That code is not valid")
    main.get_by_label("Code").fill(fresh_step_code(key, after=step)[0])
    main.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizations")
    expect(page.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
