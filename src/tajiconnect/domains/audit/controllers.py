"""Browsing the audit log: an admin page with filters and pages, and ``GET /api/v1/audit-log``."""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Controller, get
from litestar.exceptions import ValidationException
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.audit.service import AuditFilter, distinct_actions, list_entries
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import page_info

PER_PAGE = 50


def _date(value: str | None, field: str) -> datetime.datetime | None:
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationException(detail=f"{field} must be a date (YYYY-MM-DD)") from exc
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def build_filter(action: str | None, actor: str | None, since: str | None, until: str | None) -> AuditFilter:
    until_dt = _date(until, "until")
    return AuditFilter(
        action=(action or "").strip()[:64] or None,
        actor=(actor or "").strip()[:320] or None,
        since=_date(since, "since"),
        until=until_dt + datetime.timedelta(days=1) if until_dt else None,
    )


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": str(e.id), "occurred_at": e.occurred_at.isoformat(), "action": e.action,
        "actor_id": str(e.actor_id) if e.actor_id else None, "actor_email": e.actor_email,
        "subject_email": e.subject_email, "target_type": e.target_type, "target_id": e.target_id,
        "ip": e.ip, "user_agent": e.user_agent, "details": e.details,
    }


class AuditPages(Controller):
    path = "/admin/audit"
    guards = [requires_permission(Permission.VIEW_AUDIT_LOG)]
    include_in_schema = False

    @get("/", name="admin.audit")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        action: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Template:
        try:
            f = build_filter(action, actor, since, until)
            error = None
        except ValidationException as exc:
            f, error = AuditFilter(), exc.detail
        entries, total = await list_entries(db_session, f, limit=PER_PAGE, offset=(max(page, 1) - 1) * PER_PAGE)
        context = {
            "entries": entries,
            "filters": {"action": action or "", "actor": actor or "", "since": since or "", "until": until or ""},
            "actions": await distinct_actions(db_session),
            "paging": page_info(total, page, PER_PAGE),
            "errors": {"form": error} if error else {},
        }
        partial = wants_fragment(request, "audit-results")
        return Template("admin/audit/_results.html" if partial else "admin/audit/index.html", context=context,
                        status_code=422 if error and not partial else 200)


class AuditApi(Controller):
    path = "/api/v1/audit-log"
    guards = [requires_permission(Permission.VIEW_AUDIT_LOG)]
    tags = ["audit"]

    @get("/", name="api.audit.list", summary="Audit log entries, newest first")
    async def list_entries(
        self,
        db_session: DbSession,
        action: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
        per_page: FromQuery[int] = PER_PAGE,
    ) -> dict[str, Any]:
        if page < 1 or not 1 <= per_page <= 200:
            raise ValidationException(detail="page must be >= 1 and per_page between 1 and 200")
        f = build_filter(action, actor, since, until)
        entries, total = await list_entries(db_session, f, limit=per_page, offset=(page - 1) * per_page)
        return {"items": [entry_json(e) for e in entries], "total": total, "page": page, "per_page": per_page}
