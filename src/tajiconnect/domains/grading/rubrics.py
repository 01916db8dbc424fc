"""Rubrics: criteria x levels with points, per course, authored by the course's staff.

Math (pure, unit-tested): a rubric's maximum is the sum over criteria of each criterion's best level; a grade's
rubric points are the sum of the chosen levels' points. When the rubric's maximum differs from the assessment's
``max_points`` the rubric points are scaled: ``points = chosen / rubric_max * max_points`` (to the cent), so a
rubric out of 12 can mark an assignment out of 100. A criterion left unchosen counts 0.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import access
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.grading.models import Rubric
from tajiconnect.i18n import gettext as _

CENT = Decimal("0.01")
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
CRITERIA_MAX = 20
LEVELS_MAX = 10
LEVEL_POINTS_MAX = Decimal(1000)
RUBRICS_PER_PAGE_MAX = 100


class RubricError(ValueError):
    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


# --- pure math ------------------------------------------------------------------------------------------------------


def _points(value: Any, field: str) -> Decimal:
    try:
        points = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RubricError(_("Points must be a number."), field=field) from exc
    if not points.is_finite() or points < 0 or points > LEVEL_POINTS_MAX:
        raise RubricError(_("Points must be between 0 and %(max)s.") % {"max": LEVEL_POINTS_MAX}, field=field)
    return points.quantize(CENT, ROUND_HALF_UP)


def _text(value: Any, field: str, limit: int, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise RubricError(_("This is required."), field=field)
    if len(text) > limit:
        raise RubricError(_("At most %(max)d characters.") % {"max": limit}, field=field)
    return text


def validate_criteria(raw: Any) -> list[dict[str, Any]]:
    """Criteria as stored: ids ``c1``.. and ``l1``.. (renumbered), titles, descriptions, points as strings. At least
    one criterion, each with 1..10 levels; 400 with ``field`` (``criteria.<i>.levels.<j>.points``) otherwise."""
    if not isinstance(raw, list) or not raw:
        raise RubricError(_("A rubric needs at least one criterion."), field="criteria")
    if len(raw) > CRITERIA_MAX:
        raise RubricError(_("At most %(max)d criteria.") % {"max": CRITERIA_MAX}, field="criteria")
    criteria = []
    for i, criterion in enumerate(raw):
        where = f"criteria.{i}"
        if not isinstance(criterion, dict):
            raise RubricError(_("A criterion must be an object."), field=where)
        levels_raw = criterion.get("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            raise RubricError(_("A criterion needs at least one level."), field=f"{where}.levels")
        if len(levels_raw) > LEVELS_MAX:
            raise RubricError(_("At most %(max)d levels.") % {"max": LEVELS_MAX}, field=f"{where}.levels")
        levels = []
        for j, level in enumerate(levels_raw):
            at = f"{where}.levels.{j}"
            if not isinstance(level, dict):
                raise RubricError(_("A level must be an object."), field=at)
            levels.append({"id": f"l{j + 1}", "title": _text(level.get("title"), f"{at}.title", TITLE_MAX,
                                                            required=True),
                           "points": str(_points(level.get("points"), f"{at}.points"))})
        criteria.append({
            "id": f"c{i + 1}",
            "title": _text(criterion.get("title"), f"{where}.title", TITLE_MAX, required=True),
            "description": _text(criterion.get("description", ""), f"{where}.description", DESCRIPTION_MAX,
                                 required=False),
            "levels": levels,
        })
    return criteria


def rubric_max(criteria: list[dict[str, Any]]) -> Decimal:
    """The sum over criteria of each criterion's best level."""
    return sum((max((Decimal(level["points"]) for level in c["levels"]), default=Decimal(0)) for c in criteria),
               Decimal(0))


def chosen_points(criteria: list[dict[str, Any]], scores: dict[str, str]) -> Decimal:
    """The sum of the chosen levels' points; 400 for a criterion or level the rubric does not have."""
    by_id = {c["id"]: {level["id"]: Decimal(level["points"]) for level in c["levels"]} for c in criteria}
    total = Decimal(0)
    for criterion_id, level_id in scores.items():
        levels = by_id.get(criterion_id)
        if levels is None:
            raise RubricError(_("The rubric has no such criterion."), field="rubric_scores")
        if level_id not in levels:
            raise RubricError(_("The criterion has no such level."), field="rubric_scores")
        total += levels[level_id]
    return total


def scaled(points: Decimal, maximum: Decimal, max_points: Decimal) -> Decimal:
    """Rubric points out of ``maximum`` as points out of ``max_points`` (unchanged when they are equal)."""
    if maximum == max_points:
        return points.quantize(CENT, ROUND_HALF_UP)
    if maximum <= 0:
        return Decimal(0).quantize(CENT)
    return (points * max_points / maximum).quantize(CENT, ROUND_HALF_UP)


def score(criteria: list[dict[str, Any]], scores: dict[str, str], max_points: Decimal) -> Decimal:
    """The points the chosen levels give, out of ``max_points``."""
    return scaled(chosen_points(criteria, scores), rubric_max(criteria), max_points)


# --- storage --------------------------------------------------------------------------------------------------------


async def staffed_course(session: AsyncSession, user: Any, course_id: Any) -> Course:
    key = parse_uuid(course_id)
    course = None if key is None else await session.scalar(
        select(Course).where(Course.id == key, access.staff_filter(user)))
    if course is None:
        raise RubricError(_("No such course here."), status=404)
    return course


async def list_rubrics(session: AsyncSession, user: Any, course_id: Any | None = None, *, limit: int = 100,
                       offset: int = 0) -> list[Rubric]:
    """The rubrics of the courses the caller staffs (or of one course), by title."""
    stmt = select(Rubric).join(Course, Course.id == Rubric.course_id).where(access.staff_filter(user))
    if course_id is not None:
        key = parse_uuid(course_id)
        if key is None:
            return []
        stmt = stmt.where(Rubric.course_id == key)
    return list((await session.scalars(stmt.order_by(Rubric.title, Rubric.id).limit(limit).offset(offset))).all())


async def get_rubric(session: AsyncSession, user: Any, rubric_id: Any) -> Rubric:
    key = parse_uuid(rubric_id)
    rubric = None if key is None else await session.scalar(
        select(Rubric).join(Course, Course.id == Rubric.course_id).where(Rubric.id == key, access.staff_filter(user)))
    if rubric is None:
        raise RubricError(_("No such rubric here."), status=404)
    return rubric


async def create_rubric(session: AsyncSession, acting: Acting, course_id: Any, *, title: str,
                        criteria: Any) -> Rubric:
    course = await staffed_course(session, acting.user, course_id)
    rubric = Rubric(id=uuid.uuid4(), course_id=course.id, title=_text(title, "title", TITLE_MAX, required=True),
                    criteria=validate_criteria(criteria))
    session.add(rubric)
    await session.flush()
    await record(session, acting.actor, "grading.rubric_created", target_type="rubric", target_id=str(rubric.id))
    return rubric


async def update_rubric(session: AsyncSession, acting: Acting, rubric_id: Any, *, title: str | None = None,
                        criteria: Any = None) -> Rubric:
    rubric = await get_rubric(session, acting.user, rubric_id)
    if title is not None:
        rubric.title = _text(title, "title", TITLE_MAX, required=True)
    if criteria is not None:
        rubric.criteria = validate_criteria(criteria)
    await session.flush()
    await record(session, acting.actor, "grading.rubric_updated", target_type="rubric", target_id=str(rubric.id))
    return rubric


async def delete_rubric(session: AsyncSession, acting: Acting, rubric_id: Any) -> None:
    rubric = await get_rubric(session, acting.user, rubric_id)
    await session.delete(rubric)
    await session.flush()
    await record(session, acting.actor, "grading.rubric_deleted", target_type="rubric", target_id=str(rubric.id))
