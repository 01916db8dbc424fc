"""The parent-links API under ``/api/v1``: a parent's children, and pairing codes.

* ``GET /parents/{id}/children`` (and ``/{learner_id}``): an admin reads any parent's, a parent only their own
  (anyone else: 403). Ids of other organizations, and learners not linked to that parent, are 404.
* ``POST /parents/{id}/children`` and ``DELETE /parents/{id}/children/{learner_id}``: admins link and unlink.
* ``POST /pairing-codes``: a learner for themselves, a teacher or manager for a learner they lead, an admin for
  any learner. The answer holds the code in clear, once: this write ignores ``Idempotency-Key`` (a stored answer
  would be a readable copy of the code), and each call makes a new code.
* ``POST /pairing-codes/redeem``: a parent links themselves with a code: 404 when there is no such code here,
  409 when it expired, was used or is their own; throttled (429) like signing in.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET as UNSET_VALUE
from msgspec import Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User, UserStatus
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.parents import codes, overview, service
from tajiconnect.domains.parents.access import (
    CODE_MAKER_ROLES,
    is_admin,
    may_issue_code_for,
    may_read_children_of,
    requires_role,
)
from tajiconnect.domains.parents.codes import PairingCodeError
from tajiconnect.domains.parents.service import ChildView, LinkError
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import (
    BODY,
    GUARDED,
    IDEMPOTENCY_CONFLICT,
    REQUIRES_BEARER,
    SUSPENDED,
    Problem,
    Timestamp,
    problem_response,
)
from tajiconnect.web.openapi import problems as problem_responses
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Children per page.")]
LinkSource = Literal["import", "admin", "code"]
GroupKind = Literal["department", "team", "grade", "class"]
CodeText = Annotated[str, Meta(min_length=1, max_length=64, description="The code as given, e.g. `K7MQ-29XD` "
                                                                           "(any case; dashes and spaces ignored).")]
Reason = Literal["invalid", "expired", "used", "not_learner", "self", "throttled"]


class Leader(msgspec.Struct):
    """A current leader (teacher or manager) of a group."""

    id: uuid.UUID
    name: str


class ChildGroup(msgspec.Struct):
    """A group (class, grade, team, department) the learner is currently a member of."""

    id: uuid.UUID
    name: str
    kind: GroupKind
    leaders: list[Leader]


class Child(msgspec.Struct):
    """A learner linked to the parent: who, since when, how, their groups and teachers."""

    id: uuid.UUID
    name: str
    email: str
    status: UserStatus
    linked_at: Timestamp
    source: LinkSource
    groups: list[ChildGroup]
    teachers: list[Leader]


class ChildPage(msgspec.Struct):
    items: list[Child]
    total: int
    page: int
    per_page: int


class LinkRequest(msgspec.Struct, forbid_unknown_fields=True):
    learner_id: uuid.UUID


class NewPairingCode(msgspec.Struct, forbid_unknown_fields=True):
    """Whom the code is for: leave ``learner_id`` out (or give your own) to make a code for yourself."""

    learner_id: uuid.UUID | UnsetType = UNSET_VALUE


class IssuedPairingCode(msgspec.Struct):
    """A new pairing code: shown in this answer only (only a keyed hash is kept)."""

    code: str
    learner_id: uuid.UUID
    expires_at: Timestamp


class RedeemRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: CodeText


class Redeemed(msgspec.Struct):
    """The learner the code belonged to; ``created`` is false when the parent was already linked."""

    child: Child
    created: bool


class PairingCodeProblem(Problem, kw_only=True):
    """A code refused: ``reason`` says why and ``field`` is ``code``."""

    reason: Reason | UnsetType = UNSET_VALUE
    field: str | UnsetType = UNSET_VALUE


def child_json(child: ChildView) -> Child:
    return Child(
        id=child.id,
        name=child.name,
        email=child.email,
        status=child.status,  # type: ignore[arg-type]
        linked_at=child.linked_at.isoformat(),
        source=child.source,  # type: ignore[arg-type]
        groups=[
            ChildGroup(id=g.id, name=g.name, kind=g.kind, leaders=[Leader(id=p.id, name=p.name) for p in g.leaders])  # type: ignore[arg-type]
            for g in child.groups
        ],
        teachers=[Leader(id=p.id, name=p.name) for p in child.teachers],
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _readable_parent_id(request: Request, parent_id: str) -> uuid.UUID:
    """The path's parent id, if the caller may read that parent's children (403 otherwise; 404 when unknown)."""
    caller = request.scope["user"]
    key = _uuid(parent_id)
    if not is_admin(caller):
        if key is None or not may_read_children_of(caller, key):
            raise PermissionDeniedException(detail=_("Only admins and the parent themselves may read these."))
    if key is None:
        raise NotFoundException(detail=_("No such parent."))
    return key


#: What a missing member is called in the answer.
MISSING = {"parent": N_("No such parent."), "learner": N_("No such learner."), "member": N_("No such member.")}


async def _member(db_session: AsyncSession, user_id: str | uuid.UUID, what: str) -> User:
    user = await get_user(db_session, user_id)
    if user is None:
        raise NotFoundException(detail=_(MISSING[what]))
    return user


def _code_problem(exc: PairingCodeError) -> HTTPException:
    """429 when throttled; 404 for a code that does not exist here; 409 for one that cannot be used (any more)."""
    if exc.reason == "throttled":
        return HTTPException(status_code=429, detail=exc.message)
    status = 404 if exc.reason == "invalid" else 409
    return HTTPException(status_code=status, detail=exc.message, extra={"reason": exc.reason, "field": "code"})


LINK_RESPONSES = problem_responses(
    *BODY, *GUARDED, 404, 409,
    notes={
        403: f"Only admins link learners to parents. {SUSPENDED}",
        404: "No such parent or learner in this organization.",
        409: "The parent lacks the `parent` role or the learner the `student` role (`field` names which), or"
        " both ids are the same member.",
    },
    idempotent=True,
)
LINK_RESPONSES["responses"][200] = ResponseSpec(
    data_container=Child, description="The learner was already linked to this parent.", generate_examples=False
)
NOT_FOUND_PARENT = "No such member in this organization (another organization's ids never are)."
PARENT_403 = f"Only admins, and the parent themselves, may read a parent's children. {SUSPENDED}"


class ParentsApi(Controller):
    path = "/api/v1/parents"
    tags = ["parents"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/{parent_id:str}/children",
        name="api.parents.children",
        summary="The learners linked to a parent, with their groups and teachers",
        **problem_responses(*GUARDED, 404, notes={403: PARENT_403, 404: NOT_FOUND_PARENT}),
    )
    async def children(
        self, request: Request, db_session: DbSession, parent_id: FromPath[str], page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> ChildPage:
        key = _readable_parent_id(request, parent_id)
        await _member(db_session, key, "parent")
        children, total = await service.children_of(db_session, key, page=page, per_page=per_page,
                                                     active_only=not is_admin(request.scope["user"]))
        return ChildPage(items=[child_json(c) for c in children], total=total, page=page, per_page=per_page)

    @get(
        "/{parent_id:str}/children/{learner_id:str}",
        name="api.parents.child",
        summary="One learner linked to a parent",
        **problem_responses(
            *GUARDED, 404,
            notes={403: PARENT_403, 404: "No such parent, or this learner is not linked to them."},
        ),
    )
    async def child(
        self, request: Request, db_session: DbSession, parent_id: FromPath[str], learner_id: FromPath[str]
    ) -> Child:
        key = _readable_parent_id(request, parent_id)
        learner_key = _uuid(learner_id)
        found = await service.child_of(db_session, key, learner_key, active_only=not is_admin(request.scope["user"])
                                       ) if learner_key else None
        if found is None:
            raise NotFoundException(detail=_("This learner is not linked to this parent."))
        return child_json(found)

    @post(
        "/{parent_id:str}/children",
        name="api.parents.children.link",
        summary="Link a learner to a parent (admins)",
        description="Answers 201 with the link made, or 200 when the learner was already linked.",
        status_code=HTTP_201_CREATED,
        **LINK_RESPONSES,
    )
    async def link(
        self, request: Request, db_session: DbSession, parent_id: FromPath[str], data: JSONBody[LinkRequest]
    ) -> Response[Child]:
        if not is_admin(request.scope["user"]):
            raise PermissionDeniedException(detail=_("Only admins link learners to parents."))
        parent = await _member(db_session, parent_id, "parent")
        learner = await _member(db_session, data.learner_id, "learner")
        try:
            created = await service.link(db_session, parent, learner, source="admin", actor=actor_of(request))
        except LinkError as exc:
            raise HTTPException(status_code=409, detail=str(exc), extra={"field": exc.field}) from exc
        found = await service.child_of(db_session, parent.id, learner.id)
        assert found is not None
        return Response(child_json(found), status_code=201 if created else 200)

    @delete(
        "/{parent_id:str}/children/{learner_id:str}",
        name="api.parents.children.unlink",
        summary="Unlink a learner from a parent (admins)",
        status_code=HTTP_204_NO_CONTENT,
        **problem_responses(
            *GUARDED, 404,
            notes={
                403: f"Only admins unlink learners from parents. {SUSPENDED}",
                404: "No such parent or learner in this organization, or they are not linked.",
            },
            idempotent=True,
        ),
    )
    async def unlink(
        self, request: Request, db_session: DbSession, parent_id: FromPath[str], learner_id: FromPath[str]
    ) -> None:
        if not is_admin(request.scope["user"]):
            raise PermissionDeniedException(detail=_("Only admins unlink learners from parents."))
        parent = await _member(db_session, parent_id, "parent")
        learner = await _member(db_session, learner_id, "learner")
        if not await service.unlink(db_session, parent, learner, actor=actor_of(request)):
            raise NotFoundException(detail=_("This learner is not linked to this parent."))


CODE_404 = "No such code in this organization (`reason`: `invalid`, also for a learner who left since)."
CODE_409 = (
    "The code cannot be used: `reason` is `expired` (or replaced by a newer one), `used`, or `self` (it is your"
    f" own). {IDEMPOTENCY_CONFLICT}"
)
REDEEM_RESPONSES = problem_responses(
    *BODY, *GUARDED, 429,
    notes={
        403: f"Only members with the `parent` role redeem pairing codes. {SUSPENDED}",
        429: "Too many refused codes from this account or this address; try again in 15 minutes.",
    },
    idempotent=True,
)
REDEEM_RESPONSES["responses"][404] = problem_response(404, CODE_404, PairingCodeProblem)
REDEEM_RESPONSES["responses"][409] = problem_response(409, CODE_409, PairingCodeProblem)
NO_STORE = [ResponseHeader(name="Cache-Control", value="no-store", required=True, documentation_only=True)]


class PairingCodesApi(Controller):
    path = "/api/v1/pairing-codes"
    tags = ["parents"]
    security = REQUIRES_BEARER

    @post(
        "/",
        name="api.pairing_codes.create",
        summary="Make a pairing code for a learner",
        description=(
            "A learner makes one for themselves (no `learner_id`); a teacher or manager for a learner of a group they"
            " lead; an admin for any learner. Valid 48 hours, once; a learner has at most 3 unused codes (a new one"
            " retires the oldest). The code is in this answer only. `Idempotency-Key` is ignored: each call makes a"
            " new code."
        ),
        status_code=HTTP_201_CREATED,
        response_headers=NO_STORE,
        guards=[requires_role(*CODE_MAKER_ROLES)],
        **problem_responses(
            *BODY, *GUARDED, 404, 409,
            notes={
                403: f"Only learners, teachers, managers and admins make pairing codes. {SUSPENDED}",
                404: "No such learner among the ones you may make codes for (another organization's ids never are).",
                409: "This member does not have the `student` role (or is deactivated).",
            },
        ),
    )
    async def create(self, request: Request, data: JSONBody[NewPairingCode]) -> Response[IssuedPairingCode]:
        caller = request.scope["user"]
        actor = actor_of(request)
        learner_id = caller.id if isinstance(data.learner_id, UnsetType) else data.learner_id
        # Its own transaction, not the request's: the answer holds the code, and must never be stored for replay.
        async with session_scope(request.app.state.engine) as session:
            me = await _member(session, caller.id, "member")
            learner = await get_user(session, learner_id)
            if learner is None or not await may_issue_code_for(session, me, learner):
                if learner is not None and learner.id == me.id:
                    raise HTTPException(status_code=409, detail=PairingCodeError("not_learner").message)
                raise NotFoundException(detail=_("No such learner among yours."))
            try:
                issued = await codes.issue(session, learner, actor, secret=request.app.state.settings.secret_key.get())
            except PairingCodeError as exc:
                raise HTTPException(status_code=409, detail=exc.message) from exc
        body = IssuedPairingCode(code=issued.code, learner_id=issued.learner_id,
                                 expires_at=issued.expires_at.isoformat())
        return Response(body, status_code=201, headers={"Cache-Control": "no-store"})

    @post(
        "/redeem",
        name="api.pairing_codes.redeem",
        summary="Link yourself, a parent, to a learner with their pairing code",
        description=(
            "Refused codes count against the caller and their address: after 10 refusals in 15 minutes every attempt"
            " answers 429 until the window moves on."
        ),
        status_code=200,
        guards=[requires_role("parent")],
        **REDEEM_RESPONSES,
    )
    async def redeem(self, request: Request, db_session: DbSession, data: JSONBody[RedeemRequest]) -> Redeemed:
        me = await _member(db_session, request.scope["user"].id, "member")
        try:
            result = await codes.redeem(
                request.app.state.engine, db_session, me, data.code, actor_of(request),
                secret=request.app.state.settings.secret_key.get(),
            )
        except PairingCodeError as exc:
            raise _code_problem(exc) from exc
        found = await service.child_of(db_session, me.id, result.learner.id)
        assert found is not None
        return Redeemed(child=child_json(found), created=result.created)


# --- a parent's own children: /api/v1/children ------------------------------------------------------------------


class CourseProgress(msgspec.Struct):
    course_id: uuid.UUID
    title: str
    status: Literal["active", "completed"]
    progress_percent: int
    due_at: Timestamp | None
    last_activity_at: Timestamp | None


class ReleasedGrade(msgspec.Struct):
    """A grade the teacher released (drafts and work waiting for a grader are never shown)."""

    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    title: str
    score: float | None
    max_points: float
    percent: float | None
    comment: str
    released_at: Timestamp | None


class DueWork(msgspec.Struct):
    """A quiz, assignment or assigned course not done yet, due within 14 days or overdue by at most 14."""

    kind: Literal["quiz", "assignment", "course"]
    title: str
    course_id: uuid.UUID
    course_title: str
    due_at: Timestamp
    overdue: bool


class ChildCertificate(msgspec.Struct):
    id: uuid.UUID
    title: str
    issued_at: Timestamp


class CompletedLesson(msgspec.Struct):
    lesson_title: str
    course_id: uuid.UUID
    course_title: str
    completed_at: Timestamp


class Teacher(msgspec.Struct):
    """A teacher of the child (course staff, class leader); ``message_url`` opens a conversation with them."""

    id: uuid.UUID
    name: str
    message_url: str


class ChildSummary(msgspec.Struct):
    """Counts over everything (the lists of the details hold the first few)."""

    courses: int
    released_grades: int
    due_work: int
    overdue_work: int
    certificates: int
    streak_days: int
    best_streak: int
    minutes_last_7_days: int
    lessons_last_7_days: int


class ChildOverview(msgspec.Struct):
    child: Child
    summary: ChildSummary


class ChildOverviewPage(msgspec.Struct):
    items: list[ChildOverview]
    total: int
    page: int
    per_page: int


class ChildDetails(msgspec.Struct):
    """One child as on the parent's home, with longer lists."""

    child: Child
    summary: ChildSummary
    courses: list[CourseProgress]
    grades: list[ReleasedGrade]
    work: list[DueWork]
    certificates: list[ChildCertificate]
    recent_lessons: list[CompletedLesson]
    teachers: list[Teacher]


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _summary(view: overview.Overview, now: Any) -> ChildSummary:
    overdue = view.overdue_total
    return ChildSummary(
        courses=view.courses_total, released_grades=view.grades_total, due_work=view.work_total - overdue,
        overdue_work=overdue, certificates=view.certificates_total, streak_days=view.stats.streak,
        best_streak=view.stats.best_streak, minutes_last_7_days=view.stats.week_minutes,
        lessons_last_7_days=view.stats.week_lessons,
    )


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def details_json(view: overview.Overview, now: Any) -> ChildDetails:
    return ChildDetails(
        child=child_json(view.child),
        summary=_summary(view, now),
        courses=[CourseProgress(course_id=c.course_id, title=c.title, status=c.status,  # type: ignore[arg-type]
                                progress_percent=c.progress_percent, due_at=_iso(c.due_at),
                                last_activity_at=_iso(c.last_activity_at)) for c in view.courses],
        grades=[ReleasedGrade(id=g.id, course_id=g.course_id, course_title=g.course_title, title=g.title,
                              score=_number(g.score), max_points=float(g.max_points), percent=_number(g.percent),
                              comment=g.comment, released_at=_iso(g.released_at)) for g in view.grades],
        work=[DueWork(kind=w.kind, title=w.title, course_id=w.course_id,  # type: ignore[arg-type]
                      course_title=w.course_title, due_at=w.due_at.isoformat(), overdue=w.overdue(now))
              for w in view.work],
        certificates=[ChildCertificate(id=c.id, title=c.title, issued_at=c.issued_at.isoformat())
                      for c in view.certificates],
        recent_lessons=[CompletedLesson(lesson_title=a.lesson_title, course_id=a.course_id,
                                        course_title=a.course_title, completed_at=a.completed_at.isoformat())
                        for a in view.activity],
        teachers=[Teacher(id=t.id, name=t.name, message_url=f"/messages/new?to={t.id}") for t in view.teachers],
    )


CHILDREN_403 = f"Only members with the `parent` role have children here. {SUSPENDED}"


class ChildrenApi(Controller):
    """The caller's own linked children (parents): what their home shows."""

    path = "/api/v1/children"
    tags = ["parents"]
    guards = [requires_role("parent")]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.children.list",
        summary="My linked children, each with a summary",
        description="Counts of courses, released grades (never drafts), work due within 14 days and overdue,"
        " certificates, the streak and the last 7 days' learning.",
        **problem_responses(*GUARDED, notes={403: CHILDREN_403}),
    )
    async def index(
        self, request: Request, db_session: DbSession, page: PageParam = 1, per_page: PerPage = 25
    ) -> ChildOverviewPage:
        me = request.scope["user"]
        children, total = await service.children_of(db_session, me.id, page=page, per_page=per_page, active_only=True)
        now = overview.now_utc()
        views = await overview.overviews(db_session, me.id, children, now=now, limits=overview.COUNTS)
        return ChildOverviewPage(
            items=[ChildOverview(child=child_json(v.child), summary=_summary(v, now)) for v in views],
            total=total, page=page, per_page=per_page,
        )

    @get(
        "/{learner_id:str}",
        name="api.children.get",
        summary="One of my children: courses, released grades and feedback, due work, certificates, teachers",
        **problem_responses(
            *GUARDED, 404, notes={403: CHILDREN_403, 404: "No such learner linked to you (whoever it is)."}
        ),
    )
    async def get_child(self, request: Request, db_session: DbSession, learner_id: FromPath[str]) -> ChildDetails:
        me = request.scope["user"]
        key = _uuid(learner_id)
        found = await service.child_of(db_session, me.id, key, active_only=True) if key else None
        if found is None:
            raise NotFoundException(detail=_("No such learner linked to you."))
        now = overview.now_utc()
        (view,) = await overview.overviews(db_session, me.id, [found], now=now, limits=overview.DETAIL)
        return details_json(view, now)


API = [ParentsApi, PairingCodesApi, ChildrenApi]
__all__ = ["API"]
