"""The course builder, ``/teach/courses``, and the reviews fragment, ``/courses/{id}/reviews``.

Teachers and managers (``courses.author``) see and edit the courses they own or co-teach, admins every course;
anything else, another organization's courses included, is a 404. The builder works in place with HTMX: each
change to the outline answers the re-rendered ``#outline`` fragment (a browser without HTMX gets a redirect to the
builder); the details form autosaves and answers a small status fragment ("Saved", "Not saved: ...", or the
conflict when someone else saved in between: 409). ``static/builder.js`` adds drag and drop and keeps focus on the
"Move up/down" button that was used.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.courses import access, service
from tajiconnect.domains.courses.markdown import render
from tajiconnect.domains.courses.models import LESSON_KINDS, LEVELS, VISIBILITIES, Course
from tajiconnect.domains.courses.service import (
    Acting,
    CourseConflict,
    CourseError,
    CourseNotFound,
    NotPublishable,
    ReviewRefused,
    StaleRevision,
)
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 20
REVIEWS_PER_PAGE = 10
SEARCH_MAX = 100
DETAIL_FIELDS = ("title", "summary", "description", "category", "level", "language", "estimated_minutes",
                 "visibility", "cover_file_id")


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def not_found(exc: CourseError) -> NotFoundException:
    return NotFoundException(detail=str(exc))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def lesson_changes(lesson: Any, form: Form) -> dict[str, Any]:
    """What a lesson editor's form changes, by the lesson's kind (fields of other kinds are not read)."""
    changes: dict[str, Any] = {"title": form.get("title")}
    if "estimated_minutes" in form.data:
        changes["estimated_minutes"] = form.get("estimated_minutes")
    if lesson.kind in ("text", "video", "document", "link", "embed") and "body" in form.data:
        changes["body"] = form.get("body")
    if lesson.kind in ("link", "embed"):
        changes["url"] = form.get("url")
    if lesson.kind in ("video", "document"):
        changes["file_id"] = form.get("file_id")
    if lesson.kind == "document":
        changes["allow_download"] = form.get("allow_download") == "on"
    return changes


def kind_labels() -> dict[str, str]:
    return {
        "text": _("Text"), "video": _("Video"), "document": _("Document"), "link": _("Web link"),
        "embed": _("Embed"), "quiz": _("Quiz"), "assignment": _("Assignment"),
    }


def status_labels() -> dict[str, str]:
    return {"draft": _("Draft"), "published": _("Published"), "archived": _("Archived")}


class TeachCoursePages(Controller):
    path = "/teach/courses"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    @get("/", name="teach.courses")
    async def index(
        self,
        request: Request,
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        user = request.scope["user"]
        search = (q or "").strip()[:SEARCH_MAX]
        wanted = status if status in service.STATUSES else None
        courses, total = await service.list_courses(
            db_session, access.staff_filter(user), status=wanted, q=search or None, page=page, per_page=PER_PAGE
        )
        paging = page_info(total, page, PER_PAGE)
        if paging["page"] != page:  # past the last page: show the last one
            courses, total = await service.list_courses(
                db_session, access.staff_filter(user), status=wanted, q=search or None, page=paging["page"],
                per_page=PER_PAGE,
            )
        template = "courses/_teach_list.html" if request.headers.get("hx-target") == "course-list" else (
            "courses/teach_index.html")
        return Template(template, context={
            "courses": courses, "paging": paging, "q": search, "status": wanted or "", "notice": notice,
            "status_labels": status_labels(), "errors": {}, "form": {},
        })

    @post("/", name="teach.courses.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            course = await service.create_course(db_session, acting(request), title=form.get("title"))
        except CourseError as exc:
            user = request.scope["user"]
            courses, total = await service.list_courses(db_session, access.staff_filter(user), per_page=PER_PAGE)
            return Template("courses/teach_index.html", status_code=422, context={
                "courses": courses, "paging": page_info(total, 1, PER_PAGE), "q": "", "status": "",
                "status_labels": status_labels(), "errors": {"title": str(exc)}, "form": form.data,
            })
        return see_other(f"/teach/courses/{course.id}", notice="created")

    # --- the builder ------------------------------------------------------------------------------------------

    async def _course(self, request: Request, db_session: Any, course_id: str) -> Course:
        try:
            return await service.get_course(db_session, course_id, user=request.scope["user"])
        except CourseNotFound as exc:
            raise not_found(exc) from exc

    async def _outline(self, request: Request, db_session: Any, course: Course, **extra: Any) -> Template:
        modules = await service.outline(db_session, course.id)
        return Template("courses/_outline.html", context={
            "course": course, "modules": modules, "kinds": LESSON_KINDS, "kind_labels": kind_labels(), **extra,
        })

    async def _builder(
        self, request: Request, db_session: Any, course: Course, *, status: int = 200, **extra: Any
    ) -> Template:
        modules = await service.outline(db_session, course.id)
        options = await service.detail_options(db_session, course)
        return Template("courses/builder.html", status_code=status, context={
            "course": course, "modules": modules, "kinds": LESSON_KINDS, "kind_labels": kind_labels(),
            "options": options,
            "levels": LEVELS, "visibilities": VISIBILITIES, "status_labels": status_labels(),
            "errors": {}, "problems": [], **extra,
        })

    async def _after(self, request: Request, db_session: Any, course_id: Any, **extra: Any) -> Template | Redirect:
        course = await self._course(request, db_session, str(course_id))
        if is_htmx(request):
            return await self._outline(request, db_session, course, **extra)
        return see_other(f"/teach/courses/{course.id}")

    async def _outline_error(
        self, request: Request, db_session: Any, course_id: Any, exc: CourseError
    ) -> Template | Redirect:
        if isinstance(exc, CourseNotFound) and exc.field is None:
            raise not_found(exc)
        course = await self._course(request, db_session, str(course_id))
        if is_htmx(request):
            template = await self._outline(request, db_session, course, outline_error=str(exc))
            template.status_code = 409 if isinstance(exc, CourseConflict) else 422
            return template
        return await self._builder(request, db_session, course, status=422, outline_error=str(exc))

    @get("/{course_id:str}", name="teach.courses.builder")
    async def builder(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        course = await self._course(request, db_session, course_id)
        return await self._builder(request, db_session, course, notice=notice)

    @post("/{course_id:str}/details", name="teach.courses.details")
    async def save_details(
        self, request: Request, db_session: DbSession, course_id: FromPath[str]
    ) -> Template | Redirect:
        await self._course(request, db_session, course_id)
        form = await Form.read(request)
        changes: dict[str, Any] = {name: form.get(name) for name in DETAIL_FIELDS if name in form.data}
        if "tags" in form.data:
            changes["tags"] = form.get("tags")
        if "details_form" in form.data:  # the whole form: an unticked box or an emptied list means "none"
            changes["self_enroll"] = form.get("self_enroll") == "on"
            for name in ("visible_group_ids", "prerequisite_ids", "teacher_ids"):
                changes[name] = form.getlist(name)
        try:
            revision = int(form.get("revision")) if form.get("revision") else None
        except ValueError:
            revision = None
        try:
            course = await service.update_course(db_session, acting(request), course_id, changes, revision=revision)
        except CourseError as exc:
            if isinstance(exc, CourseNotFound) and exc.field is None:
                raise not_found(exc) from exc
            status = 409 if isinstance(exc, StaleRevision) else 422
            if not is_htmx(request):  # without JavaScript: the builder again, with the refusal on top
                current = await self._course(request, db_session, course_id)
                return await self._builder(request, db_session, current, status=status, problems=[str(exc)])
            return Template("courses/_save_status.html", status_code=status, context={
                "ok": False, "conflict": status == 409, "message": str(exc), "field": exc.field,
            })
        if not is_htmx(request):
            return see_other(f"/teach/courses/{course.id}", notice="details_saved")
        return Template("courses/_save_status.html", context={"ok": True, "course": course})

    @post("/{course_id:str}/{action:str}", name="teach.courses.status")
    async def change_status(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], action: FromPath[str]
    ) -> Template | Redirect:
        if action not in ("publish", "archive", "restore", "duplicate"):
            raise NotFoundException()
        try:
            if action == "duplicate":
                copy = await service.duplicate_course(db_session, acting(request), course_id)
                return see_other(f"/teach/courses/{copy.id}", notice="duplicated")
            await service.set_status(db_session, acting(request), course_id, action)
        except CourseError as exc:
            if isinstance(exc, CourseNotFound):
                raise not_found(exc) from exc
            course = await self._course(request, db_session, course_id)
            problems = exc.problems if isinstance(exc, NotPublishable) else [str(exc)]
            return await self._builder(request, db_session, course, status=409, problems=problems)
        return see_other(f"/teach/courses/{course_id}", notice=f"{action}d" if action != "publish" else "published")

    # --- modules ----------------------------------------------------------------------------------------------

    @post("/{course_id:str}/modules", name="teach.modules.add")
    async def add_module(
        self, request: Request, db_session: DbSession, course_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            module = await service.add_module(db_session, acting(request), course_id, title=form.get("title"))
        except CourseError as exc:
            return await self._outline_error(request, db_session, course_id, exc)
        return await self._after(request, db_session, course_id, focus=f"module-{module.id}")

    @post("/{course_id:str}/modules/order", name="teach.modules.order")
    async def order_modules(
        self, request: Request, db_session: DbSession, course_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            await service.reorder_modules(db_session, acting(request), course_id, form.getlist("ids"))
        except CourseError as exc:
            return await self._outline_error(request, db_session, course_id, exc)
        return await self._after(request, db_session, course_id)

    @post("/{course_id:str}/modules/{module_id:str}/{action:str}", name="teach.modules.action")
    async def module_action(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], module_id: FromPath[str],
        action: FromPath[str],
    ) -> Template | Redirect:
        form = await Form.read(request)
        who = acting(request)
        await self._course(request, db_session, course_id)
        try:
            module, course = await service.get_module(db_session, who.user, module_id)
            if str(course.id) != str(course_id):
                raise CourseNotFound(_("No such module here."))
            focus = None
            if action == "edit":
                await service.update_module(db_session, who, module.id, {"title": form.get("title")})
                focus = f"module-title-{module.id}"
            elif action == "delete":
                await service.delete_module(db_session, who, module.id)
            elif action in ("up", "down"):
                await service.move_module(db_session, who, module.id, -1 if action == "up" else 1)
                focus = f"module-{action}-{module.id}"
            elif action == "lessons":
                lesson = await service.add_lesson(db_session, who, module.id, kind=form.get("kind"),
                                                  title=form.get("title"))
                focus = f"lesson-{lesson.id}"
            elif action == "order":
                await service.reorder_lessons(db_session, who, module.id, form.getlist("ids"))
            else:
                raise NotFoundException()
        except CourseError as exc:
            return await self._outline_error(request, db_session, course_id, exc)
        return await self._after(request, db_session, course_id, focus=focus)

    # --- lessons ----------------------------------------------------------------------------------------------

    async def _lesson(self, request: Request, db_session: Any, course_id: str, lesson_id: str) -> Any:
        try:
            lesson, course = await service.get_lesson(db_session, request.scope["user"], lesson_id)
        except CourseNotFound as exc:
            raise not_found(exc) from exc
        if str(course.id) != str(course_id):
            raise NotFoundException()
        return lesson, course

    @get("/{course_id:str}/lessons/{lesson_id:str}", name="teach.lessons.editor")
    async def lesson_editor(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str]
    ) -> Template:
        lesson, course = await self._lesson(request, db_session, course_id, lesson_id)
        template = "courses/_lesson_editor.html" if is_htmx(request) else "courses/lesson_page.html"
        return Template(template, context={
            "course": course, "lesson": lesson, "kind_labels": kind_labels(), "errors": {}, "form": {},
        })

    @post("/{course_id:str}/lessons/{lesson_id:str}", name="teach.lessons.save")
    async def save_lesson(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str]
    ) -> Template | Redirect:
        lesson, course = await self._lesson(request, db_session, course_id, lesson_id)
        form = await Form.read(request)
        changes = lesson_changes(lesson, form)
        template = "courses/_lesson_editor.html" if is_htmx(request) else "courses/lesson_page.html"
        try:
            lesson = await service.update_lesson(db_session, acting(request), lesson.id, changes)
        except CourseError as exc:
            return Template(template, status_code=422, context={
                "course": course, "lesson": lesson, "kind_labels": kind_labels(),
                "errors": {exc.field or "form": str(exc)}, "form": form.data,
            })
        if not is_htmx(request):
            return see_other(f"/teach/courses/{course.id}", notice="saved")
        return Template(template, context={
            "course": course, "lesson": lesson, "kind_labels": kind_labels(), "errors": {}, "form": {},
            "saved": True,
        })

    @post("/{course_id:str}/lessons/{lesson_id:str}/autosave", name="teach.lessons.autosave")
    async def autosave_lesson(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str]
    ) -> Template:
        """The editor's draft, saved while the author types: only the status line comes back (the form, the caret
        and the focus stay as they are); a refusal is shown there, nothing is saved."""
        lesson, _course = await self._lesson(request, db_session, course_id, lesson_id)
        form = await Form.read(request)
        try:
            await service.update_lesson(db_session, acting(request), lesson.id, lesson_changes(lesson, form))
        except CourseError as exc:
            return Template("courses/_lesson_save_status.html", status_code=422,
                            context={"lesson": lesson, "error": str(exc)})
        return Template("courses/_lesson_save_status.html", context={"lesson": lesson, "error": None})

    @post("/{course_id:str}/lessons/{lesson_id:str}/{action:str}", name="teach.lessons.action")
    async def lesson_action(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str],
        action: FromPath[str],
    ) -> Template | Redirect:
        lesson, _course = await self._lesson(request, db_session, course_id, lesson_id)
        form = await Form.read(request)
        who = acting(request)
        focus = None
        try:
            if action == "delete":
                await service.delete_lesson(db_session, who, lesson.id)
            elif action in ("up", "down"):
                await service.move_lesson(db_session, who, lesson.id, step=-1 if action == "up" else 1)
                focus = f"lesson-{action}-{lesson.id}"
            elif action == "move":
                await service.move_lesson(db_session, who, lesson.id, module_id=form.get("module_id"))
                focus = f"lesson-{lesson.id}"
            else:
                raise NotFoundException()
        except CourseError as exc:
            return await self._outline_error(request, db_session, course_id, exc)
        return await self._after(request, db_session, course_id, focus=focus)

    @post("/{course_id:str}/preview", name="teach.courses.preview")
    async def preview(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template:
        await self._course(request, db_session, course_id)
        form = await Form.read(request)
        body = form.get("body")[: service.BODY_MAX]
        return Template("courses/_preview.html", context={"html": render(body)})


class CourseReviewPages(Controller):
    """The reviews of a course as a fragment the catalog's course page includes (``hx-get``), and saving one."""

    path = "/courses/{course_id:str}/reviews"
    guards = [requires_user]
    include_in_schema = False

    async def _fragment(
        self, request: Request, db_session: Any, course_id: str, *, page: int = 1, status: int = 200,
        errors: dict[str, str] | None = None, form: dict[str, Any] | None = None, saved: bool = False,
    ) -> Template:
        user = request.scope["user"]
        try:
            course = await service.reviewable_course(db_session, user, course_id)
        except CourseNotFound as exc:
            raise not_found(exc) from exc
        staff = access.is_staff(user, course)
        rows, total = await service.list_reviews(
            db_session, course.id, include_hidden=staff, page=page, per_page=REVIEWS_PER_PAGE
        )
        paging = page_info(total, page, REVIEWS_PER_PAGE)
        if paging["page"] != page:
            rows, total = await service.list_reviews(
                db_session, course.id, include_hidden=staff, page=paging["page"], per_page=REVIEWS_PER_PAGE
            )
        mine = await service.my_review(db_session, user, course.id)
        eligible = await service.may_review(db_session, user, course.id)
        values = form if form is not None else ({"rating": str(mine.rating), "body": mine.body} if mine else {})
        return Template("courses/_reviews.html", status_code=status, context={
            "course": course, "reviews": rows, "paging": paging, "staff": staff, "eligible": eligible,
            "mine": mine, "form": values, "errors": errors or {}, "saved": saved,
            "average": service.average(course),
        })

    @get("/", name="courses.reviews")
    async def reviews(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], page: PageParam = 1
    ) -> Template:
        return await self._fragment(request, db_session, course_id, page=page)

    @post("/", name="courses.reviews.save")
    async def save(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template:
        form = await Form.read(request)
        try:
            await service.save_review(db_session, acting(request), course_id, rating=form.get("rating"),
                                      body=form.get("body"))
        except ReviewRefused as exc:
            raise PermissionDeniedException(detail=str(exc)) from exc
        except CourseError as exc:
            if isinstance(exc, CourseNotFound):
                raise not_found(exc) from exc
            return await self._fragment(request, db_session, course_id, status=422,
                                        errors={exc.field or "form": str(exc)}, form=form.data)
        return await self._fragment(request, db_session, course_id, saved=True)

    @post("/{review_id:str}/{action:str}", name="courses.reviews.moderate")
    async def moderate(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], review_id: FromPath[str],
        action: FromPath[str],
    ) -> Template:
        if action not in ("hide", "show"):
            raise NotFoundException()
        try:
            await service.set_review_hidden(
                db_session, acting(request), review_id, hidden=action == "hide", course_id=course_id
            )
        except CourseNotFound as exc:
            raise not_found(exc) from exc
        return await self._fragment(request, db_session, course_id)
