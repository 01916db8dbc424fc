"""The gradebook of a course: its learners (current enrollments) x its graded items (assessments that count in the
gradebook, in lesson order), category and final columns, letters and overrides; categories and the letter scale;
a learner's own released grades.

Only the course's staff (``courses.access.staff_filter``) see or change a gradebook; anything else, another
organization's course included, is "not found". A page reads a fixed handful of statements whatever the size of
the course: the course, its items, categories, settings, one page of learners (with the total), that page's
grades and overrides. The CSV streams every learner, :data:`CSV_CHUNK` at a time, from its own read transaction.

Category and final percents count **released** grades only (what the learners see); drafts and pending work show
in their cells for the staff but do not count until released. The arithmetic is :mod:`.gradebook`'s.
"""

from __future__ import annotations

import csv
import functools
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Text, and_, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course, CourseModule, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.enrollments.teaching import _safe  # no spreadsheet formula from a name (CSV injection)
from tajiconnect.domains.grading import gradebook as math
from tajiconnect.domains.grading.models import Grade, GradebookCategory, GradebookSettings, GradeOverride
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.i18n import gettext as _

PER_PAGE = 50
PER_PAGE_MAX = 100
CSV_CHUNK = 500
#: Above this many learners (those the filters select), the gradebook page offers the CSV as a background export
#: only (``domains/reports``), not as a direct download.
DIRECT_CSV_MAX = 2_000
SEARCH_MAX = 100
NAME_MAX = 100
REASON_MAX = 1000
WEIGHT_MAX = Decimal(1000)
DROP_MAX = 50
CATEGORIES_MAX = 50
GROUPS_LISTED = 200


class GradebookError(ValueError):
    """A refused gradebook operation. ``status``: 400 invalid input (``field`` names it), 404 not found, 409 the
    current state refuses it."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class GradebookNotFound(GradebookError):
    status = 404


class GradebookConflict(GradebookError):
    status = 409


# --- what a page shows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradedItem:
    id: uuid.UUID
    lesson_id: uuid.UUID
    title: str
    kind: str
    category_id: uuid.UUID | None
    max_points: Decimal
    weight: Decimal
    order: int

    def as_math(self) -> math.Item:
        """For the arithmetic, keyed by the item's position (``order``), as the row's ``slots`` are."""
        return math.Item(self.order, self.category_id, self.max_points, self.weight, self.order)


@dataclass(frozen=True)
class Cell:
    """One grade as the staff see it: ``released``, ``draft`` or ``pending`` (submitted, awaiting a grader).
    ``grade_id`` is the grade's UUID as text."""

    grade_id: str
    status: str
    score: Decimal | None
    max_points: Decimal

    @property
    def percent(self) -> Decimal | None:
        if self.score is None or self.max_points <= 0:
            return None
        return math.cents(self.score * 100 / self.max_points)


@dataclass(frozen=True)
class Override:
    percent: Decimal
    reason: str
    by_email: str | None
    updated_at: Any


@dataclass
class LearnerRow:
    """A learner's grades: ``slots[n]`` is the cell of the page's ``items[n]`` (None: no grade); the result's
    buckets list items by position too (``Bucket.dropped``)."""

    user_id: uuid.UUID
    name: str
    email: str
    slots: list[Cell | None]
    result: math.Result
    override: Override | None = None


@dataclass
class Query:
    group_id: uuid.UUID | None = None
    q: str = ""


@dataclass
class Gradebook:
    course: Course
    items: list[GradedItem]
    categories: list[GradebookCategory]
    scale: tuple[tuple[str, Decimal], ...]
    rows: list[LearnerRow]
    total: int
    page: int
    per_page: int
    query: Query = field(default_factory=Query)

    @functools.cached_property
    def has_uncategorized(self) -> bool:
        known = {c.id for c in self.categories}
        return any(i.category_id not in known for i in self.items)


# --- reading -----------------------------------------------------------------------------------------------------


async def staff_course(session: AsyncSession, user: Any, course_id: Any) -> Course:
    """The course if ``user`` is its staff, else :class:`GradebookNotFound` (other tenants' ids too)."""
    cid = parse_uuid(course_id)
    course = None
    if cid is not None:
        course = await session.scalar(select(Course).where(Course.id == cid, access.staff_filter(user)))
    if course is None:
        raise GradebookNotFound(_("No such course here."))
    return course


async def items_of(session: AsyncSession, course_id: uuid.UUID) -> list[GradedItem]:
    """The course's assessments that count in the gradebook, in lesson order (module, then lesson)."""
    rows = await session.execute(
        select(Assessment.id, Assessment.lesson_id, Lesson.title, Assessment.kind, Assessment.gradebook_category_id,
               Assessment.max_points, Assessment.weight)
        .join(Lesson, Lesson.id == Assessment.lesson_id)
        .join(CourseModule, CourseModule.id == Lesson.module_id)
        .where(Assessment.course_id == course_id, Assessment.counts_in_gradebook.is_(True))
        .order_by(CourseModule.position, Lesson.position, Lesson.created_at, Lesson.id)
    )
    return [GradedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], n) for n, r in enumerate(rows.all())]


async def categories_of(session: AsyncSession, course_id: uuid.UUID) -> list[GradebookCategory]:
    return list((await session.scalars(
        select(GradebookCategory).where(GradebookCategory.course_id == course_id)
        .order_by(GradebookCategory.position, GradebookCategory.created_at, GradebookCategory.id)
    )).all())


async def scale_of(session: AsyncSession, course_id: uuid.UUID) -> tuple[tuple[str, Decimal], ...]:
    stored = await session.scalar(
        select(GradebookSettings.letter_scale).where(GradebookSettings.course_id == course_id)
    )
    return math.scale_from_json(stored)


def learners_statement(course_id: uuid.UUID, query: Query) -> Select:
    """Current enrollments of the course, filtered, by name: (user id, name, email)."""
    where: list[Any] = [Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None)]
    if query.group_id is not None:
        where.append(Enrollment.user_id.in_(
            select(GroupMembership.user_id).where(
                GroupMembership.group_id == query.group_id, GroupMembership.ended_at.is_(None),
                GroupMembership.role == "member",
            )
        ))
    words = query.q.strip()[:SEARCH_MAX]
    if words:
        where.append(or_(User.name.icontains(words, autoescape=True), User.email.icontains(words, autoescape=True)))
    return (
        select(User.id, User.name, User.email)
        .select_from(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .where(*where)
        .order_by(func.lower(User.name), User.id)
    )


async def cells_of(
    session: AsyncSession, course_id: uuid.UUID, user_ids: Sequence[uuid.UUID], item_ids: Sequence[uuid.UUID],
    *, released_only: bool = False,
) -> dict[uuid.UUID, list[Cell | None]]:
    """user id -> one cell per item (in ``item_ids``' order, None where there is no grade), in one statement.

    The learners' grades of the course are read through the index on ``user_id`` and kept when their assessment is
    one of ``item_ids`` (an ``IN`` on the assessment too makes the planner scan every grade of the course: 20 ms
    instead of 1 ms at 1,000 learners x 50 items). Ids come as text (cached hashes) and rows through Core, not the
    ORM: at 2,500 grades a page, making and hashing ``uuid.UUID`` objects cost more than the query."""
    if not user_ids or not item_ids:
        return {}
    g = Grade.__table__.c
    stmt = select(
        cast(g.id, Text), cast(g.user_id, Text), cast(g.assessment_id, Text), g.status, g.score, g.max_points,
    ).where(g.user_id.in_(user_ids), g.course_id == course_id)
    if released_only:
        stmt = stmt.where(g.status == "released")
    position = {str(i): n for n, i in enumerate(item_ids)}
    width = len(item_ids)
    by_text: dict[str, list[Cell | None]] = {}
    for gid, uid, aid, status, score, maximum in (await session.execute(stmt)).all():
        n = position.get(aid)
        if n is not None:
            slots = by_text.get(uid)
            if slots is None:
                slots = by_text[uid] = [None] * width
            slots[n] = Cell(gid, status, score, maximum)
    return {u: by_text[str(u)] for u in user_ids if str(u) in by_text}


async def overrides_of(
    session: AsyncSession, course_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Override]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(GradeOverride.user_id, GradeOverride.percent, GradeOverride.reason, GradeOverride.by_email,
               GradeOverride.updated_at)
        .where(GradeOverride.course_id == course_id, GradeOverride.user_id.in_(user_ids))
    )
    return {r[0]: Override(r[1], r[2], r[3], r[4]) for r in rows.all()}


def math_categories(categories: Sequence[GradebookCategory]) -> list[math.Category]:
    return [math.Category(c.id, c.name, c.weight, c.drop_lowest) for c in categories]


def row_for(
    user: tuple[uuid.UUID, str, str], slots: list[Cell | None] | None, items: Sequence[math.Item],
    categories: Sequence[math.Category], scale: Sequence[tuple[str, Decimal]], override: Override | None,
) -> LearnerRow:
    """A learner's row from their cells (``slots``: one per item, by position; None: no grade at all)."""
    slots = slots if slots is not None else [None] * len(items)
    released = {n: math.Score(c.score, c.max_points) for n, c in enumerate(slots)
                if c is not None and c.status == "released" and c.score is not None}
    result = math.compute(items, categories, released, scale=scale,
                          override=override.percent if override is not None else None)
    return LearnerRow(user[0], user[1], user[2], slots, result, override)


async def gradebook_page(
    session: AsyncSession, user: Any, course_id: Any, *, query: Query | None = None, page: int = 1,
    per_page: int = PER_PAGE,
) -> Gradebook:
    """One page of the course's gradebook for its staff (see the module for the statements it runs)."""
    query = query or Query()
    course = await staff_course(session, user, course_id)
    items = await items_of(session, course.id)
    categories = await categories_of(session, course.id)
    scale = await scale_of(session, course.id)
    stmt = learners_statement(course.id, query)
    counted = stmt.add_columns(func.count().over().label("total"))
    learners = (await session.execute(counted.limit(per_page).offset((page - 1) * per_page))).all()
    if learners:
        total = int(learners[0][3])
    else:
        total = int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    user_ids = [r[0] for r in learners]
    cells = await cells_of(session, course.id, user_ids, [i.id for i in items])
    overrides = await overrides_of(session, course.id, user_ids)
    plain_items = [i.as_math() for i in items]
    plain_categories = math_categories(categories)
    rows = [row_for((r[0], r[1], r[2]), cells.get(r[0]), plain_items, plain_categories, scale,
                    overrides.get(r[0])) for r in learners]
    return Gradebook(course, items, categories, scale, rows, total, page, per_page, query)


async def groups_of_learners(session: AsyncSession, course_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Groups with a current member currently enrolled in the course (the page's group filter), by name."""
    members = select(GroupMembership.group_id).join(
        Enrollment, and_(Enrollment.user_id == GroupMembership.user_id, Enrollment.course_id == course_id,
                         Enrollment.withdrawn_at.is_(None))
    ).where(GroupMembership.ended_at.is_(None), GroupMembership.role == "member")
    rows = await session.execute(
        select(Group.id, Group.name).where(Group.id.in_(members), Group.archived_at.is_(None))
        .order_by(func.lower(Group.name)).limit(GROUPS_LISTED)
    )
    return [(r[0], r[1]) for r in rows.all()]


async def group_filter(session: AsyncSession, group_id: Any) -> uuid.UUID | None:
    """A group id from input: None when absent; :class:`GradebookNotFound` when not a group here."""
    if group_id in (None, ""):
        return None
    gid = parse_uuid(group_id)
    if gid is None or await session.scalar(select(Group.id).where(Group.id == gid)) is None:
        raise GradebookNotFound(_("No such group here."), "group_id")
    return gid


# --- the learner's own grades ------------------------------------------------------------------------------------


@dataclass
class LearnerGrades:
    course: Course
    items: list[GradedItem]
    categories: list[GradebookCategory]
    row: LearnerRow
    has_uncategorized: bool


async def my_grades(session: AsyncSession, user: Any, course_id: Any) -> LearnerGrades:
    """The caller's released grades in a course they may open; drafts and pending work are never read."""
    cid = parse_uuid(course_id)
    course = None
    if cid is not None:
        course = await session.scalar(select(Course).where(Course.id == cid, access.open_filter(user)))
    if course is None:
        raise GradebookNotFound(_("No such course here."))
    items = await items_of(session, course.id)
    categories = await categories_of(session, course.id)
    scale = await scale_of(session, course.id)
    cells = await cells_of(session, course.id, [user.id], [i.id for i in items], released_only=True)
    override = (await overrides_of(session, course.id, [user.id])).get(user.id)
    row = row_for((user.id, user.name, user.email), cells.get(user.id), [i.as_math() for i in items],
                  math_categories(categories), scale, override)
    known = {c.id for c in categories}
    return LearnerGrades(course, items, categories, row, any(i.category_id not in known for i in items))


# --- categories, scale, overrides --------------------------------------------------------------------------------


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise GradebookError(_("Give the category a name."), "name")
    if len(name) > NAME_MAX:
        raise GradebookError(_("At most %(max)d characters.") % {"max": NAME_MAX}, "name")
    return name


def _weight(value: Any) -> Decimal:
    number = math.parse_percent(value)
    if number is None:
        raise GradebookError(_("The weight is a number from 0 to 1000."), "weight")
    return number


def _drop(value: Any) -> int:
    try:
        number = int(str(value).strip() or "0")
    except ValueError:
        number = -1
    if not 0 <= number <= DROP_MAX:
        raise GradebookError(_("Drop from 0 to %(max)d lowest scores.") % {"max": DROP_MAX}, "drop_lowest")
    return number


async def create_category(
    session: AsyncSession, acting: Acting, course_id: Any, *, name: Any, weight: Any = 0, drop_lowest: Any = 0
) -> GradebookCategory:
    course = await staff_course(session, acting.user, course_id)
    values = {"name": _name(name), "weight": _weight(weight), "drop_lowest": _drop(drop_lowest)}
    await session.execute(select(Course.id).where(Course.id == course.id).with_for_update())
    existing = await categories_of(session, course.id)
    if len(existing) >= CATEGORIES_MAX:
        raise GradebookConflict(_("A course has at most %(max)d categories.") % {"max": CATEGORIES_MAX}, "name")
    category = GradebookCategory(course_id=course.id, position=len(existing), **values)
    session.add(category)
    await session.flush()
    await record(session, acting.actor, "gradebook.category_created", target_type="gradebook_category",
                 target_id=category.id, course_id=str(course.id), name=category.name, weight=str(category.weight),
                 drop_lowest=category.drop_lowest)
    return category


async def get_category(session: AsyncSession, user: Any, category_id: Any) -> GradebookCategory:
    """A category of a course ``user`` is staff of, else :class:`GradebookNotFound`."""
    cid = parse_uuid(category_id)
    category = None
    if cid is not None:
        category = await session.scalar(
            select(GradebookCategory).join(Course, Course.id == GradebookCategory.course_id)
            .where(GradebookCategory.id == cid, access.staff_filter(user))
        )
    if category is None:
        raise GradebookNotFound(_("No such category here."))
    return category


async def update_category(
    session: AsyncSession, acting: Acting, category_id: Any, changes: dict[str, Any]
) -> GradebookCategory:
    category = await get_category(session, acting.user, category_id)
    before = {"name": category.name, "weight": str(category.weight), "drop_lowest": category.drop_lowest}
    name = _name(changes["name"]) if "name" in changes else category.name
    weight = _weight(changes["weight"]) if "weight" in changes else category.weight
    drop = _drop(changes["drop_lowest"]) if "drop_lowest" in changes else category.drop_lowest
    category.name, category.weight, category.drop_lowest = name, weight, drop
    await session.flush()
    await record(session, acting.actor, "gradebook.category_updated", target_type="gradebook_category",
                 target_id=category.id, course_id=str(category.course_id), before=before,
                 after={"name": category.name, "weight": str(category.weight), "drop_lowest": category.drop_lowest})
    return category


async def delete_category(session: AsyncSession, acting: Acting, category_id: Any) -> uuid.UUID:
    """Delete a category; its items become uncategorized (the foreign key sets them null)."""
    category = await get_category(session, acting.user, category_id)
    course_id = category.course_id
    await session.delete(category)
    await session.flush()
    await record(session, acting.actor, "gradebook.category_deleted", target_type="gradebook_category",
                 target_id=category.id, course_id=str(course_id), name=category.name)
    return course_id


async def set_scale(
    session: AsyncSession, acting: Acting, course_id: Any, rows: Sequence[tuple[str, Any]]
) -> tuple[tuple[str, Decimal], ...]:
    """Replace the course's letter scale (an empty ``rows`` list is refused; see :func:`reset_scale`)."""
    course = await staff_course(session, acting.user, course_id)
    try:
        scale = math.validate_scale(rows)
    except math.ScaleInvalid as exc:
        raise GradebookError(str(exc), "letter_scale") from exc
    await _store_scale(session, course.id, math.scale_to_json(scale))
    await record(session, acting.actor, "gradebook.scale_set", target_type="course", target_id=course.id,
                 letter_scale=math.scale_to_json(scale))
    return scale


async def reset_scale(session: AsyncSession, acting: Acting, course_id: Any) -> None:
    course = await staff_course(session, acting.user, course_id)
    await _store_scale(session, course.id, [])
    await record(session, acting.actor, "gradebook.scale_reset", target_type="course", target_id=course.id)


async def _store_scale(session: AsyncSession, course_id: uuid.UUID, value: list[dict[str, str]]) -> None:
    from sqlalchemy.dialects.postgresql import insert

    await session.execute(
        insert(GradebookSettings).values(course_id=course_id, letter_scale=value)
        .on_conflict_do_update(index_elements=["course_id"], set_={"letter_scale": value, "updated_at": func.now()})
    )


async def enrolled_learner(session: AsyncSession, course_id: uuid.UUID, user_id: Any) -> User:
    uid = parse_uuid(user_id)
    learner = None
    if uid is not None:
        learner = await session.scalar(
            select(User).join(Enrollment, Enrollment.user_id == User.id)
            .where(User.id == uid, Enrollment.course_id == course_id, Enrollment.withdrawn_at.is_(None))
        )
    if learner is None:
        raise GradebookNotFound(_("No such learner in this course."))
    return learner


async def set_override(
    session: AsyncSession, acting: Acting, course_id: Any, user_id: Any, *, percent: Any, reason: Any
) -> GradeOverride:
    """Set (or replace) a learner's final percent by hand, with a reason; audited with the previous value."""
    course = await staff_course(session, acting.user, course_id)
    learner = await enrolled_learner(session, course.id, user_id)
    value = math.parse_percent(percent)
    if value is None:
        raise GradebookError(_("The final percent is a number from 0 to 1000."), "percent")
    why = " ".join(str(reason or "").split())
    if not why:
        raise GradebookError(_("Say why the final grade is overridden."), "reason")
    if len(why) > REASON_MAX:
        raise GradebookError(_("At most %(max)d characters.") % {"max": REASON_MAX}, "reason")
    row = await session.scalar(
        select(GradeOverride).where(GradeOverride.course_id == course.id, GradeOverride.user_id == learner.id)
        .with_for_update()
    )
    before = str(row.percent) if row is not None else None
    if row is None:
        row = GradeOverride(course_id=course.id, user_id=learner.id, percent=value, reason=why)
        session.add(row)
    row.percent, row.reason = value, why
    row.by_id, row.by_email = acting.actor.id, acting.actor.email
    await session.flush()
    await record(session, acting.actor, "gradebook.override_set", subject_email=learner.email,
                 target_type="course", target_id=course.id, user_id=str(learner.id), percent=str(value),
                 previous=before, reason=why)
    return row


async def clear_override(session: AsyncSession, acting: Acting, course_id: Any, user_id: Any) -> bool:
    """Remove a learner's override (the computed final applies again); False when there was none."""
    course = await staff_course(session, acting.user, course_id)
    learner = await enrolled_learner(session, course.id, user_id)
    row = await session.scalar(
        select(GradeOverride).where(GradeOverride.course_id == course.id, GradeOverride.user_id == learner.id)
    )
    if row is None:
        return False
    previous = str(row.percent)
    await session.execute(delete(GradeOverride).where(GradeOverride.id == row.id))
    await record(session, acting.actor, "gradebook.override_cleared", subject_email=learner.email,
                 target_type="course", target_id=course.id, user_id=str(learner.id), previous=previous)
    return True


# --- CSV ---------------------------------------------------------------------------------------------------------


def _number(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def csv_header(book: Gradebook) -> list[str]:
    header = [_("Learner"), _("Email")]
    header += [_safe(f"{i.title} ({i.max_points})") for i in book.items]
    header += [_safe(_("Category: %(name)s") % {"name": c.name}) for c in book.categories]
    if book.has_uncategorized:
        header.append(_("Uncategorized"))
    return [*header, _("Computed %"), _("Override %"), _("Final %"), _("Letter")]


def csv_row(book: Gradebook, row: LearnerRow) -> list[str]:
    out = [_safe(row.name), row.email]
    draft, pending = _("draft %(score)s"), _("pending")
    for cell in row.slots:
        if cell is None:
            out.append("")
        elif cell.status == "released":
            out.append(_number(cell.score))
        elif cell.status == "draft":
            out.append(draft % {"score": _number(cell.score)})
        else:
            out.append(pending)
    for category in book.categories:
        out.append(_number(row.result.buckets[category.id].percent))
    if book.has_uncategorized:
        out.append(_number(row.result.buckets[None].percent))
    return [*out, _number(row.result.computed), _number(row.override.percent if row.override else None),
            _number(row.result.final), row.result.letter or ""]


async def csv_text(session: AsyncSession, user: Any, course_id: Any, query: Query) -> AsyncIterator[tuple[str, int]]:
    """The whole gradebook as CSV text, for the streamed download and the background export alike: first the
    header (with the byte order mark) and the number of learners, then the rows of :data:`CSV_CHUNK` learners at a
    time and how many learners each piece holds. Read through ``session`` (one transaction keeps it consistent);
    :class:`GradebookNotFound` when ``user`` is not the course's staff."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    book = await gradebook_page(session, user, course_id, query=query, page=1, per_page=1)
    writer.writerow(csv_header(book))
    yield "\ufeff" + buffer.getvalue(), book.total
    items = [i.as_math() for i in book.items]
    categories = math_categories(book.categories)
    item_ids = [i.id for i in book.items]
    stmt = learners_statement(book.course.id, query)
    offset = 0
    while True:
        learners = (await session.execute(stmt.limit(CSV_CHUNK).offset(offset))).all()
        if not learners:
            break
        user_ids = [r[0] for r in learners]
        cells = await cells_of(session, book.course.id, user_ids, item_ids)
        overrides = await overrides_of(session, book.course.id, user_ids)
        buffer.seek(0)
        buffer.truncate()
        for r in learners:
            row = row_for((r[0], r[1], r[2]), cells.get(r[0]), items, categories, book.scale, overrides.get(r[0]))
            writer.writerow(csv_row(book, row))
        yield buffer.getvalue(), len(learners)
        offset += CSV_CHUNK


async def csv_chunks(engine: AsyncEngine, schema: str, user: Any, course_id: uuid.UUID, query: Query
                     ) -> AsyncIterator[bytes]:
    """:func:`csv_text` as bytes, in one read transaction of its own on the tenant's schema (the streamed CSV)."""
    async with session_scope(engine, schema=schema) as session:
        async for text, _count in csv_text(session, user, course_id, query):
            yield text.encode()
