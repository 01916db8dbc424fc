"""Learning path pages: ``/paths`` (list), ``/paths/{id}`` (stages, locks, join, progress, assign) and the builder
for authors, ``/teach/paths...`` (create, edit, stages, courses in order, publish, archive).

The builder edits stages through :func:`service.set_stages` (each action rewrites the ordered list), so the page and
the API share one rule set. A path the member may not see or edit, another tenant's included, is a 404 / 403.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.catalog.pages import acting, assign_page, end_assignment_of, refuse, submit_assignment
from tajiconnect.domains.courses.access import catalog_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.enrollments.service import EnrollmentConflict, EnrollmentError, EnrollmentNotFound
from tajiconnect.domains.paths import service
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 25


def _status(exc: EnrollmentError) -> int:
    return 409 if isinstance(exc, EnrollmentConflict) else 422


class PathPages(Controller):
    path = "/paths"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="paths.index")
    async def index(
        self, request: HTMXRequest, db_session: DbSession, q: FromQuery[str | None] = None, page: PageParam = 1
    ) -> Template:
        needle = (q or "").strip()[:100]
        rows, total = await service.list_paths(
            db_session, request.scope["user"], q=needle or None, status="published", page=page, per_page=PER_PAGE
        )
        template = "paths/_list.html" if wants_fragment(request, "path-results") else "paths/index.html"
        return Template(template, context={
            "paths": rows, "filters": {"q": needle}, "paging": page_info(total, page, PER_PAGE),
        })

    async def _path(self, session: AsyncSession, user: Any, path_id: str) -> LearningPath:
        try:
            return await service.get_path(session, user, path_id)
        except EnrollmentNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _page(
        self, request: Request, session: AsyncSession, path_id: str, *, notice: str | None = None,
        errors: dict[str, str] | None = None, status: int = 200,
    ) -> Template:
        user = request.scope["user"]
        path = await self._path(session, user, path_id)
        view = await service.path_view(session, user, path)
        can_assign = enrollments.may_assign(user) and path.status == "published"
        assignments: list[Any] = []
        if can_assign:
            assignments, _total = await enrollments.list_assignments(session, user, path_id=path.id, per_page=50)
        return Template("paths/detail.html", context={
            "view": view, "path": path, "notice": notice, "errors": errors or {},
            "can_edit": service.may_edit(user, path), "can_assign": can_assign, "assignments": assignments,
        }, status_code=status)

    @get("/{path_id:str}", name="paths.detail")
    async def detail(
        self, request: Request, db_session: DbSession, path_id: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        return await self._page(request, db_session, path_id, notice=notice)

    @post("/{path_id:str}/enroll", name="paths.enroll")
    async def enroll(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        try:
            row, _new = await service.enroll_self(db_session, acting(request), path_id)
        except EnrollmentError as exc:
            refuse(exc)
            return await self._page(request, db_session, path_id, errors={"enroll": str(exc)}, status=_status(exc))
        return see_other(f"/paths/{row.path_id}", notice="enrolled")

    @post("/{path_id:str}/withdraw", name="paths.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        """The learner leaves a path they joined themselves (their course enrollments and progress stay)."""
        path = await self._path(db_session, request.scope["user"], path_id)
        try:
            await service.withdraw_mine(db_session, acting(request), path.id)
        except EnrollmentError as exc:
            refuse(exc)
            return await self._page(request, db_session, path_id, errors={"enroll": str(exc)}, status=409)
        return see_other(f"/paths/{path.id}", notice="withdrawn")

    async def _assignable(self, request: Request, session: AsyncSession, path_id: str) -> LearningPath:
        if not enrollments.may_assign(request.scope["user"]):
            raise PermissionDeniedException()
        return await self._path(session, request.scope["user"], path_id)

    @get("/{path_id:str}/assign", name="paths.assign.page")
    async def assign_page(self, request: HTMXRequest, db_session: DbSession, path_id: FromPath[str]) -> Template:
        path = await self._assignable(request, db_session, path_id)
        return await assign_page(request, db_session, path, "paths", Form())

    @post("/{path_id:str}/assign", name="paths.assign")
    async def assign(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        path = await self._assignable(request, db_session, path_id)
        return await submit_assignment(request, db_session, path, "paths", path_id=path.id)


    @post("/{path_id:str}/assignments/{assignment_id:str}/end", name="paths.assignment.end")
    async def end_assignment(
        self, request: Request, db_session: DbSession, path_id: FromPath[str], assignment_id: FromPath[str]
    ) -> Template | Redirect:
        path = await self._assignable(request, db_session, path_id)
        refusal = await end_assignment_of(request, db_session, assignment_id, path_id=path.id)
        if refusal is not None:
            return await self._page(request, db_session, path_id, errors={"form": str(refusal)}, status=409)
        return see_other(f"/paths/{path.id}", notice="assignment_ended")


class PathBuilderPages(Controller):
    path = "/teach/paths"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    @get("/", name="teach.paths.index")
    async def index(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1,
                    notice: FromQuery[str | None] = None) -> Template:
        rows, total = await service.list_paths(
            db_session, request.scope["user"], mine=True, page=page, per_page=PER_PAGE
        )
        template = "paths/_teach_list.html" if wants_fragment(request, "teach-paths") else "paths/teach_index.html"
        return Template(template, context={
            "paths": rows, "paging": page_info(total, page, PER_PAGE), "notice": notice,
        })

    @get("/new", name="teach.paths.new")
    async def new_page(self) -> Template:
        return Template("paths/form.html", context={"form": {"language": "en"}, "errors": {}, "path": None})

    @post("/new", name="teach.paths.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            path = await service.create_path(
                db_session, acting(request), title=form.get("title"), summary=form.get("summary"),
                description=form.get("description"), language=form.get("language"),
                self_enroll=form.get("self_enroll") == "1",
            )
        except EnrollmentError as exc:
            refuse(exc)
            form.error(exc.field or "form", str(exc))
            return render_form("paths/form.html", form, status=_status(exc), path=None)
        return see_other(f"/teach/paths/{path.id}", notice="created")

    async def _editable(self, request: Request, session: AsyncSession, path_id: str) -> LearningPath:
        try:
            return await service.editable_path(session, request.scope["user"], path_id)
        except EnrollmentError as exc:
            refuse(exc)
            raise

    async def _builder(
        self, request: Request, session: AsyncSession, path: LearningPath, *, notice: str | None = None,
        errors: dict[str, str] | None = None, status: int = 200,
    ) -> Template:
        stages = await service.stages_of(session, path.id)
        ids = [c for s in stages for c in s.course_ids]
        found = (await session.scalars(select(Course).where(Course.id.in_(ids)))).all() if ids else []
        courses = {c.id: c for c in found}
        choices = (await session.scalars(
            select(Course).where(catalog_filter(request.scope["user"]), Course.status != "archived")
            .order_by(Course.title).limit(500)
        )).all()
        return Template("paths/builder.html", context={
            "path": path, "stages": stages, "courses": courses, "choices": [c for c in choices if c.id not in courses],
            "notice": notice, "errors": errors or {},
            "form": {"title": path.title, "summary": path.summary, "description": path.description,
                     "language": path.language, "self_enroll": "1" if path.self_enroll else ""},
        }, status_code=status)

    @get("/{path_id:str}", name="teach.paths.builder")
    async def builder(self, request: Request, db_session: DbSession, path_id: FromPath[str],
                      notice: FromQuery[str | None] = None) -> Template:
        path = await self._editable(request, db_session, path_id)
        return await self._builder(request, db_session, path, notice=notice)

    @post("/{path_id:str}", name="teach.paths.update")
    async def update(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        path = await self._editable(request, db_session, path_id)
        form = await Form.read(request)
        try:
            await service.update_path(
                db_session, acting(request), path.id, title=form.get("title"), summary=form.get("summary"),
                description=form.get("description"), language=form.get("language"),
                self_enroll=form.get("self_enroll") == "1",
            )
        except EnrollmentError as exc:
            refuse(exc)
            return await self._builder(request, db_session, path, errors={exc.field or "form": str(exc)},
                                       status=_status(exc))
        return see_other(f"/teach/paths/{path.id}", notice="saved")

    @post("/{path_id:str}/stages", name="teach.paths.stages")
    async def stages(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        """One builder action on the ordered stages (``op``), saved through :func:`service.set_stages`."""
        path = await self._editable(request, db_session, path_id)
        form = await Form.read(request)
        current = [
            service.StageInput(s.title, list(s.course_ids), s.requires_previous)
            for s in await service.stages_of(db_session, path.id)
        ]
        op = form.get("op")
        try:
            index = int(form.get("stage") or "0")
        except ValueError:
            index = -1
        course_id = enrollments._uuid(form.get("course_id"))
        try:
            if op == "add_stage":
                current.append(service.StageInput(form.get("title"), [], form.get("requires_previous") == "1"))
            elif not 0 <= index < len(current):
                raise EnrollmentError(_("No such stage."), "stages")
            elif op == "edit_stage":
                current[index].title = form.get("title")
                current[index].requires_previous = form.get("requires_previous") == "1"
            elif op == "remove_stage":
                current.pop(index)
            elif op in ("stage_up", "stage_down"):
                other = index - 1 if op == "stage_up" else index + 1
                if 0 <= other < len(current):
                    current[index], current[other] = current[other], current[index]
            elif op == "add_course" and course_id is not None:
                current[index].course_ids.append(course_id)
            elif op in ("remove_course", "course_up", "course_down") and course_id in current[index].course_ids:
                ids = current[index].course_ids
                at = ids.index(course_id)
                if op == "remove_course":
                    ids.pop(at)
                else:
                    other = at - 1 if op == "course_up" else at + 1
                    if 0 <= other < len(ids):
                        ids[at], ids[other] = ids[other], ids[at]
            else:
                raise EnrollmentError(_("Choose a course."), "stages")
            await service.set_stages(db_session, acting(request), path.id, current)
        except EnrollmentError as exc:
            if isinstance(exc, EnrollmentNotFound) and exc.field is None:
                raise NotFoundException(detail=str(exc)) from exc
            return await self._builder(request, db_session, path, errors={"stages": str(exc)}, status=_status(exc))
        return see_other(f"/teach/paths/{path.id}#stages", notice="saved")

    @post("/{path_id:str}/publish", name="teach.paths.publish")
    async def publish(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Template | Redirect:
        path = await self._editable(request, db_session, path_id)
        try:
            await service.publish(db_session, acting(request), path.id)
        except EnrollmentError as exc:
            return await self._builder(request, db_session, path, errors={"form": str(exc)}, status=_status(exc))
        return see_other(f"/teach/paths/{path.id}", notice="published")

    @post("/{path_id:str}/archive", name="teach.paths.archive")
    async def archive(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Redirect:
        path = await self._editable(request, db_session, path_id)
        await service.archive(db_session, acting(request), path.id)
        return see_other(f"/teach/paths/{path.id}", notice="archived")
