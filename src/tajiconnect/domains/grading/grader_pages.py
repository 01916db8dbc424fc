"""The grader's pages: ``/teach/grading`` (the queue with filters, counts and the oldest waiting) and
``/teach/grading/{grade_id}`` (one learner's work and its grade). Moving to the next or previous learner swaps
only ``#submission-panel`` (HTMX, with the URL following); the page around it (keyboard help, comment bank)
stays. Keyboard shortcuts live in ``static/grader.js``. Rubrics: ``/teach/courses/{course_id}/rubrics``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.grading import comments, grader, rubrics
from tajiconnect.domains.grading.grader import GraderError, Item, QueueFilters
from tajiconnect.domains.grading.highlight import highlight
from tajiconnect.domains.grading.models import GRADE_STATUSES
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.progress import media
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

PANEL = "submission-panel"
Filter = Annotated[str | None, Parameter(max_length=80)]
PER_PAGE = 25
VARY = "HX-Request, HX-Target"
AUTHOR = requires_permission(Permission.AUTHOR_COURSES)


def _not_found(exc: Exception) -> NotFoundException:
    return NotFoundException(detail=str(exc))


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def panel_context(request: Request, item: Item, *, errors: dict[str, str] | None = None,
                  saved: str | None = None) -> dict[str, Any]:
    code = {str(m.question.id): highlight(str((m.answer.response or {}).get("text", "")),
                                          str(m.question.data.get("language", "text")))
            for m in item.answers if m.question.kind == "code" and isinstance(m.answer.response, dict)}
    return {
        "item": item,
        "grade": item.grade,
        "files": [(f, media.file_url(request.app, f, download=True)) for f in item.files],
        "code": code,
        "errors": errors or {},
        "saved": saved,
    }


class GraderPages(Controller):
    path = "/teach/grading"
    guards = [AUTHOR]
    include_in_schema = False

    @get("/", name="grading.queue")
    async def queue(
        self, request: HTMXRequest, db_session: DbSession, course_id: Filter = None,
        assessment_id: Filter = None, group_id: Filter = None, status: Filter = None, page: PageParam = 1,
    ) -> Template:
        user = request.scope["user"]
        statuses = (status,) if status in GRADE_STATUSES else ("pending",)
        filters = QueueFilters(parse_uuid(course_id or None), parse_uuid(assessment_id or None),
                               parse_uuid(group_id or None), statuses)
        q = await grader.queue(db_session, user, filters, page=page, per_page=PER_PAGE)
        courses = (await db_session.execute(select(Course.id, Course.title).where(access.staff_filter(user))
                                            .order_by(Course.title).limit(200))).all()
        items: Any = []
        if filters.course_id is not None:
            items = (await db_session.execute(
                select(Assessment.id, Lesson.title).join(Lesson, Lesson.id == Assessment.lesson_id)
                .join(Course, Course.id == Assessment.course_id)
                .where(Assessment.course_id == filters.course_id, access.staff_filter(user))
                .order_by(Lesson.position).limit(200))).all()
        groups = (await db_session.execute(select(Group.id, Group.name).order_by(Group.name).limit(200))).all()
        query = urlencode({k: v for k, v in {"course_id": course_id, "assessment_id": assessment_id,
                                             "group_id": group_id, "status": status}.items() if v})
        context = {"queue": q, "paging": page_info(q.total, page, PER_PAGE), "courses": courses,
                   "assessments": items, "groups": groups, "query": query,
                   "filters": {"course_id": course_id or "", "assessment_id": assessment_id or "",
                               "group_id": group_id or "", "status": statuses[0]}}
        template = "grading/grader_queue_rows.html" if wants_fragment(request, "queue-rows") else \
            "grading/grader_queue.html"
        return Template(template, context=context, headers={"vary": VARY})

    @get("/{grade_id:str}", name="grading.item")
    async def item(self, request: HTMXRequest, db_session: DbSession, grade_id: FromPath[str]) -> Template:
        try:
            item = await grader.load(db_session, request.scope["user"], grade_id)
        except GraderError as exc:
            raise _not_found(exc) from exc
        return await self._render(request, db_session, item)

    async def _render(self, request: HTMXRequest, db_session: Any, item: Item, *, status: int = 200,
                      errors: dict[str, str] | None = None, saved: str | None = None) -> Template:
        context = panel_context(request, item, errors=errors, saved=saved)
        if wants_fragment(request, PANEL):
            context["fragment"] = True
            return Template("grading/grader_panel.html", context=context, status_code=status, headers={"vary": VARY})
        context["bank"] = await comments.list_entries(db_session, request.scope["user"], limit=50)
        return Template("grading/grader.html", context=context, status_code=status, headers={"vary": VARY})

    @post("/{grade_id:str}", name="grading.save")
    async def save(self, request: HTMXRequest, db_session: DbSession, grade_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        user = request.scope["user"]
        try:
            item = await grader.load(db_session, user, grade_id, details=False)
        except GraderError as exc:
            raise _not_found(exc) from exc
        errors: dict[str, str] = {}
        points = _decimal(form.get("points"), "points", errors)
        scores = {c["id"]: form.get(f"rubric.{c['id']}") for c in (item.rubric.criteria if item.rubric else [])}
        scores = {k: v for k, v in scores.items() if v}
        answer_points: dict[str, Decimal] = {}
        answer_comments: dict[str, str] = {}
        for m in item.answers:
            qid = str(m.question.id)
            value = _decimal(form.get(f"answer.{qid}"), f"answers.{qid}", errors)
            if value is not None:
                answer_points[qid] = value
            answer_comments[qid] = form.get(f"answer_comment.{qid}")
        try:
            revision = int(form.get("revision") or "0")
        except ValueError:
            revision = 0
        if not errors:
            try:
                item = await grader.save(
                    db_session, acting(request), item.grade.id, revision=revision,
                    points=points,
                    rubric_scores=scores if item.rubric else None, answer_points=answer_points,
                    answer_comments=answer_comments, comment=form.get("comment"), reason=form.get("reason"),
                    release_now=form.get("action") == "release")
                if not request.htmx:
                    return Redirect(f"/teach/grading/{item.grade.id}?saved=1", status_code=303)
                return await self._render(request, db_session, item, saved="saved")
            except GraderError as exc:
                errors[exc.field or "form"] = str(exc)
                status = 409 if exc.status == 409 else 422
        else:
            status = 422
        fresh = await grader.load(db_session, user, item.grade.id)
        return await self._render(request, db_session, fresh, status=status, errors=errors)

    @post("/assessments/{assessment_id:str}/release", name="grading.release")
    async def release(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]) -> Redirect:
        form = await Form.read(request)
        try:
            count = await grader.release(db_session, acting(request), assessment_id)
        except GraderError as exc:
            raise _not_found(exc) from exc
        back = form.get("next")
        back = back if back.startswith("/teach/grading") and "//" not in back and "\n" not in back else \
            "/teach/grading"
        sep = "&" if "?" in back else "?"
        return Redirect(f"{back}{sep}released={count}", status_code=303)

    # --- the comment bank (grader.js) ----------------------------------------------------------------------------

    @post("/comments", name="grading.comments.add")
    async def add_comment(self, request: Request, db_session: DbSession) -> Template:
        form = await Form.read(request)
        try:
            await comments.add(db_session, request.scope["user"], form.get("text"))
            error = None
        except comments.CommentError as exc:
            error = str(exc)
        bank = await comments.list_entries(db_session, request.scope["user"], limit=50)
        return Template("grading/grader_bank.html", context={"bank": bank, "bank_error": error},
                        status_code=422 if error else 200)

    @post("/comments/{entry_id:str}/use", name="grading.comments.use", status_code=200)
    async def use_comment(self, request: Request, db_session: DbSession, entry_id: FromPath[str]) -> Response[Any]:
        try:
            entry = await comments.use(db_session, request.scope["user"], entry_id)
        except comments.CommentError as exc:
            raise _not_found(exc) from exc
        return Response({"uses": entry.uses})

    @post("/comments/{entry_id:str}/delete", name="grading.comments.delete")
    async def delete_comment(self, request: Request, db_session: DbSession, entry_id: FromPath[str]) -> Template:
        try:
            await comments.delete(db_session, request.scope["user"], entry_id)
        except comments.CommentError as exc:
            raise _not_found(exc) from exc
        bank = await comments.list_entries(db_session, request.scope["user"], limit=50)
        return Template("grading/grader_bank.html", context={"bank": bank, "bank_error": None})


def _decimal(raw: str, field: str, errors: dict[str, str]) -> Decimal | None:
    raw = (raw or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[field] = _("Points must be a number.")
        return None
    if not value.is_finite() or abs(value) > 100_000:
        errors[field] = _("Points must be a number.")
        return None
    return value


# --- rubrics ------------------------------------------------------------------------------------------------------


def _field(exc: rubrics.RubricError) -> str:
    """The form's field for a refusal (``criteria.2.levels.0.points`` is the criteria text)."""
    field = exc.field or "form"
    return "criteria" if field.startswith("criteria") else field


def parse_criteria(text: str) -> list[dict[str, Any]]:
    """The rubric editor's text: one criterion a line, ``Title | Level = points | Level = points``."""
    criteria = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        title, *levels = [part.strip() for part in line.split("|")]
        parsed = []
        for level in levels:
            name, sep, points = level.rpartition("=")
            if not sep:
                raise rubrics.RubricError(_("Line %(line)d: write each level as “Level = points”.") % {
                    "line": number}, field="criteria")
            parsed.append({"title": name.strip(), "points": points.strip()})
        criteria.append({"title": title, "levels": parsed})
    return criteria


def criteria_text(criteria: list[dict[str, Any]]) -> str:
    return "\n".join(" | ".join([c["title"], *(f"{lv['title']} = {lv['points']}" for lv in c["levels"])])
                     for c in criteria)


class RubricPages(Controller):
    path = "/teach/courses/{course_id:str}/rubrics"
    guards = [AUTHOR]
    include_in_schema = False

    async def _course(self, request: Request, db_session: Any, course_id: str) -> Course:
        try:
            return await rubrics.staffed_course(db_session, request.scope["user"], course_id)
        except rubrics.RubricError as exc:
            raise _not_found(exc) from exc

    @get("/", name="rubrics.list")
    async def list_page(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template:
        course = await self._course(request, db_session, course_id)
        rows = await rubrics.list_rubrics(db_session, request.scope["user"], course.id)
        return Template("grading/rubrics.html", context={"course": course, "rubrics": rows, "form": {}, "errors": {},
                                                         "rubric_max": rubrics.rubric_max})

    @post("/", name="rubrics.create")
    async def create(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template | Redirect:
        course = await self._course(request, db_session, course_id)
        form = await Form.read(request)
        try:
            await rubrics.create_rubric(db_session, acting(request), course.id, title=form.get("title"),
                                        criteria=parse_criteria(form.get("criteria")))
        except rubrics.RubricError as exc:
            rows = await rubrics.list_rubrics(db_session, request.scope["user"], course.id)
            return Template("grading/rubrics.html", status_code=422, context={
                "course": course, "rubrics": rows, "form": form.data, "errors": {_field(exc): str(exc)},
                "rubric_max": rubrics.rubric_max})
        return Redirect(f"/teach/courses/{course.id}/rubrics", status_code=303)

    @get("/{rubric_id:str}", name="rubrics.edit")
    async def edit(self, request: Request, db_session: DbSession, course_id: FromPath[str],
                   rubric_id: FromPath[str]) -> Template:
        course = await self._course(request, db_session, course_id)
        rubric = await self._rubric(request, db_session, course, rubric_id)
        return Template("grading/rubric_edit.html", context={
            "course": course, "rubric": rubric, "errors": {},
            "form": {"title": rubric.title, "criteria": criteria_text(rubric.criteria)}})

    async def _rubric(self, request: Request, db_session: Any, course: Course, rubric_id: str) -> Any:
        try:
            rubric = await rubrics.get_rubric(db_session, request.scope["user"], rubric_id)
        except rubrics.RubricError as exc:
            raise _not_found(exc) from exc
        if rubric.course_id != course.id:
            raise NotFoundException()
        return rubric

    @post("/{rubric_id:str}", name="rubrics.update")
    async def update(self, request: Request, db_session: DbSession, course_id: FromPath[str],
                     rubric_id: FromPath[str]) -> Template | Redirect:
        course = await self._course(request, db_session, course_id)
        rubric = await self._rubric(request, db_session, course, rubric_id)
        form = await Form.read(request)
        try:
            if form.get("action") == "delete":
                await rubrics.delete_rubric(db_session, acting(request), rubric.id)
            else:
                await rubrics.update_rubric(db_session, acting(request), rubric.id, title=form.get("title"),
                                            criteria=parse_criteria(form.get("criteria")))
        except rubrics.RubricError as exc:
            return Template("grading/rubric_edit.html", status_code=422, context={
                "course": course, "rubric": rubric, "form": form.data, "errors": {_field(exc): str(exc)}})
        return Redirect(f"/teach/courses/{course.id}/rubrics", status_code=303)

