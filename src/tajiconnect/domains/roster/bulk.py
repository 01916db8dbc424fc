"""Set-based statements for thousands of rows: one ``INSERT ... SELECT FROM jsonb_to_recordset(:rows)`` (or
``UPDATE ... FROM``) per chunk instead of one statement per row.

The rows travel as ONE JSON document (encoded by the standard library's C encoder) that PostgreSQL turns into typed
columns: no per-value work in Python on the way out (psycopg escapes every element of an array parameter with a
regular expression, which cost more than the statements themselves). Tenant tables are named unqualified (the
transaction's search path is the tenant's); table and column names come from this module only, never from input.
The 10,000-row import spends its time here (bench/roster_import.py).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: column -> PostgreSQL type, per table the import writes.
TYPES: dict[str, dict[str, str]] = {
    "users": {
        "id": "uuid", "email": "varchar", "name": "varchar", "password_hash": "varchar",
        "roles": "varchar(20)[]", "status": "varchar", "locale": "varchar", "time_zone": "varchar",
        "has_avatar": "boolean", "external_id": "varchar", "seat_assigned_at": "timestamptz",
        "created_at": "timestamptz", "updated_at": "timestamptz",
    },
    "seat_events": {
        "id": "uuid", "user_id": "uuid", "user_email": "varchar", "change": "varchar", "reason": "varchar",
        "actor_email": "varchar", "note": "varchar", "created_at": "timestamptz", "updated_at": "timestamptz",
    },
    "group_memberships": {
        "id": "uuid", "group_id": "uuid", "user_id": "uuid", "role": "varchar", "added_by_email": "varchar",
        "created_at": "timestamptz", "updated_at": "timestamptz",
    },
    "parent_links": {
        "id": "uuid", "parent_id": "uuid", "learner_id": "uuid", "source": "varchar",
        "created_by_email": "varchar", "created_at": "timestamptz", "updated_at": "timestamptz",
    },
    "roster_import_rows": {
        "import_id": "uuid", "line": "integer", "data": "jsonb", "action": "varchar", "errors": "jsonb",
        "warnings": "jsonb", "user_id": "uuid",
    },
}


def _encode(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a bulk statement")


def _source(table: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> tuple[str, dict[str, Any]]:
    types = TYPES[table]
    definition = ", ".join(f"{c} {types[c]}" for c in columns)
    document = json.dumps(rows, default=_encode, ensure_ascii=False, separators=(",", ":"))
    return f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({definition})", {"rows": document}


async def insert(
    session: AsyncSession, table: str, rows: Sequence[Mapping[str, Any]], *, on_conflict: str = ""
) -> None:
    """``INSERT INTO table (columns) SELECT columns FROM jsonb_to_recordset(...)``; every row has the same keys."""
    if not rows:
        return
    columns = list(rows[0])
    source, params = _source(table, rows, columns)
    names = ", ".join(columns)
    await session.execute(
        text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {source} {on_conflict}"),
        params,
    )


async def update(session: AsyncSession, table: str, rows: Sequence[Mapping[str, Any]], *, key: str = "id") -> None:
    """``UPDATE table SET columns = v.columns FROM jsonb_to_recordset(...) AS v WHERE table.key = v.key``."""
    if not rows:
        return
    columns = list(rows[0])
    source, params = _source(table, rows, columns)
    sets = ", ".join(f"{c} = v.{c}" for c in columns if c != key)
    await session.execute(
        text(f"UPDATE {table} AS t SET {sets} FROM {source} WHERE t.{key} = v.{key}"),
        params,
    )


async def select_in(
    session: AsyncSession, sql: str, values: Sequence[Any], element_type: str, **params: Any
) -> list[Any]:
    """Rows of ``sql`` whose ``:values`` placeholder stands for the set ``values`` (``... WHERE x IN :values``):
    sent as one JSON array, so that PostgreSQL can hash the set instead of comparing each row with each value."""
    if not values:
        return []
    elements = f"(SELECT CAST(jsonb_array_elements_text(CAST(:values AS jsonb)) AS {element_type}))"
    document = json.dumps(list(values), default=_encode, ensure_ascii=False, separators=(",", ":"))
    result = await session.execute(text(sql.replace(":values", elements)), {"values": document, **params})
    return list(result.all())
