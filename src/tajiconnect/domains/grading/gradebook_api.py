"""The gradebook API: ``/api/v1/courses/{course_id}/gradebook`` (a page of learners x graded items, categories,
overrides) and ``/api/v1/gradebook-categories/{id}``; for the course's staff only.

A course (category, learner, group) the caller may not see, another organization's included, is a 404 problem;
invalid values are 400 with ``field``. Percents and points are numbers with 2 decimals (values with more are
rounded to 2). Category and final percents count released grades only.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading import analytics, similarity
from tajiconnect.domains.grading import gradebook_service as service
from tajiconnect.domains.grading.gradebook_service import GradebookError, Query
from tajiconnect.domains.grading.models import GradebookCategory
from tajiconnect.i18n import gettext as _
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

Name = Annotated[str, Meta(min_length=1, max_length=service.NAME_MAX, pattern=NOT_BLANK)]
Weight = Annotated[float, Meta(ge=0, le=1000, description="Weight (2 decimals; more are rounded).")]
Drop = Annotated[int, Meta(ge=0, le=service.DROP_MAX)]
Percent = Annotated[float, Meta(ge=0, le=1000, description="Percent (2 decimals; more are rounded).")]
Reason = Annotated[str, Meta(min_length=1, max_length=service.REASON_MAX, pattern=NOT_BLANK)]
PerPage = Annotated[int, Parameter(ge=1, le=service.PER_PAGE_MAX, description="Learners per page.")]

NOT_FOUND = "No such course here, or not one the caller teaches; or no such group (`field`: `group_id`)."
FORBIDDEN = "The member may not author courses, or the organization is suspended."
STAFF = requires_permission(Permission.AUTHOR_COURSES)


class ItemOut(msgspec.Struct):
    assessment_id: uuid.UUID
    lesson_id: uuid.UUID
    title: str
    kind: Literal["quiz", "assignment"]
    category_id: uuid.UUID | None
    max_points: float
    weight: float


class CategoryOut(msgspec.Struct):
    id: uuid.UUID
    course_id: uuid.UUID
    name: str
    weight: float
    drop_lowest: int
    position: int


class LetterOut(msgspec.Struct):
    letter: str
    min_percent: float


class CellOut(msgspec.Struct):
    assessment_id: uuid.UUID
    grade_id: Annotated[str, Meta(extra_json_schema={"format": "uuid"})]
    status: Literal["pending", "draft", "released"]
    score: float | None
    max_points: float


class BucketOut(msgspec.Struct):
    """A category's percent (``category_id`` null: the Uncategorized items); null while nothing is released."""

    category_id: uuid.UUID | None
    percent: float | None
    dropped: list[uuid.UUID]


class OverrideOut(msgspec.Struct):
    percent: float
    reason: str
    by_email: str | None
    updated_at: Timestamp


class LearnerOut(msgspec.Struct):
    user_id: uuid.UUID
    name: str
    email: str
    cells: list[CellOut]
    categories: list[BucketOut]
    computed_percent: float | None
    final_percent: float | None
    letter: str | None
    override: OverrideOut | None


class GradebookOut(msgspec.Struct):
    course_id: uuid.UUID
    items: list[ItemOut]
    categories: list[CategoryOut]
    letter_scale: list[LetterOut]
    learners: list[LearnerOut]
    total: int
    page: int
    per_page: int


class CategoryIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    weight: Weight = 0
    drop_lowest: Drop = 0


class CategoryPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    weight: Weight | UnsetType = UNSET
    drop_lowest: Drop | UnsetType = UNSET


class CategoryList(msgspec.Struct):
    items: list[CategoryOut]


class OverrideIn(msgspec.Struct, forbid_unknown_fields=True):
    """The learner's final percent, set by hand, and why (kept in the audit log)."""

    percent: Percent
    reason: Reason


def _f(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _two(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def category_json(c: GradebookCategory) -> CategoryOut:
    return CategoryOut(id=c.id, course_id=c.course_id, name=c.name, weight=float(c.weight), drop_lowest=c.drop_lowest,
                       position=c.position)


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def gradebook_json(book: service.Gradebook) -> GradebookOut:
    learners = []
    for row in book.rows:
        cells = [CellOut(assessment_id=item.id, grade_id=c.grade_id, status=c.status,  # type: ignore[arg-type]
                         score=_f(c.score), max_points=float(c.max_points))
                 for item, c in zip(book.items, row.slots, strict=True) if c is not None]
        buckets = [BucketOut(category_id=k, percent=_f(b.percent),
                             dropped=[book.items[n].id for n in b.dropped if isinstance(n, int)])
                   for k, b in row.result.buckets.items() if k is not None or b.counted]
        override = None
        if row.override is not None:
            override = OverrideOut(percent=float(row.override.percent), reason=row.override.reason,
                                   by_email=row.override.by_email, updated_at=row.override.updated_at.isoformat())
        learners.append(LearnerOut(
            user_id=row.user_id, name=row.name, email=row.email, cells=cells, categories=buckets,
            computed_percent=_f(row.result.computed), final_percent=_f(row.result.final), letter=row.result.letter,
            override=override,
        ))
    return GradebookOut(
        course_id=book.course.id,
        items=[ItemOut(assessment_id=i.id, lesson_id=i.lesson_id, title=i.title, kind=i.kind,  # type: ignore[arg-type]
                       category_id=i.category_id, max_points=float(i.max_points), weight=float(i.weight))
               for i in book.items],
        categories=[category_json(c) for c in book.categories],
        letter_scale=[LetterOut(letter=letter, min_percent=float(m)) for letter, m in book.scale],
        learners=learners, total=book.total, page=book.page, per_page=book.per_page,
    )


class GradebookApi(Controller):
    path = "/api/v1/courses/{course_id:str}/gradebook"
    tags = ["gradebook"]
    guards = [STAFF]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.gradebook.get",
        summary="A page of the course's gradebook: learners x graded items, categories, final and letter",
        description=(
            "Learners are the current enrollments, by name; items the course's assessments that count in the "
            "gradebook, in lesson order. Each learner's `cells` list their grades (`pending`, `draft` or "
            "`released`); category and final percents count released grades only; an `override` replaces the final."
        ),
        **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_FOUND}),
    )
    async def get_gradebook(
        self,
        request: Request,
        db_session: DbSession,
        course_id: FromPath[str],
        group_id: Annotated[uuid.UUID | None, Parameter(description="Only current members of this group.")] = None,
        q: Annotated[str | None, Parameter(max_length=service.SEARCH_MAX, description="Part of a name or email.")]
        = None,
        page: PageParam = 1,
        per_page: PerPage = service.PER_PAGE,
    ) -> GradebookOut:
        try:
            query = Query(group_id=await service.group_filter(db_session, group_id), q=q or "")
            book = await service.gradebook_page(db_session, request.scope["user"], course_id, query=query, page=page,
                                                per_page=per_page)
        except GradebookError as exc:
            raise refusal(exc) from exc
        return gradebook_json(book)

    @get(
        "/categories",
        name="api.gradebook.categories.list",
        summary="The course's gradebook categories, in order",
        **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_FOUND}),
    )
    async def list_categories(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> CategoryList:
        try:
            course = await service.staff_course(db_session, request.scope["user"], course_id)
        except GradebookError as exc:
            raise refusal(exc) from exc
        return CategoryList(items=[category_json(c) for c in await service.categories_of(db_session, course.id)])

    @post(
        "/categories",
        name="api.gradebook.categories.create",
        summary="Add a gradebook category (weight, lowest scores dropped) at the end",
        status_code=HTTP_201_CREATED,
        **problems(*BODY, *GUARDED, 404, 409, notes={
            403: FORBIDDEN, 404: NOT_FOUND, 409: f"The course has {service.CATEGORIES_MAX} categories already."},
            idempotent=True),
    )
    async def create_category(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], data: JSONBody[CategoryIn]
    ) -> CategoryOut:
        try:
            category = await service.create_category(db_session, acting(request), course_id, name=data.name,
                                                     weight=_two(data.weight), drop_lowest=data.drop_lowest)
        except GradebookError as exc:
            raise refusal(exc) from exc
        return category_json(category)

    @put(
        "/overrides/{user_id:str}",
        name="api.gradebook.overrides.set",
        summary="Override a learner's final percent, with a reason (audited)",
        **problems(*BODY, *GUARDED, 404, notes={
            403: FORBIDDEN, 404: "No such course here (or not one the caller teaches), or no such current learner."},
            idempotent=True),
    )
    async def set_override(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], user_id: FromPath[str],
        data: JSONBody[OverrideIn],
    ) -> OverrideOut:
        try:
            row = await service.set_override(db_session, acting(request), course_id, user_id,
                                             percent=_two(data.percent), reason=data.reason)
        except GradebookError as exc:
            raise refusal(exc) from exc
        await db_session.refresh(row, ["updated_at"])
        return OverrideOut(percent=float(row.percent), reason=row.reason, by_email=row.by_email,
                           updated_at=row.updated_at.isoformat())

    @delete(
        "/overrides/{user_id:str}",
        name="api.gradebook.overrides.clear",
        summary="Remove a learner's override (the computed final applies again)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes={
            403: FORBIDDEN,
            404: "No such course here (or not one the caller teaches), no such current learner, or no override."}),
    )
    async def clear_override(
        self, request: Request, db_session: DbSession, course_id: FromPath[str], user_id: FromPath[str]
    ) -> None:
        try:
            cleared = await service.clear_override(db_session, acting(request), course_id, user_id)
        except GradebookError as exc:
            raise refusal(exc) from exc
        if not cleared:
            raise HTTPException(status_code=404, detail=_("This learner's final percent is not overridden."))


class GradebookCategoriesApi(Controller):
    path = "/api/v1/gradebook-categories"
    tags = ["gradebook"]
    guards = [STAFF]
    security = REQUIRES_BEARER

    @patch(
        "/{category_id:str}",
        name="api.gradebook.categories.update",
        summary="Rename a gradebook category or change its weight or drops",
        **problems(*BODY, *GUARDED, 404, notes={
            403: FORBIDDEN, 404: "No such category here, or not of a course the caller teaches."}, idempotent=True),
    )
    async def update_category(
        self, request: Request, db_session: DbSession, category_id: FromPath[str], data: JSONBody[CategoryPatch]
    ) -> CategoryOut:
        changes: dict[str, object] = {}
        if data.name is not UNSET:
            changes["name"] = data.name
        if data.weight is not UNSET:
            changes["weight"] = _two(data.weight)
        if data.drop_lowest is not UNSET:
            changes["drop_lowest"] = data.drop_lowest
        try:
            category = await service.update_category(db_session, acting(request), category_id, changes)
        except GradebookError as exc:
            raise refusal(exc) from exc
        return category_json(category)

    @delete(
        "/{category_id:str}",
        name="api.gradebook.categories.delete",
        summary="Delete a gradebook category (its items become uncategorized)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(*GUARDED, 404, notes={
            403: FORBIDDEN, 404: "No such category here, or not of a course the caller teaches."}),
    )
    async def delete_category(self, request: Request, db_session: DbSession, category_id: FromPath[str]) -> None:
        try:
            await service.delete_category(db_session, acting(request), category_id)
        except GradebookError as exc:
            raise refusal(exc) from exc


# --- quiz analytics and the similarity check ---------------------------------------------------------------------


class BucketCount(msgspec.Struct):
    low: int
    high: int
    count: int


class QuestionStatsOut(msgspec.Struct):
    question_id: uuid.UUID
    name: str
    answered: int
    facility: float | None
    discrimination: float | None


class AnalyticsOut(msgspec.Struct):
    """Over the quiz's submitted attempts. ``facility``: mean fraction of the question's points earned;
    ``discrimination``: facility in the top 27 % of attempts (by score) minus that in the bottom 27 % (null with
    fewer than 4 scored attempts); ``most_missed``: the ids of the questions of lowest facility (up to 5)."""

    assessment_id: uuid.UUID
    attempts: int
    scored: int
    capped: bool
    mean_percent: float | None
    median_percent: float | None
    average_seconds: float | None
    distribution: list[BucketCount]
    questions: list[QuestionStatsOut]
    most_missed: list[uuid.UUID]


class PassageOut(msgspec.Struct):
    a: str
    b: str
    a_start: int
    b_start: int


class MatchOut(msgspec.Struct):
    id: uuid.UUID
    submission_a_id: uuid.UUID
    submission_b_id: uuid.UUID
    name_a: str
    name_b: str
    score: float
    passages: list[PassageOut]
    updated_at: Timestamp


class MatchPage(msgspec.Struct):
    items: list[MatchOut]
    total: int
    page: int
    per_page: int


NOT_QUIZ = "No such quiz here, or not of a course the caller teaches."
NOT_ASSIGNMENT = "No such assignment here, or not of a course the caller teaches."


class AssessmentInsightsApi(Controller):
    path = "/api/v1/assessments/{assessment_id:str}"
    tags = ["gradebook"]
    guards = [STAFF]
    security = REQUIRES_BEARER

    @get(
        "/analytics",
        name="api.assessments.analytics",
        summary="A quiz's analytics: score distribution, facility and discrimination per question, average time",
        **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_QUIZ}),
    )
    async def quiz_analytics(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
                             ) -> AnalyticsOut:
        try:
            found = await analytics.quiz_analytics(db_session, request.scope["user"], assessment_id)
        except analytics.AnalyticsNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        a = found.analysis
        return AnalyticsOut(
            assessment_id=found.assessment.id, attempts=a.attempts, scored=a.scored, capped=a.capped,
            mean_percent=a.mean_percent, median_percent=a.median_percent, average_seconds=a.average_seconds,
            distribution=[BucketCount(low=b.low, high=b.high, count=b.count) for b in a.distribution],
            questions=[QuestionStatsOut(question_id=q.question_id, name=found.names.get(q.question_id, ""),
                                        answered=q.answered, facility=q.facility, discrimination=q.discrimination)
                       for q in a.questions],
            most_missed=[q.question_id for q in a.most_missed],
        )

    @get(
        "/similarity",
        name="api.assessments.similarity",
        summary="An assignment's flagged pairs of similar submissions, highest score first, with the passages",
        description=(
            "The pairs stored by the last similarity check (run from the page `/teach/assessments/{id}/similarity`): "
            "`score` is the share (0-100) of the shorter text found in passages of 6 or more words in a row shared "
            "with the other."
        ),
        **problems(*GUARDED, 404, notes={403: FORBIDDEN, 404: NOT_ASSIGNMENT}),
    )
    async def similar_pairs(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str], page: PageParam = 1,
        per_page: Annotated[int, Parameter(ge=1, le=100, description="Pairs per page.")] = 20,
    ) -> MatchPage:
        try:
            _a, _c, _t, rows, total = await similarity.matches(db_session, request.scope["user"], assessment_id,
                                                               page=page, per_page=per_page)
        except similarity.SimilarityNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        items = [
            MatchOut(id=r.match.id, submission_a_id=r.match.submission_a_id, submission_b_id=r.match.submission_b_id,
                     name_a=r.name_a, name_b=r.name_b, score=float(r.match.score),
                     passages=[PassageOut(a=str(p.get("a", "")), b=str(p.get("b", "")),
                                          a_start=int(p.get("a_start", 0)), b_start=int(p.get("b_start", 0)))
                               for p in r.match.passages if isinstance(p, dict)],
                     updated_at=r.match.updated_at.isoformat())
            for r in rows
        ]
        return MatchPage(items=items, total=total, page=page, per_page=per_page)
