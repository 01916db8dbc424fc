"""The failed tasks console on a 390 px phone: an operator finds a failure from the navigation, reads it (the
rows are labelled cards, nothing wider than the phone) and retries it."""

from __future__ import annotations

import datetime
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e import test_operator_console as console
from tests.e2e.conftest import _in_fresh_loop
from tests.e2e.test_operator_console import no_horizontal_scroll, operator_on_a_phone

pytestmark = pytest.mark.e2e

operator_email = console.operator_email  # the console tests' operator fixture, for this module


def record_failure(settings, slug: str) -> uuid.UUID:
    from tajiconnect.db.session import create_engine, session_scope
    from tajiconnect.tasks.models import FailedTask
    from tajiconnect.tenancy.context import tenant_context

    async def insert() -> uuid.UUID:
        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            with tenant_context(None):
                async with session_scope(engine, schema=None) as session:
                    row = FailedTask(
                        job_key=f"{slug}:count:{uuid.uuid4().hex[:6]}", queue="tajiconnect", task="count_users",
                        tenant_slug=slug, kwargs={"tenant": slug}, status="failed", attempts=4,
                        error="Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
                              "RuntimeError: the database went away in the middle of a long line " + "x" * 120,
                        failed_at=datetime.datetime.now(datetime.UTC),
                    )
                    session.add(row)
                    await session.flush()
                    return row.id
        finally:
            await engine.dispose()

    return _in_fresh_loop(insert)


def test_an_operator_retries_a_failed_task_on_a_phone(e2e_server, create_tenant, new_page, settings, operator_email):
    org = create_tenant("aatask")
    failed_id = record_failure(settings, org.slug)
    apex = f"http://localhost:{e2e_server.port}"
    page = operator_on_a_phone(new_page, apex, operator_email)
    page.get_by_role("link", name="Failed tasks").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Failed tasks")

    page.get_by_label("Organization (slug)").fill(org.slug)
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"#failed-{failed_id}")
    expect(row.locator('td[data-label="Organization"]')).to_have_text(org.slug)
    expect(row.locator('td[data-label="Error"]')).to_contain_text("RuntimeError: the database went away")
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"  # a card, not a table row
    no_horizontal_scroll(page)

    row.get_by_role("link", name="count_users").click()
    expect(page.locator("#failure-error")).to_contain_text("Traceback")
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Retry the task").click()
    expect(page.get_by_role("status")).to_have_text("The task is back in its queue.")
    expect(page.locator("#failure-state")).to_contain_text(f"retried by {operator_email}")
    expect(page.locator("#retry-history")).to_contain_text(operator_email)
    expect(page.get_by_role("button", name="Retry the task")).to_have_count(0)
    no_horizontal_scroll(page)
