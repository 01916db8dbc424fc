"""The catalog pages: ``/courses`` (search, filters, type-ahead), ``/courses/{id}`` (the course page, enroll,
withdraw) and ``/courses/{id}/assign`` (staff hand the course to teams and learners).

A course the member does not find (or open, when enrolled in a hidden one), another tenant's included, is a 404.
"""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import any_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.catalog import search
from tajiconnect.domains.courses import markdown
from tajiconnect.domains.courses import service as course_service
from tajiconnect.domains.courses.access import is_staff
from tajiconnect.domains.courses.models import LEVELS, Course
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.enrollments.service import (
    Acting,
    EnrollmentConflict,
    EnrollmentError,
    EnrollmentForbidden,
    EnrollmentNotFound,
)
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 12
ASSIGNMENTS_SHOWN = 50


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _choice(value: str | None, limit: int = 80) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def refuse(exc: EnrollmentError) -> None:
    """404 and 403 are pages of their own; the rest is shown on the form."""
    if isinstance(exc, EnrollmentNotFound) and exc.field is None:
        raise NotFoundException(detail=str(exc)) from exc
    if isinstance(exc, EnrollmentForbidden):
        raise PermissionDeniedException(detail=str(exc)) from exc


def parse_due(value: str) -> datetime.datetime | None:
    """A due date from a date input (end of that day, UTC), ``None`` when empty; ``ValueError`` when malformed."""
    value = value.strip()
    if not value:
        return None
    day = datetime.date.fromisoformat(value)
    if not 2000 <= day.year <= 2200:
        raise ValueError(value)
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=datetime.UTC)


LEARNERS_SHOWN = 50


async def learner_choices(session: AsyncSession, user: Any, find: str, chosen: list[str]) -> list[tuple[User, bool]]:
    """The learners the Assign form offers: those already ticked (kept across searches), then up to
    :data:`LEARNERS_SHOWN` whose name or email contains ``find``; only learners the caller may assign to."""
    scope = [User.status != "deactivated", any_(User.roles) == "student", enrollments.in_learner_scope(user, User.id)]
    ids = [key for key in (enrollments._uuid(c) for c in chosen[: enrollments.MAX_TARGETS]) if key is not None]
    ticked = list((await session.scalars(select(User).where(User.id.in_(ids), *scope).order_by(User.name))).all())
    needle = find.strip().lower()[:100]
    stmt = select(User).where(*scope, User.id.not_in(ids)).order_by(User.name).limit(LEARNERS_SHOWN)
    if needle:
        stmt = stmt.where(or_(User.email.contains(needle, autoescape=True),
                              func.lower(User.name).contains(needle, autoescape=True)))
    return [(u, True) for u in ticked] + [(u, False) for u in (await session.scalars(stmt)).all()]


async def assign_page(
    request: Request, session: AsyncSession, subject: Any, kind: str, form: Form, status: int = 200
) -> Template:
    """The Assign form of a course or path (``kind``: ``courses`` or ``paths``, the section of its address). An
    HTMX search of learners (``find``) answers the learners fragment only."""
    user = request.scope["user"]
    find = form.get("find") or request.query_params.get("find", "")
    chosen = form.getlist("user_ids") or request.query_params.getall("user_ids", [])
    back = f"/{kind}/{subject.id}"
    context = {"subject": subject, "action": f"{back}/assign", "back": back, "find": find,
               "learners": await learner_choices(session, user, find, chosen), "form": form.data,
               "errors": form.errors}
    if isinstance(request, HTMXRequest) and wants_fragment(request, "assign-learners"):
        return Template("catalog/_learners.html", context=context)
    context["nodes"] = [n for n in await groups.visible_groups(session, user) if n.group.archived_at is None]
    return Template("catalog/assign.html", context=context, status_code=status)


async def submit_assignment(
    request: Request, session: AsyncSession, subject: Any, kind: str, **target: Any
) -> Template | Redirect:
    """Read the Assign form and assign (``course_id=`` or ``path_id=``): back to the subject's page with a notice,
    or the form again with its errors."""
    form = await Form.read(request)
    try:
        due = parse_due(form.get("due_at"))
    except ValueError:
        form.error("due_at", _("Enter a date."))
        return await assign_page(request, session, subject, kind, form, 422)
    try:
        await enrollments.assign(
            session, acting(request), group_ids=form.getlist("team_ids"), user_ids=form.getlist("user_ids"),
            due_at=due, **target,
        )
    except EnrollmentError as exc:
        refuse(exc)
        form.error(exc.field or "form", str(exc))
        return await assign_page(
            request, session, subject, kind, form, 409 if isinstance(exc, EnrollmentConflict) else 422
        )
    return see_other(f"/{kind}/{subject.id}", notice="assigned")


async def end_assignment_of(
    request: Request, session: AsyncSession, assignment_id: str, **subject: Any
) -> EnrollmentError | None:
    """End one of the subject's assignments (``course_id=`` or ``path_id=``); the refusal, if any, for the page."""
    try:
        assignment = await enrollments.get_assignment(session, request.scope["user"], assignment_id)
        if any(getattr(assignment, key) != value for key, value in subject.items()):
            raise EnrollmentNotFound(_("No such assignment."))
        await enrollments.end_assignment(session, acting(request), assignment.id)
    except EnrollmentError as exc:
        refuse(exc)
        return exc
    return None


async def cover_urls(request: Request, session: AsyncSession, courses: list[Course]) -> dict[Any, str]:
    """Short-lived URLs of these courses' cover images (ready files only), in one query."""
    ids = [c.cover_file_id for c in courses if c.cover_file_id is not None]
    if not ids:
        return {}
    storage = request.app.state.storage
    files = {f.id: f for f in (await session.scalars(
        select(StoredFile).where(StoredFile.id.in_(ids), StoredFile.status == "ready"))).all()}
    return {c.id: storage.url(files[c.cover_file_id]) for c in courses if c.cover_file_id in files}


class CatalogPages(Controller):
    path = "/courses"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="catalog.index")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        level: FromQuery[str | None] = None,
        language: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        page: PageParam = 1,
    ) -> Template:
        user = request.scope["user"]
        query = search.CatalogQuery(
            q=(q or "")[: search.QUERY_MAX], category=_choice(category), level=level if level in LEVELS else None,
            language=_choice(language, 10), tag=_choice(tag), page=page, per_page=PER_PAGE,
        )
        results = await search.search(db_session, user, query)
        filters = {"q": query.q, "category": query.category or "", "level": query.level or "",
                   "language": query.language or "", "tag": query.tag or ""}
        context = {
            "results": results, "filters": filters, "paging": page_info(results.total, page, PER_PAGE),
            "levels": LEVELS, "covers": await cover_urls(request, db_session, [card.course for card in results.cards]),
        }
        if wants_fragment(request, "catalog-results"):
            return Template("catalog/_results.html", context=context)
        context["facets"] = await search.facets(db_session, user)
        return Template("catalog/index.html", context=context)

    @get("/suggest", name="catalog.suggest")
    async def suggest(self, request: Request, db_session: DbSession, q: FromQuery[str | None] = None) -> Template:
        found = await search.suggestions(db_session, request.scope["user"], q or "")
        return Template("catalog/_suggestions.html", context={"suggestions": found, "q": q or ""})

    # --- one course ---------------------------------------------------------------------------------------------

    async def _course(self, session: AsyncSession, user: Any, course_id: str) -> Course:
        try:
            return await enrollments.visible_course(session, user, course_id)
        except EnrollmentNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _page(
        self, request: Request, session: AsyncSession, course_id: str, *, notice: str | None = None,
        errors: dict[str, str] | None = None, status: int = 200,
    ) -> Template:
        user = request.scope["user"]
        course = await self._course(session, user, course_id)
        modules = await course_service.outline(session, course.id)
        prereqs: list[Course] = []
        if course.prerequisite_ids:
            prereqs = list((await session.scalars(
                select(Course).where(Course.id.in_(course.prerequisite_ids)).order_by(Course.title)
            )).all())
        done = await enrollments.completed_course_ids(session, user.id, course.prerequisite_ids or [])
        enrollment = await enrollments.current_enrollment(session, user.id, course.id)
        refusal = None if enrollment else await enrollments.self_enroll_refusal(session, user, course)
        staff = is_staff(user, course)
        can_assign = enrollments.may_assign(user) and course.status == "published"
        assignments: list[Any] = []
        if can_assign:
            assignments, _total = await enrollments.list_assignments(
                session, user, course_id=course.id, per_page=ASSIGNMENTS_SHOWN
            )
        context = {
            "course": course, "modules": [(m.module, m.lessons) for m in modules],
            "lesson_count": sum(len(m.lessons) for m in modules),
            "description_html": markdown.render(course.description) if course.description else "",
            "prereqs": [(p, p.id in done) for p in prereqs],
            "enrollment": enrollment, "refusal": refusal, "is_staff": staff, "can_assign": can_assign,
            "assignments": assignments, "notice": notice, "errors": errors or {},
            "overdue": enrollment is not None and enrollments.is_overdue(enrollment.due_at, enrollment.status),
            "rating": round(course.rating_sum / course.rating_count, 1) if course.rating_count else None,
            "cover": (await cover_urls(request, session, [course])).get(course.id),
        }
        return Template("catalog/course.html", context=context, status_code=status)

    @get("/{course_id:str}", name="catalog.course")
    async def course(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        return await self._page(request, db_session, course_id, notice=notice)

    @post("/{course_id:str}/enroll", name="catalog.enroll")
    async def enroll(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template | Redirect:
        try:
            enrollment, _new = await enrollments.enroll_self(db_session, acting(request), course_id)
        except EnrollmentError as exc:
            refuse(exc)
            return await self._page(request, db_session, course_id, errors={"enroll": str(exc)},
                                    status=409 if isinstance(exc, EnrollmentConflict) else 422)
        return see_other(f"/courses/{enrollment.course_id}", notice="enrolled")

    @post("/{course_id:str}/withdraw", name="catalog.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template | Redirect:
        course = await self._course(db_session, request.scope["user"], course_id)
        try:
            await enrollments.withdraw_from_course(db_session, acting(request), course.id)
        except EnrollmentError as exc:
            refuse(exc)
            return await self._page(request, db_session, course_id, errors={"enroll": str(exc)}, status=409)
        return see_other(f"/courses/{course.id}", notice="withdrawn")

    # --- assigning ---------------------------------------------------------------------------------------------

    async def _assignable(self, request: Request, session: AsyncSession, course_id: str) -> Course:
        user = request.scope["user"]
        if not enrollments.may_assign(user):
            raise PermissionDeniedException()
        try:
            return await enrollments.findable_course(session, user, course_id)
        except EnrollmentNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc

    @get("/{course_id:str}/assign", name="catalog.assign.page")
    async def assign_page(self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str]) -> Template:
        course = await self._assignable(request, db_session, course_id)
        return await assign_page(request, db_session, course, "courses", Form())

    @post("/{course_id:str}/assign", name="catalog.assign")
    async def assign(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template | Redirect:
        course = await self._assignable(request, db_session, course_id)
        return await submit_assignment(request, db_session, course, "courses", course_id=course.id)

    @post("/{course_id:str}/assignments/{assignment_id:str}/end", name="catalog.assignment.end")
    async def end_assignment(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], assignment_id: FromPath[str]
    ) -> Template | Redirect:
        course = await self._assignable(request, db_session, course_id)
        refusal = await end_assignment_of(request, db_session, assignment_id, course_id=course.id)
        if refusal is not None:
            return await self._page(request, db_session, course_id, errors={"form": str(refusal)}, status=409)
        return see_other(f"/courses/{course.id}", notice="assignment_ended")
