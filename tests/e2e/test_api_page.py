"""The API's page (``/schema``) in a browser: Swagger UI from this server only, working under the strict CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_api_page_renders_from_this_server_and_tries_a_call(create_tenant, page):
    org = create_tenant("api")
    problems: list[str] = []
    origins: set[str] = set()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: origins.add(urlsplit(request.url).netloc))

    page.goto(org.url("/schema"))
    expect(page.get_by_role("heading", name="TajiConnect API")).to_be_visible()
    operation = page.locator(".opblock").filter(has_text="/health").first
    expect(operation).to_be_visible()
    expect(page.locator(".opblock").filter(has_text="/api/v1/users/me").first).to_be_visible()

    # "Try it out" calls the API from the page: the CSP lets it reach this origin.
    operation.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")

    assert origins == {urlsplit(org.base_url).netloc}  # no CDN, nothing from anywhere else
    assert problems == []  # no script refused by the CSP, no error
    icon = page.evaluate("() => document.querySelector('link[rel=icon]').href")
    assert urlsplit(icon).path == "/static/favicon.svg"
