"""The assessments API (quizzes and the settings of both kinds): ``/api/v1/assessments`` (staff: list, create with
its lesson, settings, delete; slots), ``/api/v1/quiz-slots/{id}`` and the taking side: ``POST
/api/v1/assessments/{id}/attempts`` (start or resume), ``/api/v1/attempts/{id}`` (read, autosave an answer,
submit) and ``GET /api/v1/assessments/{id}/results``.

Anything the caller may not see - another course, another learner's attempt, another organization's ids - is a
404 problem. Invalid input is 400 (``field``); the state refusing is 409 (a stale ``revision``, the quiz closed or
not yet open, no attempts left, time is up under the ``refuse`` late policy, an attempt already submitted).
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import func, select

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.assessments import attempts, service
from tajiconnect.domains.assessments.models import (
    MAX_TIME_LIMIT_SECONDS,
    Assessment,
    AssessmentKind,
    AttemptGrade,
    AttemptStatus,
    LateAnswerPolicy,
    LatePolicy,
    ReviewDetail,
    ReviewWhen,
    SubmissionType,
)
from tajiconnect.domains.assessments.models import Attempt as AttemptRow
from tajiconnect.domains.assessments.service import AssessmentError, Staffed
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.courses import service as courses
from tajiconnect.domains.questions.grading import MAX_TEXT, ResponseInvalid
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

Title = Annotated[str, Meta(min_length=1, max_length=courses.TITLE_MAX, pattern=NOT_BLANK)]
Instructions = Annotated[str, Meta(max_length=courses.BODY_MAX)]
Revision = Annotated[int, Meta(ge=1, le=2_000_000_000)]
Percent = Annotated[int, Meta(ge=0, le=100)]
Weight = Annotated[str, Meta(pattern=r"^[0-9]{1,4}(\.[0-9]{1,2})?$", description="0 to 1000, two decimals.")]
MaxPoints = Annotated[str, Meta(pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$", description="0 to 100000, two decimals.")]
SlotPoints = Annotated[str, Meta(pattern=r"^[0-9]{1,5}(\.[0-9]{1,2})?$", description="0 to 10000, two decimals.")]
Moment = Annotated[datetime.datetime, Meta(description="A date and time (UTC when it has no offset).")]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
Tag = Annotated[str, Meta(max_length=service.TAG_MAX)]

NOT_FOUND = "No such assessment here, or not one of a course the caller may edit."
DATA_409 = (
    "`field` names the value the current data refuses: a setting of the other kind (quiz/assignment), a window "
    "ending before it starts, group submission without groups, files allowed as a way to submit with `max_files` 0, "
    "a rubric, gradebook category or group not of this course (organization)."
)
STALE = "`revision` is not the current one (someone else saved the settings): reload and save again."
TAKE_404 = "No such quiz here, or not one of a course the caller is enrolled in (or edits)."
ATTEMPT_404 = "No such attempt (or question of the attempt) here, or not the caller's own."


class Settings(msgspec.Struct, forbid_unknown_fields=True):
    """Settings of either kind; a quiz refuses the assignment ones and the other way around (400, ``field``)."""

    passing_percent: Percent | UnsetType | None = UNSET
    available_from: Moment | UnsetType | None = UNSET
    available_until: Moment | UnsetType | None = UNSET
    weight: Weight | UnsetType = UNSET
    counts_in_gradebook: bool | UnsetType = UNSET
    gradebook_category_id: uuid.UUID | UnsetType | None = UNSET
    rubric_id: uuid.UUID | UnsetType | None = UNSET
    time_limit_seconds: Annotated[int, Meta(ge=1, le=MAX_TIME_LIMIT_SECONDS)] | UnsetType | None = UNSET
    late_answer_policy: LateAnswerPolicy | UnsetType = UNSET
    attempts_allowed: Annotated[int, Meta(ge=1, le=100)] | UnsetType | None = UNSET
    attempt_grade: AttemptGrade | UnsetType = UNSET
    shuffle_questions: bool | UnsetType = UNSET
    shuffle_options: bool | UnsetType = UNSET
    review_when: ReviewWhen | UnsetType = UNSET
    review_detail: ReviewDetail | UnsetType = UNSET
    due_at: Moment | UnsetType | None = UNSET
    late_policy: LatePolicy | UnsetType = UNSET
    late_penalty_percent: Percent | UnsetType = UNSET
    submission_types: Annotated[list[SubmissionType], Meta(min_length=1, max_length=2)] | UnsetType = UNSET
    max_files: Annotated[int, Meta(ge=0, le=20)] | UnsetType = UNSET
    group_submission: bool | UnsetType = UNSET
    group_ids: Annotated[list[uuid.UUID], Meta(max_length=service.GROUPS_MAX)] | UnsetType = UNSET
    max_points: MaxPoints | UnsetType = UNSET


class AssessmentCreate(Settings, forbid_unknown_fields=True, kw_only=True):
    """A new quiz or assignment lesson at the end of ``module_id``, with its settings."""

    module_id: uuid.UUID
    kind: AssessmentKind
    title: Title
    instructions: Instructions | UnsetType = UNSET


class AssessmentPatch(Settings, forbid_unknown_fields=True):
    """Members left out stay as they are. ``revision``, when sent, must be the current one (else 409)."""

    title: Title | UnsetType = UNSET
    instructions: Instructions | UnsetType = UNSET
    revision: Revision | UnsetType = UNSET


class AssessmentOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    kind: AssessmentKind
    title: str
    instructions_html: str
    max_points: str
    passing_percent: int | None
    available_from: Timestamp | None
    available_until: Timestamp | None
    weight: str
    counts_in_gradebook: bool
    gradebook_category_id: uuid.UUID | None
    rubric_id: uuid.UUID | None
    time_limit_seconds: int | None
    late_answer_policy: LateAnswerPolicy
    attempts_allowed: int | None
    attempt_grade: AttemptGrade
    shuffle_questions: bool
    shuffle_options: bool
    review_when: ReviewWhen
    review_detail: ReviewDetail
    due_at: Timestamp | None
    late_policy: LatePolicy
    late_penalty_percent: int
    submission_types: list[SubmissionType]
    max_files: int
    group_submission: bool
    group_ids: list[uuid.UUID]
    revision: int


class AssessmentPage(msgspec.Struct):
    items: list[AssessmentOut]
    total: int
    page: int
    per_page: int


class SlotIn(msgspec.Struct, forbid_unknown_fields=True):
    """Either ``question_id`` (a question of a bank of the course) or ``bank_id`` (draw ``draw_count`` questions at
    random from that bank of the course, within ``category`` and below, having all ``tags``)."""

    question_id: uuid.UUID | UnsetType = UNSET
    bank_id: uuid.UUID | UnsetType = UNSET
    category: Annotated[str, Meta(max_length=service.CATEGORY_MAX)] | UnsetType | None = UNSET
    tags: Annotated[list[Tag], Meta(max_length=service.TAGS_MAX)] | UnsetType = UNSET
    draw_count: Annotated[int, Meta(ge=1, le=service.DRAW_MAX)] = 1
    points: SlotPoints | UnsetType | None = UNSET


class SlotOut(msgspec.Struct):
    id: uuid.UUID
    position: int
    question_id: uuid.UUID | None
    bank_id: uuid.UUID | None
    category: str | None
    tags: list[str]
    draw_count: int
    points: str | None
    #: Questions a draw may pick from now (1 for a fixed question, 0 when it was archived).
    pool: int
    total_points: str


class SlotList(msgspec.Struct):
    items: list[SlotOut]
    max_points: str


class Choice(msgspec.Struct):
    id: str
    html: str


class AttemptQuestion(msgspec.Struct):
    id: uuid.UUID
    kind: str
    text_html: str
    points: str
    #: single/multiple: options in the order shown; ordering: items in the starting order; matching: the prompts.
    choices: list[Choice]
    #: matching: the answers to pick from, in the order shown.
    answers: list[str]
    #: essay/code: the starting text; code: the language.
    template: str
    language: str | None
    min_words: int | None
    max_words: int | None
    response: Any
    saved_at: Timestamp | None
    late: bool
    # Results, when the review policy shows them (else null / empty).
    earned: str | None
    correct: bool | None
    feedback_html: list[str]


class AttemptOut(msgspec.Struct):
    id: uuid.UUID
    assessment_id: uuid.UUID
    user_id: uuid.UUID
    number: int
    status: AttemptStatus
    started_at: Timestamp
    deadline_at: Timestamp | None
    #: Seconds until the deadline (0 when it passed; null without a time limit).
    seconds_left: int | None
    submitted_at: Timestamp | None
    late: bool
    review_open: bool
    #: The score, once the review policy shows it.
    points: str | None
    max_points: str
    questions: list[AttemptQuestion]


AnswerId = Annotated[str, Meta(min_length=1, max_length=50, pattern=r"^[^\x00]+$")]
AnswerText = Annotated[str, Meta(max_length=MAX_TEXT)]
#: A matching answer's limits, which Litestar leaves out of a dict's schema: stated here.
PAIRS_SCHEMA = {
    "propertyNames": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": r"^[^\x00]+$"},
    "additionalProperties": {"type": "string", "maxLength": 1000, "pattern": r"^[^\x00]*$"},
    "maxProperties": 200,
}


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The answer, with the one member its question's kind takes: single ``option`` (an option id); multiple
    ``options`` (option ids); true_false ``value`` (true/false); numeric ``value`` (a number as text, "3.14");
    short (at most 1000 characters), essay and code ``text``; matching ``pairs`` (pair id -> the chosen answer);
    ordering ``order`` (item ids). Another member than the kind's, or ids the question does not have: 409."""

    option: AnswerId | UnsetType = UNSET
    options: Annotated[list[AnswerId], Meta(max_length=200)] | UnsetType = UNSET
    #: true_false: a boolean; numeric: the number as text (a finite decimal under 10^15, at most 40 characters;
    #: anything else is 409).
    value: bool | str | UnsetType = UNSET
    text: AnswerText | UnsetType = UNSET
    pairs: Annotated[dict[AnswerId, Annotated[str, Meta(max_length=1000)]], Meta(
        max_length=200, extra_json_schema={"extra": PAIRS_SCHEMA})] | UnsetType = UNSET
    order: Annotated[list[AnswerId], Meta(max_length=200)] | UnsetType = UNSET

    def response(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__struct_fields__ if getattr(self, name) is not UNSET}


class AnswerOut(msgspec.Struct):
    question_id: uuid.UUID
    saved_at: Timestamp
    late: bool


class AttemptSummary(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    number: int
    status: AttemptStatus
    started_at: Timestamp
    submitted_at: Timestamp | None
    late: bool
    review_open: bool
    points: str | None
    max_points: str
    counts: bool


class ResultsPage(msgspec.Struct):
    items: list[AttemptSummary]
    total: int
    page: int
    per_page: int
    #: The learner's grade for the quiz, once released (null for staff lists).
    grade: str | None
    attempts_left: int | None


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def answer_refusal(exc: AssessmentError | ResponseInvalid | courses.CourseError) -> HTTPException:
    """A course's refusal as the course API answers it; an assessment's or an answer's: the body's shape passed the
    schema, so what the service still refuses (a setting of the other kind, a rubric of another course, an answer
    that does not fit its question...) is a 409 naming the field."""
    return refusal(exc, refused_value=not isinstance(exc, courses.CourseError))


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _d(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def assessment_json(s: Staffed) -> AssessmentOut:
    a = s.assessment
    return AssessmentOut(
        id=a.id, course_id=a.course_id, lesson_id=a.lesson_id, kind=a.kind,  # type: ignore[arg-type]
        title=s.lesson.title, instructions_html=s.lesson.body_html, max_points=str(a.max_points),
        passing_percent=a.passing_percent, available_from=_iso(a.available_from),
        available_until=_iso(a.available_until), weight=str(a.weight), counts_in_gradebook=a.counts_in_gradebook,
        gradebook_category_id=a.gradebook_category_id, rubric_id=a.rubric_id, time_limit_seconds=a.time_limit_seconds,
        late_answer_policy=a.late_answer_policy, attempts_allowed=a.attempts_allowed,  # type: ignore[arg-type]
        attempt_grade=a.attempt_grade, shuffle_questions=a.shuffle_questions,  # type: ignore[arg-type]
        shuffle_options=a.shuffle_options, review_when=a.review_when,  # type: ignore[arg-type]
        review_detail=a.review_detail, due_at=_iso(a.due_at), late_policy=a.late_policy,  # type: ignore[arg-type]
        late_penalty_percent=a.late_penalty_percent, submission_types=list(a.submission_types),  # type: ignore[arg-type]
        max_files=a.max_files, group_submission=a.group_submission, group_ids=list(a.group_ids),
        revision=a.revision,
    )


def _settings(data: msgspec.Struct, *skip: str) -> dict[str, Any]:
    return {
        name: getattr(data, name)
        for name in Settings.__struct_fields__
        if name not in skip and getattr(data, name, UNSET) is not UNSET
    }


def slot_json(v: service.SlotView) -> SlotOut:
    s = v.slot
    return SlotOut(id=s.id, position=s.position, question_id=s.question_id, bank_id=s.bank_id, category=s.category,
                   tags=list(s.tags), draw_count=s.draw_count, points=_d(s.points), pool=v.pool,
                   total_points=str(v.points))


async def attempt_json(session: Any, attempt: AttemptRow, assessment: Assessment, *, staff: bool) -> AttemptOut:
    now = attempts.now_utc()
    grade = await attempts.grade_of(session, assessment.id, attempt.user_id)
    shown = staff or attempts.review_open(assessment, attempt, grade, now)
    detail = "answers" if staff else assessment.review_detail
    questions = []
    for r in await attempts.results(session, attempt):
        q, data, order = r.question, r.question.data or {}, r.entry.get("options") or []
        choices: list[Choice] = []
        answers: list[str] = []
        if q.kind in ("single", "multiple"):
            by_id = {str(o.get("id")): o for o in data.get("options") or [] if isinstance(o, dict)}
            choices = [Choice(id=i, html=str(by_id[i].get("html", ""))) for i in order if i in by_id]
        elif q.kind == "ordering":
            by_id = {str(o.get("id")): o for o in data.get("items") or [] if isinstance(o, dict)}
            choices = [Choice(id=i, html=str(by_id[i].get("html", ""))) for i in order if i in by_id]
        elif q.kind == "matching":
            choices = [Choice(id=str(p.get("id")), html=str(p.get("prompt_html", "")))
                       for p in data.get("pairs") or [] if isinstance(p, dict)]
            answers = [str(a) for a in order]
        answer = r.answer
        earned = correct = None
        feedback: list[str] = []
        if shown and detail != "score" and answer is not None:
            earned = _d(answer.points)
            correct = None if answer.fraction is None else answer.fraction >= 1
            feedback = r.feedback_html
        questions.append(AttemptQuestion(
            id=q.id, kind=q.kind, text_html=q.text_html, points=str(r.points), choices=choices, answers=answers,
            template=str(data.get("template", "")) if q.kind in ("essay", "code") else "",
            language=str(data.get("language")) if q.kind == "code" else None,
            min_words=data.get("min_words") if q.kind == "essay" else None,
            max_words=data.get("max_words") if q.kind == "essay" else None,
            response=answer.response if answer else None, saved_at=_iso(answer.saved_at) if answer else None,
            late=bool(answer and answer.late), earned=earned, correct=correct, feedback_html=feedback,
        ))
    seconds_left = None
    if attempt.deadline_at is not None:
        seconds_left = max(0, int((attempt.deadline_at - now).total_seconds()))
    return AttemptOut(
        id=attempt.id, assessment_id=attempt.assessment_id, user_id=attempt.user_id, number=attempt.number,
        status=attempt.status, started_at=attempt.started_at.isoformat(),  # type: ignore[arg-type]
        deadline_at=_iso(attempt.deadline_at), seconds_left=seconds_left, submitted_at=_iso(attempt.submitted_at),
        late=attempt.late, review_open=shown, points=_d(attempt.points) if shown else None,
        max_points=str(attempt.max_points), questions=questions,
    )


def with_created(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare the 201 (a new attempt) next to the 200 (resumed) of the start-or-resume operation."""
    spec["responses"] = {201: ResponseSpec(data_container=AttemptOut, description="A new attempt started."),
                         **spec["responses"]}
    return spec


class AssessmentsApi(Controller):
    path = "/api/v1/assessments"
    tags = ["assessments"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.assessments.list",
        summary="Quizzes and assignments of the courses the caller edits, in outline order, paginated",
        **problems(*GUARDED),
    )
    async def list_assessments(
        self,
        request: Request,
        db_session: DbSession,
        course_id: Annotated[uuid.UUID | None, Parameter(description="Only this course's.")] = None,
        kind: Annotated[AssessmentKind | None, Parameter(description="Only quizzes or assignments.")] = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> AssessmentPage:
        rows, total = await service.list_staffed(db_session, request.scope["user"], course_id=course_id, kind=kind,
                                                 page=page, per_page=per_page)
        return AssessmentPage(items=[assessment_json(s) for s in rows], total=total, page=page, per_page=per_page)

    @post(
        "/",
        name="api.assessments.create",
        summary="Create a quiz or assignment lesson at the end of a module, with its settings",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            404: "No such module here, or not of a course the caller may edit.",
            409: f"The course has the most lessons allowed, or: {DATA_409}"}, idempotent=True),
    )
    async def create(self, request: Request, db_session: DbSession, data: JSONBody[AssessmentCreate]) -> AssessmentOut:
        who = acting(request)
        try:
            extra = {} if data.instructions is UNSET else {"body": data.instructions}
            lesson = await courses.add_lesson(db_session, who, data.module_id, kind=data.kind, title=data.title,
                                              **extra)
            assessment = await service.for_lesson(db_session, lesson.id)
            assert assessment is not None
            staffed = await service.update_settings(db_session, who, assessment.id, _settings(data), revision=None)
        except (AssessmentError, courses.CourseError) as exc:
            raise answer_refusal(exc) from exc
        return assessment_json(staffed)

    @get(
        "/{assessment_id:str}",
        name="api.assessments.get",
        summary="One quiz or assignment with its settings (its staff, or its enrolled learners)",
        **problems(*GUARDED, 404, notes={404: TAKE_404}),
    )
    async def get_one(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]) -> AssessmentOut:
        user = request.scope["user"]
        try:
            return assessment_json(await service.get_staffed(db_session, user, assessment_id))
        except AssessmentError:
            pass
        try:
            taking = await attempts.open_any(db_session, user, assessment_id)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        return assessment_json(Staffed(taking.assessment, taking.view.lesson, taking.view.course))

    @patch(
        "/{assessment_id:str}",
        name="api.assessments.update",
        summary="Edit an assessment's settings, title or instructions (with an optional revision check)",
        **problems(*BODY, *GUARDED, 404, 409, notes={404: NOT_FOUND, 409: f"{STALE} Or: {DATA_409}"},
                   idempotent=True),
    )
    async def update(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str], data: JSONBody[AssessmentPatch]
    ) -> AssessmentOut:
        who = acting(request)
        try:
            revision = None if data.revision is UNSET else data.revision
            staffed = await service.update_settings(db_session, who, assessment_id, _settings(data), revision=revision)
            lesson_changes = {k: v for k, v in (("title", data.title), ("body", data.instructions)) if v is not UNSET}
            if lesson_changes:
                await courses.update_lesson(db_session, who, staffed.lesson.id, lesson_changes)
        except (AssessmentError, courses.CourseError) as exc:
            raise answer_refusal(exc) from exc
        return assessment_json(staffed)

    @delete(
        "/{assessment_id:str}",
        name="api.assessments.delete",
        summary="Delete a quiz or assignment with its lesson, attempts, submissions and grades",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes={404: NOT_FOUND}),
    )
    async def remove(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]) -> None:
        who = acting(request)
        try:
            staffed = await service.get_staffed(db_session, who.user, assessment_id)
            await courses.delete_lesson(db_session, who, staffed.lesson.id)
        except (AssessmentError, courses.CourseError) as exc:
            raise answer_refusal(exc) from exc

    @get(
        "/{assessment_id:str}/slots",
        name="api.assessments.slots.list",
        summary="A quiz's slots in order (fixed questions and random draws), with the quiz's total points",
        **problems(*GUARDED, 404, notes={404: NOT_FOUND}),
    )
    async def slots(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]) -> SlotList:
        try:
            staffed = await service.get_staffed(db_session, request.scope["user"], assessment_id)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        views = await service.slot_views(db_session, staffed.assessment.id)
        return SlotList(items=[slot_json(v) for v in views], max_points=str(staffed.assessment.max_points))

    @post(
        "/{assessment_id:str}/slots",
        name="api.assessments.slots.create",
        summary="Add a fixed question or a random draw at the end of a quiz",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            404: NOT_FOUND,
            409: "Not a quiz, or the quiz has the most slots allowed (200); or (`field`) neither or both of "
                 "`question_id` and `bank_id`, a question (archived or) or bank not of this course."},
            idempotent=True),
    )
    async def add_slot(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str], data: JSONBody[SlotIn]
    ) -> SlotOut:
        try:
            slot = await service.add_slot(
                db_session, acting(request), assessment_id,
                question_id=None if data.question_id is UNSET else data.question_id,
                bank_id=None if data.bank_id is UNSET else data.bank_id,
                category=None if data.category is UNSET else data.category,
                tags=None if data.tags is UNSET else data.tags, draw_count=data.draw_count,
                points=None if data.points is UNSET else data.points,
            )
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        views = await service.slot_views(db_session, slot.assessment_id)
        return slot_json(next(v for v in views if v.slot.id == slot.id))

    @post(
        "/{assessment_id:str}/attempts",
        name="api.assessments.attempts.start",
        summary="Start an attempt at a quiz, or resume the one in progress (201 started, 200 resumed)",
        status_code=200,
        description="201 when a new attempt starts; 200 when the attempt in progress is resumed.",
        **with_created(problems(*GUARDED, 404, 409, notes={
            404: TAKE_404,
            409: "The quiz is not open yet or closed, no attempts are left, it has no questions (or draws more "
                 "than its banks hold), or the caller is staff previewing."})),
    )
    async def start(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
    ) -> Response[AttemptOut]:
        who = acting(request)
        try:
            taking = await attempts.quiz(db_session, who.user, assessment_id)
            attempt, created = await attempts.start(db_session, who, taking)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        body = await attempt_json(db_session, attempt, taking.assessment, staff=False)
        return Response(body, status_code=HTTP_201_CREATED if created else 200)

    @get(
        "/{assessment_id:str}/results",
        name="api.assessments.results",
        summary="Attempts at a quiz: the caller's own (learners, scores as the review policy allows), or every "
                "learner's (its staff), paginated",
        **problems(*GUARDED, 404, notes={404: TAKE_404}),
    )
    async def results(
        self,
        request: Request,
        db_session: DbSession,
        assessment_id: FromPath[str],
        user_id: Annotated[uuid.UUID | None, Parameter(description="Staff: only this learner's.")] = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> ResultsPage:
        user = request.scope["user"]
        now = attempts.now_utc()
        staff = True
        try:
            staffed = await service.get_staffed(db_session, user, assessment_id)
            assessment = staffed.assessment
        except AssessmentError:
            staff = False
            try:
                assessment = (await attempts.quiz(db_session, user, assessment_id)).assessment
            except AssessmentError as exc:
                raise answer_refusal(exc) from exc
        learner = user_id if staff else user.id
        where = [AttemptRow.assessment_id == assessment.id]
        if learner is not None:
            where.append(AttemptRow.user_id == learner)
        total = int(await db_session.scalar(select(func.count()).where(*where)) or 0)
        rows = (await db_session.scalars(
            select(AttemptRow).where(*where).order_by(AttemptRow.user_id, AttemptRow.number)
            .limit(per_page).offset((page - 1) * per_page)
        )).all()
        grades = {}
        if rows:
            from tajiconnect.domains.grading.models import Grade

            grades = {g.user_id: g for g in (await db_session.scalars(select(Grade).where(
                Grade.assessment_id == assessment.id, Grade.user_id.in_({r.user_id for r in rows})))).all()}
        items = []
        for r in rows:
            g = grades.get(r.user_id)
            shown = staff or attempts.review_open(assessment, r, g, now)
            items.append(AttemptSummary(
                id=r.id, user_id=r.user_id, number=r.number, status=r.status,  # type: ignore[arg-type]
                started_at=r.started_at.isoformat(), submitted_at=_iso(r.submitted_at), late=r.late,
                review_open=shown, points=_d(r.points) if shown else None, max_points=str(r.max_points),
                counts=g is not None and g.attempt_id == r.id,
            ))
        grade = None
        left = None
        if not staff:
            mine = await attempts.grade_of(db_session, assessment.id, user.id)
            grade = _d(mine.score) if mine is not None and mine.status == "released" else None
            left = attempts.attempts_left(assessment, total)
        return ResultsPage(items=items, total=total, page=page, per_page=per_page, grade=grade, attempts_left=left)


class QuizSlotsApi(Controller):
    path = "/api/v1/quiz-slots"
    tags = ["assessments"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @delete(
        "/{slot_id:str}",
        name="api.quiz_slots.delete",
        summary="Remove a slot from its quiz (the quiz's total points follow)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes={404: "No such slot here, or not of a course the caller may edit."}),
    )
    async def remove(self, request: Request, db_session: DbSession, slot_id: FromPath[str]) -> None:
        try:
            await service.remove_slot(db_session, acting(request), slot_id)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc


class AttemptsApi(Controller):
    path = "/api/v1/attempts"
    tags = ["assessments"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get(
        "/{attempt_id:str}",
        name="api.attempts.get",
        summary="An attempt with its questions, saved answers and (as the review policy allows) results",
        description="The caller's own attempt, or any learner's for the course's staff. An attempt past its deadline "
                    "(late policy `refuse`) is submitted when read.",
        **problems(*GUARDED, 404, 409, notes={404: ATTEMPT_404, 409: "The course is locked by a learning path."}),
    )
    async def get_attempt(self, request: Request, db_session: DbSession, attempt_id: FromPath[str]) -> AttemptOut:
        try:
            attempt, taking = await attempts.get_attempt(db_session, acting(request), attempt_id)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        assessment = taking.assessment if taking else await db_session.get_one(Assessment, attempt.assessment_id)
        return await attempt_json(db_session, attempt, assessment, staff=taking is None)

    @put(
        "/{attempt_id:str}/answers/{question_id:str}",
        name="api.attempts.answer",
        summary="Save (replace) the answer to one question of the caller's attempt in progress (autosave)",
        **problems(*BODY, *GUARDED, 404, 409, notes={
            404: ATTEMPT_404,
            409: "The attempt was submitted; or time is up under the `refuse` late policy (the attempt is then "
                 "submitted); or (`field` `response`) the answer does not fit the question: another kind's member, "
                 "an id the question does not have, an id twice, a short answer over 1000 characters, a numeric "
                 "value that is not a finite number under 10^15."}),
    )
    async def answer(
        self, request: Request, db_session: DbSession, attempt_id: FromPath[str], question_id: FromPath[str],
        data: JSONBody[AnswerIn],
    ) -> AnswerOut:
        try:
            saved = await attempts.save_answer(db_session, acting(request), attempt_id, question_id, data.response())
        except attempts.DeadlinePassed as exc:
            await db_session.commit()  # the attempt was submitted: keep that, refuse the answer
            raise answer_refusal(exc) from exc
        except (AssessmentError, ResponseInvalid) as exc:
            raise answer_refusal(exc) from exc
        return AnswerOut(question_id=saved.question_id, saved_at=saved.saved_at.isoformat(), late=saved.late)

    @post(
        "/{attempt_id:str}/submit",
        name="api.attempts.submit",
        summary="Submit the caller's attempt (grades it automatically; submitting again returns the same result)",
        status_code=200,
        **problems(*GUARDED, 404, 409, notes={404: ATTEMPT_404, 409: "The course is locked by a learning path."}),
    )
    async def submit(self, request: Request, db_session: DbSession, attempt_id: FromPath[str]) -> AttemptOut:
        try:
            attempt = await attempts.submit(db_session, acting(request), attempt_id)
        except AssessmentError as exc:
            raise answer_refusal(exc) from exc
        assessment = await db_session.get_one(Assessment, attempt.assessment_id)
        return await attempt_json(db_session, attempt, assessment, staff=False)

