"""Browsing the audit log: an admin page with filters and pages, and ``GET /api/v1/audit-log``."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.audit.models import AuditEntry
from tajiconnect.domains.audit.service import AuditFilter, distinct_actions, list_entries
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.openapi import GUARDED, REQUIRES_BEARER, Timestamp, problems
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 50
ACTION_MAX = 64
ACTOR_MAX = 320

# The API's filters: validated (a 400 problem) and documented from these declarations. The page parses and
# trims the same filters leniently instead, because a person typed them.
ActionFilter = Annotated[str | None, Parameter(max_length=ACTION_MAX, description="Actions starting with this.")]
ActorFilter = Annotated[
    str | None, Parameter(max_length=ACTOR_MAX, description="Part of the actor's or the subject's email.")
]
SinceFilter = Annotated[datetime.date | None, Parameter(description="From this day on (UTC).")]
UntilFilter = Annotated[datetime.date | None, Parameter(description="Up to this day, included (UTC).")]
PerPage = Annotated[int, Parameter(ge=1, le=200, description="Entries per page.")]


def _date(value: str | None, field: str) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationException(detail=f"{field} must be a date (YYYY-MM-DD)") from exc


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def build_filter(
    action: str | None, actor: str | None, since: datetime.date | None, until: datetime.date | None
) -> AuditFilter:
    return AuditFilter(
        action=(action or "").strip()[:ACTION_MAX] or None,
        actor=(actor or "").strip()[:ACTOR_MAX] or None,
        since=_start_of(since) if since else None,
        # The day after ``until`` (exclusive bound); there is none after the last day a date can name.
        until=_start_of(until) + datetime.timedelta(days=1) if until and until < datetime.date.max else None,
    )


class AuditRecord(msgspec.Struct):
    """One audit log entry: who (actor) did what (action) to whom (subject, target), from where, when."""

    id: uuid.UUID
    occurred_at: Timestamp
    action: str
    actor_id: uuid.UUID | None
    actor_email: str | None
    subject_email: str | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(msgspec.Struct):
    items: list[AuditRecord]
    total: int
    page: int
    per_page: int


def entry_json(e: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=e.id, occurred_at=e.occurred_at.isoformat(), action=e.action, actor_id=e.actor_id,
        actor_email=e.actor_email, subject_email=e.subject_email, target_type=e.target_type, target_id=e.target_id,
        ip=e.ip, user_agent=e.user_agent, details=e.details or {},
    )


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
        page: PageParam = 1,
    ) -> Template:
        try:
            f = build_filter(action, actor, _date(since, "since"), _date(until, "until"))
            error = None
        except ValidationException as exc:
            f, error = AuditFilter(), exc.detail
        entries, total = await list_entries(db_session, f, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
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
    security = REQUIRES_BEARER
    tags = ["audit"]

    @get("/", name="api.audit.list", summary="Audit log entries, newest first", **problems(400, *GUARDED))
    async def list_entries(
        self,
        db_session: DbSession,
        action: ActionFilter = None,
        actor: ActorFilter = None,
        since: SinceFilter = None,
        until: UntilFilter = None,
        page: PageParam = 1,
        per_page: PerPage = PER_PAGE,
    ) -> AuditPage:
        f = build_filter(action, actor, since, until)
        entries, total = await list_entries(db_session, f, limit=per_page, offset=(page - 1) * per_page)
        return AuditPage(items=[entry_json(e) for e in entries], total=total, page=page, per_page=per_page)
