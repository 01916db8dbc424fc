"""The learner's own assignment work over the API: ``/api/v1/assessments/{id}/submission`` (read, save a draft) and
``/api/v1/assessments/{id}/submission/submit``. An assignment the caller may not open as a learner is 404; the
state refusing (past the due date, already submitted after it, not in a group, a staff preview) is 409."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.assessments import submissions
from tajiconnect.domains.assessments.submissions import SubmissionError, Work
from tajiconnect.domains.audit.service import Acting
from tajiconnect.web.openapi import BODY, GUARDED, REQUIRES_BEARER, Timestamp, problems, refusal

Text = Annotated[str, Meta(max_length=submissions.TEXT_MAX)]
FileIds = Annotated[list[uuid.UUID], Meta(max_length=20)]

NOT_FOUND = "No such assignment here, or not one the caller may open as a learner."
REFUSED = (
    "The assignment refuses the change now: the due date has passed (late work refused, or the work was already "
    "submitted), the caller is not in one of its groups (group submission), or staff are previewing it."
)


class ReleasedGrade(msgspec.Struct):
    points: str | None
    score: str | None
    max_points: str
    penalty_percent: int
    rubric_scores: dict[str, str]
    comment: str
    released_at: Timestamp | None


class SubmissionOut(msgspec.Struct):
    assessment_id: uuid.UUID
    lesson_id: uuid.UUID
    status: Literal["none", "draft", "submitted"]
    text: str
    file_ids: list[uuid.UUID]
    version: int
    submitted_at: Timestamp | None
    late_days: int
    group_id: uuid.UUID | None
    due_at: Timestamp | None
    late_policy: Literal["accept", "penalize", "refuse"]
    late_penalty_percent: int
    #: Why the work cannot be changed now (null: it can).
    closed: str | None
    #: The grade once released (null before).
    grade: ReleasedGrade | None


class SubmissionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are. ``file_ids``: the caller's finished uploads of purpose ``attachment``
    (at most the assignment's ``max_files``)."""

    text: Text | UnsetType = UNSET
    file_ids: FileIds | UnsetType = UNSET


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def work_json(work: Work) -> SubmissionOut:
    s, a = work.submission, work.assessment
    g = work.released
    return SubmissionOut(
        assessment_id=a.id, lesson_id=a.lesson_id, status=s.status if s else "none",  # type: ignore[arg-type]
        text=s.text if s else "", file_ids=list(s.file_ids) if s else [], version=s.version if s else 0,
        submitted_at=_ts(s.submitted_at) if s else None, late_days=s.late_days if s else 0, group_id=work.group_id,
        due_at=_ts(a.due_at), late_policy=a.late_policy, late_penalty_percent=a.late_penalty_percent,  # type: ignore[arg-type]
        closed=work.closed_reason(submissions.now_utc()),
        grade=None if g is None else ReleasedGrade(
            points=str(g.points) if g.points is not None else None, score=str(g.score) if g.score is not None else None,
            max_points=str(g.max_points), penalty_percent=g.penalty_percent,
            rubric_scores={str(k): str(v) for k, v in (g.rubric_scores or {}).items()}, comment=g.comment,
            released_at=_ts(g.released_at)),
    )


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def _given(data: SubmissionIn) -> dict[str, Any]:
    return {"text": None if data.text is UNSET else data.text,
            "file_ids": None if data.file_ids is UNSET else list(data.file_ids)}


class SubmissionApi(Controller):
    path = "/api/v1/assessments/{assessment_id:str}/submission"
    tags = ["assignments"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.submission.get", summary="The caller's work for an assignment (and its released grade)",
         **problems(*GUARDED, 404, 409, notes={404: NOT_FOUND, 409: "The course is still locked by a path."}))
    async def get_submission(self, request: Request, db_session: DbSession,
                             assessment_id: FromPath[str]) -> SubmissionOut:
        try:
            return work_json(await submissions.open_work_by_assessment(db_session, request.scope["user"],
                                                                       assessment_id))
        except SubmissionError as exc:
            raise refusal(exc) from exc

    @put("/", name="api.submission.save", summary="Save the caller's work as a draft (not submitted)",
         **problems(*BODY, *GUARDED, 404, 409, notes={404: NOT_FOUND, 409: REFUSED}))
    async def save(self, request: Request, db_session: DbSession, assessment_id: FromPath[str],
                   data: JSONBody[SubmissionIn]) -> SubmissionOut:
        try:
            work = await submissions.open_work_by_assessment(db_session, request.scope["user"], assessment_id,
                                                             lock=True)
            await submissions.save_draft(db_session, acting(request), work, **_given(data))
        except SubmissionError as exc:
            raise refusal(exc) from exc
        return work_json(work)

    @post("/submit", name="api.submission.submit", status_code=200,
          summary="Submit the caller's work (with optional last changes); submitting unchanged work again is a no-op",
          **problems(*BODY, *GUARDED, 404, 409, notes={404: NOT_FOUND, 409: REFUSED}))
    async def submit(self, request: Request, db_session: DbSession, assessment_id: FromPath[str],
                     data: JSONBody[SubmissionIn]) -> SubmissionOut:
        try:
            work = await submissions.open_work_by_assessment(db_session, request.scope["user"], assessment_id,
                                                             lock=True)
            await submissions.submit(db_session, acting(request), work, **_given(data))
        except SubmissionError as exc:
            raise refusal(exc) from exc
        return work_json(work)
