"""Fixtures and helpers of the reports tests."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tajiconnect.domains.reports.models import Report
from tests.integration.groups.conftest import tenant_session


@pytest.fixture
def worker_storage(app, run_jobs):
    """The worker stores files where the app serves them from."""
    run_jobs.worker.context["storage"] = app.state.storage
    yield app.state.storage
    run_jobs.worker.context.pop("storage", None)


async def load_report(engine, tenant, report_id) -> Report:
    async with tenant_session(engine, tenant) as session:
        report = await session.get(Report, uuid.UUID(str(report_id)))
        assert report is not None
        return report


async def fetch_file(browser: Any, report_id: Any) -> bytes:
    """A done report's file as its owner downloads it from the page (``/reports/{id}/download``)."""
    to_file = await browser.get(f"/reports/{report_id}/download")
    assert to_file.status_code == 303, to_file.text
    location = to_file.headers["location"]
    assert not re.fullmatch(r"/reports/[0-9a-f-]+", location), (await browser.get(location)).text[-3000:]
    answer = await browser.get(location)
    assert answer.status_code == 200, answer.text
    return answer.content
