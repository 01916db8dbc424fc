"""Learners' progress: opening a lesson, heartbeats, video position and document pages, lesson and course
completion, path progress, the completion outbox, streaks, and what the learner's home and progress reports read.

Rules (numbers in :mod:`.rules`, prose in docs/progress.md):

* Who may open a lesson is :func:`courses.access.open_filter` (staff, or a learner enrolled in a published or
  archived course); anyone else, another organization's ids included, gets :class:`ProgressNotFound` (404).
* Progress is recorded only for a learner with a current enrollment. Staff opening a course they are not enrolled
  in (the builder's "Preview as a learner") or a draft see it without any write: :attr:`LessonView.preview`.
* A heartbeat is a constant 6 statements: the lesson, the learner's stats row (upserted and locked, which
  serializes the learner's tabs), the lesson's progress, the enrollment, the local day, the stats.
* Completing the last counted lesson of a course locks the enrollment (``FOR UPDATE``), marks it ``completed`` and
  writes ONE ``learning_completions`` row (``ON CONFLICT DO NOTHING``); then each current path enrollment holding
  the course is locked and recomputed, and a path whose every course is complete gets its own completion row.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tajiconnect.db.ids import parse_uuid as _uuid
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.groups.service import group_scope, is_admin
from tajiconnect.domains.paths.models import LearningPath, PathEnrollment
from tajiconnect.domains.progress import rules
from tajiconnect.domains.progress.models import LearnerStats, LearningCompletion, LearningDay, LessonProgress
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import gettext as _

#: "Due soon" on the learner's home: due within this many days (or overdue).
DUE_SOON_DAYS = 14
#: Bounds of what a client may report (documented in the API).
MAX_POSITION_SECONDS = 24 * 3600
MAX_PAGE = 10_000


class ProgressError(ValueError):
    """A refusal; ``status`` is its HTTP status (400: an input the server refused, ``field`` names it)."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ProgressNotFound(ProgressError):
    """No such lesson or person that the caller may see (another organization's ids included)."""

    status = 404


class ProgressConflict(ProgressError):
    """The lesson's kind refuses it (a quiz or assignment is completed by its grade; only videos and documents keep
    a position)."""

    status = 409


class StageLocked(ProgressConflict):
    """The learner has the course through a learning path whose earlier stages are not complete yet."""


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)




# --- opening a lesson -----------------------------------------------------------------------------------------------


@dataclass
class LessonView:
    lesson: Lesson
    course: Course
    enrollment: Enrollment | None
    progress: LessonProgress | None
    file: StoredFile | None
    #: Seen by staff without recording anything (not enrolled, or a draft).
    preview: bool

    @property
    def completed(self) -> bool:
        return self.progress is not None and self.progress.completed_at is not None


def _my_enrollment(mine: Any, user_id: uuid.UUID) -> Any:
    return and_(mine.course_id == Course.id, mine.user_id == user_id, mine.withdrawn_at.is_(None))


async def open_lesson(session: AsyncSession, user: Any, lesson_id: uuid.UUID | str) -> LessonView:
    """The lesson with its course, the caller's enrollment and progress, and its file: one statement."""
    key = _uuid(lesson_id)
    if key is None or user is None:
        raise ProgressNotFound(_("No such lesson."))
    mine = aliased(Enrollment)  # not the Enrollment that open_filter's EXISTS correlates to the course
    stmt = (
        select(Lesson, Course, mine, LessonProgress, StoredFile)
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(mine, _my_enrollment(mine, user.id))
        .outerjoin(LessonProgress, and_(LessonProgress.lesson_id == Lesson.id, LessonProgress.user_id == user.id))
        .outerjoin(StoredFile, and_(StoredFile.id == Lesson.file_id, StoredFile.status == "ready"))
        .where(Lesson.id == key, access.open_filter(user))
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise ProgressNotFound(_("No such lesson."))
    lesson, course, enrollment, progress, file = row
    preview = enrollment is None or course.status == "draft"
    if not preview:
        locked_by = await stage_lock(session, user.id, course.id, enrollment)
        if locked_by is not None:
            raise StageLocked(_("This course opens when you complete the earlier stages of “%(path)s”.")
                              % {"path": locked_by})
    return LessonView(lesson, course, enrollment, progress, file, preview)


async def stage_lock(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID, enrollment: Any) -> str | None:
    """The title of the learning path whose unfinished earlier stages still lock this course for the learner, or
    None. Only an enrollment made through a path is locked by it (one made otherwise opens the course anyway)."""
    if enrollment is None or enrollment.path_id is None:
        return None
    from tajiconnect.domains.paths.service import locked_course_ids  # paths build on enrollments, which build on us

    if course_id not in await locked_course_ids(session, user_id, [enrollment.path_id]):
        return None
    return await session.scalar(select(LearningPath.title).where(LearningPath.id == enrollment.path_id))


async def open_course(session: AsyncSession, user: Any, course_id: uuid.UUID | str) -> tuple[Course, Enrollment | None]:
    key = _uuid(course_id)
    if key is None or user is None:
        raise ProgressNotFound(_("No such course."))
    mine = aliased(Enrollment)
    stmt = (
        select(Course, mine)
        .outerjoin(mine, _my_enrollment(mine, user.id))
        .where(Course.id == key, access.open_filter(user))
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise ProgressNotFound(_("No such course."))
    return row[0], row[1]


@dataclass
class OutlineLesson:
    id: uuid.UUID
    title: str
    kind: str
    completed: bool
    counted: bool


@dataclass
class OutlineModule:
    id: uuid.UUID
    title: str
    lessons: list[OutlineLesson] = field(default_factory=list)


async def outline(session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID) -> list[OutlineModule]:
    """Modules with their lessons in order and the learner's state of each: one statement, no lesson bodies."""
    stmt = (
        select(
            CourseModule.id, CourseModule.title, Lesson.id, Lesson.title, Lesson.kind,
            LessonProgress.completed_at,
        )
        .select_from(CourseModule)
        .outerjoin(Lesson, Lesson.module_id == CourseModule.id)
        .outerjoin(LessonProgress, and_(LessonProgress.lesson_id == Lesson.id, LessonProgress.user_id == user_id))
        .where(CourseModule.course_id == course_id)
        .order_by(CourseModule.position, CourseModule.created_at, Lesson.position, Lesson.created_at)
    )
    modules: dict[uuid.UUID, OutlineModule] = {}
    for module_id, module_title, lesson_id, title, kind, completed_at in (await session.execute(stmt)).all():
        module = modules.setdefault(module_id, OutlineModule(module_id, module_title))
        if lesson_id is not None:
            module.lessons.append(
                OutlineLesson(lesson_id, title, kind, completed_at is not None, kind in rules.COUNTED_KINDS)
            )
    return list(modules.values())


def neighbours(modules: list[OutlineModule], lesson_id: uuid.UUID) -> tuple[OutlineLesson | None, OutlineLesson | None]:
    """The lessons before and after ``lesson_id`` in course order (across modules)."""
    flat = [lesson for module in modules for lesson in module.lessons]
    for index, lesson in enumerate(flat):
        if lesson.id == lesson_id:
            return (flat[index - 1] if index > 0 else None, flat[index + 1] if index + 1 < len(flat) else None)
    return None, None


def next_to_do(modules: list[OutlineModule], last_lesson_id: uuid.UUID | None) -> OutlineLesson | None:
    """Where "Continue" goes: the last lesson opened if not completed, else the first lesson not completed after
    it (then from the start), else the first lesson."""
    flat = [lesson for module in modules for lesson in module.lessons]
    if not flat:
        return None
    start = next((i for i, lesson in enumerate(flat) if lesson.id == last_lesson_id), 0)
    for lesson in flat[start:] + flat[:start]:
        if not lesson.completed:
            return lesson
    return flat[start]


# --- heartbeats, positions ------------------------------------------------------------------------------------------


@dataclass
class Beat:
    recorded: bool
    credited_seconds: int = 0
    streak_days: int = 0


async def _stats_locked(session: AsyncSession, user_id: uuid.UUID) -> tuple[rules.Streak, datetime.datetime | None]:
    """Upsert the learner's stats row and lock it (serializes the learner's tabs): its streak and last beat."""
    stmt = (
        insert(LearnerStats)
        .values(user_id=user_id, streak_days=0, best_streak=0, seconds_spent=0)
        .on_conflict_do_update(index_elements=[LearnerStats.user_id], set_={"updated_at": LearnerStats.updated_at})
        .returning(LearnerStats.streak_days, LearnerStats.best_streak, LearnerStats.last_active_on,
                   LearnerStats.last_beat_at)
    )
    days, best, last_on, last_beat = (await session.execute(stmt)).one()
    return rules.Streak(days, best, last_on), last_beat


async def _add_to_day(
    session: AsyncSession, user_id: uuid.UUID, day: datetime.date, *, seconds: int = 0, lessons: int = 0
) -> bool:
    """Add to the learner's local day; whether the day is now active (streak)."""
    stmt = (
        insert(LearningDay)
        .values(user_id=user_id, day=day, seconds_spent=seconds, lessons_completed=lessons)
        .on_conflict_do_update(
            index_elements=[LearningDay.user_id, LearningDay.day],
            set_={
                "seconds_spent": LearningDay.seconds_spent + seconds,
                "lessons_completed": LearningDay.lessons_completed + lessons,
            },
        )
        .returning(LearningDay.seconds_spent, LearningDay.lessons_completed)
    )
    total, done = (await session.execute(stmt)).one()
    return rules.is_active_day(total, done)


async def _save_stats(
    session: AsyncSession,
    user_id: uuid.UUID,
    streak: rules.Streak,
    *,
    seconds: int = 0,
    beat_at: datetime.datetime | None = None,
) -> None:
    values: dict[str, Any] = {
        "streak_days": streak.days,
        "best_streak": streak.best,
        "last_active_on": streak.last_active_on,
        "seconds_spent": LearnerStats.seconds_spent + seconds,
        "updated_at": func.now(),
    }
    if beat_at is not None:
        values["last_beat_at"] = func.greatest(func.coalesce(LearnerStats.last_beat_at, beat_at), beat_at)
    await session.execute(update(LearnerStats).where(LearnerStats.user_id == user_id).values(**values))


async def _upsert_progress(
    session: AsyncSession,
    view: LessonView,
    user_id: uuid.UUID,
    now: datetime.datetime,
    new: dict[str, Any],
    changes: dict[str, Any],
) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE`` of the learner's row for the lesson: ``new`` are the values of a new row,
    ``changes`` (column -> SQL) what an existing row gets; returns its ``completed_at`` and ``completed_by``."""
    stmt = (
        insert(LessonProgress)
        .values(**{"user_id": user_id, "lesson_id": view.lesson.id, "course_id": view.course.id,
                   "last_seen_at": now, "seconds_spent": 0, **new})
        .on_conflict_do_update(
            index_elements=[LessonProgress.user_id, LessonProgress.lesson_id],
            set_={"last_seen_at": now, "updated_at": now, **changes},
        )
        .returning(LessonProgress.completed_at, LessonProgress.completed_by)
    )
    return (await session.execute(stmt)).one()


async def heartbeat(
    session: AsyncSession, user: Any, lesson_id: uuid.UUID | str, *, now: datetime.datetime | None = None
) -> Beat:
    """Credit the time since the learner's previous heartbeat (any tab), capped, to the lesson, the enrollment, the
    learner's total and their local day. Refused (:class:`ProgressNotFound`) for a lesson they may not open."""
    now = now or now_utc()
    view = await open_lesson(session, user, lesson_id)
    if view.preview or view.enrollment is None:
        return Beat(recorded=False)
    streak, last_beat = await _stats_locked(session, user.id)
    credit = rules.credit_seconds(last_beat, now)
    await _upsert_progress(session, view, user.id, now, {"seconds_spent": credit},
                           {"seconds_spent": LessonProgress.seconds_spent + credit})
    await session.execute(
        update(Enrollment)
        .where(Enrollment.id == view.enrollment.id)
        .values(seconds_spent=Enrollment.seconds_spent + credit, last_lesson_id=view.lesson.id, last_activity_at=now)
    )
    today = rules.local_day(now, user.time_zone)
    if await _add_to_day(session, user.id, today, seconds=credit):
        streak = rules.advance(streak, today)
    await _save_stats(session, user.id, streak, seconds=credit, beat_at=now)
    return Beat(recorded=True, credited_seconds=credit, streak_days=rules.current(streak, today))


@dataclass
class Completion:
    """What completing a lesson changed (for the API and the lesson page)."""

    recorded: bool
    lesson_completed: bool = False
    newly_completed: bool = False
    completed_by: str | None = None
    course_percent: int = 0
    lessons_completed: int = 0
    lessons_total: int = 0
    course_completed: bool = False
    course_newly_completed: bool = False
    paths_completed: list[uuid.UUID] = field(default_factory=list)
    streak_days: int = 0


async def save_position(
    session: AsyncSession,
    user: Any,
    lesson_id: uuid.UUID | str,
    *,
    seconds: int | None = None,
    page: int | None = None,
    ended: bool = False,
    now: datetime.datetime | None = None,
) -> Completion:
    """Video: where to resume (``seconds``; ``ended`` completes the lesson). Document: the page seen (the last page
    completes it). Other kinds: refused (:class:`ProgressConflict`)."""
    now = now or now_utc()
    view = await open_lesson(session, user, lesson_id)
    kind = view.lesson.kind
    if kind == "video" and seconds is None:
        raise ProgressError(_("A video position needs seconds."), field="seconds")
    if kind == "document" and page is None:
        raise ProgressError(_("A document position needs a page."), field="page")
    if kind not in ("video", "document"):
        raise ProgressConflict(_("Only videos and documents keep a position."), field="kind")
    if view.preview or view.enrollment is None:
        return Completion(recorded=False, lesson_completed=view.completed)
    streak, _last = await _stats_locked(session, user.id)  # every write of a learner's progress starts here
    if kind == "video":
        assert seconds is not None
        position = min(max(seconds, 0), MAX_POSITION_SECONDS)
        await _upsert_progress(session, view, user.id, now, {"position_seconds": position},
                               {"position_seconds": position})
        if ended:
            return await _complete(session, user, view, "video", now, streak)
    else:
        assert page is not None
        number = min(max(page, 1), MAX_PAGE)
        await _upsert_progress(session, view, user.id, now, {"last_page": number}, {"last_page": number})
        pages = document_pages(view.file)
        if pages and number >= pages:
            return await _complete(session, user, view, "document", now, streak)
    return Completion(recorded=True, lesson_completed=view.completed,
                      completed_by=view.progress.completed_by if view.progress else None)


def document_pages(file: StoredFile | None) -> int:
    """Pages of a document lesson's PDF (0 when unknown: then only an explicit completion completes it)."""
    if file is None:
        return 0
    pages = (file.details or {}).get("pages")
    return pages if isinstance(pages, int) and pages > 0 else 0


# --- completion ----------------------------------------------------------------------------------------------------


async def complete_lesson(
    session: AsyncSession,
    user: Any,
    lesson_id: uuid.UUID | str,
    *,
    by: str = "learner",
    now: datetime.datetime | None = None,
) -> Completion:
    """Complete a lesson (explicitly: ``by="learner"``); completing the last one completes the course (and paths).

    Quizzes and assignments refuse ``learner``: the assessments work completes them with ``by="grade"`` (and adds
    their kinds to :data:`rules.COUNTED_KINDS` so that they count)."""
    now = now or now_utc()
    view = await open_lesson(session, user, lesson_id)
    if by != "grade" and view.lesson.kind not in rules.SELF_COMPLETED_KINDS:
        raise ProgressConflict(_("This lesson is completed by its grade."), field="kind")
    if view.preview or view.enrollment is None:
        return Completion(recorded=False, lesson_completed=view.completed)
    streak, _last = await _stats_locked(session, user.id)
    return await _complete(session, user, view, by, now, streak)


async def _complete(
    session: AsyncSession, user: Any, view: LessonView, by: str, now: datetime.datetime, streak: rules.Streak
) -> Completion:
    """Called with the learner's stats row locked (:func:`_stats_locked`: every write of a learner's progress
    takes that lock first, so heartbeats, positions and completions never deadlock each other)."""
    assert view.enrollment is not None
    # The enrollment row is locked too (the rule of the outbox): concurrent completions of the course run one after
    # the other, so the counts below always see the others' lessons and the course completes exactly once.
    enrollment = (
        await session.execute(
            select(Enrollment)
            .where(Enrollment.id == view.enrollment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    completed_at, completed_by = await _upsert_progress(
        session, view, user.id, now, {"completed_at": now, "completed_by": by},
        {"completed_at": func.coalesce(LessonProgress.completed_at, now),
         "completed_by": func.coalesce(LessonProgress.completed_by, by)},
    )
    newly = completed_at == now
    today = rules.local_day(now, user.time_zone)
    if newly:
        await _add_to_day(session, user.id, today, lessons=1)
        streak = rules.advance(streak, today)
        await _save_stats(session, user.id, streak)
    streak_days = rules.current(streak, today)
    done, total = await course_counts(session, view.course.id, user.id)
    pct = rules.percent(done, total)
    finished = total > 0 and done >= total
    values: dict[str, Any] = {
        "lessons_completed": done, "progress_percent": pct, "last_lesson_id": view.lesson.id,
        "last_activity_at": now,
    }
    course_newly = finished and enrollment.status != "completed"
    if course_newly:
        values.update(status="completed", completed_at=now)
    await session.execute(update(Enrollment).where(Enrollment.id == enrollment.id).values(**values))
    paths: list[uuid.UUID] = []
    if finished:
        await _record_completion(session, user.id, now, course_id=view.course.id)
        paths = await _update_paths(session, user.id, view.course.id, now)
    return Completion(
        recorded=True, lesson_completed=True, newly_completed=newly, completed_by=completed_by,
        course_percent=pct, lessons_completed=done, lessons_total=total,
        course_completed=finished or enrollment.status == "completed", course_newly_completed=course_newly,
        paths_completed=paths, streak_days=streak_days,
    )


async def course_counts(session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID) -> tuple[int, int]:
    """(lessons completed by the learner, lessons) among the course's counted lessons: one statement."""
    stmt = (
        select(func.count(LessonProgress.completed_at), func.count(Lesson.id))
        .select_from(Lesson)
        .outerjoin(LessonProgress, and_(LessonProgress.lesson_id == Lesson.id, LessonProgress.user_id == user_id))
        .where(Lesson.course_id == course_id, Lesson.kind.in_(rules.COUNTED_KINDS))
    )
    done, total = (await session.execute(stmt)).one()
    return int(done), int(total)


_RECOMPUTE = text(
    """
    UPDATE enrollments e
    SET lessons_completed = t.done,
        progress_percent = CASE WHEN t.total = 0 THEN 0 ELSE (100 * LEAST(t.done, t.total)) / t.total END,
        updated_at = now()
    FROM (
        SELECT en.id,
               count(lp.completed_at) AS done,
               (SELECT count(*) FROM lessons l WHERE l.course_id = :course_id AND l.kind = ANY(:kinds)) AS total
        FROM enrollments en
        LEFT JOIN lessons l ON l.course_id = en.course_id AND l.kind = ANY(:kinds)
        LEFT JOIN lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = en.user_id
        WHERE en.course_id = :course_id AND en.withdrawn_at IS NULL AND en.status = 'active'
        GROUP BY en.id
    ) t
    WHERE e.id = t.id AND (e.lessons_completed, e.progress_percent) IS DISTINCT FROM
          (t.done, CASE WHEN t.total = 0 THEN 0 ELSE (100 * LEAST(t.done, t.total)) / t.total END)
    """
)


async def recompute_course_progress(session: AsyncSession, course_id: uuid.UUID) -> int:
    """Bring every active enrollment's ``lessons_completed`` and ``progress_percent`` in step with the course's
    lessons, in one statement; how many changed. For the course builder after adding or removing lessons.

    * A completed enrollment stays completed at 100 % (its completion is a fact in the outbox): lessons added
      later are extra reading for them.
    * An active learner who has now done every remaining lesson (the staff removed the last one they lacked)
      completes the course here, with its one outbox row and their paths, as if they had finished it themselves.
    """
    result = await session.execute(_RECOMPUTE, {"course_id": course_id, "kinds": sorted(rules.COUNTED_KINDS)})
    changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        now = now_utc()
        finished = (await session.execute(
            update(Enrollment)
            .where(Enrollment.course_id == course_id, Enrollment.status == "active",
                   Enrollment.withdrawn_at.is_(None), Enrollment.progress_percent == 100)
            .values(status="completed", completed_at=now)
            .returning(Enrollment.user_id)
        )).scalars().all()
        for user_id in finished:
            await _record_completion(session, user_id, now, course_id=course_id)
            await _update_paths(session, user_id, course_id, now)
    return changed


async def _record_completion(
    session: AsyncSession, user_id: uuid.UUID, now: datetime.datetime, *, course_id: uuid.UUID | None = None,
    path_id: uuid.UUID | None = None,
) -> None:
    """One outbox row per learner and course (or path), whatever repeats: ``ON CONFLICT DO NOTHING``. When the
    row is new, its certificate is issued and, if the course or path builds skills, their evidence recorded, in
    the background (deferred in this transaction)."""
    from tajiconnect.domains.certificates.tasks import issue_certificate  # registers the task; avoids a cycle
    from tajiconnect.domains.skills import evidence
    from tajiconnect.tasks.outbox import defer

    column = "course_id" if course_id is not None else "path_id"
    inserted = await session.scalar(
        insert(LearningCompletion)
        .values(user_id=user_id, course_id=course_id, path_id=path_id, completed_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", column], index_where=text(f"{column} IS NOT NULL"))
        .returning(LearningCompletion.id)
    )
    if inserted is not None:
        await defer(session, issue_certificate, completion_id=str(inserted))
        if await evidence.builds_skills(session, course_id=course_id, path_id=path_id):
            await evidence.defer_for(session, [user_id])


_PATH_TOTALS = text(
    """
    SELECT s.path_id,
           count(DISTINCT c.course_id) AS total,
           count(DISTINCT c.course_id) FILTER (WHERE lc.id IS NOT NULL) AS done
    FROM path_stages s
    CROSS JOIN LATERAL unnest(s.course_ids) AS c(course_id)
    LEFT JOIN learning_completions lc ON lc.user_id = :user_id AND lc.course_id = c.course_id
    WHERE s.path_id = ANY(:path_ids)
    GROUP BY s.path_id
    """
)


async def _update_paths(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID, now: datetime.datetime
) -> list[uuid.UUID]:
    """Recompute each current path enrollment whose path holds the course; the paths completed by this change."""
    locked = (
        await session.execute(
            text(
                "SELECT pe.id, pe.path_id, pe.status FROM path_enrollments pe "
                "WHERE pe.user_id = :user_id AND pe.withdrawn_at IS NULL AND EXISTS ("
                "  SELECT 1 FROM path_stages s WHERE s.path_id = pe.path_id AND :course_id = ANY(s.course_ids)) "
                "ORDER BY pe.id FOR UPDATE"
            ),
            {"user_id": user_id, "course_id": course_id},
        )
    ).all()
    if not locked:
        return []
    totals = {
        row.path_id: (int(row.done), int(row.total))
        for row in await session.execute(_PATH_TOTALS, {"user_id": user_id, "path_ids": [r.path_id for r in locked]})
    }
    completed: list[uuid.UUID] = []
    for enrollment_id, path_id, status in locked:
        done, total = totals.get(path_id, (0, 0))
        values: dict[str, Any] = {"courses_completed": done, "progress_percent": rules.percent(done, total)}
        if total > 0 and done >= total:
            if status != "completed":
                values.update(status="completed", completed_at=now)
            await _record_completion(session, user_id, now, path_id=path_id)
            completed.append(path_id)
        await session.execute(update(PathEnrollment).where(PathEnrollment.id == enrollment_id).values(**values))
    return completed


# --- reading: the learner's home and progress reports ----------------------------------------------------------------


@dataclass
class CourseLine:
    enrollment: Enrollment
    course_title: str
    last_lesson_title: str | None = None


@dataclass
class PathLine:
    enrollment: PathEnrollment
    title: str


@dataclass
class StreakInfo:
    days: int
    best: int
    seconds_spent: int
    today_seconds: int = 0


async def streak_of(session: AsyncSession, user: Any, now: datetime.datetime | None = None) -> StreakInfo:
    """The learner's streak as of today in their time zone (computed on read: a missed day shows 0)."""
    now = now or now_utc()
    today = rules.local_day(now, user.time_zone)
    stmt = (
        select(LearnerStats.streak_days, LearnerStats.best_streak, LearnerStats.last_active_on,
               LearnerStats.seconds_spent, LearningDay.seconds_spent)
        .select_from(LearnerStats)
        .outerjoin(LearningDay, and_(LearningDay.user_id == LearnerStats.user_id, LearningDay.day == today))
        .where(LearnerStats.user_id == user.id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return StreakInfo(0, 0, 0)
    days, best, last_on, seconds, today_seconds = row
    shown = rules.current(rules.Streak(days, best, last_on), today)
    return StreakInfo(shown, best, int(seconds), int(today_seconds or 0))


def _enrollment_lines() -> Any:
    return (
        select(Enrollment, Course.title, Lesson.title)
        .join(Course, Course.id == Enrollment.course_id)
        .outerjoin(Lesson, Lesson.id == Enrollment.last_lesson_id)
    )


async def continue_line(session: AsyncSession, user_id: uuid.UUID) -> CourseLine | None:
    """The course the learner was last active in and not finished (continue where you left off)."""
    stmt = (
        _enrollment_lines()
        .where(Enrollment.user_id == user_id, Enrollment.withdrawn_at.is_(None), Enrollment.status == "active",
               Enrollment.last_activity_at.is_not(None), Course.status != "draft")
        .order_by(Enrollment.last_activity_at.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return CourseLine(row[0], row[1], row[2]) if row else None


async def due_soon(
    session: AsyncSession, user_id: uuid.UUID, now: datetime.datetime | None = None, limit: int = 5
) -> list[CourseLine]:
    """Assigned courses not yet complete that are due within :data:`DUE_SOON_DAYS` days or overdue, soonest first."""
    now = now or now_utc()
    stmt = (
        _enrollment_lines()
        .where(Enrollment.user_id == user_id, Enrollment.withdrawn_at.is_(None), Enrollment.status == "active",
               Enrollment.due_at.is_not(None), Enrollment.due_at <= now + datetime.timedelta(days=DUE_SOON_DAYS),
               Course.status != "draft")
        .order_by(Enrollment.due_at)
        .limit(limit)
    )
    return [CourseLine(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]


async def my_courses(
    session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = 10
) -> tuple[list[CourseLine], int]:
    """The learner's current enrollments (active first, latest activity first), one page, with the total."""
    where = (Enrollment.user_id == user_id, Enrollment.withdrawn_at.is_(None), Course.status != "draft")
    stmt = (
        _enrollment_lines()
        .add_columns(func.count().over().label("total"))
        .where(*where)
        .order_by((Enrollment.status == "completed").asc(), Enrollment.last_activity_at.desc().nulls_last(),
                  Enrollment.created_at.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = (await session.execute(stmt)).all()
    if not rows and page > 1:
        total = int(await session.scalar(
            select(func.count()).select_from(Enrollment).join(Course, Course.id == Enrollment.course_id).where(*where)
        ) or 0)
        return [], total
    total = int(rows[0][3]) if rows else 0
    return [CourseLine(r[0], r[1], r[2]) for r in rows], total


async def my_paths(
    session: AsyncSession, user_id: uuid.UUID, *, page: int = 1, per_page: int = 10
) -> tuple[list[PathLine], int]:
    where = (PathEnrollment.user_id == user_id, PathEnrollment.withdrawn_at.is_(None),
             LearningPath.status != "draft")
    stmt = (
        select(PathEnrollment, LearningPath.title, func.count().over())
        .join(LearningPath, LearningPath.id == PathEnrollment.path_id)
        .where(*where)
        .order_by((PathEnrollment.status == "completed").asc(), PathEnrollment.due_at.asc().nulls_last(),
                  LearningPath.title)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = (await session.execute(stmt)).all()
    return [PathLine(r[0], r[1]) for r in rows], (int(rows[0][2]) if rows else 0)


async def learner_for(session: AsyncSession, viewer: Any, user_id: uuid.UUID | str) -> Any:
    """The learner whose progress ``viewer`` may see: themselves; admins anyone; managers and teachers (who may view
    progress) a learner currently in a group they lead (or below one). Anyone else: :class:`ProgressNotFound`."""
    from tajiconnect.domains.accounts.models import User
    from tajiconnect.domains.accounts.policies import Permission, can

    key = _uuid(user_id)
    if key is None or viewer is None or not viewer.is_active:
        raise ProgressNotFound(_("No such learner."))
    if key == viewer.id:
        return viewer
    if not can(viewer, Permission.VIEW_PROGRESS):
        raise ProgressNotFound(_("No such learner."))
    stmt = select(User).where(User.id == key)
    if not is_admin(viewer):
        stmt = stmt.where(
            select(literal(1))
            .where(GroupMembership.user_id == User.id, GroupMembership.role == "member",
                   GroupMembership.ended_at.is_(None), group_scope(viewer, GroupMembership.group_id))
            .exists()
        )
    learner = await session.scalar(stmt)
    if learner is None:
        raise ProgressNotFound(_("No such learner."))
    return learner
