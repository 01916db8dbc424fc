"""The learner's pages: ``/learn`` (home), ``/learn/courses/{id}`` (outline) and the lesson page, plus the small
JSON endpoints ``static/lesson.js`` calls with the page's CSRF token (heartbeat, video position, document page).

A lesson the caller may not open is a 404 everywhere (not enrolled, another organization's, a draft for a learner).
Staff who are not enrolled see the course as a learner would, under a "Preview" banner, and nothing is recorded.
Next/previous and the outline swap ``#lesson-view`` with HTMX (``hx-boost``): the layout is not reloaded.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.courses import access
from tajiconnect.domains.progress import media, rules, service
from tajiconnect.domains.progress.api import PositionUpdate
from tajiconnect.domains.progress.service import LessonView, ProgressConflict, ProgressError, ProgressNotFound
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

COURSES_PER_PAGE = 10
PATHS_PER_PAGE = 10
LESSON_FRAGMENT = "lesson-view"
VARY = "HX-Request, HX-Target"


def _not_found(exc: ProgressError) -> NotFoundException:
    return NotFoundException(detail=str(exc))


async def home_context(request: Request, db_session: Any, page: int = 1) -> dict[str, Any]:
    """What the learner's home shows (also ``/`` for learners): a fixed handful of statements."""
    user = request.scope["user"]
    now = service.now_utc()
    courses, total = await service.my_courses(db_session, user.id, page=page, per_page=COURSES_PER_PAGE)
    paths, paths_total = await service.my_paths(db_session, user.id, per_page=PATHS_PER_PAGE)
    soon = now + datetime.timedelta(days=service.DUE_SOON_DAYS)
    return {
        "resume": await service.continue_line(db_session, user.id),
        "due": await service.due_soon(db_session, user.id, now),
        # paths come soonest due first, so the first page holds those due soon
        "paths_due": [p for p in paths if p.enrollment.status == "active" and p.enrollment.due_at is not None
                      and p.enrollment.due_at <= soon],
        "courses": courses,
        "paging": page_info(total, page, COURSES_PER_PAGE),
        "paths": paths,
        "paths_total": paths_total,
        "streak": await service.streak_of(db_session, user, now),
        "now": now,
        "active_minutes": rules.ACTIVE_DAY_SECONDS // 60,
        "local_date": lambda moment: local_date(moment, user.time_zone),
    }


def is_learner_only(user: Any) -> bool:
    """A member whose roles are only learner-ish (a student, maybe also a parent): ``/`` is their learning home."""
    roles = set(user.roles or ()) if user is not None else set()
    return "student" in roles and not roles & {"org_admin", "manager", "teacher"}


def embed_policy(url: str | None) -> str | None:
    """The page's CSP with the embed's origin allowed in frames (the courses service allow-lists embed URLs)."""
    from tajiconnect.web.security import CONTENT_SECURITY_POLICY

    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return f"{CONTENT_SECURITY_POLICY}; frame-src https://{parts.netloc}"


class LearnPages(Controller):
    path = "/learn"
    guards = [requires_user]
    include_in_schema = False

    @get("/", name="learn.home")
    async def home(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        fragment = wants_fragment(request, "learn-courses")
        return Template("learn/_courses.html" if fragment else "learn/home.html",
                        context=await home_context(request, db_session, page), headers={"vary": VARY})

    @get("/courses/{course_id:str}", name="learn.course")
    async def course(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template:
        user = request.scope["user"]
        try:
            course, enrollment = await service.open_course(db_session, user, course_id)
        except ProgressNotFound as exc:
            raise _not_found(exc) from exc
        modules = await service.outline(db_session, course.id, user.id)
        counted = [lesson for module in modules for lesson in module.lessons if lesson.counted]
        done = sum(1 for lesson in counted if lesson.completed)
        preview = enrollment is None or course.status == "draft"
        return Template(
            "learn/course.html",
            context={
                "course": course,
                "enrollment": enrollment,
                "locked_by": None if preview else await service.stage_lock(db_session, user.id, course.id, enrollment),
                "preview": enrollment is None or course.status == "draft",
                "modules": modules,
                "done": done,
                "total": len(counted),
                "percent": rules.percent(done, len(counted)),
                "resume": service.next_to_do(modules, enrollment.last_lesson_id if enrollment else None),
            },
        )

    async def _lesson(
        self, request: Request, db_session: Any, course_id: str, lesson_id: str
    ) -> LessonView:
        try:
            view = await service.open_lesson(db_session, request.scope["user"], lesson_id)
        except ProgressNotFound as exc:
            raise _not_found(exc) from exc
        if str(view.course.id) != course_id:
            raise NotFoundException()
        return view

    async def _render(
        self, request: HTMXRequest, db_session: Any, view: LessonView, *, just_completed: Any = None
    ) -> Template:
        user = request.scope["user"]
        modules = await service.outline(db_session, view.course.id, user.id)
        previous, following = service.neighbours(modules, view.lesson.id)
        counted = [lesson for module in modules for lesson in module.lessons if lesson.counted]
        done = sum(1 for lesson in counted if lesson.completed)
        pages = service.document_pages(view.file)
        kind = view.lesson.kind
        context = {
            "view": view,
            "lesson": view.lesson,
            "course": view.course,
            "modules": modules,
            "previous": previous,
            "next": following,
            "done": done,
            "total": len(counted),
            "percent": rules.percent(done, len(counted)),
            "course_completed": (view.enrollment is not None and view.enrollment.status == "completed")
            or (len(counted) > 0 and done == len(counted)),
            "just_completed": just_completed,
            "media_url": media.file_url(request.app, view.file) if kind == "video" else None,
            "page_urls": media.page_urls(request.app, view.file, pages) if kind == "document" else [],
            "pages": pages,
            "download_url": media.file_url(request.app, view.file, download=True)
            if view.lesson.allow_download and kind in ("video", "document") else None,
            "self_completes": kind in rules.SELF_COMPLETED_KINDS,
            "beat_interval": rules.BEAT_INTERVAL,
            "is_staff": access.is_staff(user, view.course),
        }
        fragment = wants_fragment(request, LESSON_FRAGMENT)
        context["fragment"] = fragment
        template = "learn/_lesson.html" if fragment else "learn/lesson.html"
        # The same address answers the page or the fragment: caches (the browser's Back button) must keep both apart.
        headers = {"vary": VARY}
        if kind == "embed" and (policy := embed_policy(view.lesson.url)):
            headers["content-security-policy"] = policy
        return Template(template, context=context, headers=headers)

    @get("/courses/{course_id:str}/lessons/{lesson_id:str}", name="learn.lesson")
    async def lesson(
        self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str]
    ) -> Template | Redirect:
        try:
            view = await self._lesson(request, db_session, course_id, lesson_id)
        except service.StageLocked:  # the course page says what opens it
            return Redirect(f"/learn/courses/{course_id}", status_code=303)
        return await self._render(request, db_session, view)

    @post("/courses/{course_id:str}/lessons/{lesson_id:str}/complete", name="learn.lesson.complete")
    async def complete(
        self, request: HTMXRequest, db_session: DbSession, course_id: FromPath[str], lesson_id: FromPath[str]
    ) -> Template | Redirect:
        try:
            view = await self._lesson(request, db_session, course_id, lesson_id)
        except service.StageLocked:
            return Redirect(f"/learn/courses/{course_id}", status_code=303)
        try:
            outcome = await service.complete_lesson(db_session, request.scope["user"], view.lesson.id)
        except ProgressConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        if not request.htmx:
            return Redirect(f"/learn/courses/{course_id}/lessons/{lesson_id}", status_code=303)
        view = await service.open_lesson(db_session, request.scope["user"], view.lesson.id)  # fresh state
        return await self._render(request, db_session, view, just_completed=outcome)

    # --- what lesson.js sends (JSON, with the CSRF header) -----------------------------------------------------------

    @post("/lessons/{lesson_id:str}/beat", name="learn.lesson.beat", status_code=200)
    async def beat(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> Response[Any]:
        try:
            beat = await service.heartbeat(db_session, request.scope["user"], lesson_id)
        except ProgressNotFound as exc:
            raise _not_found(exc) from exc
        except ProgressConflict as exc:  # a course its path still locks
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return Response({"recorded": beat.recorded, "credited_seconds": beat.credited_seconds,
                         "streak_days": beat.streak_days})

    @post("/lessons/{lesson_id:str}/position", name="learn.lesson.position", status_code=200)
    async def position(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> Response[Any]:
        try:  # the API's body, with its bounds (seconds 0-86400, page 1-10000)
            data = msgspec.json.decode(await request.body(), type=PositionUpdate)
        except msgspec.DecodeError as exc:  # ValidationError included
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        try:
            outcome = await service.save_position(
                db_session, request.scope["user"], lesson_id, seconds=data.seconds, page=data.page, ended=data.ended
            )
        except ProgressNotFound as exc:
            raise _not_found(exc) from exc
        except ProgressConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        except ProgressError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return Response({"recorded": outcome.recorded, "lesson_completed": outcome.lesson_completed,
                         "course_completed": outcome.course_completed})


def local_date(moment: datetime.datetime | None, zone: str | None) -> datetime.date | None:
    return rules.local_day(moment, zone) if moment is not None else None
