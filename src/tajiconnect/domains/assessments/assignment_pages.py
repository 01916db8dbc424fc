"""The learner's assignment: ``/learn/assignments/{lesson_id}`` (the page, or the ``#assignment-panel`` fragment the
lesson page loads with HTMX): instructions, due date and late policy, the text and files with save / submit /
resubmit, and the grade once released (nothing of it before)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.assessments import submissions
from tajiconnect.domains.assessments.submissions import SubmissionError, Work
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading import rubrics
from tajiconnect.domains.grading.models import Rubric
from tajiconnect.domains.progress import media
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form
from tajiconnect.web.htmx import wants_fragment

PANEL = "assignment-panel"
VARY = "HX-Request, HX-Target"


async def context_of(request: Request, db_session: Any, work: Work, *, errors: dict[str, str] | None = None,
                     form: dict[str, Any] | None = None, notice: str | None = None) -> dict[str, Any]:
    released = work.released
    rubric = None
    if released is not None and work.assessment.rubric_id is not None and released.rubric_scores:
        rubric = await db_session.get(Rubric, work.assessment.rubric_id)
    return {
        "work": work,
        "view": work.view,
        "lesson": work.view.lesson,
        "course": work.view.course,
        "assessment": work.assessment,
        "submission": work.submission,
        "files": [(f, media.file_url(request.app, f, download=True)) for f in work.files],
        "closed": work.closed_reason(submissions.now_utc()),
        "late_days_now": submissions.late_days(work.assessment.due_at, submissions.now_utc()),
        "released": released,
        "rubric": rubric,
        "rubric_max": rubrics.rubric_max(rubric.criteria) if rubric else None,
        "errors": errors or {},
        "form": form or {},
        "outcome": notice if notice in ("saved", "submitted") else None,
    }


class AssignmentPages(Controller):
    path = "/learn/assignments"
    guards = [requires_user]
    include_in_schema = False

    async def _work(self, request: Request, db_session: Any, lesson_id: str, *, lock: bool = False) -> Work:
        try:
            return await submissions.open_work(db_session, request.scope["user"], lesson_id, lock=lock)
        except SubmissionError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=str(exc)) from exc
            raise HTTPException(status_code=exc.status, detail=str(exc)) from exc

    def _render(self, request: HTMXRequest, context: dict[str, Any], status: int = 200) -> Template:
        fragment = wants_fragment(request, PANEL)
        return Template("assessments/assignment_panel.html" if fragment else "assessments/assignment_page.html",
                        context=context, status_code=status, headers={"vary": VARY})

    @get("/{lesson_id:str}", name="learn.assignment")
    async def page(self, request: HTMXRequest, db_session: DbSession, lesson_id: FromPath[str],
                   notice: FromQuery[str | None] = None) -> Template:
        work = await self._work(request, db_session, lesson_id)
        return self._render(request, await context_of(request, db_session, work, notice=notice))

    @post("/{lesson_id:str}", name="learn.assignment.save")
    async def save(self, request: HTMXRequest, db_session: DbSession, lesson_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        work = await self._work(request, db_session, lesson_id, lock=True)
        ids = []
        for raw in form.getlist("file_ids"):
            if not raw.strip():
                continue
            key = parse_uuid(raw.strip())
            if key is None:
                form.error("file_ids", "")
                break
            if key not in ids:
                ids.append(key)
        action = form.get("action", "save")
        acting = Acting(request.scope["user"], actor_of(request))
        try:
            if form.errors:
                raise SubmissionError(_("A file is not one of your finished uploads for assignments."),
                                      field="file_ids")
            if action == "submit":
                await submissions.submit(db_session, acting, work, text=form.get("text"), file_ids=ids)
                notice = "submitted"
            else:
                await submissions.save_draft(db_session, acting, work, text=form.get("text"), file_ids=ids)
                notice = "saved"
        except SubmissionError as exc:
            field = exc.field or "form"
            context = await context_of(request, db_session, work, errors={field: str(exc)}, form=form.data)
            return self._render(request, context, status=422 if exc.status == 400 else exc.status)
        if not request.htmx:
            return Redirect(f"/learn/assignments/{work.view.lesson.id}?notice={notice}", status_code=303)
        return self._render(request, await context_of(request, db_session, work, notice=notice))
