"""The progress API: ``/api/v1/lessons/{id}`` (content, completion, heartbeat, position) and
``/api/v1/progress/me`` / ``/api/v1/progress/{user_id}``.

A lesson the caller may not open (not enrolled, a draft, another organization's) is a 404, and so is a learner
whose progress the caller may not see (only themselves, admins, and the managers and teachers leading one of the
learner's current groups). Staff who are not enrolled read lessons as a preview: ``preview: true``, and their
completions, heartbeats and positions are answered ``recorded: false`` without any write.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.progress import media, rules, service
from tajiconnect.domains.progress.service import Completion, ProgressError
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Courses per page.")]
Seconds = Annotated[int, Meta(ge=0, le=service.MAX_POSITION_SECONDS, description="Video position, in seconds.")]
PageNumber = Annotated[int, Meta(ge=1, le=service.MAX_PAGE, description="Document page seen, from 1.")]
PATHS_LIMIT = 100

LOCKED = "The course came with a learning path whose earlier stages are not complete yet (the detail names it)."
NOT_OPEN = (
    "No such lesson that the caller may open: not enrolled in its course, a draft (staff only), another "
    "organization's, or not a lesson id."
)


class LessonContent(msgspec.Struct):
    """A lesson as its learner sees it. ``media_url``: a short-lived URL of the video (or the document's original
    when downloads are allowed); ``page_urls``: the document's pages as images, once rendered."""

    id: uuid.UUID
    course_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    kind: Literal["text", "video", "document", "link", "embed", "quiz", "assignment"]
    body_html: str
    url: str | None
    media_url: str | None
    download_url: str | None
    pages: int
    page_urls: list[str]
    allow_download: bool
    estimated_minutes: int | None
    completed: bool
    completed_at: Timestamp | None
    completed_by: Literal["learner", "video", "document", "grade"] | None
    seconds_spent: int
    position_seconds: int | None
    last_page: int | None
    preview: bool


class CompletionResult(msgspec.Struct):
    """What a completion (or a position that completes) changed. ``recorded: false``: a preview, nothing written."""

    recorded: bool
    lesson_completed: bool
    newly_completed: bool
    completed_by: str | None
    course_percent: int
    lessons_completed: int
    lessons_total: int
    course_completed: bool
    paths_completed: list[uuid.UUID]
    streak_days: int


class BeatResult(msgspec.Struct):
    recorded: bool
    credited_seconds: int
    streak_days: int


class PositionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A video's position (``seconds``; ``ended: true`` when it played to the end, which completes the lesson), or
    a document's page seen (``page``; the last page completes the lesson)."""

    seconds: Seconds | None = None
    page: PageNumber | None = None
    ended: bool = False


class CourseProgress(msgspec.Struct):
    course_id: uuid.UUID
    title: str
    status: Literal["active", "completed", "withdrawn"]
    progress_percent: int
    lessons_completed: int
    seconds_spent: int
    last_lesson_id: uuid.UUID | None
    last_activity_at: Timestamp | None
    due_at: Timestamp | None
    completed_at: Timestamp | None


class PathProgress(msgspec.Struct):
    path_id: uuid.UUID
    title: str
    status: Literal["active", "completed", "withdrawn"]
    progress_percent: int
    courses_completed: int
    due_at: Timestamp | None
    completed_at: Timestamp | None


class ProgressReport(msgspec.Struct):
    """A learner's progress: the streak as of today in their time zone, time learned, current courses (one page)
    and paths (the first 100)."""

    user_id: uuid.UUID
    streak_days: int
    best_streak: int
    seconds_spent: int
    courses: list[CourseProgress]
    courses_total: int
    page: int
    per_page: int
    paths: list[PathProgress]
    paths_total: int


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def completion_json(outcome: Completion) -> CompletionResult:
    return CompletionResult(
        recorded=outcome.recorded, lesson_completed=outcome.lesson_completed, newly_completed=outcome.newly_completed,
        completed_by=outcome.completed_by, course_percent=outcome.course_percent,
        lessons_completed=outcome.lessons_completed, lessons_total=outcome.lessons_total,
        course_completed=outcome.course_completed, paths_completed=outcome.paths_completed,
        streak_days=outcome.streak_days,
    )


async def report(db_session: Any, learner: Any, page: int, per_page: int) -> ProgressReport:
    streak = await service.streak_of(db_session, learner)
    courses, total = await service.my_courses(db_session, learner.id, page=page, per_page=per_page)
    paths, paths_total = await service.my_paths(db_session, learner.id, per_page=PATHS_LIMIT)
    return ProgressReport(
        user_id=learner.id, streak_days=streak.days, best_streak=streak.best, seconds_spent=streak.seconds_spent,
        courses=[
            CourseProgress(
                course_id=e.course_id, title=line.course_title, status=e.status,  # type: ignore[arg-type]
                progress_percent=e.progress_percent, lessons_completed=e.lessons_completed,
                seconds_spent=e.seconds_spent, last_lesson_id=e.last_lesson_id,
                last_activity_at=_iso(e.last_activity_at), due_at=_iso(e.due_at), completed_at=_iso(e.completed_at),
            )
            for line in courses
            for e in (line.enrollment,)
        ],
        courses_total=total, page=page, per_page=per_page,
        paths=[
            PathProgress(
                path_id=p.path_id, title=line.title, status=p.status,  # type: ignore[arg-type]
                progress_percent=p.progress_percent, courses_completed=p.courses_completed,
                due_at=_iso(p.due_at), completed_at=_iso(p.completed_at),
            )
            for line in paths
            for p in (line.enrollment,)
        ],
        paths_total=paths_total,
    )


async def lesson_content(request: Request, db_session: AsyncSession, lesson_id: str) -> LessonContent:
    """``GET /api/v1/lessons/{id}``: the lesson as its reader sees it, with short-lived media URLs (served by the
    courses domain's ``LessonsApi``, which holds every method of that path: Litestar wants one controller per path).
    """
    try:
        view = await service.open_lesson(db_session, request.scope["user"], lesson_id)
    except ProgressError as exc:
        raise refusal(exc) from exc
    lesson, progress, kind = view.lesson, view.progress, view.lesson.kind
    pages = service.document_pages(view.file) if kind == "document" else 0
    return LessonContent(
        id=lesson.id, course_id=lesson.course_id, module_id=lesson.module_id, title=lesson.title,
        kind=kind,  # type: ignore[arg-type]  # the CHECK constraint keeps it one of the kinds
        body_html=lesson.body_html, url=lesson.url,
        media_url=media.file_url(request.app, view.file) if kind == "video" else None,
        download_url=media.file_url(request.app, view.file, download=True)
        if lesson.allow_download and kind in ("video", "document") else None,
        pages=pages, page_urls=media.page_urls(request.app, view.file, pages),
        allow_download=lesson.allow_download, estimated_minutes=lesson.estimated_minutes,
        completed=view.completed, completed_at=_iso(progress.completed_at if progress else None),
        completed_by=progress.completed_by if progress else None,  # type: ignore[arg-type]
        seconds_spent=progress.seconds_spent if progress else 0,
        position_seconds=progress.position_seconds if progress else None,
        last_page=progress.last_page if progress else None, preview=view.preview,
    )


class LearningApi(Controller):
    """``/api/v1/lessons/{id}/...`` (complete, heartbeat, position) and ``/api/v1/progress/...``."""

    path = "/api/v1"
    tags = ["learning"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post(
        "/lessons/{lesson_id:str}/complete",
        name="api.lessons.complete",
        summary="Mark a lesson complete (completing the last one completes the course and its paths)",
        status_code=200,
        **problems(
            *GUARDED, 404, 409,
            notes={404: NOT_OPEN,
                   409: f"A quiz or assignment is completed by its grade, not by the learner; or: {LOCKED}"},
            idempotent=True,
        ),
    )
    async def complete(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> CompletionResult:
        try:
            return completion_json(await service.complete_lesson(db_session, request.scope["user"], lesson_id))
        except ProgressError as exc:
            raise refusal(exc) from exc

    @post(
        "/lessons/{lesson_id:str}/heartbeat",
        name="api.lessons.heartbeat",
        summary="I am on this lesson: credits the time since the previous heartbeat (any tab), at most "
        f"{rules.BEAT_CAP} s",
        description=f"Send one every {rules.BEAT_INTERVAL} s while the lesson is visible. Several tabs or devices "
        "share one clock, so time is never counted twice.",
        status_code=200,
        **problems(*GUARDED, 404, 409, notes={404: NOT_OPEN, 409: LOCKED}, idempotent=True),
    )
    async def heartbeat(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> BeatResult:
        try:
            beat = await service.heartbeat(db_session, request.scope["user"], lesson_id)
        except ProgressError as exc:
            raise refusal(exc) from exc
        return BeatResult(recorded=beat.recorded, credited_seconds=beat.credited_seconds, streak_days=beat.streak_days)

    @post(
        "/lessons/{lesson_id:str}/position",
        name="api.lessons.position",
        summary="Save a video's position or a document's page (the end completes the lesson)",
        status_code=200,
        **problems(
            *BODY, *GUARDED, 404, 409,
            notes={
                400: "The body does not validate (`seconds` 0-86400, `page` 1-10000), or the lesson's kind needs the "
                "other member (`field` names it).",
                404: NOT_OPEN,
                409: f"Only video and document lessons keep a position; or: {LOCKED}",
            },
            idempotent=True,
        ),
    )
    async def position(
        self, request: Request, db_session: DbSession, lesson_id: FromPath[str], data: JSONBody[PositionUpdate]
    ) -> CompletionResult:
        try:
            outcome = await service.save_position(
                db_session, request.scope["user"], lesson_id, seconds=data.seconds, page=data.page, ended=data.ended
            )
        except ProgressError as exc:
            raise refusal(exc) from exc
        return completion_json(outcome)


    @get("/progress/me", name="api.progress.me", summary="The caller's progress: streak, time, courses, paths",
         **problems(400, *GUARDED))
    async def me(
        self, request: Request, db_session: DbSession, page: PageParam = 1, per_page: PerPage = 25
    ) -> ProgressReport:
        return await report(db_session, request.scope["user"], page, per_page)

    @get(
        "/progress/{user_id:str}",
        name="api.progress.learner",
        summary="A learner's progress (their managers and teachers, and admins)",
        description="Visible to the learner, to admins, and to managers and teachers who lead one of the learner's "
        "current groups (or a group above it).",
        **problems(400, *GUARDED, 404, notes={
            404: "No such learner whose progress the caller may see (another organization's included)."
        }),
    )
    async def learner(
        self, request: Request, db_session: DbSession, user_id: FromPath[str], page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> ProgressReport:
        try:
            learner = await service.learner_for(db_session, request.scope["user"], user_id)
        except ProgressError as exc:
            raise refusal(exc) from exc
        return await report(db_session, learner, page, per_page)
