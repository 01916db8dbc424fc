"""What declares skills, as a page or the API reaches it: a course, a learning path, an assessment.

:func:`find` answers the thing (with its title and the page it belongs to) if ``user`` may read its skills (anyone
who may open the course, see the path, open the assessment's course) or, with ``edit``, change them (the course's
staff, the path's author, the assessment's course's staff; admins), else ``None``: another organization's ids and
things the member may not reach are all "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.courses import access as course_access
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.paths import service as paths
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.skills.targets import Thing

KINDS = ("course", "path", "assessment")


@dataclass(frozen=True)
class Owner:
    thing: Thing
    title: str
    back: str  # the page the thing is edited on
    base: str  # the page of its skills


async def find(session: AsyncSession, user: Any, kind: str, thing_id: Any, *, edit: bool) -> Owner | None:
    key = parse_uuid(thing_id)
    if key is None or kind not in KINDS:
        return None
    if kind == "course":
        rule = course_access.staff_filter(user) if edit else course_access.open_filter(user)
        title = await session.scalar(select(Course.title).where(Course.id == key, rule))
        back = f"/teach/courses/{key}"
    elif kind == "path":
        rule = paths.editable_filter(user) if edit else paths.visible_filter(user)
        title = await session.scalar(select(LearningPath.title).where(LearningPath.id == key, rule))
        back = f"/teach/paths/{key}"
    else:
        rule = course_access.staff_filter(user) if edit else course_access.open_filter(user)
        row = (await session.execute(
            select(Lesson.title, Course.title).select_from(Assessment).join(Lesson, Lesson.id == Assessment.lesson_id)
            .join(Course, Course.id == Assessment.course_id).where(Assessment.id == key, rule))).first()
        title = f"{row[0]} · {row[1]}" if row else None
        back = f"/teach/assessments/{key}"
    if title is None:
        return None
    return Owner(Thing(kind, key), title, back, f"/teach/{kind}s/{key}/skills")
