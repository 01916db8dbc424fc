"""Helpers for the roster import tests: real files written to disk (CSV in any encoding and delimiter, XLSX with
openpyxl), uploads through the page and the API, and queries of what the import wrote."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.licensing.service import set_license
from tajiconnect.tenancy.context import TenantRef, tenant_context
from tests.integration.conftest import bearer_for, post_form

TEMPLATE = ("email", "first_name", "last_name", "roles", "groups", "parent_email", "external_id")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    headers: Sequence[str] = TEMPLATE,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """A CSV file on disk, as a spreadsheet program would save it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], headers: Sequence[str] = TEMPLATE) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def learners(count: int, domain: str, *, start: int = 0, groups: str = "", prefix: str = "L") -> list[list[str]]:
    """``count`` learner rows of the template with unique emails and external ids."""
    return [
        [f"learner{i}@{domain}", f"Learner{i}", "Test", "student", groups, "", f"{prefix}{i:05d}"]
        for i in range(start, start + count)
    ]


def file_part(path: Path, content_type: str) -> dict[str, tuple[str, bytes, str]]:
    """The multipart ``file`` part a browser sends for ``path``."""
    return {"file": (path.name, path.read_bytes(), content_type)}


async def upload_api(client: Any, member: Any, path: Path, content_type: str = "text/csv") -> Any:
    headers = await bearer_for(client, member)
    return await client.post("/api/v1/imports", files=file_part(path, content_type), headers=headers)


async def upload_page(client: Any, path: Path, content_type: str = "text/csv") -> Any:
    return await post_form(client, "/admin/imports", files=file_part(path, content_type))


async def api(client: Any, member: Any, method: str, url: str, **kwargs: Any) -> Any:
    headers = {**(await bearer_for(client, member)), **kwargs.pop("headers", {})}
    return await client.request(method, url, headers=headers, **kwargs)


async def scalar(engine: AsyncEngine, tenant: TenantRef, sql: str, **params: Any) -> Any:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return await session.scalar(text(sql), params)


async def rows(engine: AsyncEngine, tenant: TenantRef, sql: str, **params: Any) -> list[Any]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.execute(text(sql), params)).all())


async def counts(engine: AsyncEngine, tenant: TenantRef) -> dict[str, int]:
    """How many rows the roster tables hold (what an import may change)."""
    tables = ("users", "groups", "group_memberships", "parent_links", "seat_events", "email_tokens")
    return {t: int(await scalar(engine, tenant, f"SELECT count(*) FROM {t}")) for t in tables}


async def seats_used(engine: AsyncEngine, tenant: TenantRef) -> int:
    return int(await scalar(engine, tenant, "SELECT count(*) FROM users WHERE seat_assigned_at IS NOT NULL"))


@pytest.fixture
def seats(engine):
    """``await seats(tenant, n)``: the tenant's license, active with ``n`` seats."""

    async def set_seats(tenant: TenantRef, n: int) -> None:
        await set_license(engine, tenant.slug, seats=n, status="active")

    return set_seats


@pytest.fixture
def domain() -> str:
    return f"r{uuid.uuid4().hex[:8]}.example"
