"""Teaching views, ``/teach/progress``: the progress of the learners a manager or teacher follows (the groups they
lead and those below them; admins: everyone), per course or per path, filterable, paginated, and as CSV.

Everything is read from the columns the progress service keeps on ``enrollments`` and ``path_enrollments``
(percent, status, time, last activity, due date): one query per page whatever the number of rows (a path's time
and last activity are correlated sums over its courses' enrollments, in the same statement). The CSV streams the
same query in chunks from its own transaction on the tenant's schema.
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Stream, Template
from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.courses.access import catalog_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.enrollments.service import _uuid, in_learner_scope, is_overdue, overdue_sql
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.domains.paths.service import visible_filter
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 50
CSV_CHUNK = 1000
Mode = Literal["course", "path"]
STATUSES = ("active", "completed", "withdrawn")


@dataclass
class ProgressQuery:
    mode: Mode = "course"
    group_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    path_id: uuid.UUID | None = None
    status: str | None = None
    overdue: bool = False
    #: One learner only (the teacher's home links a learner at risk here).
    learner_id: uuid.UUID | None = None


@dataclass
class ProgressRow:
    name: str
    email: str
    subject_id: uuid.UUID
    subject: str
    status: str
    percent: int
    seconds: int
    last_activity: datetime.datetime | None
    due_at: datetime.datetime | None

    @property
    def overdue(self) -> bool:
        return is_overdue(self.due_at, self.status)


def _in_group(group_id: uuid.UUID, user_column: Any) -> Any:
    return user_column.in_(
        select(GroupMembership.user_id).where(
            GroupMembership.group_id == group_id, GroupMembership.ended_at.is_(None),
            GroupMembership.role == "member",
        )
    )


def statement(viewer: Any, query: ProgressQuery) -> Select:
    """The rows ``viewer`` may see, filtered and ordered (subject, then learner)."""
    model: Any = Enrollment if query.mode == "course" else PathEnrollment
    where: list[Any] = [in_learner_scope(viewer, model.user_id)]
    if query.group_id is not None:
        where.append(_in_group(query.group_id, model.user_id))
    if query.status in STATUSES:
        where.append(model.status == query.status)
    else:
        where.append(model.withdrawn_at.is_(None))
    if query.overdue:
        where.append(overdue_sql(model))
    if query.learner_id is not None:
        where.append(model.user_id == query.learner_id)
    if query.mode == "course":
        if query.course_id is not None:
            where.append(Enrollment.course_id == query.course_id)
        return (
            select(
                User.name, User.email, Course.id.label("subject_id"), Course.title.label("subject"), Enrollment.status,
                Enrollment.progress_percent, Enrollment.seconds_spent, Enrollment.last_activity_at, Enrollment.due_at,
            )
            .join(User, User.id == Enrollment.user_id)
            .join(Course, Course.id == Enrollment.course_id)
            .where(*where)
            .order_by(func.lower(Course.title), Course.id, func.lower(User.name), User.id, Enrollment.created_at)
        )
    if query.path_id is not None:
        where.append(PathEnrollment.path_id == query.path_id)
    in_path = select(func.unnest(PathStage.course_ids)).where(PathStage.path_id == PathEnrollment.path_id)
    mine = and_(Enrollment.user_id == PathEnrollment.user_id, Enrollment.course_id.in_(in_path.scalar_subquery()))
    seconds = select(func.coalesce(func.sum(Enrollment.seconds_spent), 0)).where(mine).scalar_subquery()
    last = select(func.max(Enrollment.last_activity_at)).where(mine).scalar_subquery()
    return (
        select(
            User.name, User.email, LearningPath.id.label("subject_id"), LearningPath.title.label("subject"),
            PathEnrollment.status, PathEnrollment.progress_percent, seconds.label("seconds"), last.label("last"),
            PathEnrollment.due_at,
        )
        .join(User, User.id == PathEnrollment.user_id)
        .join(LearningPath, LearningPath.id == PathEnrollment.path_id)
        .where(*where)
        .order_by(func.lower(LearningPath.title), LearningPath.id, func.lower(User.name), User.id,
                  PathEnrollment.created_at)
    )


def _row(r: Any) -> ProgressRow:
    return ProgressRow(
        name=r[0], email=r[1], subject_id=r[2], subject=r[3], status=r[4], percent=int(r[5] or 0),
        seconds=int(r[6] or 0), last_activity=r[7], due_at=r[8],
    )


async def page_of(
    session: AsyncSession, viewer: Any, query: ProgressQuery, page: int, per_page: int = PER_PAGE
) -> tuple[list[ProgressRow], int]:
    stmt = statement(viewer, query)
    total = int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    rows = await session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    return [_row(r) for r in rows.all()], total


def hours(seconds: int) -> str:
    return f"{seconds / 3600:.1f}"


CSV_COLUMNS = ("learner", "email", "subject", "status", "percent", "hours", "last_activity", "due_at", "overdue")


async def csv_chunks(engine: AsyncEngine, schema: str, viewer: Any, query: ProgressQuery) -> AsyncIterator[bytes]:
    """The CSV, header first, :data:`CSV_CHUNK` rows per database round trip, in one read transaction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    stmt = statement(viewer, query)
    async with session_scope(engine, schema=schema) as session:
        offset = 0
        while True:
            rows = [_row(r) for r in (await session.execute(stmt.limit(CSV_CHUNK).offset(offset))).all()]
            if not rows:
                break
            buffer.seek(0)
            buffer.truncate()
            for r in rows:
                writer.writerow([
                    _safe(r.name), r.email, _safe(r.subject), r.status, r.percent, hours(r.seconds),
                    r.last_activity.isoformat() if r.last_activity else "", r.due_at.isoformat() if r.due_at else "",
                    "yes" if r.overdue else "no",
                ])
            yield buffer.getvalue().encode()
            offset += CSV_CHUNK


def _safe(value: str) -> str:
    """No spreadsheet formula from a name or title (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class TeachingPages(Controller):
    path = "/teach/progress"
    guards = [requires_permission(Permission.VIEW_PROGRESS)]
    include_in_schema = False

    async def _query(self, request: Request, session: AsyncSession) -> ProgressQuery:
        """The filters, from the query string (the page and the CSV read the same ones)."""
        params = request.query_params
        course, path, group = params.get("course"), params.get("path"), params.get("group")
        status = params.get("status")
        query = ProgressQuery(
            mode="path" if params.get("mode") == "path" else "course", course_id=_uuid(course) if course else None,
            path_id=_uuid(path) if path else None, status=status if status in STATUSES else None,
            overdue=params.get("overdue") == "1",
            learner_id=_uuid(params["learner"]) if params.get("learner") else None,
        )
        if group:
            try:
                query.group_id = (await groups.get_group(session, request.scope["user"], group)).id
            except groups.GroupNotFound:
                raise NotFoundException(detail=_("No such group.")) from None
        return query

    @get("/", name="teach.progress")
    async def progress(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        viewer = request.scope["user"]
        query = await self._query(request, db_session)
        rows, total = await page_of(db_session, viewer, query, page)
        context: dict[str, Any] = {"rows": rows, "paging": page_info(total, page, PER_PAGE), "hours": hours}
        filters = {
            "mode": query.mode, "group": str(query.group_id or ""), "course": str(query.course_id or ""),
            "path": str(query.path_id or ""), "status": query.status or "", "overdue": "1" if query.overdue else "",
            "learner": str(query.learner_id or ""),
        }
        context.update(filters=filters, query_string="&".join(f"{k}={v}" for k, v in filters.items() if v))
        if wants_fragment(request, "progress-results"):
            return Template("teach/_progress_rows.html", context=context)
        nodes = await groups.visible_groups(db_session, viewer)
        courses = (await db_session.execute(
            select(Course.id, Course.title).where(catalog_filter(viewer)).order_by(Course.title).limit(500)
        )).all()
        paths = (await db_session.execute(
            select(LearningPath.id, LearningPath.title).where(visible_filter(viewer)).order_by(LearningPath.title)
            .limit(500)
        )).all()
        context.update(nodes=nodes, courses=courses, paths=paths, statuses=STATUSES)
        return Template("teach/progress.html", context=context)

    @get("/export.csv", name="teach.progress.csv")
    async def export(self, request: Request, db_session: DbSession) -> Stream:
        viewer = request.scope["user"]
        query = await self._query(request, db_session)
        schema = require_tenant().schema
        name = f"progress-{query.mode}-{datetime.date.today().isoformat()}.csv"
        return Stream(
            csv_chunks(request.app.state.engine, schema, viewer, query),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
        )
