"""Courses: authoring (create, edit with a revision check, modules and lessons, reorder, publish, archive,
duplicate), the outline other domains read, and learners' reviews.

Who may edit is :mod:`tajiconnect.domains.courses.access` (``staff_filter``): a course the caller may not edit, or
another organization's, is "not found" (:class:`CourseNotFound`), so ids do not leak. Every function takes the
request's session and leaves committing to it (half-done work rolls back with the request).

Course details carry a ``revision``: a save naming an older revision than the stored one is refused with
:class:`StaleRevision` (two editors, or two tabs, on one course) instead of silently overwriting. Positions of
modules and lessons are rewritten in one statement per list (``unnest(...) WITH ORDINALITY``).
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, any_, func, literal, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid as parse_id  # re-exported for this domain's callers
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.assessments import service as assessments
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.markdown import EmbedRefused, embed_url, link_url, render
from tajiconnect.domains.courses.models import (
    COURSE_STATUSES,
    LESSON_KINDS,
    LEVELS,
    VISIBILITIES,
    Course,
    CourseModule,
    CourseReview,
    Lesson,
    search_config_sql,
)
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.progress.service import recompute_course_progress
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import _

TITLE_MAX = 200
SUMMARY_MAX = 1000
DESCRIPTION_MAX = 50_000
BODY_MAX = 100_000
CATEGORY_MAX = 80
TAG_MAX = 40
TAGS_MAX = 20
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
COURSE_MINUTES_MAX = 100_000
LESSON_MINUTES_MAX = 10_000
PREREQUISITES_MAX = 20
TEACHERS_MAX = 20
VISIBLE_GROUPS_MAX = 200
MODULES_MAX = 200
LESSONS_MAX = 500
REVIEW_MAX = 4000
TEACHING_ROLES = ("teacher", "manager", "org_admin")
FILE_PURPOSES = {"video": ("video",), "document": ("document",)}
COVER_PURPOSES = ("cover", "image")
COPY_SUFFIX = " (copy)"
LANGUAGE_CONFIG = search_config_sql("courses.language")


class CourseError(ValueError):
    """A refused course operation; the message is for the person acting. ``field`` names the input at fault."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CourseNotFound(CourseError):
    """No such course (module, lesson) here, or not one the caller may edit."""

    status = 404


class CourseConflict(CourseError):
    """The request is valid but the course's current state refuses it."""

    status = 409


class StaleRevision(CourseConflict):
    """The course changed since the editor loaded it (``current``: the stored revision)."""

    def __init__(self, current: int) -> None:
        super().__init__(
            _("Someone else saved this course since you opened it. Reload the page to see their changes."),
            "revision",
        )
        self.current = current

    @property
    def revision(self) -> int:
        """The stored revision, as the problem body's ``revision``."""
        return self.current


class NotPublishable(CourseConflict):
    """Publishing refused: ``problems`` lists what is missing, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(_("This course cannot be published yet.") + " " + " ".join(problems), "status")
        self.problems = problems


class ReviewRefused(CourseError):
    """Only learners enrolled (now or before, completed) may review a course."""

    status = 403


@dataclass
class ModuleOutline:
    module: CourseModule
    lessons: list[Lesson] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------------------------------




async def get_course(session: AsyncSession, course_id: Any, *, user: Any = None, lock: bool = False) -> Course:
    """The course ``course_id``; with ``user``, only if they may edit it (else :class:`CourseNotFound`)."""
    cid = parse_id(course_id)
    if cid is None:
        raise CourseNotFound(_("No such course here."))
    stmt = select(Course).where(Course.id == cid)
    if user is not None:
        stmt = stmt.where(access.staff_filter(user))
    if lock:
        stmt = stmt.with_for_update()
    course = await session.scalar(stmt)
    if course is None:
        raise CourseNotFound(_("No such course here."))
    return course


async def outline(session: AsyncSession, course_id: uuid.UUID) -> list[ModuleOutline]:
    """The course's modules in order, each with its lessons in order (two queries)."""
    modules = (
        await session.scalars(
            select(CourseModule)
            .where(CourseModule.course_id == course_id)
            .order_by(CourseModule.position, CourseModule.created_at, CourseModule.id)
            .execution_options(populate_existing=True)  # positions may have been rewritten in SQL
        )
    ).all()
    result = {m.id: ModuleOutline(m) for m in modules}
    lessons = (
        await session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course_id)
            .order_by(Lesson.position, Lesson.created_at, Lesson.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    for lesson in lessons:
        if lesson.module_id in result:
            result[lesson.module_id].lessons.append(lesson)
    return list(result.values())


async def list_courses(
    session: AsyncSession,
    where: Any,
    *,
    status: str | None = None,
    category: str | None = None,
    level: str | None = None,
    language: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[Course], int]:
    """Courses matching ``where`` (an access filter) and the filters, by title; one page and the total."""
    conditions = [where]
    if status:
        conditions.append(Course.status == status)
    if category:
        conditions.append(func.lower(Course.category) == category.strip().lower())
    if level:
        conditions.append(Course.level == level)
    if language:
        conditions.append(Course.language == language)
    if tag:
        conditions.append(literal(tag.strip().lower()) == any_(Course.tags))
    if q and q.strip():
        words = q.strip()
        like = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                Course.search_vector.op("@@")(func.websearch_to_tsquery(literal_column(LANGUAGE_CONFIG), words)),
                Course.search_vector.op("@@")(func.websearch_to_tsquery(text("'simple'::regconfig"), words)),
                Course.title.ilike(like, escape="\\"),
            )
        )
    total = int(await session.scalar(select(func.count()).select_from(Course).where(*conditions)) or 0)
    rows = await session.scalars(
        select(Course)
        .where(*conditions)
        .order_by(func.lower(Course.title), Course.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows.all()), total


OPTIONS_MAX = 300


@dataclass
class DetailOptions:
    """What the details form offers: (id, label) of groups, other courses (prerequisites) and possible teachers."""

    groups: list[tuple[uuid.UUID, str]]
    courses: list[tuple[uuid.UUID, str]]
    teachers: list[tuple[uuid.UUID, str]]


async def detail_options(session: AsyncSession, course: Course) -> DetailOptions:
    """The choices of the builder's details form (three small queries, each capped)."""
    groups = await session.execute(
        select(Group.id, Group.name).where(Group.archived_at.is_(None)).order_by(Group.name).limit(OPTIONS_MAX)
    )
    courses = await session.execute(
        select(Course.id, Course.title).where(Course.id != course.id, Course.status != "archived")
        .order_by(func.lower(Course.title)).limit(OPTIONS_MAX)
    )
    teachers = await session.execute(
        select(User.id, User.name).where(
            User.status == "active", User.roles.overlap(list(TEACHING_ROLES)), User.id != course.owner_id
        ).order_by(User.name).limit(OPTIONS_MAX)
    )
    return DetailOptions(
        [(r[0], r[1]) for r in groups.all()], [(r[0], r[1]) for r in courses.all()],
        [(r[0], r[1]) for r in teachers.all()],
    )


# --- validation -----------------------------------------------------------------------------------------------


def _text(value: Any, field_name: str, maximum: int, *, required: bool = False) -> str:
    value = "" if value is None else str(value)
    value = value.strip()
    if required and not value:
        raise CourseError(_("This cannot be empty."), field_name)
    if len(value) > maximum:
        raise CourseError(_("At most %(max)d characters.") % {"max": maximum}, field_name)
    return value


def _minutes(value: Any, field_name: str, maximum: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise CourseError(_("Enter a whole number of minutes."), field_name) from None
    if not 0 <= minutes <= maximum:
        raise CourseError(_("Between 0 and %(max)d minutes.") % {"max": maximum}, field_name)
    return minutes


def normalize_tags(values: Iterable[str] | str) -> list[str]:
    """Lower-case, trimmed, without duplicates, in the order given; a string is split on commas."""
    if isinstance(values, str):
        values = values.split(",")
    tags: list[str] = []
    for raw in values:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise CourseError(_("A tag has at most %(max)d characters.") % {"max": TAG_MAX}, "tags")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise CourseError(_("At most %(max)d tags.") % {"max": TAGS_MAX}, "tags")
    return tags


def _ids(values: Iterable[Any], field_name: str, maximum: int) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for value in values:
        if value in ("", None):
            continue
        parsed = parse_id(value)
        if parsed is None:
            raise CourseError(_("This is not a valid choice."), field_name)
        if parsed not in ids:
            ids.append(parsed)
    if len(ids) > maximum:
        raise CourseError(_("At most %(max)d choices.") % {"max": maximum}, field_name)
    return ids


def _new(ids: list[uuid.UUID], before: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    known = set(before or ())
    return [i for i in ids if i not in known]


async def _check_prerequisites(session: AsyncSession, course: Course, ids: list[uuid.UUID]) -> None:
    if course.id in ids:
        raise CourseConflict(_("A course cannot be its own prerequisite."), "prerequisite_ids")
    if not ids:
        return
    added = _new(ids, course.prerequisite_ids)
    found = set((await session.scalars(select(Course.id).where(Course.id.in_(added)))).all())
    if found != set(added):
        raise CourseConflict(_("A prerequisite is not a course of this organization."), "prerequisite_ids")
    # A cycle: a chosen prerequisite requires (directly or not) this course. One recursive query.
    chain = text(
        "WITH RECURSIVE reach(id) AS ("
        " SELECT unnest(prerequisite_ids) FROM courses WHERE id = ANY(:ids)"
        " UNION SELECT unnest(c.prerequisite_ids) FROM courses c JOIN reach r ON c.id = r.id"
        ") SELECT EXISTS (SELECT 1 FROM reach WHERE id = :me)"
    )
    if await session.scalar(chain, {"ids": ids, "me": course.id}):
        raise CourseConflict(
            _("These prerequisites would make a loop: one of them already requires this course."), "prerequisite_ids"
        )


async def _check_groups(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    found = set((await session.scalars(select(Group.id).where(Group.id.in_(ids)))).all())
    if found != set(ids):
        raise CourseConflict(_("A chosen team or class is not one of this organization."), "visible_group_ids")


async def _check_teachers(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    rows = (await session.execute(select(User.id, User.roles, User.status).where(User.id.in_(ids)))).all()
    ok = {r.id for r in rows if r.status == "active" and set(r.roles or ()) & set(TEACHING_ROLES)}
    if ok != set(ids):
        raise CourseConflict(
            _("Co-teachers must be active members who are teachers, managers or admins."), "teacher_ids"
        )


async def _check_file(session: AsyncSession, file_id: uuid.UUID, purposes: Sequence[str], field_name: str) -> None:
    found = await session.scalar(
        select(StoredFile.id).where(
            StoredFile.id == file_id, StoredFile.status == "ready", StoredFile.purpose.in_(purposes)
        )
    )
    if found is None:
        raise CourseConflict(_("This file is not an uploaded file of the right kind."), field_name)


# --- courses --------------------------------------------------------------------------------------------------


def may_author(user: Any) -> bool:
    return access.manages_all(user) or can(user, Permission.AUTHOR_COURSES)


async def create_course(session: AsyncSession, acting: Acting, *, title: Any, **details: Any) -> Course:
    """A new draft owned by the creator; ``details`` are those :func:`update_course` accepts."""
    if not may_author(acting.user):
        raise CourseNotFound(_("You cannot create courses."))
    course = Course(
        title=_text(title, "title", TITLE_MAX, required=True),
        owner_id=acting.user.id,
        status="draft",
        revision=1,
        tags=[],
        teacher_ids=[],
        visible_group_ids=[],
        prerequisite_ids=[],
    )
    session.add(course)
    await session.flush()
    if details:
        await _apply(session, course, details)
        await session.flush()
    await record(session, acting.actor, "course.created", target_type="course", target_id=course.id,
                 title=course.title)
    return course


UPDATABLE = (
    "title", "summary", "description", "cover_file_id", "category", "tags", "level", "language",
    "estimated_minutes", "visibility", "visible_group_ids", "prerequisite_ids", "self_enroll", "teacher_ids",
)


async def _apply(session: AsyncSession, course: Course, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise CourseError(_("Unknown field."), sorted(unknown)[0])
    if "title" in changes:
        course.title = _text(changes["title"], "title", TITLE_MAX, required=True)
    if "summary" in changes:
        course.summary = _text(changes["summary"], "summary", SUMMARY_MAX)
    if "description" in changes:
        course.description = _text(changes["description"], "description", DESCRIPTION_MAX)
    if "category" in changes:
        course.category = _text(changes["category"], "category", CATEGORY_MAX) or None
    if "tags" in changes:
        course.tags = normalize_tags(changes["tags"] or [])
    if "level" in changes:
        if changes["level"] not in LEVELS:
            raise CourseError(_("Choose a level."), "level")
        course.level = changes["level"]
    if "language" in changes:
        language = str(changes["language"] or "").strip()
        if not LANGUAGE.match(language):
            raise CourseError(_("Enter a language code such as en, sw or fr."), "language")
        course.language = language
    if "estimated_minutes" in changes:
        course.estimated_minutes = _minutes(changes["estimated_minutes"], "estimated_minutes", COURSE_MINUTES_MAX)
    if "self_enroll" in changes:
        course.self_enroll = bool(changes["self_enroll"])
    if "visibility" in changes:
        if changes["visibility"] not in VISIBILITIES:
            raise CourseError(_("Choose who can find this course."), "visibility")
        course.visibility = changes["visibility"]
    # Only ids that are new are checked: a choice made earlier (a group since deleted, a co-teacher since
    # deactivated) must not make every later autosave fail.
    if "visible_group_ids" in changes:
        groups = _ids(changes["visible_group_ids"] or [], "visible_group_ids", VISIBLE_GROUPS_MAX)
        await _check_groups(session, _new(groups, course.visible_group_ids))
        course.visible_group_ids = groups
    if course.visibility == "groups" and not course.visible_group_ids:
        raise CourseConflict(_("Choose at least one team or class, or another visibility."), "visible_group_ids")
    if "prerequisite_ids" in changes:
        prerequisites = _ids(changes["prerequisite_ids"] or [], "prerequisite_ids", PREREQUISITES_MAX)
        await _check_prerequisites(session, course, prerequisites)
        course.prerequisite_ids = prerequisites
    if "teacher_ids" in changes:
        teachers = [t for t in _ids(changes["teacher_ids"] or [], "teacher_ids", TEACHERS_MAX) if t != course.owner_id]
        await _check_teachers(session, _new(teachers, course.teacher_ids))
        course.teacher_ids = teachers
    if "cover_file_id" in changes:
        cover = changes["cover_file_id"]
        if cover in (None, ""):
            course.cover_file_id = None
        else:
            cover_id = parse_id(cover)
            if cover_id is None:
                raise CourseConflict(_("This is not a valid choice."), "cover_file_id")
            if cover_id != course.cover_file_id:
                await _check_file(session, cover_id, COVER_PURPOSES, "cover_file_id")
            course.cover_file_id = cover_id


async def update_course(
    session: AsyncSession, acting: Acting, course_id: Any, changes: dict[str, Any], *, revision: int | None = None
) -> Course:
    """Apply ``changes`` (validated) and bump the revision; ``revision``, when given, must be the stored one."""
    course = await get_course(session, course_id, user=acting.user, lock=True)
    if revision is not None and revision != course.revision:
        raise StaleRevision(course.revision)
    await _apply(session, course, changes)
    course.revision = course.revision + 1
    await session.flush()
    return course


async def set_status(session: AsyncSession, acting: Acting, course_id: Any, action: str) -> Course:
    """``publish``, ``archive`` or ``restore`` (audited)."""
    course = await get_course(session, course_id, user=acting.user, lock=True)
    now = datetime.datetime.now(datetime.UTC)
    if action == "publish":
        if course.status == "archived":
            raise CourseConflict(_("Restore this course before publishing it."), "status")
        if course.status == "published":
            raise CourseConflict(_("This course is already published."), "status")
        problems = await publish_problems(session, course)
        if problems:
            raise NotPublishable(problems)
        course.status = "published"
        course.published_at = course.published_at or now
    elif action == "archive":
        if course.status == "archived":
            raise CourseConflict(_("This course is already archived."), "status")
        course.status = "archived"
        course.archived_at = now
    elif action == "restore":
        if course.status != "archived":
            raise CourseConflict(_("Only an archived course can be restored."), "status")
        course.status = "published" if course.published_at else "draft"
        course.archived_at = None
    else:  # pragma: no cover - callers pass one of the three
        raise ValueError(action)
    course.revision = course.revision + 1
    await session.flush()
    done = {"publish": "published", "archive": "archived", "restore": "restored"}[action]
    await record(session, acting.actor, f"course.{done}",
                 target_type="course", target_id=course.id, title=course.title)
    return course


async def publish_problems(session: AsyncSession, course: Course) -> list[str]:
    """What keeps ``course`` from being published, one sentence each (empty: it may be published)."""
    problems: list[str] = []
    modules = await outline(session, course.id)
    lessons = [lesson for m in modules for lesson in m.lessons]
    if not lessons:
        problems.append(_("Add at least one lesson."))
    for m in modules:
        if not m.lessons:
            problems.append(_("Module “%(title)s” has no lessons.") % {"title": m.module.title})
    file_ids = {lesson.file_id for lesson in lessons if lesson.file_id}
    ready: set[uuid.UUID] = set()
    if file_ids:
        ready = set(
            (await session.scalars(
                select(StoredFile.id).where(StoredFile.id.in_(file_ids), StoredFile.status == "ready")
            )).all()
        )
    for lesson in lessons:
        name = {"title": lesson.title}
        if lesson.kind == "video" and lesson.file_id not in ready:
            problems.append(_("Video lesson “%(title)s” has no uploaded video.") % name)
        elif lesson.kind == "document" and lesson.file_id not in ready:
            problems.append(_("Document lesson “%(title)s” has no uploaded document.") % name)
        elif lesson.kind == "link" and not lesson.url:
            problems.append(_("Link lesson “%(title)s” has no address.") % name)
        elif lesson.kind == "embed" and not lesson.url:
            problems.append(_("Embed lesson “%(title)s” has no address.") % name)
        elif lesson.kind == "text" and not lesson.body.strip():
            problems.append(_("Text lesson “%(title)s” has no text.") % name)
    problems.extend(await assessments.publish_problems(session, course.id))
    return problems


async def duplicate_course(session: AsyncSession, acting: Acting, course_id: Any) -> Course:
    """A deep copy as a draft owned by the caller: "(copy)" title, same files (referenced, not copied)."""
    source = await get_course(session, course_id, user=acting.user)
    if not may_author(acting.user):
        raise CourseNotFound(_("No such course here."))
    title = source.title[: TITLE_MAX - len(COPY_SUFFIX)] + COPY_SUFFIX
    copy = Course(
        title=title, summary=source.summary, description=source.description, cover_file_id=source.cover_file_id,
        category=source.category, tags=list(source.tags), level=source.level, language=source.language,
        estimated_minutes=source.estimated_minutes, status="draft", visibility=source.visibility,
        visible_group_ids=list(source.visible_group_ids), prerequisite_ids=list(source.prerequisite_ids),
        self_enroll=source.self_enroll, owner_id=acting.user.id, teacher_ids=[], copied_from_id=source.id,
        revision=1, rating_count=0, rating_sum=0,
    )
    session.add(copy)
    await session.flush()
    copied: dict[uuid.UUID, Lesson] = {}
    for item in await outline(session, source.id):
        module = CourseModule(course_id=copy.id, title=item.module.title, summary=item.module.summary,
                              position=item.module.position)
        session.add(module)
        await session.flush()
        for lesson in item.lessons:
            copied[lesson.id] = Lesson(
                course_id=copy.id, module_id=module.id, title=lesson.title, kind=lesson.kind,
                position=lesson.position, body=lesson.body, body_html=lesson.body_html, file_id=lesson.file_id,
                url=lesson.url, allow_download=lesson.allow_download, estimated_minutes=lesson.estimated_minutes,
                settings=dict(lesson.settings or {}),
            )
            session.add(copied[lesson.id])
    await session.flush()
    await assessments.copy_for_course(session, copy.id, {old: new.id for old, new in copied.items()})
    await record(session, acting.actor, "course.duplicated", target_type="course", target_id=copy.id,
                 source_id=str(source.id), title=copy.title)
    return copy


# --- modules --------------------------------------------------------------------------------------------------


async def _part(session: AsyncSession, user: Any, model: Any, part_id: Any, missing: str) -> tuple[Any, Course]:
    """A module or lesson with its course, if ``user`` may edit that course; else :class:`CourseNotFound`."""
    pid = parse_id(part_id)
    row = None
    if pid is not None:
        row = (
            await session.execute(
                select(model, Course)
                .join(Course, Course.id == model.course_id)
                .where(model.id == pid, access.staff_filter(user))
            )
        ).first()
    if row is None:
        raise CourseNotFound(missing)
    return row[0], row[1]


async def get_module(session: AsyncSession, user: Any, module_id: Any) -> tuple[CourseModule, Course]:
    return await _part(session, user, CourseModule, module_id, _("No such module here."))


async def add_module(
    session: AsyncSession, acting: Acting, course_id: Any, *, title: Any, summary: Any = ""
) -> CourseModule:
    course = await get_course(session, course_id, user=acting.user, lock=True)
    count = int(await session.scalar(select(func.count()).where(CourseModule.course_id == course.id)) or 0)
    if count >= MODULES_MAX:
        raise CourseConflict(_("A course has at most %(max)d modules.") % {"max": MODULES_MAX}, "title")
    module = CourseModule(
        course_id=course.id,
        title=_text(title, "title", TITLE_MAX, required=True),
        summary=_text(summary, "summary", SUMMARY_MAX),
        position=count + 1,
    )
    session.add(module)
    await session.flush()
    return module


async def update_module(
    session: AsyncSession, acting: Acting, module_id: Any, changes: dict[str, Any]
) -> CourseModule:
    module, _course = await get_module(session, acting.user, module_id)
    if "title" in changes:
        module.title = _text(changes["title"], "title", TITLE_MAX, required=True)
    if "summary" in changes:
        module.summary = _text(changes["summary"], "summary", SUMMARY_MAX)
    await session.flush()
    return module


async def delete_module(session: AsyncSession, acting: Acting, module_id: Any) -> uuid.UUID:
    """Delete a module and its lessons (audited); the others close ranks. Returns the course's id."""
    module, course = await get_module(session, acting.user, module_id)
    await _lock(session, course.id)
    lessons = int(await session.scalar(select(func.count()).where(Lesson.module_id == module.id)) or 0)
    await session.delete(module)
    await session.flush()
    await _renumber_modules(session, course.id)
    await recompute_course_progress(session, course.id)  # learners' percentages follow the shorter course
    await record(session, acting.actor, "course.module_deleted", target_type="course", target_id=course.id,
                 module=module.title, lessons=lessons)
    return course.id


async def _lock(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Serialize outline changes of one course (its row lock), so positions are computed on a settled list."""
    await session.execute(select(Course.id).where(Course.id == course_id).with_for_update())


async def _renumber(session: AsyncSession, table: str, parent: str, parent_id: uuid.UUID) -> None:
    """Close the gaps: positions 1..n in the current order of ``table``'s rows under ``parent`` (one statement).
    ``table`` and ``parent`` are names from this module, never input."""
    await session.execute(
        text(
            f"UPDATE {table} t SET position = o.n FROM ("
            f" SELECT id, row_number() OVER (ORDER BY position, created_at, id) AS n FROM {table}"
            f" WHERE {parent} = :parent) o WHERE t.id = o.id AND t.position <> o.n"
        ),
        {"parent": parent_id},
    )


async def _renumber_modules(session: AsyncSession, course_id: uuid.UUID) -> None:
    await _renumber(session, "course_modules", "course_id", course_id)


async def _renumber_lessons(session: AsyncSession, module_id: uuid.UUID) -> None:
    await _renumber(session, "lessons", "module_id", module_id)


async def _write_positions(session: AsyncSession, table: str, ids: list[uuid.UUID]) -> None:
    """Positions 1..n in the order of ``ids``, in one statement."""
    await session.execute(
        text(
            f"UPDATE {table} t SET position = o.n FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, n)"
            " WHERE t.id = o.id"
        ),
        {"ids": ids},
    )


async def reorder_modules(session: AsyncSession, acting: Acting, course_id: Any, ids: Sequence[Any]) -> None:
    """Put the course's modules in the order ``ids`` (which must name each of them exactly once)."""
    course = await get_course(session, course_id, user=acting.user, lock=True)
    wanted = _ids(ids, "order", MODULES_MAX)
    current = (await session.scalars(select(CourseModule.id).where(CourseModule.course_id == course.id))).all()
    if len(wanted) != len(list(ids)) or set(wanted) != set(current):
        raise CourseConflict(_("The order must list each module of this course once."), "order")
    await _write_positions(session, "course_modules", wanted)


async def move_module(session: AsyncSession, acting: Acting, module_id: Any, step: int) -> CourseModule:
    """One place up (``-1``) or down (``+1``); at an end, nothing moves."""
    module, course = await get_module(session, acting.user, module_id)
    await _lock(session, course.id)
    order = [m.module.id for m in await outline(session, course.id)]
    index = order.index(module.id)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        await _write_positions(session, "course_modules", order)
    return module


# --- lessons --------------------------------------------------------------------------------------------------


async def get_lesson(session: AsyncSession, user: Any, lesson_id: Any) -> tuple[Lesson, Course]:
    return await _part(session, user, Lesson, lesson_id, _("No such lesson here."))


async def _apply_lesson(session: AsyncSession, lesson: Lesson, changes: dict[str, Any]) -> None:
    if "title" in changes:
        lesson.title = _text(changes["title"], "title", TITLE_MAX, required=True)
    if "body" in changes:
        body = "" if changes["body"] is None else str(changes["body"])
        if len(body) > BODY_MAX:
            raise CourseError(_("At most %(max)d characters.") % {"max": BODY_MAX}, "body")
        lesson.body = body
        lesson.body_html = render(body)
    if "estimated_minutes" in changes:
        lesson.estimated_minutes = _minutes(changes["estimated_minutes"], "estimated_minutes", LESSON_MINUTES_MAX)
    if "allow_download" in changes:
        lesson.allow_download = bool(changes["allow_download"])
    if "url" in changes:
        raw = changes["url"]
        if raw in (None, ""):
            lesson.url = None
        elif lesson.kind == "embed":
            try:
                lesson.url = embed_url(str(raw))
            except EmbedRefused as exc:
                raise CourseConflict(str(exc), "url") from exc
        elif lesson.kind == "link":
            try:
                lesson.url = link_url(str(raw))
            except EmbedRefused as exc:
                raise CourseConflict(str(exc), "url") from exc
        else:
            raise CourseConflict(_("Only link and embed lessons have an address."), "url")
    if "file_id" in changes:
        raw = changes["file_id"]
        if raw in (None, ""):
            lesson.file_id = None
        elif lesson.kind not in FILE_PURPOSES:
            raise CourseConflict(_("Only video and document lessons have a file."), "file_id")
        else:
            file_id = parse_id(raw)
            if file_id is None:
                raise CourseConflict(_("This is not a valid choice."), "file_id")
            if file_id != lesson.file_id:
                await _check_file(session, file_id, FILE_PURPOSES[lesson.kind], "file_id")
            lesson.file_id = file_id


LESSON_FIELDS = ("title", "body", "estimated_minutes", "allow_download", "url", "file_id")


async def add_lesson(
    session: AsyncSession, acting: Acting, module_id: Any, *, kind: Any, title: Any, **changes: Any
) -> Lesson:
    module, course = await get_module(session, acting.user, module_id)
    if kind not in LESSON_KINDS:
        raise CourseError(_("Choose a kind of lesson."), "kind")
    unknown = set(changes) - set(LESSON_FIELDS)
    if unknown:
        raise CourseError(_("Unknown field."), sorted(unknown)[0])
    await _lock(session, course.id)
    count = int(await session.scalar(select(func.count()).where(Lesson.module_id == module.id)) or 0)
    total = int(await session.scalar(select(func.count()).where(Lesson.course_id == course.id)) or 0)
    if total >= LESSONS_MAX:
        raise CourseConflict(_("A course has at most %(max)d lessons.") % {"max": LESSONS_MAX}, "title")
    lesson = Lesson(course_id=course.id, module_id=module.id, kind=kind, title="", position=count + 1, body="",
                    body_html="", settings={})
    await _apply_lesson(session, lesson, {"title": title, **changes})
    session.add(lesson)
    await session.flush()
    await assessments.create_for_lesson(session, lesson)  # a quiz or assignment gets its settings row
    await recompute_course_progress(session, course.id)  # learners' percentages follow the longer course
    return lesson


async def update_lesson(session: AsyncSession, acting: Acting, lesson_id: Any, changes: dict[str, Any]) -> Lesson:
    lesson, _course = await get_lesson(session, acting.user, lesson_id)
    unknown = set(changes) - set(LESSON_FIELDS)
    if unknown:
        raise CourseError(_("Unknown field."), sorted(unknown)[0])
    await _apply_lesson(session, lesson, changes)
    await session.flush()
    return lesson


async def delete_lesson(session: AsyncSession, acting: Acting, lesson_id: Any) -> uuid.UUID:
    lesson, course = await get_lesson(session, acting.user, lesson_id)
    await _lock(session, course.id)
    module_id = lesson.module_id
    await session.delete(lesson)
    await session.flush()
    await _renumber_lessons(session, module_id)
    await recompute_course_progress(session, course.id)
    await record(session, acting.actor, "course.lesson_deleted", target_type="course", target_id=course.id,
                 lesson=lesson.title, kind=lesson.kind)
    return course.id


async def reorder_lessons(session: AsyncSession, acting: Acting, module_id: Any, ids: Sequence[Any]) -> None:
    """Put the module's lessons in the order ``ids``; a lesson of another module of the same course moves here."""
    module, course = await get_module(session, acting.user, module_id)
    await _lock(session, course.id)
    wanted = _ids(ids, "order", LESSONS_MAX)
    if len(wanted) != len(list(ids)):
        raise CourseConflict(_("The order lists a lesson twice."), "order")
    rows = (await session.execute(
        select(Lesson.id, Lesson.module_id).where(Lesson.course_id == course.id)
    )).all()
    by_id = {r.id: r.module_id for r in rows}
    here = {lid for lid, mid in by_id.items() if mid == module.id}
    if not set(wanted) <= set(by_id) or not here <= set(wanted):
        raise CourseConflict(_("The order must list each lesson of this module once."), "order")
    sources = {by_id[lid] for lid in wanted if by_id[lid] != module.id}
    if sources:
        await session.execute(update(Lesson).where(Lesson.id.in_(wanted)).values(module_id=module.id))
    await _write_positions(session, "lessons", wanted)
    for source in sources:
        await _renumber_lessons(session, source)


async def move_lesson(
    session: AsyncSession, acting: Acting, lesson_id: Any, *, step: int = 0, module_id: Any = None
) -> Lesson:
    """One place up/down within its module (``step``), or to the end of another module of the course."""
    lesson, course = await get_lesson(session, acting.user, lesson_id)
    await _lock(session, course.id)
    if module_id not in (None, ""):
        target, target_course = await get_module(session, acting.user, module_id)
        if target_course.id != course.id:
            raise CourseNotFound(_("No such module here."))
        if target.id != lesson.module_id:
            source = lesson.module_id
            count = int(await session.scalar(select(func.count()).where(Lesson.module_id == target.id)) or 0)
            lesson.module_id = target.id
            lesson.position = count + 1
            await session.flush()
            await _renumber_lessons(session, source)
        return lesson
    modules = await outline(session, course.id)
    flat = [(m.module.id, item.id) for m in modules for item in m.lessons]
    index = [lid for _m, lid in flat].index(lesson.id)
    siblings = [lid for mid, lid in flat if mid == lesson.module_id]
    position = siblings.index(lesson.id)
    target_position = position + (1 if step > 0 else -1)
    if 0 <= target_position < len(siblings):
        siblings[position], siblings[target_position] = siblings[target_position], siblings[position]
        await _write_positions(session, "lessons", siblings)
    else:
        # At the edge of its module: move into the neighbouring module (first or last there).
        module_ids = [m.module.id for m in modules]
        neighbour = module_ids.index(lesson.module_id) + (1 if step > 0 else -1)
        if 0 <= neighbour < len(module_ids) and index >= 0:
            target_id = module_ids[neighbour]
            source = lesson.module_id
            others = [lid for mid, lid in flat if mid == target_id]
            order = [lesson.id, *others] if step > 0 else [*others, lesson.id]
            await session.execute(update(Lesson).where(Lesson.id == lesson.id).values(module_id=target_id))
            await _write_positions(session, "lessons", order)
            await _renumber_lessons(session, source)
    return lesson


# --- reviews --------------------------------------------------------------------------------------------------


def eligible_filter(user_id: uuid.UUID, course_id: uuid.UUID) -> Any:
    return and_(
        Enrollment.course_id == course_id,
        Enrollment.user_id == user_id,
        Enrollment.status.in_(("active", "completed")),
    )


async def may_review(session: AsyncSession, user: Any, course_id: uuid.UUID) -> bool:
    if user is None or not user.is_active:
        return False
    return bool(await session.scalar(select(select(Enrollment.id).where(eligible_filter(user.id, course_id)).exists())))


async def reviewable_course(session: AsyncSession, user: Any, course_id: Any) -> Course:
    """A course the user may see the reviews of: one they find in the catalog or may open; else not found."""
    cid = parse_id(course_id)
    course = None
    if cid is not None and user is not None:
        course = await session.scalar(
            select(Course).where(Course.id == cid, or_(access.catalog_filter(user), access.open_filter(user)))
        )
    if course is None:
        raise CourseNotFound(_("No such course here."))
    return course


async def save_review(
    session: AsyncSession, acting: Acting, course_id: Any, *, rating: Any, body: Any = ""
) -> CourseReview:
    """Create or edit the caller's review; the course's ``rating_count``/``rating_sum`` follow in SQL arithmetic."""
    course = await reviewable_course(session, acting.user, course_id)
    if not await may_review(session, acting.user, course.id):
        raise ReviewRefused(_("Only learners enrolled in this course can review it."), "rating")
    try:
        stars = int(str(rating).strip())
    except ValueError:
        stars = 0
    if not 1 <= stars <= 5:
        raise CourseError(_("Choose a rating from 1 to 5 stars."), "rating")
    text_body = _text(body, "body", REVIEW_MAX)
    user_id = acting.user.id
    for _attempt in range(2):
        existing = await session.scalar(
            select(CourseReview)
            .where(CourseReview.course_id == course.id, CourseReview.user_id == user_id)
            .with_for_update()
        )
        if existing is not None:
            delta = stars - existing.rating
            existing.rating = stars
            existing.body = text_body
            await session.flush()
            if delta and existing.hidden_at is None:
                await session.execute(
                    update(Course).where(Course.id == course.id).values(rating_sum=Course.rating_sum + delta)
                )
            return existing
        inserted = await session.scalar(
            pg_insert(CourseReview)
            .values(id=uuid.uuid4(), course_id=course.id, user_id=user_id, rating=stars, body=text_body)
            .on_conflict_do_nothing(index_elements=["course_id", "user_id"])
            .returning(CourseReview.id)
        )
        if inserted is not None:
            await session.execute(
                update(Course)
                .where(Course.id == course.id)
                .values(rating_count=Course.rating_count + 1, rating_sum=Course.rating_sum + stars)
            )
            review = await session.get(CourseReview, inserted)
            assert review is not None
            return review
    raise CourseConflict(_("Your review could not be saved; try again."), "rating")  # pragma: no cover


async def set_review_hidden(
    session: AsyncSession, acting: Acting, review_id: Any, *, hidden: bool, course_id: Any = None
) -> CourseReview:
    """Staff hide (or show again) a review of ``course_id``; a hidden review leaves the average. Audited."""
    rid = parse_id(review_id)
    cid = parse_id(course_id) if course_id is not None else None
    review = None
    if rid is not None and (course_id is None or cid is not None):
        stmt = (
            select(CourseReview)
            .join(Course, Course.id == CourseReview.course_id)
            .where(CourseReview.id == rid, access.staff_filter(acting.user))
            .with_for_update(of=CourseReview)
        )
        if cid is not None:
            stmt = stmt.where(CourseReview.course_id == cid)
        review = await session.scalar(stmt)
    if review is None:
        raise CourseNotFound(_("No such review here."))
    if (review.hidden_at is not None) == hidden:
        return review
    sign = -1 if hidden else 1
    review.hidden_at = datetime.datetime.now(datetime.UTC) if hidden else None
    review.hidden_by_email = acting.actor.email if hidden else None
    await session.flush()
    await session.execute(
        update(Course)
        .where(Course.id == review.course_id)
        .values(rating_count=Course.rating_count + sign, rating_sum=Course.rating_sum + sign * review.rating)
    )
    await record(session, acting.actor, "course.review_hidden" if hidden else "course.review_shown",
                 target_type="course", target_id=review.course_id, review_id=str(review.id))
    return review


async def list_reviews(
    session: AsyncSession, course_id: uuid.UUID, *, include_hidden: bool = False, page: int = 1, per_page: int = 10
) -> tuple[list[tuple[CourseReview, str]], int]:
    """Reviews newest first with the reviewer's name; hidden ones only for staff."""
    conditions = [CourseReview.course_id == course_id]
    if not include_hidden:
        conditions.append(CourseReview.hidden_at.is_(None))
    total = int(await session.scalar(select(func.count()).select_from(CourseReview).where(*conditions)) or 0)
    rows = await session.execute(
        select(CourseReview, User.name)
        .join(User, User.id == CourseReview.user_id)
        .where(*conditions)
        .order_by(CourseReview.updated_at.desc(), CourseReview.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return [(r[0], r[1]) for r in rows.all()], total


async def reviewer_name(session: AsyncSession, review: CourseReview) -> str:
    return str(await session.scalar(select(User.name).where(User.id == review.user_id)) or "")


async def my_review(session: AsyncSession, user: Any, course_id: uuid.UUID) -> CourseReview | None:
    return await session.scalar(
        select(CourseReview).where(CourseReview.course_id == course_id, CourseReview.user_id == user.id)
    )


def average(course: Course) -> float | None:
    return round(course.rating_sum / course.rating_count, 1) if course.rating_count else None


STATUSES = COURSE_STATUSES
