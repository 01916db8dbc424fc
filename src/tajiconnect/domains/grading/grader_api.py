"""The grading API for a course's staff: the queue (``/api/v1/submissions``), one item and grading it
(``/api/v1/submissions/{grade_id}``, ``.../grade``), releasing an assessment's drafts
(``/api/v1/assessments/{id}/release``), rubrics (``/api/v1/rubrics``) and the caller's comment bank
(``/api/v1/comment-bank``). Anything the caller does not staff (another course's, organization's) is 404."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading import comments, grader, rubrics
from tajiconnect.domains.grading.comments import CommentError
from tajiconnect.domains.grading.grader import GraderError, Item, QueueFilters
from tajiconnect.domains.grading.models import CommentBankEntry, GradeStatus, Rubric
from tajiconnect.domains.grading.rubrics import RubricError
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Points = Annotated[float, Meta(ge=0, le=100_000)]
Revision = Annotated[int, Meta(ge=1, le=2_000_000_000)]
RubricId = Annotated[str, Meta(min_length=1, max_length=40)]
Title = Annotated[str, Meta(min_length=1, max_length=rubrics.TITLE_MAX, pattern=NOT_BLANK)]
Comment = Annotated[str, Meta(max_length=grader.COMMENT_MAX)]
Reason = Annotated[str, Meta(max_length=grader.REASON_MAX)]
BankText = Annotated[str, Meta(min_length=1, max_length=comments.TEXT_MAX, pattern=NOT_BLANK)]

QUEUE_404 = "No such work to grade here, or not of a course the caller staffs."
RUBRIC_404 = "No such rubric here, or not of a course the caller staffs."


class QueueItemOut(msgspec.Struct):
    grade_id: uuid.UUID
    status: GradeStatus
    course_id: uuid.UUID
    course_title: str
    assessment_id: uuid.UUID
    assessment_kind: Literal["quiz", "assignment"]
    lesson_title: str
    user_id: uuid.UUID
    learner_name: str
    submitted_at: Timestamp | None
    points: str | None
    max_points: str


class QueueOut(msgspec.Struct):
    items: list[QueueItemOut]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]
    oldest_pending_at: Timestamp | None


class EventOut(msgspec.Struct):
    action: str
    actor_email: str | None
    points_before: str | None
    points_after: str | None
    reason: str
    at: Timestamp


class AnswerOut(msgspec.Struct):
    question_id: uuid.UUID
    kind: str
    prompt_html: str
    response_text: str
    points: str | None
    max_points: str
    comment: str


class ItemOut(msgspec.Struct):
    grade_id: uuid.UUID
    status: GradeStatus
    revision: int
    assessment_id: uuid.UUID
    assessment_kind: Literal["quiz", "assignment"]
    course_id: uuid.UUID
    user_id: uuid.UUID
    learner_name: str
    submitted_at: Timestamp | None
    points: str | None
    score: str | None
    max_points: str
    penalty_percent: int
    late_days: int
    rubric_id: uuid.UUID | None
    rubric_scores: dict[str, str]
    comment: str
    text: str
    file_ids: list[uuid.UUID]
    answers: list[AnswerOut]
    history: list[EventOut]
    previous_id: uuid.UUID | None
    next_id: uuid.UUID | None


class RubricChoice(msgspec.Struct, forbid_unknown_fields=True):
    """The level chosen for one criterion of the assessment's rubric (ids as the rubric gives them)."""

    criterion: RubricId
    level: RubricId


class AnswerGrade(msgspec.Struct, forbid_unknown_fields=True):
    """Points (0..the question's points in the attempt) for one essay or code answer, with an optional comment."""

    question_id: uuid.UUID
    points: Points
    comment: Comment | UnsetType = UNSET


class GradeIn(msgspec.Struct, forbid_unknown_fields=True):
    """``revision``: the grade's current one (else 409). Assignments: ``points`` (0..max) and/or ``rubric`` (the
    levels chosen; without ``points`` the points are computed from them, scaled to the assessment's max). Quizzes:
    ``answers``: points for every essay/code answer. ``release``: release at once. A criterion, level or question
    the item does not have is a 400 with ``field``."""

    revision: Revision
    points: Points | None = None
    rubric: Annotated[list[RubricChoice], Meta(max_length=rubrics.CRITERIA_MAX)] | None = None
    answers: Annotated[list[AnswerGrade], Meta(max_length=200)] | None = None
    comment: Comment | None = None
    reason: Reason = ""
    release: bool = False


class ReleasedOut(msgspec.Struct):
    released: int


class LevelIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    points: Annotated[float, Meta(ge=0, le=1000)]


class CriterionIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    levels: Annotated[list[LevelIn], Meta(min_length=1, max_length=rubrics.LEVELS_MAX)]
    description: Annotated[str, Meta(max_length=rubrics.DESCRIPTION_MAX)] = ""


Criteria = Annotated[list[CriterionIn], Meta(min_length=1, max_length=rubrics.CRITERIA_MAX)]


class RubricIn(msgspec.Struct, forbid_unknown_fields=True):
    course_id: uuid.UUID
    title: Title
    criteria: Criteria


class RubricPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    criteria: Criteria | UnsetType = UNSET


class LevelOut(msgspec.Struct):
    id: str
    title: str
    points: str


class CriterionOut(msgspec.Struct):
    id: str
    title: str
    description: str
    levels: list[LevelOut]


class RubricOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    criteria: list[CriterionOut]
    max_points: str


class RubricList(msgspec.Struct):
    items: list[RubricOut]
    page: int
    per_page: int


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    text: BankText


class CommentOut(msgspec.Struct):
    id: uuid.UUID
    text: str
    uses: int
    last_used_at: Timestamp | None


class CommentList(msgspec.Struct):
    items: list[CommentOut]
    page: int
    per_page: int


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _s(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _dec(value: float | None) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def response_text(response: Any) -> str:
    return str(response.get("text", "")) if isinstance(response, dict) else ""


def item_json(item: Item) -> ItemOut:
    g, s = item.grade, item.submission
    return ItemOut(
        grade_id=g.id, status=g.status, revision=g.revision, assessment_id=item.assessment.id,  # type: ignore[arg-type]
        assessment_kind=item.assessment.kind, course_id=item.course.id, user_id=g.user_id,  # type: ignore[arg-type]
        learner_name=item.learner.name or item.learner.email, submitted_at=_ts(g.submitted_at), points=_s(g.points),
        score=_s(g.score), max_points=str(g.max_points), penalty_percent=g.penalty_percent,
        late_days=s.late_days if s else 0, rubric_id=item.rubric.id if item.rubric else None,
        rubric_scores={str(k): str(v) for k, v in (g.rubric_scores or {}).items()}, comment=g.comment,
        text=s.text if s else "", file_ids=list(s.file_ids) if s else [],
        answers=[AnswerOut(question_id=m.question.id, kind=m.question.kind, prompt_html=m.question.text_html,
                           response_text=response_text(m.answer.response), points=_s(m.answer.points),
                           max_points=str(m.max_points), comment=m.answer.comment) for m in item.answers],
        history=[EventOut(action=e.action, actor_email=e.actor_email, points_before=_s(e.points_before),
                          points_after=_s(e.points_after), reason=e.reason, at=e.created_at.isoformat())
                 for e in item.events],
        previous_id=item.previous_id, next_id=item.next_id,
    )


def rubric_json(r: Rubric) -> RubricOut:
    return RubricOut(id=r.id, course_id=r.course_id, title=r.title, max_points=str(rubrics.rubric_max(r.criteria)),
                     criteria=[CriterionOut(id=c["id"], title=c["title"], description=c.get("description", ""),
                                            levels=[LevelOut(**level) for level in c["levels"]])
                               for c in r.criteria])


def comment_json(e: CommentBankEntry) -> CommentOut:
    return CommentOut(id=e.id, text=e.text, uses=e.uses, last_used_at=_ts(e.last_used_at))


class GradingQueueApi(Controller):
    path = "/api/v1/submissions"
    tags = ["grading"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.grading.queue", summary="Work awaiting a grade in the courses the caller staffs",
         description="Oldest submitted first. `status` (repeatable) defaults to pending; `counts` are per status "
                     "under the other filters.", **problems(*GUARDED))
    async def list_queue(
        self, request: Request, db_session: DbSession,
        course_id: Annotated[uuid.UUID | None, Parameter(description="Only this course.")] = None,
        group_id: Annotated[uuid.UUID | None, Parameter(description="Only learners currently in this group.")] = None,
        assessment_id: Annotated[uuid.UUID | None, Parameter(description="Only this quiz or assignment.")] = None,
        status: Annotated[list[GradeStatus] | None, Parameter(max_items=3, description="Grade states.")] = None,
        page: PageParam = 1, per_page: PerPage = 25,
    ) -> QueueOut:
        filters = QueueFilters(course_id, assessment_id, group_id, tuple(status or ("pending",)))
        q = await grader.queue(db_session, request.scope["user"], filters, page=page, per_page=per_page)
        return QueueOut(
            items=[QueueItemOut(
                grade_id=i.grade.id, status=i.grade.status, course_id=i.grade.course_id,  # type: ignore[arg-type]
                course_title=i.course_title, assessment_id=i.assessment.id,
                assessment_kind=i.assessment.kind, lesson_title=i.lesson_title,  # type: ignore[arg-type]
                user_id=i.grade.user_id, learner_name=i.learner_name, submitted_at=_ts(i.grade.submitted_at),
                points=_s(i.grade.points), max_points=str(i.grade.max_points)) for i in q.items],
            total=q.total, page=page, per_page=per_page, counts=q.counts, oldest_pending_at=_ts(q.oldest_pending))

    @get("/{grade_id:str}", name="api.grading.item", summary="One piece of work with its grade and history",
         **problems(*GUARDED, 404, notes={404: QUEUE_404}))
    async def get_item(self, request: Request, db_session: DbSession, grade_id: FromPath[str]) -> ItemOut:
        try:
            return item_json(await grader.load(db_session, request.scope["user"], grade_id))
        except GraderError as exc:
            raise refusal(exc) from exc

    @put("/{grade_id:str}/grade", name="api.grading.grade", summary="Grade one piece of work (a draft, or released)",
         **problems(*BODY, *GUARDED, 404, 409, notes={
             404: QUEUE_404, 409: "`revision` is not the grade's current one (`revision` gives it), or the quiz "
                                  "grade has no attempt."}))
    async def grade(self, request: Request, db_session: DbSession, grade_id: FromPath[str],
                    data: JSONBody[GradeIn]) -> ItemOut:
        try:
            item = await grader.save(
                db_session, acting(request), grade_id, revision=data.revision, points=_dec(data.points),
                rubric_scores=None if data.rubric is None else {c.criterion: c.level for c in data.rubric},
                answer_points={str(a.question_id): Decimal(str(a.points)) for a in data.answers or []},
                answer_comments={str(a.question_id): a.comment for a in data.answers or []
                                 if a.comment is not UNSET},
                comment=data.comment, reason=data.reason, release_now=data.release)
        except GraderError as exc:
            raise refusal(exc) from exc
        return item_json(item)


class ReleaseApi(Controller):
    path = "/api/v1/assessments/{assessment_id:str}/release"
    tags = ["grading"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @post("/", name="api.grading.release", status_code=200,
          summary="Release every draft grade of a quiz or assignment to its learners",
          **problems(*GUARDED, 404, notes={404: "No such assessment here, or not of a course the caller staffs."}))
    async def release(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]) -> ReleasedOut:
        try:
            return ReleasedOut(released=await grader.release(db_session, acting(request), assessment_id))
        except GraderError as exc:
            raise refusal(exc) from exc


class RubricsApi(Controller):
    path = "/api/v1/rubrics"
    tags = ["grading"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.rubrics.list", summary="Rubrics of the courses the caller staffs", **problems(*GUARDED))
    async def list_rubrics(
        self, request: Request, db_session: DbSession,
        course_id: Annotated[uuid.UUID | None, Parameter(description="Only this course's.")] = None,
        page: PageParam = 1, per_page: PerPage = 25,
    ) -> RubricList:
        rows = await rubrics.list_rubrics(db_session, request.scope["user"], course_id, limit=per_page,
                                          offset=(page - 1) * per_page)
        return RubricList(items=[rubric_json(r) for r in rows], page=page, per_page=per_page)

    @post("/", name="api.rubrics.create", summary="Create a rubric for a course", status_code=HTTP_201_CREATED,
          **problems(*BODY, *GUARDED, 404, notes={404: "No such course here, or not one the caller staffs."}))
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[RubricIn]) -> RubricOut:
        try:
            rubric = await rubrics.create_rubric(db_session, acting(request), data.course_id, title=data.title,
                                                 criteria=msgspec.to_builtins(data.criteria))
        except RubricError as exc:
            raise refusal(exc) from exc
        return rubric_json(rubric)

    @get("/{rubric_id:str}", name="api.rubrics.get", summary="One rubric",
         **problems(*GUARDED, 404, notes={404: RUBRIC_404}))
    async def get_rubric(self, request: Request, db_session: DbSession, rubric_id: FromPath[str]) -> RubricOut:
        try:
            return rubric_json(await rubrics.get_rubric(db_session, request.scope["user"], rubric_id))
        except RubricError as exc:
            raise refusal(exc) from exc

    @patch("/{rubric_id:str}", name="api.rubrics.update", summary="Rename a rubric or replace its criteria",
           **problems(*BODY, *GUARDED, 404, notes={404: RUBRIC_404}))
    async def update(self, request: Request, db_session: DbSession, rubric_id: FromPath[str],
                     data: JSONBody[RubricPatch]) -> RubricOut:
        try:
            rubric = await rubrics.update_rubric(
                db_session, acting(request), rubric_id, title=None if data.title is UNSET else data.title,
                criteria=None if data.criteria is UNSET else msgspec.to_builtins(data.criteria))
        except RubricError as exc:
            raise refusal(exc) from exc
        return rubric_json(rubric)

    @delete("/{rubric_id:str}", name="api.rubrics.delete", summary="Delete a rubric (assessments using it keep "
            "their grades)", status_code=HTTP_204_NO_CONTENT, **problems(*GUARDED, 404, notes={404: RUBRIC_404}))
    async def delete_rubric(self, request: Request, db_session: DbSession, rubric_id: FromPath[str]) -> None:
        try:
            await rubrics.delete_rubric(db_session, acting(request), rubric_id)
        except RubricError as exc:
            raise refusal(exc) from exc


class CommentBankApi(Controller):
    path = "/api/v1/comment-bank"
    tags = ["grading"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.comment_bank.list", summary="The caller's comment bank, most used or most recent first",
         **problems(*GUARDED))
    async def list_entries(
        self, request: Request, db_session: DbSession,
        sort: Annotated[Literal["used", "recent"], Parameter(description="Order.")] = "used",
        page: PageParam = 1, per_page: PerPage = 50,
    ) -> CommentList:
        rows = await comments.list_entries(db_session, request.scope["user"], sort=sort, limit=per_page,
                                           offset=(page - 1) * per_page)
        return CommentList(items=[comment_json(e) for e in rows], page=page, per_page=per_page)

    @post("/", name="api.comment_bank.add", summary="Add a comment to the caller's bank (an existing one is "
          "returned)", status_code=HTTP_201_CREATED, **problems(*BODY, *GUARDED, 409, notes={
              409: f"The bank holds {comments.ENTRIES_MAX} comments already."}))
    async def add(self, request: Request, db_session: DbSession, data: JSONBody[CommentIn]) -> CommentOut:
        try:
            entry, _created = await comments.add(db_session, request.scope["user"], data.text)
        except CommentError as exc:
            raise refusal(exc) from exc
        return comment_json(entry)

    @delete("/{entry_id:str}", name="api.comment_bank.delete", summary="Delete one of the caller's comments",
            status_code=HTTP_204_NO_CONTENT, **problems(*GUARDED, 404, notes={404: "No such comment of the caller."}))
    async def delete_entry(self, request: Request, db_session: DbSession, entry_id: FromPath[str]) -> None:
        try:
            await comments.delete(db_session, request.scope["user"], entry_id)
        except CommentError as exc:
            raise refusal(exc) from exc
