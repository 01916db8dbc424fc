"""The enrollment API: enroll (oneself, or assign learners and teams), list and withdraw enrollments, list and end
assignments.

A course, team, person, enrollment or assignment the caller may not see, another organization's included, is a
404. Refusals are problem bodies: 403 (no permission to assign or withdraw others), 404, 409 (the current state
refuses: not open to self-enrollment, prerequisites missing (``missing`` lists them), no seat, not published,
already withdrawn or ended, an archived team).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.enrollments import service
from tajiconnect.domains.enrollments.models import Enrollment as EnrollmentModel
from tajiconnect.domains.enrollments.models import EnrollmentSource, EnrollmentStatus, LearningAssignment
from tajiconnect.domains.enrollments.service import (
    Acting,
    EnrollmentError,
)
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
PersonSearch = Annotated[str | None, Parameter(max_length=100, description="Part of the name or email, any case.")]
Ids = Annotated[list[uuid.UUID], Meta(max_length=service.MAX_TARGETS)]


class EnrollRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Staff: ``user_ids`` and/or ``team_ids`` (with an optional ``due_at``) assign the course or path. A member
    enrolls themself with an empty body (or none)."""

    user_ids: Ids | UnsetType = UNSET
    team_ids: Ids | UnsetType = UNSET
    due_at: datetime.datetime | None = None


class Enrollment(msgspec.Struct):
    """A learner in a course (history included: a withdrawn enrollment stays, a new one is another row)."""

    id: uuid.UUID
    course_id: uuid.UUID
    user_id: uuid.UUID
    source: EnrollmentSource
    status: EnrollmentStatus
    progress_percent: int
    seconds_spent: int
    due_at: Timestamp | None
    overdue: bool
    last_activity_at: Timestamp | None
    completed_at: Timestamp | None
    withdrawn_at: Timestamp | None
    created_at: Timestamp
    path_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None


class Assignment(msgspec.Struct):
    """A course or path given to a team or a learner; current while ``ended_at`` is null."""

    id: uuid.UUID
    course_id: uuid.UUID | None
    path_id: uuid.UUID | None
    team_id: uuid.UUID | None
    user_id: uuid.UUID | None
    target: str | None
    due_at: Timestamp | None
    assigned_by: str | None
    ended_at: Timestamp | None
    created_at: Timestamp


class Enrolled(msgspec.Struct):
    """Self-enrollment: ``enrollment``. Assignment: the current ``assignments`` and how many people were newly
    enrolled (``enrolled``)."""

    enrollment: Enrollment | None
    assignments: list[Assignment]
    enrolled: int


class EnrollmentPage(msgspec.Struct):
    items: list[Enrollment]
    total: int
    page: int
    per_page: int


class AssignmentPage(msgspec.Struct):
    items: list[Assignment]
    total: int
    page: int
    per_page: int


def _ts(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def enrollment_json(e: EnrollmentModel, user: object | None = None) -> Enrollment:
    return Enrollment(
        id=e.id, course_id=e.course_id, user_id=e.user_id, source=e.source,  # type: ignore[arg-type]
        status=e.status,  # type: ignore[arg-type]
        progress_percent=e.progress_percent, seconds_spent=e.seconds_spent, due_at=_ts(e.due_at),
        overdue=service.is_overdue(e.due_at, e.status), last_activity_at=_ts(e.last_activity_at),
        completed_at=_ts(e.completed_at), withdrawn_at=_ts(e.withdrawn_at), created_at=e.created_at.isoformat(),
        path_id=e.path_id, name=getattr(user, "name", None), email=getattr(user, "email", None),
    )


def assignment_json(a: LearningAssignment, target: str | None = None) -> Assignment:
    return Assignment(
        id=a.id, course_id=a.course_id, path_id=a.path_id, team_id=a.group_id, user_id=a.user_id, target=target,
        due_at=_ts(a.due_at), assigned_by=a.assigned_by_email, ended_at=_ts(a.ended_at),
        created_at=a.created_at.isoformat(),
    )


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


SelfEnroll = Callable[[AsyncSession, Acting], Awaitable[tuple[Any, bool]]]


async def enroll_or_assign(
    session: AsyncSession, request: Request, data: EnrollRequest | None, enroll_self: SelfEnroll, **subject: Any
) -> tuple[Any, bool, service.Assigned | None]:
    """The flow both enrollment endpoints share: an empty body enrolls the caller (``enroll_self``: ``(row, new,
    None)``), targets assign ``subject`` (``course_id=`` or ``path_id=``: ``(None, False, assigned)``)."""
    who = acting(request)
    users = [] if data is None or data.user_ids is UNSET else data.user_ids
    teams = [] if data is None or data.team_ids is UNSET else data.team_ids
    try:
        if not users and not teams:
            row, new = await enroll_self(session, who)
            return row, new, None
        done = await service.assign(
            session, who, user_ids=users, group_ids=teams, due_at=data.due_at if data is not None else None,
            **subject,
        )
    except EnrollmentError as exc:
        raise refusal(exc) from exc
    return None, False, done


NOTES_409 = (
    "The current state refuses it: the course is not published, not open to self-enrollment (assignment only), a "
    "prerequisite course is not completed (`missing` lists their titles), the learner has no seat, or a team is "
    "archived."
)


class EnrollmentsApi(Controller):
    path = "/api/v1"
    tags = ["enrollments"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post(
        "/courses/{course_id:str}/enrollments",
        name="api.enrollments.create",
        summary="Enroll oneself (empty body), or assign the course to learners and teams",
        status_code=HTTP_201_CREATED,
        **problems(
            *BODY, *GUARDED, 404, 409,
            notes={
                403: "Assigning needs the `learning.assign` permission (admins, managers, teachers). The "
                "organization may be suspended.",
                404: "No such course (or not one the caller finds), or a `team_ids`/`user_ids` entry is unknown here "
                "or outside the teams the caller leads (`field` names it).",
                409: NOTES_409,
            },
            idempotent=True,
        ),
    )
    async def enroll(
        self, request: Request, db_session: DbSession, course_id: FromPath[str],
        data: JSONBody[EnrollRequest | None] = None,
    ) -> Enrolled:
        row, new, done = await enroll_or_assign(
            db_session, request, data, lambda s, who: service.enroll_self(s, who, course_id), course_id=course_id
        )
        if done is None:
            return Enrolled(enrollment=enrollment_json(row), assignments=[], enrolled=int(new))
        return Enrolled(enrollment=None, assignments=[assignment_json(a) for a in done.assignments],
                        enrolled=done.enrolled)

    @get(
        "/courses/{course_id:str}/enrollments",
        name="api.enrollments.list",
        summary="Enrollments in a course the caller may see, history included, paginated",
        description="Admins and the course's teachers see all; managers and teachers the learners of the teams "
        "they lead; a learner their own.",
        **problems(400, *GUARDED, 404),
    )
    async def list_enrollments(
        self,
        request: Request,
        db_session: DbSession,
        course_id: FromPath[str],
        status: Annotated[EnrollmentStatus | None, Parameter(description="Only this status.")] = None,
        q: PersonSearch = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> EnrollmentPage:
        user = request.scope["user"]
        try:
            course = await service.visible_course(db_session, user, course_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
        rows, total = await service.list_enrollments(
            db_session, user, course, status=status, q=q, page=page, per_page=per_page
        )
        return EnrollmentPage(
            items=[enrollment_json(r.enrollment, r.user) for r in rows], total=total, page=page, per_page=per_page
        )

    @delete(
        "/enrollments/{enrollment_id:str}",
        name="api.enrollments.withdraw",
        summary="Withdraw an enrollment (kept in the history)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(
            *GUARDED, 404, 409,
            notes={
                403: "A learner cannot withdraw from a course assigned to them. The organization may be suspended.",
                409: "The enrollment was already withdrawn.",
            },
            idempotent=True,
        ),
    )
    async def withdraw(self, request: Request, db_session: DbSession, enrollment_id: FromPath[str]) -> None:
        try:
            await service.withdraw(db_session, acting(request), enrollment_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc

    @get(
        "/assignments",
        name="api.assignments.list",
        summary="Assignments the caller may see (to the teams they lead and their learners; admins: all)",
        **problems(400, *GUARDED),
    )
    async def list_assignments(
        self,
        request: Request,
        db_session: DbSession,
        course_id: Annotated[uuid.UUID | None, Parameter(description="Only this course's.")] = None,
        path_id: Annotated[uuid.UUID | None, Parameter(description="Only this path's.")] = None,
        include_ended: Annotated[bool, Parameter(description="Ended assignments too.")] = False,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> AssignmentPage:
        rows, total = await service.list_assignments(
            db_session, request.scope["user"], course_id=course_id, path_id=path_id, current=not include_ended,
            page=page, per_page=per_page,
        )
        return AssignmentPage(
            items=[assignment_json(a, t) for a, t in rows], total=total, page=page, per_page=per_page
        )

    @delete(
        "/assignments/{assignment_id:str}",
        name="api.assignments.end",
        summary="End an assignment: nobody new is enrolled; enrollments stay with their progress",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, 409, notes={409: "The assignment has already ended."}, idempotent=True),
    )
    async def end_assignment(self, request: Request, db_session: DbSession, assignment_id: FromPath[str]) -> None:
        try:
            await service.end_assignment(db_session, acting(request), assignment_id)
        except EnrollmentError as exc:
            raise refusal(exc) from exc
