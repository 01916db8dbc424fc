"""Gradebook pages: ``/teach/courses/{course_id}/gradebook`` (the table, filter by group, search, pages of 50, CSV),
its settings (categories, letter scale), a learner's row with the override form; and the learner's own
``/learn/courses/{course_id}/grades`` (released grades only).

Staff only (``courses.author`` and staff of the course); any other course, another organization's included, is a
404. Forms carry the CSRF token; a refused value re-renders the form with the error (422).
"""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template
from markupsafe import Markup, escape

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading import gradebook as math
from tajiconnect.domains.grading import gradebook_service as service
from tajiconnect.domains.grading.gradebook_service import GradebookError, GradebookNotFound, Query
from tajiconnect.i18n import gettext as _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

SCALE_LINE = re.compile(r"^\s*(\S+)\s+(\S+)\s*$")


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def not_found(exc: GradebookError) -> NotFoundException:
    return NotFoundException(detail=str(exc))


def row_cells(book: service.Gradebook) -> list[Markup]:
    """Each row's grade cells as one piece of HTML (``<td>`` per item): built here rather than by a macro call per
    cell, which is what a page of 50 learners x 50 items spends its time on otherwise. The pieces are numbers and
    labels escaped once."""
    empty = '<td><span class="muted">—</span></td>'
    # Every grade opens in the grader (grading, regrading), where only the submission panel changes between learners.
    pending = '<td><a href="/teach/grading/{}" class="badge gb-pending">' + str(escape(_("to grade"))) + "</a></td>"
    draft = ('<td><a href="/teach/grading/{}"><span class="gb-draft">{}</span></a> <span class="badge">'
             + str(escape(_("draft"))) + "</span></td>")
    released = '<td><a href="/teach/grading/{}">{}</a></td>'
    out: list[Markup] = []
    for row in book.rows:
        parts: list[str] = []
        for cell in row.slots:
            if cell is None:
                parts.append(empty)
            elif cell.status == "released":
                parts.append(released.format(cell.grade_id, cell.score if cell.score is not None else "—"))
            elif cell.status == "draft":
                parts.append(draft.format(cell.grade_id, cell.score if cell.score is not None else "—"))
            else:
                parts.append(pending.format(cell.grade_id))
        out.append(Markup("".join(parts)))  # noqa: S704 (Decimal numbers and the labels escaped above)
    return out


def scale_text(scale: Any) -> str:
    return "\n".join(f"{letter} {minimum.normalize():f}" for letter, minimum in scale)


def parse_scale(text: str) -> list[tuple[str, str]]:
    """``A 90`` per line (blank lines skipped); a line that is not two words is refused."""
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = SCALE_LINE.match(line)
        if match is None:
            raise GradebookError(_("Write one letter and its minimum percent per line, e.g. “A 90”."), "letter_scale")
        rows.append((match.group(1), match.group(2)))
    return rows


class GradebookPages(Controller):
    path = "/teach/courses/{course_id:str}"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    async def _query(self, db_session: Any, group: str | None, q: str | None) -> Query:
        try:
            return Query(group_id=await service.group_filter(db_session, group), q=(q or "")[:service.SEARCH_MAX])
        except GradebookNotFound as exc:
            raise not_found(exc) from exc

    @get("/gradebook", name="teach.gradebook")
    async def gradebook(
        self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str],
        group: FromQuery[str | None] = None, q: FromQuery[str | None] = None, page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        query = await self._query(db_session, group, q)
        try:
            book = await service.gradebook_page(db_session, request.scope["user"], course_id, query=query, page=page)
        except GradebookError as exc:
            raise not_found(exc) from exc
        filters = {"group": str(query.group_id or ""), "q": query.q}
        context: dict[str, Any] = {
            "book": book, "paging": page_info(book.total, page, book.per_page), "filters": filters,
            "row_cells": row_cells(book),
            "query_string": urlencode({k: v for k, v in filters.items() if v}), "notice": notice,
            "direct_csv_max": service.DIRECT_CSV_MAX,
        }
        if wants_fragment(request, "gradebook-results"):
            return Template("grading/_gradebook_table.html", context=context)
        context["groups"] = await service.groups_of_learners(db_session, book.course.id)
        return Template("grading/gradebook.html", context=context)

    @get("/gradebook.csv", name="teach.gradebook.csv")
    async def export(
        self, request: Request, db_session: DbSession, course_id: FromPath[str],
        group: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
    ) -> Stream:
        user = request.scope["user"]
        query = await self._query(db_session, group, q)
        try:
            course = await service.staff_course(db_session, user, course_id)
        except GradebookError as exc:
            raise not_found(exc) from exc
        name = f"gradebook-{course.id}-{datetime.date.today().isoformat()}.csv"
        return Stream(
            service.csv_chunks(request.app.state.engine, require_tenant().schema, user, course.id, query),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
        )

    # --- a learner's row and the override ------------------------------------------------------------------------

    async def _learner(self, request: Request, db_session: Any, course_id: str, user_id: str) -> dict[str, Any]:
        try:
            course = await service.staff_course(db_session, request.scope["user"], course_id)
            learner = await service.enrolled_learner(db_session, course.id, user_id)
        except GradebookError as exc:
            raise not_found(exc) from exc
        book = await service.gradebook_page(db_session, request.scope["user"], course.id,
                                            query=Query(q=learner.email), per_page=service.PER_PAGE_MAX)
        rows = [r for r in book.rows if r.user_id == learner.id]
        if not rows:
            raise NotFoundException()
        dropped = {n for bucket in rows[0].result.buckets.values() for n in bucket.dropped}
        return {"book": book, "row": rows[0], "learner": learner, "dropped": dropped, "errors": {}, "form": {}}

    @get("/gradebook/learners/{user_id:str}", name="teach.gradebook.learner")
    async def learner(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], user_id: FromPath[str],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        context = await self._learner(request, db_session, course_id, user_id)
        return Template("grading/gradebook_learner.html", context={**context, "notice": notice})

    @post("/gradebook/learners/{user_id:str}/override", name="teach.gradebook.override")
    async def override(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], user_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        clearing = form.get("action") == "clear"
        try:
            if clearing:
                await service.clear_override(db_session, acting(request), course_id, user_id)
            else:
                await service.set_override(db_session, acting(request), course_id, user_id,
                                           percent=form.get("percent"), reason=form.get("reason"))
        except GradebookNotFound as exc:
            raise not_found(exc) from exc
        except GradebookError as exc:
            context = await self._learner(request, db_session, course_id, user_id)
            context.update(errors={exc.field or "form": str(exc)}, form=form.data)
            return Template("grading/gradebook_learner.html", context=context, status_code=422)
        return see_other(f"/teach/courses/{course_id}/gradebook/learners/{user_id}",
                         notice="override_cleared" if clearing else "override_saved")

    # --- settings: categories and the letter scale ---------------------------------------------------------------

    async def _settings(self, request: Request, db_session: Any, course_id: str) -> dict[str, Any]:
        try:
            course = await service.staff_course(db_session, request.scope["user"], course_id)
        except GradebookError as exc:
            raise not_found(exc) from exc
        categories = await service.categories_of(db_session, course.id)
        scale = await service.scale_of(db_session, course.id)
        items = await service.items_of(db_session, course.id)
        return {"course": course, "categories": categories, "scale_text": scale_text(scale), "items": items,
                "default_scale": scale_text(math.DEFAULT_SCALE), "errors": {}, "form": {}, "failed": None}

    @get("/gradebook/settings", name="teach.gradebook.settings")
    async def settings(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        context = await self._settings(request, db_session, course_id)
        return Template("grading/gradebook_settings.html", context={**context, "notice": notice})

    async def _refused(self, request: Request, db_session: Any, course_id: str, exc: GradebookError, form: Form,
                       failed: str) -> Template:
        context = await self._settings(request, db_session, course_id)
        context.update(errors={exc.field or "form": str(exc)}, form=form.data, failed=failed)
        return Template("grading/gradebook_settings.html", context=context, status_code=422)

    def _back(self, course_id: str, notice: str) -> Redirect:
        return see_other(f"/teach/courses/{course_id}/gradebook/settings", notice=notice)

    @post("/gradebook/categories", name="teach.gradebook.categories.create")
    async def create_category(self, request: Request, db_session: DbSession, course_id: FromPath[str]
                              ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await service.create_category(db_session, acting(request), course_id, name=form.get("name"),
                                          weight=form.get("weight", "0") or "0",
                                          drop_lowest=form.get("drop_lowest", "0") or "0")
        except GradebookNotFound as exc:
            raise not_found(exc) from exc
        except GradebookError as exc:
            return await self._refused(request, db_session, course_id, exc, form, "new")
        return self._back(course_id, "category_created")

    @post("/gradebook/categories/{category_id:str}", name="teach.gradebook.categories.update")
    async def update_category(self, request: Request, db_session: DbSession, course_id: FromPath[str],
                              category_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        who = acting(request)
        try:
            category = await service.get_category(db_session, who.user, category_id)
            if str(category.course_id) != course_id:
                raise GradebookNotFound(_("No such category here."))
            if form.get("action") == "delete":
                await service.delete_category(db_session, who, category_id)
                return self._back(course_id, "category_deleted")
            await service.update_category(db_session, who, category_id, {
                "name": form.get("name"), "weight": form.get("weight", "0") or "0",
                "drop_lowest": form.get("drop_lowest", "0") or "0"})
        except GradebookNotFound as exc:
            raise not_found(exc) from exc
        except GradebookError as exc:
            return await self._refused(request, db_session, course_id, exc, form, category_id)
        return self._back(course_id, "category_saved")

    @post("/gradebook/letter-scale", name="teach.gradebook.scale")
    async def letter_scale(self, request: Request, db_session: DbSession, course_id: FromPath[str]
                           ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            if form.get("action") == "reset":
                await service.reset_scale(db_session, acting(request), course_id)
            else:
                await service.set_scale(db_session, acting(request), course_id, parse_scale(form.get("letter_scale")))
        except GradebookNotFound as exc:
            raise not_found(exc) from exc
        except GradebookError as exc:
            return await self._refused(request, db_session, course_id, exc, form, "scale")
        return self._back(course_id, "scale_saved")


class LearnerGradesPages(Controller):
    path = "/learn/courses/{course_id:str}/grades"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="learn.grades")
    async def grades(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template:
        try:
            mine = await service.my_grades(db_session, request.scope["user"], course_id)
        except GradebookError as exc:
            raise not_found(exc) from exc
        return Template("grading/my_grades.html", context={"mine": mine})
