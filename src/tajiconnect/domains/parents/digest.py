"""The weekly digest: each parent is told their children's week, by email or SMS per their preferences.

* Sent by the weekly per-tenant task ``send_weekly_digests`` (``tasks.py``) through :func:`notify` with the category
  ``weekly_digest`` (email by default; SMS or in-app as the parent chooses on their preferences page).
* Exactly once per parent and ISO week: the key is ``weekly_digest:<iso year>-W<week>`` (a rerun, a retried job, a
  second fan-out of the same week notify nobody twice).
* Skipped when there is nothing to say: no child learned, completed, was graded, nor has work due next week or
  overdue.
* Each child's week: minutes learned and lessons completed in the last 7 days, courses completed, grades
  **released** in those 7 days (with feedback), work due in the next 7 days, overdue work (within 14 days, not
  submitted). The email (``templates/email/weekly_digest.*``) is rendered from the notification's ``data``, in
  the parent's language; an SMS carries the title (a one-line summary per child) and the link to the home.
* Parents are read in batches of :data:`BATCH` (keyset by id), one transaction each; a batch costs a fixed number
  of statements for its children, plus :func:`notify`'s own per parent.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import any_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.parents import overview
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.i18n import N_

CATEGORY = "weekly_digest"
BATCH = 200
WEEK = datetime.timedelta(days=7)
#: At most this many lines of each list per child (the email says how many more).
LINES = 10


def week_key(now: datetime.datetime) -> str:
    """``weekly_digest:2026-W49``: the ISO week of ``now`` (UTC)."""
    year, week, _day = now.astimezone(datetime.UTC).isocalendar()
    return f"{CATEGORY}:{year}-W{week:02d}"


@dataclass
class ChildWeek:
    id: uuid.UUID
    name: str
    minutes: int = 0
    lessons: int = 0
    completed: list[str] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)
    grades_total: int = 0
    due: list[dict[str, Any]] = field(default_factory=list)
    overdue: list[dict[str, Any]] = field(default_factory=list)
    work_total: int = 0

    @property
    def has_news(self) -> bool:
        return bool(self.minutes or self.lessons or self.completed or self.grades or self.due or self.overdue)

    def as_data(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "name": self.name, "minutes": self.minutes, "lessons": self.lessons,
            "completed": self.completed, "grades": self.grades,
            "grades_more": max(self.grades_total - len(self.grades), 0),
            "due": self.due, "overdue": self.overdue,
            "work_more": max(self.work_total - len(self.due) - len(self.overdue), 0),
        }


@dataclass(frozen=True)
class Summary:
    """The title's summary, worded in the recipient's language when the notification is rendered
    (``notifications.service.render`` calls :meth:`localized` in their locale)."""

    children: tuple[dict[str, Any], ...]

    def localized(self) -> str:
        return "; ".join(summary_line(child, i18n.gettext, i18n.ngettext) for child in self.children)


def summary_line(child: dict[str, Any], gettext: Callable[[str], str],
                 ngettext: Callable[[str, str, int], str]) -> str:
    """``Amina: 3 lessons, 2 grades, 1 due, 1 overdue`` (pure: the unit tests pass plain functions)."""
    parts = []
    if child["lessons"]:
        parts.append(ngettext("%(num)d lesson", "%(num)d lessons", child["lessons"]) % {"num": child["lessons"]})
    grades = len(child["grades"]) + child.get("grades_more", 0)
    if grades:
        parts.append(ngettext("%(num)d new grade", "%(num)d new grades", grades) % {"num": grades})
    if child["due"]:
        parts.append(ngettext("%(num)d due", "%(num)d due", len(child["due"])) % {"num": len(child["due"])})
    if child["overdue"]:
        parts.append(ngettext("%(num)d overdue", "%(num)d overdue", len(child["overdue"]))
                     % {"num": len(child["overdue"])})
    if not parts and child["minutes"]:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", child["minutes"]) % {"num": child["minutes"]})
    return f"{child['name']}: {', '.join(parts) if parts else gettext('a quiet week')}"


def _number(value: Any) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)


async def weeks_of(session: AsyncSession, child_rows: list[tuple[uuid.UUID, str]], now: datetime.datetime
                   ) -> dict[uuid.UUID, ChildWeek]:
    """The week of each child (``(id, name)`` pairs): four statements for them all."""
    weeks = {cid: ChildWeek(cid, name) for cid, name in child_rows}
    if not weeks:
        return weeks
    ids = overview._ids(list(weeks))
    since = now - WEEK
    for cid, stats in (await overview._stats(session, ids, now)).items():
        weeks[cid].minutes, weeks[cid].lessons = stats.week_minutes, stats.week_lessons
    grades = await overview._grades(session, ids, LINES, since=since)
    for cid, (items, total) in grades.items():
        weeks[cid].grades_total = total
        weeks[cid].grades = [{"title": g.title, "course": g.course_title, "score": _number(g.score),
                              "max": _number(g.max_points), "percent": _number(g.percent), "comment": g.comment[:500]}
                             for g in items]
    work = await overview._work(session, ids, LINES, now - datetime.timedelta(days=overview.OVERDUE_DAYS),
                                now + WEEK, now)
    for cid, (due, total, _late) in work.items():
        weeks[cid].work_total = total
        for w in due:
            line = {"title": w.title, "course": w.course_title, "kind": w.kind, "due": w.due_at.isoformat()}
            (weeks[cid].overdue if w.overdue(now) else weeks[cid].due).append(line)
    done = await session.execute(
        select(Enrollment.user_id, Course.title)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.user_id == any_(ids), Enrollment.withdrawn_at.is_(None), Enrollment.status == "completed",
               Enrollment.completed_at >= since)
        .order_by(Enrollment.user_id, Enrollment.completed_at)
    )
    for cid, title in done.all():
        if len(weeks[cid].completed) < LINES:
            weeks[cid].completed.append(title)
    return weeks


async def _parents_batch(session: AsyncSession, after: uuid.UUID | None) -> list[User]:
    """The next active parents (by id) who have at least one active linked child."""
    child = User.__table__.alias("child")
    has_child = (
        select(ParentLink.id)
        .join(child, child.c.id == ParentLink.learner_id)
        .where(ParentLink.parent_id == User.id, child.c.status == "active")
        .exists()
    )
    stmt = select(User).where(User.status == "active", any_(User.roles) == "parent", has_child)
    if after is not None:
        stmt = stmt.where(User.id > after)
    return list((await session.scalars(stmt.order_by(User.id).limit(BATCH))).all())


async def _children_of(session: AsyncSession, parent_ids: list[uuid.UUID]
                       ) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    rows = await session.execute(
        select(ParentLink.parent_id, User.id, User.name)
        .join(User, User.id == ParentLink.learner_id)
        .where(ParentLink.parent_id == any_(overview._ids(parent_ids)), User.status == "active")
        .order_by(ParentLink.parent_id, func.lower(User.name), User.id)
    )
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for parent_id, child_id, name in rows.all():
        out.setdefault(parent_id, []).append((child_id, name))
    return out


async def send_batch(session: AsyncSession, parents: list[User], now: datetime.datetime) -> dict[str, int]:
    """Notify each of ``parents`` of their children's week (once per week: the key), unless there is no news."""
    from tajiconnect.domains.notifications.service import notify

    children = await _children_of(session, [p.id for p in parents])
    pairs = {pair for rows in children.values() for pair in rows}
    weeks = await weeks_of(session, sorted(pairs), now)
    key = week_key(now)
    counts = {"notified": 0, "quiet": 0, "already": 0}
    start, end = (now - WEEK).date(), now.date()
    for parent in parents:
        mine = [weeks[cid] for cid, _name in children.get(parent.id, [])]
        if not any(w.has_news for w in mine):
            counts["quiet"] += 1
            continue
        data = [w.as_data() for w in mine]
        created = await notify(
            session, parent, CATEGORY, key=key,
            title=N_("Weekly summary: %(summary)s"),
            body=N_("Your children's week, from %(start)s to %(end)s."),
            params={"summary": Summary(tuple(data)), "start": start, "end": end},
            link="/", data={"week": key.split(":", 1)[1], "start": start.isoformat(), "end": end.isoformat(),
                            "children": data},
        )
        counts["notified" if created is not None else "already"] += 1
    return counts


async def send_weekly_digests(engine: AsyncEngine, now: datetime.datetime,
                              after_batch: Callable[[AsyncSession], Any] | None = None) -> dict[str, int]:
    """Every parent of the tenant in scope, batch by batch (one transaction each; see the module)."""
    totals = {"notified": 0, "quiet": 0, "already": 0}
    after: uuid.UUID | None = None
    while True:
        async with session_scope(engine) as session:
            parents = await _parents_batch(session, after)
            if not parents:
                break
            counts = await send_batch(session, parents, now)
            after = parents[-1].id
        if after_batch is not None:
            await after_batch(session)
        for name, value in counts.items():
            totals[name] += value
        if len(parents) < BATCH:
            break
    return totals
