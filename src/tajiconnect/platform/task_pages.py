"""The operators' failed tasks console on the apex host (``/platform/tasks``): the open failures (or all), one
failure in full, and Retry (``tasks/failures.py::retry_failed``, audited in the platform audit log)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.platform.pages import APEX, _actor, requires_operator
from tajiconnect.tasks.failures import (
    RetryError,
    last_lines,
    list_failed,
    retry_failed,
    retry_history,
    shown_kwargs,
)
from tajiconnect.tasks.models import FailedTask
from tajiconnect.web.forms import see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 50

Filter = Annotated[str | None, Parameter(max_length=64)]


class PlatformTaskPages(Controller):
    path = "/platform/tasks"
    opt = APEX
    include_in_schema = False
    guards = [requires_operator]

    @get("/", name="platform.tasks", opt=APEX)
    async def failed(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1,
                     tenant: Filter = None, task: Filter = None, show: Filter = None) -> Template:
        """The failed tasks, latest first: open ones, or all with ``show=all``; by tenant slug or task name."""
        filters = {"tenant": (tenant or "").strip(), "task": (task or "").strip(), "show": show or ""}
        include_retried = filters["show"] == "all"
        rows, total = await list_failed(
            db_session, include_retried=include_retried, tenant=filters["tenant"] or None,
            task=filters["task"] or None, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
        )
        context = {"failures": rows, "paging": page_info(total, page, PER_PAGE), "filters": filters,
                   "last_lines": last_lines}
        partial = wants_fragment(request, "platform-failures")
        return Template("platform/_failures.html" if partial else "platform/tasks.html", context=context)

    @get("/{failed_id:uuid}", name="platform.task", opt=APEX)
    async def detail(self, db_session: DbSession, failed_id: FromPath[uuid.UUID],
                     notice: FromQuery[str | None] = None, problem: FromQuery[str | None] = None) -> Template:
        row = await db_session.get(FailedTask, failed_id)
        if row is None:
            raise NotFoundException(detail="no such failed task")
        history = await retry_history(db_session, failed_id)
        return Template("platform/task.html", context={
            "failure": row, "kwargs": shown_kwargs(row.kwargs or {}), "history": history, "notice": notice,
            "problem": problem if problem in ("retried", "gone", "queued") else None,
        })

    @post("/{failed_id:uuid}/retry", name="platform.task.retry", opt=APEX)
    async def retry(self, request: Request, failed_id: FromPath[uuid.UUID]) -> Redirect:
        try:
            await retry_failed(request.app.state.engine, request.app.state.queue, failed_id, actor=_actor(request))
        except RetryError as exc:
            if exc.reason == "unknown":
                raise NotFoundException(detail="no such failed task") from exc
            return see_other(f"/platform/tasks/{failed_id}?problem={exc.reason}")
        return see_other(f"/platform/tasks/{failed_id}", notice="task_retried")
