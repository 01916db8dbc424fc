"""The learning paths API, ``/api/v1/paths``: CRUD, stages, publish, enrollments and assignments.

Every member lists the published paths; authors (``courses.author``) create paths and edit their own; admins edit
all. A path the caller may not see, another organization's included, is a 404.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.enrollments.api import (
    Assignment,
    EnrollRequest,
    acting,
    assignment_json,
    enroll_or_assign,
)
from tajiconnect.domains.enrollments.service import EnrollmentError
from tajiconnect.domains.paths import service
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage, PathStatus
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
SearchText = Annotated[str | None, Parameter(max_length=100, description="Part of the title, any case.")]
Title = Annotated[str, Meta(min_length=1, max_length=service.TITLE_MAX, pattern=NOT_BLANK)]
Summary = Annotated[str, Meta(max_length=service.SUMMARY_MAX)]
Description = Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)]
Language = Annotated[str, Meta(min_length=2, max_length=service.LANGUAGE_MAX, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")]
PathStatusChange = Literal["published", "archived"]
# A string rather than a boolean: Litestar converts request bodies leniently, so a JSON ``0`` would pass as false.
EnrollmentMode = Annotated[
    Literal["self", "assigned"],
    Meta(description="`self`: members may join the path themselves; `assigned`: only by assignment."),
]


class Stage(msgspec.Struct):
    id: uuid.UUID
    title: str
    position: int
    course_ids: list[uuid.UUID]
    requires_previous: bool


class Path(msgspec.Struct):
    """A learning path with its stages in order."""

    id: uuid.UUID
    title: str
    summary: str
    description: str
    language: str
    status: PathStatus
    enrollment: EnrollmentMode
    owner_id: uuid.UUID | None
    published_at: Timestamp | None
    created_at: Timestamp
    stages: list[Stage] | None = None


class PathPage(msgspec.Struct):
    items: list[Path]
    total: int
    page: int
    per_page: int


class PathCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    summary: Summary = ""
    description: Description = ""
    language: Language = "en"
    enrollment: EnrollmentMode = "assigned"


class PathPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are. ``status``: ``published`` publishes (see the publish operation), ``archived``
    archives (enrolled learners keep their path)."""

    title: Title | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    enrollment: EnrollmentMode | UnsetType = UNSET
    status: PathStatusChange | UnsetType = UNSET


class StageIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    course_ids: Annotated[list[uuid.UUID], Meta(max_length=service.MAX_STAGE_COURSES)] = []
    requires_previous: bool = True


class StagesIn(msgspec.Struct, forbid_unknown_fields=True):
    """All the stages, in order (they replace the current ones)."""

    stages: Annotated[list[StageIn], Meta(max_length=service.MAX_STAGES)]


class PathEnrollmentInfo(msgspec.Struct):
    id: uuid.UUID
    path_id: uuid.UUID
    user_id: uuid.UUID
    source: Literal["self", "assigned", "group"]
    status: Literal["active", "completed", "withdrawn"]
    progress_percent: int
    courses_completed: int
    due_at: Timestamp | None
    overdue: bool
    completed_at: Timestamp | None
    withdrawn_at: Timestamp | None
    created_at: Timestamp


class PathEnrolled(msgspec.Struct):
    enrollment: PathEnrollmentInfo | None
    assignments: list[Assignment]
    enrolled: int


def _ts(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def path_json(p: LearningPath, stages: list[PathStage] | None = None) -> Path:
    return Path(
        id=p.id, title=p.title, summary=p.summary, description=p.description, language=p.language,
        status=p.status,  # type: ignore[arg-type]
        enrollment="self" if p.self_enroll else "assigned", owner_id=p.owner_id, published_at=_ts(p.published_at),
        created_at=p.created_at.isoformat(),
        stages=None if stages is None else [
            Stage(id=s.id, title=s.title, position=s.position, course_ids=list(s.course_ids),
                  requires_previous=s.requires_previous)
            for s in stages
        ],
    )


def path_enrollment_json(e: PathEnrollment) -> PathEnrollmentInfo:
    return PathEnrollmentInfo(
        id=e.id, path_id=e.path_id, user_id=e.user_id, source=e.source,  # type: ignore[arg-type]
        status=e.status,  # type: ignore[arg-type]
        progress_percent=e.progress_percent, courses_completed=e.courses_completed, due_at=_ts(e.due_at),
        overdue=enrollments.is_overdue(e.due_at, e.status), completed_at=_ts(e.completed_at),
        withdrawn_at=_ts(e.withdrawn_at), created_at=e.created_at.isoformat(),
    )


EDIT_403 = "Only the path's owner (who may author courses) and admins edit it. The organization may be suspended."


class PathsApi(Controller):
    path = "/api/v1/paths"
    tags = ["paths"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.paths.list", summary="Learning paths the caller may see, paginated", **problems(400, *GUARDED))
    async def list_paths(
        self,
        request: Request,
        db_session: DbSession,
        q: SearchText = None,
        status: Annotated[PathStatus | None, Parameter(description="Only this status.")] = None,
        mine: Annotated[bool, Parameter(description="Only paths the caller edits.")] = False,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> PathPage:
        rows, total = await service.list_paths(
            db_session, request.scope["user"], q=q, status=status, mine=mine, page=page, per_page=per_page
        )
        return PathPage(items=[path_json(p) for p in rows], total=total, page=page, per_page=per_page)

    @post(
        "/",
        name="api.paths.create",
        summary="Create a learning path (a draft)",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, notes={403: "Creating paths needs `courses.author`."}, idempotent=True),
    )
    async def create_path(self, request: Request, db_session: DbSession, data: JSONBody[PathCreate]) -> Path:
        try:
            path = await service.create_path(
                db_session, acting(request), title=data.title, summary=data.summary, description=data.description,
                language=data.language, self_enroll=data.enrollment == "self",
            )
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        return path_json(path, [])

    @get("/{path_id:str}", name="api.paths.get", summary="One learning path with its stages",
         **problems(*GUARDED, 404))
    async def get_path(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Path:
        try:
            path = await service.get_path(db_session, request.scope["user"], path_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        return path_json(path, await service.stages_of(db_session, path.id))

    @patch(
        "/{path_id:str}",
        name="api.paths.update",
        summary="Edit, publish or archive a learning path",
        **problems(*BODY, *GUARDED, 404, 409, notes={
            403: EDIT_403,
            409: "Publishing refused: no stage, an empty stage, or unpublished courses (named in `detail`).",
        }, idempotent=True),
    )
    async def update_path(
        self, request: Request, db_session: DbSession, path_id: FromPath[str], data: JSONBody[PathPatch]
    ) -> Path:
        who = acting(request)
        try:
            path = await service.update_path(
                db_session, who, path_id,
                title=None if data.title is UNSET else data.title,
                summary=None if data.summary is UNSET else data.summary,
                description=None if data.description is UNSET else data.description,
                language=None if data.language is UNSET else data.language,
                self_enroll=None if data.enrollment is UNSET else data.enrollment == "self",
            )
            if data.status == "published":
                path = await service.publish(db_session, who, path.id)
            elif data.status == "archived":
                path = await service.archive(db_session, who, path.id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        return path_json(path, await service.stages_of(db_session, path.id))

    @delete(
        "/{path_id:str}",
        name="api.paths.delete",
        summary="Delete a draft path nobody enrolled in",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, 409, notes={403: EDIT_403, 409: "Not a draft, or people enrolled: archive it."},
                   idempotent=True),
    )
    async def delete_path(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> None:
        try:
            await service.delete_path(db_session, acting(request), path_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc

    @put(
        "/{path_id:str}/stages",
        name="api.paths.stages",
        summary="Replace the stages of a path (ordered, each with ordered courses)",
        **problems(*BODY, *GUARDED, 404, 409, notes={
            403: EDIT_403,
            404: "No such path, or a course the caller does not find (`field`: `stages`).",
            409: "A course appears twice, the path is archived, or a published path would get unpublished courses.",
        }, idempotent=True),
    )
    async def set_stages(
        self, request: Request, db_session: DbSession, path_id: FromPath[str], data: JSONBody[StagesIn]
    ) -> Path:
        try:
            await service.set_stages(
                db_session, acting(request), path_id,
                [service.StageInput(s.title, list(s.course_ids), s.requires_previous) for s in data.stages],
            )
            path = await service.get_path(db_session, request.scope["user"], path_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        return path_json(path, await service.stages_of(db_session, path.id))

    @post(
        "/{path_id:str}/publish",
        name="api.paths.publish",
        summary="Publish a path",
        status_code=200,
        **problems(*GUARDED, 404, 409, notes={
            403: EDIT_403,
            409: "No stage, an empty stage, or unpublished courses (named in `detail`).",
        }, idempotent=True),
    )
    async def publish(self, request: Request, db_session: DbSession, path_id: FromPath[str]) -> Path:
        try:
            path = await service.publish(db_session, acting(request), path_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        return path_json(path, await service.stages_of(db_session, path.id))

    @post(
        "/{path_id:str}/enrollments",
        name="api.paths.enroll",
        summary="Join a path (empty body), or assign it to learners and teams",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            403: "Assigning needs `learning.assign`. The organization may be suspended.",
            404: "No such path, or a `team_ids`/`user_ids` entry unknown here or outside the caller's teams.",
            409: "Not published, not open to self-enrollment, no seat, or an archived team.",
        }, idempotent=True),
    )
    async def enroll(
        self, request: Request, db_session: DbSession, path_id: FromPath[str],
        data: JSONBody[EnrollRequest | None] = None,
    ) -> PathEnrolled:
        row, new, done = await enroll_or_assign(
            db_session, request, data, lambda s, who: service.enroll_self(s, who, path_id), path_id=path_id
        )
        if done is None:
            return PathEnrolled(enrollment=path_enrollment_json(row), assignments=[], enrolled=int(new))
        return PathEnrolled(enrollment=None, assignments=[assignment_json(a) for a in done.assignments],
                            enrolled=done.enrolled)

    @delete(
        "/enrollments/{enrollment_id:str}",
        name="api.paths.withdraw",
        summary="Withdraw a path enrollment (kept in the history; course enrollments stay)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, 409, notes={
            403: "A learner cannot withdraw from a path assigned to them. The organization may be suspended.",
            409: "Already withdrawn.",
        }, idempotent=True),
    )
    async def withdraw(self, request: Request, db_session: DbSession, enrollment_id: FromPath[str]) -> None:
        try:
            await service.withdraw(db_session, acting(request), enrollment_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
