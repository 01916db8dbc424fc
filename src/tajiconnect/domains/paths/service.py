"""Learning paths: ordered stages of ordered courses, published, assigned, followed stage by stage.

* **Who edits** a path: admins (``courses.manage``) and its owner while they may author courses. Every member sees
  the published paths; a path's editors also see its drafts. Anything else, another tenant's ids included, is
  "not found".
* **Stages** are replaced as a whole (:func:`set_stages`: the API's ``PUT``, and each edit of the builder): each
  holds ordered ``course_ids`` and ``requires_previous``. A course must be one the editor finds in the catalog
  or teaches; on a published path every course must be published.
* **Publish** (:func:`publish`) refuses a path without stages, with an empty stage, or with unpublished courses,
  naming them.
* **Assign** goes through the enrollment service (``enrollments.service.assign(path_id=...)``): a path enrollment
  plus a course enrollment (source ``path``) in each of its courses. Self-enrollment when the path allows it.
* **Stage locks** (:func:`stage_locks`, pure): the first stage is open; a later stage with ``requires_previous``
  opens when every course of the stages before it has a ``learning_completions`` row for the learner. Path
  progress and completion are kept on ``path_enrollments`` by the progress service; this module only reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid as _uuid
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.courses.access import catalog_filter, manages_all
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.enrollments.service import (
    Acting,
    EnrollmentConflict,
    EnrollmentError,
    EnrollmentForbidden,
    EnrollmentNotFound,
)
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment, PathStage
from tajiconnect.i18n import _

TITLE_MAX = 200
SUMMARY_MAX = 1000
DESCRIPTION_MAX = 20000
MAX_STAGES = 50
MAX_STAGE_COURSES = 50
LANGUAGE_MAX = 10


# --- pure logic -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageLock:
    """Whether a stage is open for a learner, and if not, the courses (of earlier stages) still to complete."""

    open: bool
    waiting_for: tuple[uuid.UUID, ...] = ()


def stage_locks(
    stages: Sequence[tuple[bool, Sequence[uuid.UUID]]], completed: set[uuid.UUID] | frozenset[uuid.UUID]
) -> list[StageLock]:
    """For stages in order, each ``(requires_previous, course_ids)``, and the courses the learner completed: which
    stages are open. The first stage is always open; a later one without ``requires_previous`` is open; one with it
    opens when every course of every earlier stage is completed."""
    locks: list[StageLock] = []
    earlier: list[uuid.UUID] = []
    for index, (requires_previous, course_ids) in enumerate(stages):
        if index == 0 or not requires_previous:
            locks.append(StageLock(True))
        else:
            missing = tuple(dict.fromkeys(c for c in earlier if c not in completed))
            locks.append(StageLock(not missing, missing))
        earlier.extend(course_ids)
    return locks


def percent(done: int, total: int) -> int:
    return 0 if total <= 0 else min(100, (100 * done) // total)


# --- who may see and edit -------------------------------------------------------------------------------------------


def may_author(user: Any) -> bool:
    return can(user, Permission.AUTHOR_COURSES)


def editable_filter(user: Any) -> ColumnElement[bool]:
    if user is None or not user.is_active:
        return false()
    if manages_all(user):
        return true()
    if not may_author(user):
        return false()
    return LearningPath.owner_id == user.id


def visible_filter(user: Any) -> ColumnElement[bool]:
    """Published paths (every member), the paths one edits, and archived ones the member is still enrolled in."""
    if user is None or not user.is_active:
        return false()
    enrolled = LearningPath.id.in_(
        select(PathEnrollment.path_id).where(PathEnrollment.user_id == user.id, PathEnrollment.withdrawn_at.is_(None))
    )
    return or_(
        LearningPath.status == "published",
        and_(LearningPath.status == "archived", enrolled),
        editable_filter(user),
    )


def may_edit(user: Any, path: LearningPath) -> bool:
    if user is None or not user.is_active:
        return False
    return manages_all(user) or (may_author(user) and path.owner_id == user.id)


async def get_path(session: AsyncSession, user: Any, path_id: uuid.UUID | str) -> LearningPath:
    path: LearningPath = await enrollments.find_one(
        session, LearningPath, path_id, visible_filter(user), message=_("No such learning path.")
    )
    return path


async def editable_path(session: AsyncSession, user: Any, path_id: uuid.UUID | str) -> LearningPath:
    path = await get_path(session, user, path_id)
    if not may_edit(user, path):
        raise EnrollmentForbidden(_("You may not edit this learning path."))
    return path


async def assignable_path(session: AsyncSession, user: Any, path_id: uuid.UUID | str | None) -> LearningPath:
    path = await get_path(session, user, path_id or "")
    if path.status != "published":
        raise EnrollmentConflict(_("Only a published learning path can be assigned."))
    return path


async def stages_of(session: AsyncSession, path_id: uuid.UUID) -> list[PathStage]:
    rows = await session.scalars(
        select(PathStage).where(PathStage.path_id == path_id).order_by(PathStage.position, PathStage.id)
    )
    return list(rows.all())


async def list_paths(
    session: AsyncSession,
    user: Any,
    *,
    q: str | None = None,
    status: str | None = None,
    mine: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[LearningPath], int]:
    where: list[Any] = [visible_filter(user)]
    if mine:
        where.append(editable_filter(user))
    if status:
        where.append(LearningPath.status == status)
    if q:
        where.append(func.lower(LearningPath.title).contains(q.strip().lower(), autoescape=True))
    total = int(await session.scalar(select(func.count()).select_from(LearningPath).where(*where)) or 0)
    rows = await session.scalars(
        select(LearningPath).where(*where).order_by(func.lower(LearningPath.title), LearningPath.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows.all()), total


# --- writing ----------------------------------------------------------------------------------------------------------


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise EnrollmentError(_("This field is required."), field_name)
    if len(cleaned) > limit:
        raise EnrollmentError(_("Use at most %(n)d characters.") % {"n": limit}, field_name)
    return cleaned


async def _audit(session: AsyncSession, acting: Acting, action: str, path: LearningPath, **details: Any) -> None:
    await record(session, acting.actor, action, target_type="path", target_id=path.id, title=path.title, **details)


async def create_path(
    session: AsyncSession,
    acting: Acting,
    *,
    title: str,
    summary: str | None = None,
    description: str | None = None,
    language: str | None = None,
    self_enroll: bool = False,
) -> LearningPath:
    if not may_author(acting.user):
        raise EnrollmentForbidden(_("You may not create learning paths."))
    path = LearningPath(
        title=_text(title, TITLE_MAX, "title", required=True),
        summary=_text(summary, SUMMARY_MAX, "summary"),
        description=_text(description, DESCRIPTION_MAX, "description"),
        language=_text(language, LANGUAGE_MAX, "language") or "en",
        self_enroll=bool(self_enroll),
        owner_id=acting.user.id,
    )
    session.add(path)
    await session.flush()
    await _audit(session, acting, "path.created", path)
    return path


async def update_path(
    session: AsyncSession,
    acting: Acting,
    path_id: uuid.UUID | str,
    *,
    title: str | None = None,
    summary: str | None = None,
    description: str | None = None,
    language: str | None = None,
    self_enroll: bool | None = None,
) -> LearningPath:
    path = await editable_path(session, acting.user, path_id)
    if title is not None:
        path.title = _text(title, TITLE_MAX, "title", required=True)
    if summary is not None:
        path.summary = _text(summary, SUMMARY_MAX, "summary")
    if description is not None:
        path.description = _text(description, DESCRIPTION_MAX, "description")
    if language is not None:
        path.language = _text(language, LANGUAGE_MAX, "language") or "en"
    if self_enroll is not None:
        path.self_enroll = bool(self_enroll)
    await session.flush()
    return path


@dataclass
class StageInput:
    title: str
    course_ids: list[uuid.UUID] = field(default_factory=list)
    requires_previous: bool = True


async def set_stages(
    session: AsyncSession, acting: Acting, path_id: uuid.UUID | str, stages: Sequence[StageInput]
) -> list[PathStage]:
    """Replace the path's stages (ordered as given). Courses must be ones the editor finds or teaches, each at most
    once in the path; on a published path, published ones."""
    path = await editable_path(session, acting.user, path_id)
    if path.status == "archived":
        raise EnrollmentConflict(_("This learning path is archived."))
    if len(stages) > MAX_STAGES:
        raise EnrollmentError(_("A path has at most %(n)d stages.") % {"n": MAX_STAGES}, "stages")
    seen: set[uuid.UUID] = set()
    for stage in stages:
        _text(stage.title, TITLE_MAX, "stages", required=True)
        if len(stage.course_ids) > MAX_STAGE_COURSES:
            raise EnrollmentError(_("A stage has at most %(n)d courses.") % {"n": MAX_STAGE_COURSES}, "stages")
        for cid in stage.course_ids:
            if cid in seen:
                raise EnrollmentConflict(_("A course can appear only once in a path."), "stages")
            seen.add(cid)
    if seen:
        found = {
            c.id: c
            for c in (await session.scalars(select(Course).where(Course.id.in_(seen), catalog_filter(acting.user))))
        }
        if set(found) != seen:
            raise EnrollmentNotFound(_("No such course."), "stages")
        if path.status == "published":
            drafts = sorted(c.title for c in found.values() if c.status != "published")
            if drafts:
                raise EnrollmentConflict(
                    _("A published path takes published courses only: %(courses)s.") % {"courses": ", ".join(drafts)},
                    "stages",
                )
    await session.execute(delete(PathStage).where(PathStage.path_id == path.id))
    rows = [
        PathStage(
            path_id=path.id, title=stage.title.strip(), position=i, course_ids=list(stage.course_ids),
            requires_previous=bool(stage.requires_previous),
        )
        for i, stage in enumerate(stages)
    ]
    session.add_all(rows)
    path.updated_at = enrollments.now()
    await session.flush()
    if path.status == "published":
        # Learners already on the path are enrolled in the courses it gains (set-based, once each).
        current = list((await session.scalars(
            select(PathEnrollment.id).where(PathEnrollment.path_id == path.id, PathEnrollment.withdrawn_at.is_(None))
        )).all())
        if current:
            await enrollments.enroll_path_courses(session, path_enrollment_ids=current)
    return rows


async def publish(session: AsyncSession, acting: Acting, path_id: uuid.UUID | str) -> LearningPath:
    path = await editable_path(session, acting.user, path_id)
    if path.status == "published":
        return path
    stages = await stages_of(session, path.id)
    if not stages:
        raise EnrollmentConflict(_("Add at least one stage with courses before publishing."))
    empty = [s.title for s in stages if not s.course_ids]
    if empty:
        raise EnrollmentConflict(_("These stages have no course: %(stages)s.") % {"stages": ", ".join(empty)})
    ids = [cid for s in stages for cid in s.course_ids]
    drafts = (
        await session.scalars(
            select(Course.title).where(Course.id.in_(ids), Course.status != "published").order_by(Course.title)
        )
    ).all()
    if drafts:
        raise EnrollmentConflict(
            _("Publish these courses first: %(courses)s.") % {"courses": ", ".join(drafts)}
        )
    path.status, path.published_at, path.archived_at = "published", enrollments.now(), None
    await session.flush()
    await _audit(session, acting, "path.published", path)
    return path


async def archive(session: AsyncSession, acting: Acting, path_id: uuid.UUID | str) -> LearningPath:
    path = await editable_path(session, acting.user, path_id)
    if path.status != "archived":
        path.status, path.archived_at = "archived", enrollments.now()
        await session.flush()
        await _audit(session, acting, "path.archived", path)
    return path


async def delete_path(session: AsyncSession, acting: Acting, path_id: uuid.UUID | str) -> None:
    """Delete a draft nobody was ever enrolled in (otherwise archive it: history stays)."""
    path = await editable_path(session, acting.user, path_id)
    used = await session.scalar(
        select(func.count()).select_from(PathEnrollment).where(PathEnrollment.path_id == path.id)
    )
    if path.status != "draft" or used:
        raise EnrollmentConflict(_("Only a draft nobody enrolled in can be deleted: archive this path instead."))
    await _audit(session, acting, "path.deleted", path)
    await session.delete(path)
    await session.flush()


async def enroll_self(session: AsyncSession, acting: Acting, path_id: uuid.UUID | str) -> tuple[PathEnrollment, bool]:
    """The member joins a published path that allows it (with a seat, for a learner), and its courses."""
    user = acting.user
    path = await get_path(session, user, path_id)
    existing = await enrollments.path_enrollment_of(session, user.id, path.id)
    if existing is not None:
        return existing, False
    if path.status != "published":
        raise EnrollmentConflict(_("This learning path is not open for enrollment."))
    if not path.self_enroll:
        raise EnrollmentConflict(_("This learning path is by assignment only: ask your manager or teacher."))
    if enrollments.needs_seat(user):
        raise EnrollmentConflict(_("You do not have a seat yet: ask an administrator of your organization."))
    row = PathEnrollment(path_id=path.id, user_id=user.id, source="self", enrolled_by_email=user.email)
    session.add(row)
    await session.flush()
    await enrollments.enroll_path_courses(session, path_enrollment_ids=[row.id])
    return row, True


async def withdraw(session: AsyncSession, acting: Acting, path_enrollment_id: uuid.UUID | str) -> PathEnrollment:
    """Withdraw a path enrollment (kept as history; its course enrollments stay, with their progress). A learner
    withdraws from a path they joined themselves; staff withdraw the learners they follow."""
    key = _uuid(path_enrollment_id)
    row = await session.get(PathEnrollment, key) if key else None
    user = acting.user
    own = row is not None and row.user_id == user.id
    if row is None or not (own or enrollments.may_assign(user)):
        raise EnrollmentNotFound(_("No such enrollment."))
    if not own:
        allowed = await session.scalar(
            select(func.count()).where(enrollments.in_learner_scope(user, PathEnrollment.user_id),
                                       PathEnrollment.id == row.id)
        )
        if not allowed:
            raise EnrollmentNotFound(_("No such enrollment."))
    if own and row.source != "self" and not enrollments.may_assign(user):
        raise EnrollmentForbidden(_("This path was assigned to you: ask your manager or teacher to withdraw you."))
    if row.withdrawn_at is not None:
        raise EnrollmentConflict(_("This enrollment was already withdrawn."))
    row.withdrawn_at, row.withdrawn_by_email, row.status = enrollments.now(), acting.actor.email, "withdrawn"
    await session.flush()
    if not own:
        await record(session, acting.actor, "path.enrollment.withdrawn", target_type="path", target_id=row.path_id,
                     enrollment_id=str(row.id))
    return row


async def withdraw_mine(session: AsyncSession, acting: Acting, path_id: uuid.UUID) -> PathEnrollment:
    """The caller's own current enrollment in ``path_id``, withdrawn (see :func:`withdraw`)."""
    row_id = await session.scalar(select(PathEnrollment.id).where(
        PathEnrollment.path_id == path_id, PathEnrollment.user_id == acting.user.id,
        PathEnrollment.withdrawn_at.is_(None)))
    if row_id is None:
        raise EnrollmentConflict(_("You are not enrolled in this path."))
    return await withdraw(session, acting, row_id)


# --- the learner's view ----------------------------------------------------------------------------------------------


@dataclass
class CourseItem:
    course: Course
    completed: bool
    enrolled: bool


@dataclass
class StageView:
    stage: PathStage
    lock: StageLock
    courses: list[CourseItem]
    waiting_titles: list[str]


@dataclass
class PathView:
    path: LearningPath
    stages: list[StageView]
    enrollment: PathEnrollment | None
    overdue: bool


async def path_view(session: AsyncSession, user: Any, path: LearningPath) -> PathView:
    """The path's stages with their courses, and for ``user``: completions, enrollments, locks. Four queries."""
    stages = await stages_of(session, path.id)
    ids = [cid for s in stages for cid in s.course_ids]
    courses = {c.id: c for c in (await session.scalars(select(Course).where(Course.id.in_(ids)))).all()} if ids else {}
    done = await enrollments.completed_course_ids(session, user.id, ids)
    from tajiconnect.domains.enrollments.models import Enrollment

    enrolled = set(
        (await session.scalars(select(Enrollment.course_id).where(
            Enrollment.user_id == user.id, Enrollment.withdrawn_at.is_(None), Enrollment.course_id.in_(ids or [None])
        ))).all()
    )
    locks = stage_locks([(s.requires_previous, s.course_ids) for s in stages], done)
    views = [
        StageView(
            stage=s,
            lock=lock,
            courses=[CourseItem(courses[c], c in done, c in enrolled) for c in s.course_ids if c in courses],
            waiting_titles=[courses[c].title for c in lock.waiting_for if c in courses],
        )
        for s, lock in zip(stages, locks, strict=True)
    ]
    mine = await enrollments.path_enrollment_of(session, user.id, path.id)
    overdue = mine is not None and enrollments.is_overdue(mine.due_at, mine.status)
    return PathView(path, views, mine, overdue)


async def locked_course_ids(session: AsyncSession, user_id: uuid.UUID, path_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Courses in locked stages of the given paths for ``user_id`` (for pages that show a learner's courses)."""
    ids = list(path_ids)
    if not ids:
        return set()
    stages = list((await session.scalars(
        select(PathStage).where(PathStage.path_id.in_(ids)).order_by(PathStage.path_id, PathStage.position)
    )).all())
    done = await enrollments.completed_course_ids(session, user_id)
    locked: set[uuid.UUID] = set()
    by_path: dict[uuid.UUID, list[PathStage]] = {}
    for s in stages:
        by_path.setdefault(s.path_id, []).append(s)
    for path_stages in by_path.values():
        for s, lock in zip(path_stages, stage_locks([(x.requires_previous, x.course_ids) for x in path_stages], done),
                           strict=True):
            if not lock.open:
                locked.update(s.course_ids)
    return locked


