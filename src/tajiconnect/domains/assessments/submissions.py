"""A learner's work for an assignment lesson: text and/or files (the storage service's ``attachment`` uploads),
saved as a draft, then submitted to the grading queue (``grading.records.submitted``).

Rules (docs/grading.md):

* The learner must be able to open the lesson as a learner (enrolled; staff previewing record nothing: 409).
* Late work: ``late_days`` = whole days, or parts of a day, after ``due_at``. The assessment's ``late_policy``
  decides: ``accept``, ``penalize`` (``late_days`` x ``late_penalty_percent``, at most 100, taken off when graded)
  or ``refuse`` (409 once the due date has passed).
* Resubmitting is allowed until the due date; after it only work never submitted may still come in (when the
  policy takes late work). Submitting unchanged work again changes nothing (idempotent).
* Group submission: the learner's current group among ``assessment.group_ids`` owns one submission shared by its
  members; each enrolled member gets a grade row.
"""

from __future__ import annotations

import datetime
import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import any_, select
from sqlalchemy.dialects.postgresql import array as sql_array
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import Assessment, Submission
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.grading import records
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.progress import service as progress
from tajiconnect.domains.progress.service import LessonView
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _

TEXT_MAX = 50_000
FILE_PURPOSE = "attachment"
DAY = datetime.timedelta(days=1)


class SubmissionError(ValueError):
    """400 (invalid input, ``field`` names it), 404 (not found), 409 (the state refuses)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- late policy (pure) ---------------------------------------------------------------------------------------------


def late_days(due_at: datetime.datetime | None, at: datetime.datetime) -> int:
    """Whole days, or parts of a day, that ``at`` comes after ``due_at`` (0 when on time or without a due date)."""
    if due_at is None or at <= due_at:
        return 0
    return math.ceil((at - due_at) / DAY)


def penalty_percent(days: int, per_day: int) -> int:
    """``days`` x ``per_day`` percent, between 0 and 100."""
    return max(0, min(100, days * max(0, per_day)))


def late_penalty(assessment: Assessment, days: int) -> int:
    """The penalty (percent) the assessment's policy gives to work ``days`` late."""
    if assessment.late_policy != "penalize":
        return 0
    return penalty_percent(days, assessment.late_penalty_percent)


# --- reading --------------------------------------------------------------------------------------------------------


@dataclass
class Work:
    """What the assignment page and API show the learner."""

    view: LessonView
    assessment: Assessment
    submission: Submission | None
    group_id: uuid.UUID | None
    grade: Grade | None
    files: list[StoredFile]

    @property
    def submitted(self) -> bool:
        return self.submission is not None and self.submission.version > 0

    @property
    def released(self) -> Grade | None:
        return self.grade if self.grade is not None and self.grade.status == "released" else None

    def closed_reason(self, at: datetime.datetime) -> str | None:
        """Why the learner may not change or submit the work now (None: they may)."""
        if self.view.preview:
            return _("Staff previewing an assignment cannot submit it.")
        if self.assessment.group_submission and self.group_id is None:
            return _("This assignment is submitted by groups, and you are not in one of its groups.")
        if late_days(self.assessment.due_at, at) == 0:
            return None
        if self.submitted:
            return _("The due date has passed: the work can no longer be changed.")
        if self.assessment.late_policy == "refuse":
            return _("The due date has passed: late work is not accepted.")
        return None


async def _view(session: AsyncSession, user: Any, lesson_id: Any) -> LessonView:
    try:
        view = await progress.open_lesson(session, user, lesson_id)
    except progress.StageLocked as exc:
        raise SubmissionError(str(exc), status=409) from exc
    except progress.ProgressNotFound as exc:
        raise SubmissionError(_("No such assignment here."), status=404) from exc
    if view.lesson.kind != "assignment":
        raise SubmissionError(_("No such assignment here."), status=404)
    return view


async def learner_group(session: AsyncSession, assessment: Assessment, user_id: uuid.UUID) -> uuid.UUID | None:
    """The learner's current group among the assessment's groups (the oldest membership when several)."""
    if not assessment.group_submission or not assessment.group_ids:
        return None
    group_ids = sql_array(assessment.group_ids)
    found: uuid.UUID | None = await session.scalar(
        select(GroupMembership.group_id)
        .where(GroupMembership.user_id == user_id, GroupMembership.ended_at.is_(None),
               GroupMembership.group_id == any_(group_ids))
        .order_by(GroupMembership.created_at, GroupMembership.group_id)
        .limit(1)
    )
    return found


async def open_work(session: AsyncSession, user: Any, lesson_id: Any, *, lock: bool = False) -> Work:
    """The learner's work for the assignment lesson ``lesson_id`` (404 when they may not open it)."""
    view = await _view(session, user, lesson_id)
    found = select(Assessment).where(Assessment.lesson_id == view.lesson.id)
    assessment = await session.scalar(found.with_for_update() if lock else found)
    if assessment is None:
        raise SubmissionError(_("No such assignment here."), status=404)
    group_id = await learner_group(session, assessment, user.id)
    mine = Submission.group_id == group_id if group_id is not None else (
        (Submission.user_id == user.id) & Submission.group_id.is_(None))
    query = select(Submission).where(Submission.assessment_id == assessment.id, mine)
    submission = await session.scalar(query.with_for_update() if lock else query)
    grade = await session.scalar(select(Grade).where(Grade.assessment_id == assessment.id, Grade.user_id == user.id))
    files = await files_of(session, submission.file_ids if submission else [])
    return Work(view, assessment, submission, group_id, grade, files)


async def open_work_by_assessment(session: AsyncSession, user: Any, assessment_id: Any, *, lock: bool = False) -> Work:
    key = parse_uuid(assessment_id)
    lesson_id = None if key is None else await session.scalar(
        select(Assessment.lesson_id).where(Assessment.id == key, Assessment.kind == "assignment"))
    if lesson_id is None:
        raise SubmissionError(_("No such assignment here."), status=404)
    return await open_work(session, user, lesson_id, lock=lock)


async def files_of(session: AsyncSession, ids: list[uuid.UUID]) -> list[StoredFile]:
    """The ready files among ``ids``, in that order."""
    if not ids:
        return []
    rows = (await session.scalars(select(StoredFile).where(StoredFile.id.in_(ids), StoredFile.status == "ready")))
    found = {f.id: f for f in rows.all()}
    return [found[i] for i in ids if i in found]


# --- writing --------------------------------------------------------------------------------------------------------


async def _check_content(session: AsyncSession, work: Work, user: Any, text: str | None,
                         file_ids: list[uuid.UUID] | None) -> None:
    assessment = work.assessment
    if text is not None:
        if len(text) > TEXT_MAX:
            raise SubmissionError(_("The text is too long (at most %(max)d characters).") % {"max": TEXT_MAX},
                                  field="text")
        if text.strip() and "text" not in assessment.submission_types:
            raise SubmissionError(_("This assignment does not take text."), field="text")
    if file_ids is None:
        return
    if len(set(file_ids)) != len(file_ids):
        raise SubmissionError(_("A file is listed twice."), field="file_ids")
    if file_ids and "file" not in assessment.submission_types:
        raise SubmissionError(_("This assignment does not take files."), field="file_ids")
    if len(file_ids) > assessment.max_files:
        raise SubmissionError(_("At most %(max)d files.") % {"max": assessment.max_files}, field="file_ids")
    already = set(work.submission.file_ids) if work.submission else set()
    new = [i for i in file_ids if i not in already]
    if new:
        owned = set((await session.scalars(select(StoredFile.id).where(
            StoredFile.id.in_(new), StoredFile.status == "ready", StoredFile.purpose == FILE_PURPOSE,
            StoredFile.uploaded_by_id == user.id))).all())
        if owned != set(new):
            raise SubmissionError(_("A file is not one of your finished uploads for assignments."),
                                  field="file_ids")


async def save_draft(session: AsyncSession, acting: Acting, work: Work, *, text: str | None = None,
                     file_ids: list[uuid.UUID] | None = None) -> Submission:
    """Save the work without submitting it. Work already submitted becomes a draft again until resubmitted."""
    at = now_utc()
    if (reason := work.closed_reason(at)) is not None:
        raise SubmissionError(reason, status=409)
    await _check_content(session, work, acting.user, text, file_ids)
    submission = work.submission
    if submission is None:
        submission = Submission(id=uuid.uuid4(), assessment_id=work.assessment.id, user_id=acting.user.id,
                                group_id=work.group_id, text="", file_ids=[], status="draft", version=0, late_days=0)
        session.add(submission)
        work.submission = submission
    changed = (text is not None and text != submission.text) or (
        file_ids is not None and list(file_ids) != list(submission.file_ids))
    if text is not None:
        submission.text = text
    if file_ids is not None:
        submission.file_ids = list(file_ids)
    submission.user_id = acting.user.id
    if submission.status == "submitted" and changed:
        submission.status = "draft"
    await session.flush()
    work.files = await files_of(session, submission.file_ids)
    return submission


async def submit(session: AsyncSession, acting: Acting, work: Work, *, text: str | None = None,
                 file_ids: list[uuid.UUID] | None = None) -> Submission:
    """Submit the work (with the given changes): every member it belongs to gets a ``pending`` grade. Submitting
    work already submitted and unchanged returns it as it is."""
    at = now_utc()
    submission = work.submission
    unchanged = (text is None or (submission is not None and text == submission.text)) and (
        file_ids is None or (submission is not None and list(file_ids) == list(submission.file_ids)))
    if submission is not None and submission.status == "submitted" and unchanged:
        return submission  # a double submit
    if (reason := work.closed_reason(at)) is not None:
        raise SubmissionError(reason, status=409)
    submission = await save_draft(session, acting, work, text=text, file_ids=file_ids)
    if not submission.text.strip() and not submission.file_ids:
        raise SubmissionError(_("Write something or add a file before submitting."), field="text")
    days = late_days(work.assessment.due_at, at)
    submission.status = "submitted"
    submission.submitted_at = at
    submission.version += 1
    submission.late_days = days
    submission.user_id = acting.user.id
    await session.flush()
    for member in await _members(session, work, acting.user.id):
        grade = await records.submitted(session, work.assessment, member, actor=acting.actor, at=at,
                                        submission_id=submission.id)
        if member == acting.user.id:
            work.grade = grade
    return submission


async def _members(session: AsyncSession, work: Work, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Who the submission is graded for: the learner, or the group's current members enrolled in the course."""
    if work.group_id is None:
        return [user_id]
    rows = await session.scalars(
        select(GroupMembership.user_id)
        .join(Enrollment, (Enrollment.user_id == GroupMembership.user_id)
              & (Enrollment.course_id == work.assessment.course_id) & Enrollment.withdrawn_at.is_(None))
        .where(GroupMembership.group_id == work.group_id, GroupMembership.ended_at.is_(None),
               GroupMembership.role == "member")
        .order_by(GroupMembership.user_id)
    )
    members = list(dict.fromkeys(rows.all()))
    return members if user_id in members else [user_id, *members]
