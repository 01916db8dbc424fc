"""The courses API: ``/api/v1/courses`` (catalog list, authoring, publish/archive/duplicate, reviews),
``/api/v1/modules/{id}`` and ``/api/v1/lessons/{id}`` (write side; reading a lesson belongs to the progress API).

A course the caller may not see (reading) or edit (writing), another organization's included, is a 404 problem.
Invalid values are 400 with ``field``; the current state refusing a change is 409 (a stale ``revision``, publishing
a course with missing content: ``detail`` lists what is missing, ``problems`` each item).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission, requires_user
from tajiconnect.domains.courses import access, service
from tajiconnect.domains.courses.models import Course, CourseModule, CourseReview, Lesson, LessonKind, Level, Visibility
from tajiconnect.domains.courses.models import CourseStatus as Status
from tajiconnect.domains.courses.service import (
    Acting,
    CourseError,
)
from tajiconnect.domains.progress.api import LOCKED, NOT_OPEN, LessonContent, lesson_content
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Summary = Annotated[str, Meta(max_length=service.SUMMARY_MAX)]
Description = Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)]
Body = Annotated[str, Meta(max_length=service.BODY_MAX)]
Category = Annotated[str, Meta(max_length=service.CATEGORY_MAX)]
Tag = Annotated[str, Meta(max_length=service.TAG_MAX)]
Language = Annotated[str, Meta(pattern=service.LANGUAGE.pattern)]
CourseMinutes = Annotated[int, Meta(ge=0, le=service.COURSE_MINUTES_MAX)]
LessonMinutes = Annotated[int, Meta(ge=0, le=service.LESSON_MINUTES_MAX)]
Url = Annotated[str, Meta(max_length=2000)]
Revision = Annotated[int, Meta(ge=1, le=2_000_000_000)]
Stars = Annotated[int, Meta(ge=1, le=5)]
ReviewText = Annotated[str, Meta(max_length=service.REVIEW_MAX)]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Filter = Annotated[str | None, Parameter(max_length=80)]

NOT_FOUND = "No such course (module, lesson) here, or not one the caller may edit."
NOTES_409 = (
    "The organization's current data refuses the change: `field` names the input (`revision`: stale; a team,"
    " course, member or file that is not one of this organization or not of the right kind; a prerequisite cycle)."
)
LESSON_409 = (
    "`field` names the input the lesson refuses: an address for a kind other than link or embed, or one whose host"
    " is not allowed; a file for a kind other than video or document, or one that is not a ready upload of the"
    " right kind; another module that is not of this course."
)


class CourseOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    summary: str
    description: str
    cover_file_id: uuid.UUID | None
    category: str | None
    tags: list[str]
    level: Level
    language: str
    estimated_minutes: int | None
    status: Status
    visibility: Visibility
    visible_group_ids: list[uuid.UUID]
    prerequisite_ids: list[uuid.UUID]
    self_enroll: bool
    owner_id: uuid.UUID | None
    teacher_ids: list[uuid.UUID]
    copied_from_id: uuid.UUID | None
    published_at: Timestamp | None
    archived_at: Timestamp | None
    revision: int
    rating_count: int
    rating_average: float | None
    created_at: Timestamp
    updated_at: Timestamp


class CoursePage(msgspec.Struct):
    items: list[CourseOut]
    total: int
    page: int
    per_page: int


class CourseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new draft course owned by the caller."""

    title: Title
    summary: Summary | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET
    tags: Annotated[list[Tag], Meta(max_length=service.TAGS_MAX)] | UnsetType = UNSET
    level: Level | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    estimated_minutes: CourseMinutes | UnsetType | None = UNSET
    visibility: Visibility | UnsetType = UNSET
    visible_group_ids: Annotated[list[uuid.UUID], Meta(max_length=service.VISIBLE_GROUPS_MAX)] | UnsetType = UNSET
    prerequisite_ids: Annotated[list[uuid.UUID], Meta(max_length=service.PREREQUISITES_MAX)] | UnsetType = UNSET
    self_enroll: bool | UnsetType = UNSET
    teacher_ids: Annotated[list[uuid.UUID], Meta(max_length=service.TEACHERS_MAX)] | UnsetType = UNSET
    cover_file_id: uuid.UUID | UnsetType | None = UNSET


class CoursePatch(CourseCreate, forbid_unknown_fields=True):
    """Members left out stay as they are. ``revision``, when sent, must be the course's current one (else 409)."""

    title: Title | UnsetType = UNSET  # type: ignore[assignment]
    revision: Revision | UnsetType = UNSET


class ModuleOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    summary: str
    position: int


class ModuleIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    summary: Summary = ""


class ModulePatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET


class LessonOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    kind: LessonKind
    position: int
    body: str
    body_html: str
    file_id: uuid.UUID | None
    url: str | None
    allow_download: bool
    estimated_minutes: int | None


class LessonIn(msgspec.Struct, forbid_unknown_fields=True):
    """``body`` is Markdown (rendered and sanitized into ``body_html``); ``url`` for link and embed lessons (an
    embed is converted to its player's address or refused); ``file_id`` a ready upload for video/document."""

    title: Title
    kind: LessonKind
    body: Body | UnsetType = UNSET
    url: Url | UnsetType | None = UNSET
    file_id: uuid.UUID | UnsetType | None = UNSET
    allow_download: bool | UnsetType = UNSET
    estimated_minutes: LessonMinutes | UnsetType | None = UNSET


class LessonPatch(msgspec.Struct, forbid_unknown_fields=True):
    """``module_id`` moves the lesson to the end of another module of the same course."""

    title: Title | UnsetType = UNSET
    body: Body | UnsetType = UNSET
    url: Url | UnsetType | None = UNSET
    file_id: uuid.UUID | UnsetType | None = UNSET
    allow_download: bool | UnsetType = UNSET
    estimated_minutes: LessonMinutes | UnsetType | None = UNSET
    module_id: uuid.UUID | UnsetType = UNSET


class Order(msgspec.Struct, forbid_unknown_fields=True):
    """Every module of the course (or, for lessons, every lesson of the module plus any to move into it), in order."""

    ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=service.LESSONS_MAX)]


class ReviewOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    rating: int
    body: str
    hidden: bool
    updated_at: Timestamp


class ReviewPage(msgspec.Struct):
    items: list[ReviewOut]
    total: int
    page: int
    per_page: int
    rating_count: int
    rating_average: float | None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    rating: Stars
    body: ReviewText = ""


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def course_json(c: Course) -> CourseOut:
    return CourseOut(
        id=c.id, title=c.title, summary=c.summary, description=c.description, cover_file_id=c.cover_file_id,
        category=c.category, tags=list(c.tags), level=c.level, language=c.language,  # type: ignore[arg-type]
        estimated_minutes=c.estimated_minutes, status=c.status, visibility=c.visibility,  # type: ignore[arg-type]
        visible_group_ids=list(c.visible_group_ids), prerequisite_ids=list(c.prerequisite_ids),
        self_enroll=c.self_enroll, owner_id=c.owner_id, teacher_ids=list(c.teacher_ids),
        copied_from_id=c.copied_from_id, published_at=_ts(c.published_at), archived_at=_ts(c.archived_at),
        revision=c.revision, rating_count=c.rating_count, rating_average=service.average(c),
        created_at=c.created_at.isoformat(), updated_at=c.updated_at.isoformat(),
    )


def module_json(m: CourseModule) -> ModuleOut:
    return ModuleOut(id=m.id, course_id=m.course_id, title=m.title, summary=m.summary, position=m.position)


def lesson_json(x: Lesson) -> LessonOut:
    return LessonOut(
        id=x.id, course_id=x.course_id, module_id=x.module_id, title=x.title, kind=x.kind,  # type: ignore[arg-type]
        position=x.position, body=x.body, body_html=x.body_html, file_id=x.file_id, url=x.url,
        allow_download=x.allow_download, estimated_minutes=x.estimated_minutes,
    )


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _given(data: msgspec.Struct, *skip: str) -> dict[str, Any]:
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if name not in skip and getattr(data, name) is not UNSET
    }


AUTHOR = requires_permission(Permission.AUTHOR_COURSES)
WRITE = {403: "The member may not author courses, or the organization is suspended.", 404: NOT_FOUND}


class CoursesApi(Controller):
    path = "/api/v1/courses"
    tags = ["courses"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.courses.list",
        summary="Courses the caller finds (catalog) or edits, filterable, searchable, paginated",
        description="Published courses visible to the caller, plus every course they may edit (drafts included).",
        **problems(*GUARDED),
    )
    async def list_courses(
        self,
        request: Request,
        db_session: DbSession,
        status: Annotated[Status | None, Parameter(description="Only courses in this state.")] = None,
        category: Annotated[str | None, Parameter(max_length=80, description="Category, any case.")] = None,
        level: Annotated[Level | None, Parameter(description="Only this level.")] = None,
        language: Annotated[str | None, Parameter(max_length=10, description="Language code.")] = None,
        tag: Annotated[str | None, Parameter(max_length=40, description="A tag, any case.")] = None,
        q: Annotated[str | None, Parameter(max_length=100, description="Words of the title, summary, tags.")] = None,
        mine: Annotated[bool, Parameter(description="Only the courses the caller may edit.")] = False,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> CoursePage:
        user = request.scope["user"]
        where = access.staff_filter(user) if mine else access.catalog_filter(user)
        items, total = await service.list_courses(
            db_session, where, status=status, category=category, level=level, language=language, tag=tag, q=q,
            page=page, per_page=per_page,
        )
        return CoursePage(items=[course_json(c) for c in items], total=total, page=page, per_page=per_page)

    @post(
        "/",
        name="api.courses.create",
        summary="Create a draft course (owned by the caller)",
        status_code=HTTP_201_CREATED,
        guards=[AUTHOR],
        **problems(*BODY, *GUARDED, 409, notes={403: WRITE[403], 409: NOTES_409}, idempotent=True),
    )
    async def create_course(self, request: Request, db_session: DbSession, data: JSONBody[CourseCreate]) -> CourseOut:
        details = _given(data, "title")
        try:
            course = await service.create_course(db_session, acting(request), title=data.title, **details)
        except CourseError as exc:
            raise refusal(exc) from exc
        return course_json(course)

    @get("/{course_id:str}", name="api.courses.get", summary="One course", **problems(*GUARDED, 404))
    async def get_course(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CourseOut:
        try:
            return course_json(await service.reviewable_course(db_session, request.scope["user"], course_id))
        except CourseError as exc:
            raise refusal(exc) from exc

    @patch(
        "/{course_id:str}",
        name="api.courses.update",
        summary="Edit a course's details (with an optional revision check)",
        guards=[AUTHOR],
        **problems(*BODY, *GUARDED, 404, 409, notes={**WRITE, 409: NOTES_409}, idempotent=True),
    )
    async def update_course(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], data: JSONBody[CoursePatch]
    ) -> CourseOut:
        revision = data.revision if data.revision is not UNSET else None
        try:
            course = await service.update_course(
                db_session, acting(request), course_id, _given(data, "revision"), revision=revision
            )
        except CourseError as exc:
            raise refusal(exc) from exc
        return course_json(course)

    async def _status(self, request: Request, db_session: Any, course_id: str, action: str) -> CourseOut:
        try:
            return course_json(await service.set_status(db_session, acting(request), course_id, action))
        except CourseError as exc:
            raise refusal(exc) from exc

    @post(
        "/{course_id:str}/publish",
        name="api.courses.publish",
        summary="Publish a course",
        status_code=200,
        guards=[AUTHOR],
        **problems(*GUARDED, 404, 409, notes={
            **WRITE, 409: "Archived, or content is missing: `problems` lists each missing piece."}),
    )
    async def publish(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CourseOut:
        return await self._status(request, db_session, course_id, "publish")

    @post(
        "/{course_id:str}/archive",
        name="api.courses.archive",
        summary="Archive a course (enrolled learners keep access)",
        status_code=200,
        guards=[AUTHOR],
        **problems(*GUARDED, 404, 409, notes={**WRITE, 409: "Already archived."}),
    )
    async def archive(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CourseOut:
        return await self._status(request, db_session, course_id, "archive")

    @post(
        "/{course_id:str}/restore",
        name="api.courses.restore",
        summary="Restore an archived course (published again if it was published, else draft)",
        status_code=200,
        guards=[AUTHOR],
        **problems(*GUARDED, 404, 409, notes={**WRITE, 409: "The course is not archived."}),
    )
    async def restore(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CourseOut:
        return await self._status(request, db_session, course_id, "restore")

    @post(
        "/{course_id:str}/duplicate",
        name="api.courses.duplicate",
        summary="Copy a course with its modules and lessons, as a draft owned by the caller",
        status_code=HTTP_201_CREATED,
        guards=[AUTHOR],
        **problems(*GUARDED, 404, notes=WRITE),
    )
    async def duplicate(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CourseOut:
        try:
            return course_json(await service.duplicate_course(db_session, acting(request), course_id))
        except CourseError as exc:
            raise refusal(exc) from exc

    @post(
        "/{course_id:str}/modules",
        name="api.courses.modules.create",
        summary="Add a module at the end of a course",
        status_code=HTTP_201_CREATED,
        guards=[AUTHOR],
        **problems(*BODY, *GUARDED, 404, 409, notes={**WRITE, 409: "The course has the most modules allowed."}),
    )
    async def add_module(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], data: JSONBody[ModuleIn]
    ) -> ModuleOut:
        try:
            module = await service.add_module(
                db_session, acting(request), course_id, title=data.title, summary=data.summary
            )
        except CourseError as exc:
            raise refusal(exc) from exc
        return module_json(module)

    @post(
        "/{course_id:str}/modules/order",
        name="api.courses.modules.order",
        summary="Reorder a course's modules",
        status_code=HTTP_204_NO_CONTENT,
        guards=[AUTHOR],
        **problems(*BODY, *GUARDED, 404, 409, notes={
            **WRITE, 409: "`ids` does not list each module of the course exactly once."}),
    )
    async def order_modules(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], data: JSONBody[Order]
    ) -> None:
        try:
            await service.reorder_modules(db_session, acting(request), course_id, data.ids)
        except CourseError as exc:
            raise refusal(exc) from exc

    @get(
        "/{course_id:str}/reviews",
        name="api.courses.reviews.list",
        summary="A course's reviews, newest first (hidden ones too for its staff)",
        **problems(*GUARDED, 404),
    )
    async def reviews(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], page: PageParam = 1,
        per_page: PerPage = 10,
    ) -> ReviewPage:
        user = request.scope["user"]
        try:
            course = await service.reviewable_course(db_session, user, course_id)
        except CourseError as exc:
            raise refusal(exc) from exc
        rows, total = await service.list_reviews(
            db_session, course.id, include_hidden=access.is_staff(user, course), page=page, per_page=per_page
        )
        return ReviewPage(
            items=[review_json(r, name) for r, name in rows], total=total, page=page, per_page=per_page,
            rating_count=course.rating_count, rating_average=service.average(course),
        )

    @post(
        "/{course_id:str}/reviews",
        name="api.courses.reviews.save",
        summary="Rate and review a course (creates or replaces the caller's review)",
        status_code=200,
        **problems(*BODY, *GUARDED, 404, notes={
            403: "Only learners with a current or completed enrollment may review. Or the organization is suspended.",
            404: "No such course here (or not one the caller can see)."}, idempotent=True),
    )
    async def save_review(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], data: JSONBody[ReviewIn]
    ) -> ReviewOut:
        try:
            review = await service.save_review(db_session, acting(request), course_id, rating=data.rating,
                                               body=data.body)
        except CourseError as exc:
            raise refusal(exc) from exc
        return review_json(review, request.scope["user"].name)

    @patch(
        "/{course_id:str}/reviews/{review_id:str}",
        name="api.courses.reviews.moderate",
        summary="Hide a review (or show it again): the course's staff",
        guards=[AUTHOR],
        **problems(*BODY, *GUARDED, 404, notes={
            **WRITE, 404: "No such review of this course here, or not a course the caller may edit."},
            idempotent=True),
    )
    async def moderate_review(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], review_id: FromPath[str],
        data: JSONBody[ReviewModeration],
    ) -> ReviewOut:
        try:
            review = await service.set_review_hidden(
                db_session, acting(request), review_id, hidden=data.status == "hidden", course_id=course_id
            )
        except CourseError as exc:
            raise refusal(exc) from exc
        name = await service.reviewer_name(db_session, review)
        return review_json(review, name)


class ReviewModeration(msgspec.Struct, forbid_unknown_fields=True):
    """``hidden`` takes the review out of the learners' list and of the average; ``visible`` brings it back."""

    status: Literal["hidden", "visible"]


def review_json(r: CourseReview, name: str) -> ReviewOut:
    return ReviewOut(id=r.id, course_id=r.course_id, user_id=r.user_id, name=name, rating=r.rating, body=r.body,
                     hidden=r.hidden_at is not None, updated_at=r.updated_at.isoformat())


class ModulesApi(Controller):
    path = "/api/v1/modules"
    tags = ["courses"]
    guards = [AUTHOR]
    security = REQUIRES_BEARER

    @patch(
        "/{module_id:str}",
        name="api.modules.update",
        summary="Rename or describe a module",
        **problems(*BODY, *GUARDED, 404, notes=WRITE, idempotent=True),
    )
    async def update_module(
        self, request: Request, db_session: DbSession, module_id: FromPath[str], data: JSONBody[ModulePatch]
    ) -> ModuleOut:
        try:
            return module_json(await service.update_module(db_session, acting(request), module_id, _given(data)))
        except CourseError as exc:
            raise refusal(exc) from exc

    @delete(
        "/{module_id:str}",
        name="api.modules.delete",
        summary="Delete a module and its lessons",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes=WRITE),
    )
    async def delete_module(self, request: Request, db_session: DbSession, module_id: FromPath[str]) -> None:
        try:
            await service.delete_module(db_session, acting(request), module_id)
        except CourseError as exc:
            raise refusal(exc) from exc

    @post(
        "/{module_id:str}/lessons",
        name="api.modules.lessons.create",
        summary="Add a lesson at the end of a module",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            **WRITE, 409: f"The course has the most lessons allowed, or: {LESSON_409}"}, idempotent=True),
    )
    async def add_lesson(
        self, request: Request, db_session: DbSession, module_id: FromPath[str], data: JSONBody[LessonIn]
    ) -> LessonOut:
        try:
            lesson = await service.add_lesson(
                db_session, acting(request), module_id, **_given(data)
            )
        except CourseError as exc:
            raise refusal(exc) from exc
        return lesson_json(lesson)

    @post(
        "/{module_id:str}/lessons/order",
        name="api.modules.lessons.order",
        summary="Reorder a module's lessons (lessons of another module of the course listed here move into it)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            **WRITE, 409: "`ids` leaves out a lesson of the module, repeats one, or names one of another course."}),
    )
    async def order_lessons(
        self, request: Request, db_session: DbSession, module_id: FromPath[str], data: JSONBody[Order]
    ) -> None:
        try:
            await service.reorder_lessons(db_session, acting(request), module_id, data.ids)
        except CourseError as exc:
            raise refusal(exc) from exc


class LessonsApi(Controller):
    """Every method of ``/api/v1/lessons/{id}`` (Litestar wants one controller per path): reading belongs to the
    learning side (``progress.api.lesson_content``), editing to the course's staff."""

    path = "/api/v1/lessons"
    tags = ["courses"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/{lesson_id:str}",
        name="api.lessons.get",
        summary="A lesson's content for someone who may open it",
        tags=["learning"],
        **problems(*GUARDED, 404, 409, notes={404: NOT_OPEN, 409: LOCKED}),
    )
    async def get_lesson(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> LessonContent:
        return await lesson_content(request, db_session, lesson_id)

    @patch(
        "/{lesson_id:str}",
        name="api.lessons.update",
        guards=[AUTHOR],
        summary="Edit a lesson, or move it to another module of its course",
        **problems(*BODY, *GUARDED, 404, 409, notes={**WRITE, 409: LESSON_409}, idempotent=True),
    )
    async def update_lesson(
        self, request: Request, db_session: DbSession, lesson_id: FromPath[str], data: JSONBody[LessonPatch]
    ) -> LessonOut:
        who = acting(request)
        try:
            lesson = await service.update_lesson(db_session, who, lesson_id, _given(data, "module_id"))
            if data.module_id is not UNSET:
                lesson = await service.move_lesson(db_session, who, lesson_id, module_id=data.module_id)
        except CourseError as exc:
            raise refusal(exc) from exc
        return lesson_json(lesson)

    @delete(
        "/{lesson_id:str}",
        name="api.lessons.delete",
        guards=[AUTHOR],
        summary="Delete a lesson",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes=WRITE),
    )
    async def delete_lesson(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> None:
        try:
            await service.delete_lesson(db_session, acting(request), lesson_id)
        except CourseError as exc:
            raise refusal(exc) from exc
