"""Live sessions: scheduling, who sees and runs them, attendance (for the pages and the API alike).

Who may do what (``docs/live.md``):

* **Schedule** for a class: its current leaders and admins; for a course: its staff (owner, co-teachers) and admins.
* **Edit, cancel, mark attendance**: the staff of the session's audience (the class's current leaders, the course's
  staff) and admins.
* **See**: those, the audience's learners (the class's current members, the course's enrolled learners) and, when
  the session includes parents, the parents linked to those learners. Nobody else: a session anyone else asks for
  is "not found", like another organization's ids.

The join link is shown from :data:`JOIN_EARLY` before the start until the end; attendance is marked from then on.
"""

from __future__ import annotations

import datetime
import functools
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.live.links import LinkError, parse_link
from tajiconnect.domains.live.models import ATTENDANCE_STATUSES, LiveAttendance, LiveSession
from tajiconnect.domains.people import relations
from tajiconnect.i18n import _

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
DURATION_MIN, DURATION_MAX = 5, 600
JOIN_EARLY = datetime.timedelta(minutes=15)
#: How far back a start may be when scheduling (a form filled in slowly), and how far ahead.
PAST_GRACE = datetime.timedelta(minutes=5)
FUTURE_MAX = datetime.timedelta(days=730)
PER_PAGE = 20
ATTENDANCE_PER_PAGE = 50
ViewerRole = Literal["admin", "staff", "learner", "parent"]


class LiveError(Exception):
    """A refused action: ``status`` (404 unknown or not visible, 403 not allowed, 400/409/422 refused value) and
    ``field`` for a form or problem body."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def not_found() -> LiveError:
    return LiveError(_("No such live session."), status=404)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@functools.cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone named ``name``, UTC when it is unknown (a member's stored zone is shown, never trusted)."""
    if name and name in time_zones():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def is_admin(user: Any) -> bool:
    return can(user, Permission.MANAGE_USERS)


# --- input --------------------------------------------------------------------------------------------------


@dataclass
class SessionInput:
    """What a teacher gives (from the form or the API), validated by :func:`clean`."""

    title: str
    starts_at: datetime.datetime  # aware
    duration_minutes: int
    time_zone: str
    meeting_url: str
    description: str = ""
    include_parents: bool = False
    group_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None


def parse_local(text: str, zone_name: str) -> datetime.datetime | None:
    """``YYYY-MM-DDTHH:MM`` (a ``datetime-local`` field) read in ``zone_name``, as UTC; None when malformed."""
    try:
        naive = datetime.datetime.fromisoformat((text or "").strip()[:32])
    except ValueError:
        return None
    if naive.tzinfo is not None or not (1900 < naive.year < 9000):
        return None
    return naive.replace(tzinfo=zone(zone_name)).astimezone(datetime.UTC)


def to_utc(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` (aware) in UTC to the second; :class:`LiveError` for a naive one or one out of range."""
    if moment.tzinfo is None:
        raise LiveError(_("Give the start with its time zone."), status=422, field="starts_at")
    try:
        return moment.astimezone(datetime.UTC).replace(microsecond=0)
    except (OverflowError, ValueError) as exc:  # e.g. year 1 at UTC+14
        raise LiveError(_("The start is in the past."), status=422, field="starts_at") from exc


def clean(data: SessionInput, *, starts_changed: bool = True) -> tuple[SessionInput, str]:
    """The input trimmed and checked, with the link's provider; :class:`LiveError` naming the first bad field."""
    data.title = (data.title or "").strip()
    data.description = (data.description or "").strip()
    data.time_zone = (data.time_zone or "").strip()
    if not data.title:
        raise LiveError(_("Give the session a title."), status=422, field="title")
    if len(data.title) > TITLE_MAX:
        raise LiveError(_("Keep the title under %(max)d characters.") % {"max": TITLE_MAX}, status=422, field="title")
    if len(data.description) > DESCRIPTION_MAX:
        raise LiveError(_("Keep the description under %(max)d characters.") % {"max": DESCRIPTION_MAX}, status=422,
                        field="description")
    if data.time_zone not in time_zones():
        raise LiveError(_("Choose a time zone such as Africa/Nairobi."), status=422, field="time_zone")
    if not DURATION_MIN <= data.duration_minutes <= DURATION_MAX:
        bounds = {"min": DURATION_MIN, "max": DURATION_MAX}
        raise LiveError(_("The duration is between %(min)d and %(max)d minutes.") % bounds, status=422,
                        field="duration_minutes")
    data.starts_at = to_utc(data.starts_at)
    if starts_changed and data.starts_at < now() - PAST_GRACE:
        raise LiveError(_("The start is in the past."), status=422, field="starts_at")
    if data.starts_at > now() + FUTURE_MAX:
        raise LiveError(_("The start is too far ahead."), status=422, field="starts_at")
    try:
        link = parse_link(data.meeting_url)
    except LinkError as exc:
        raise LiveError(_(exc.message), status=422, field="meeting_url") from exc
    data.meeting_url = link.url
    return data, link.provider


# --- who is who ---------------------------------------------------------------------------------------------


async def _contains(session: AsyncSession, ids: Select[tuple[uuid.UUID]], user_id: uuid.UUID) -> bool:
    sub = ids.subquery()
    column = next(iter(sub.c))
    return bool(await session.scalar(select(literal(True)).where(select(column).where(column == user_id).exists())))


def audience(live: LiveSession) -> Select[tuple[uuid.UUID]]:
    """Ids of the session's learners: the class's current members, or the course's enrolled learners."""
    if live.group_id is not None:
        return relations.members_of_group(live.group_id)
    assert live.course_id is not None
    return relations.learners_in_course(live.course_id)


def staff(live: LiveSession) -> Select[tuple[uuid.UUID]]:
    if live.group_id is not None:
        return relations.leaders_of_group(live.group_id)
    assert live.course_id is not None
    return relations.staff_of_course(live.course_id)


def recipients(live: LiveSession) -> Select[tuple[uuid.UUID]]:
    """Who is told of the session: its learners, and their parents when it includes them."""
    learners = audience(live)
    if not live.include_parents:
        return learners
    return select(User.id).where(or_(User.id.in_(learners), User.id.in_(relations.parents_of(learners))))


async def role_of(session: AsyncSession, user: Any, live: LiveSession) -> ViewerRole | None:
    """How ``user`` relates to the session (the strongest), or None when it is not theirs to see."""
    if is_admin(user):
        return "admin"
    if await _contains(session, staff(live), user.id):
        return "staff"
    if await _contains(session, audience(live), user.id):
        return "learner"
    if live.include_parents and await _contains(session, relations.parents_of(audience(live)), user.id):
        return "parent"
    return None


def visible_to(user: Any) -> ColumnElement[bool]:
    """A condition on :class:`LiveSession`: the sessions ``user`` may see (see the module)."""
    if user is None or not user.is_active:
        return false()
    if is_admin(user):
        return true()
    uid = user.id
    current = relations.CURRENT  # a membership not ended, in a group not archived (as role_of decides)
    my_classes = select(GroupMembership.group_id).where(
        GroupMembership.user_id == uid, GroupMembership.role == "member", current)
    my_courses = select(Enrollment.course_id).where(Enrollment.user_id == uid, Enrollment.withdrawn_at.is_(None))
    children = relations.children_of(uid)
    their_classes = select(GroupMembership.group_id).where(
        GroupMembership.user_id.in_(children), GroupMembership.role == "member", current)
    their_courses = select(Enrollment.course_id).where(
        Enrollment.user_id.in_(children), Enrollment.withdrawn_at.is_(None))
    return or_(
        LiveSession.group_id.in_(relations.groups_led_by(uid)),
        LiveSession.course_id.in_(relations.courses_taught_by(uid)),
        LiveSession.group_id.in_(my_classes),
        LiveSession.course_id.in_(my_courses),
        and_(LiveSession.include_parents,
             or_(LiveSession.group_id.in_(their_classes), LiveSession.course_id.in_(their_courses))),
    )


async def get_visible(session: AsyncSession, user: Any, session_id: Any) -> tuple[LiveSession, ViewerRole]:
    key = parse_uuid(session_id)
    live = await session.get(LiveSession, key) if key else None
    role = await role_of(session, user, live) if live is not None else None
    if live is None or role is None:
        raise not_found()
    return live, role


async def get_managed(session: AsyncSession, user: Any, session_id: Any) -> LiveSession:
    """The session, for its staff and admins; 404 when not visible, 403 when visible but not theirs to run."""
    live, role = await get_visible(session, user, session_id)
    if role not in ("admin", "staff"):
        raise LiveError(_("Only the class's teachers and admins change this session."), status=403)
    return live


# --- what a teacher may schedule for ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: Literal["group", "course"]
    id: uuid.UUID
    name: str

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.id}"


TARGETS_MAX = 200


async def targets_for(session: AsyncSession, user: Any) -> list[Target]:
    """The classes and courses ``user`` may schedule for (admins: every class and course), by name."""
    groups = select(Group.id, Group.name).where(Group.archived_at.is_(None))
    courses = select(Course.id, Course.title).where(Course.status != "archived")
    if not is_admin(user):
        groups = groups.where(Group.id.in_(relations.groups_led_by(user.id)))
        courses = courses.where(Course.id.in_(relations.courses_taught_by(user.id)))
    found = [Target("group", i, n) for i, n in (await session.execute(groups.order_by(Group.name)
                                                                      .limit(TARGETS_MAX))).tuples()]
    found += [Target("course", i, n) for i, n in (await session.execute(courses.order_by(Course.title)
                                                                        .limit(TARGETS_MAX))).tuples()]
    return found


def parse_target(value: str) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    kind, _sep, ident = (value or "").partition(":")
    key = parse_uuid(ident)
    if key is None or kind not in ("group", "course"):
        return None, None
    return (key, None) if kind == "group" else (None, key)


async def check_target(session: AsyncSession, user: Any, group_id: uuid.UUID | None,
                       course_id: uuid.UUID | None) -> None:
    """:class:`LiveError` unless ``user`` may schedule for the class or course (one of the two)."""
    if (group_id is None) == (course_id is None):
        raise LiveError(_("Choose a class or a course."), status=422, field="target")
    if group_id is not None:
        group = await session.get(Group, group_id)
        ok = group is not None and group.archived_at is None and (
            is_admin(user) or await _contains(session, relations.leaders_of_group(group_id), user.id))
    else:
        course = await session.get(Course, course_id)
        ok = course is not None and course.status != "archived" and (
            is_admin(user) or await _contains(session, relations.staff_of_course(course_id), user.id))  # type: ignore[arg-type]
    if not ok:
        raise LiveError(_("Choose one of your classes or courses."), status=422, field="target")


# --- scheduling, editing, cancelling ------------------------------------------------------------------------


async def schedule(session: AsyncSession, acting: Acting, data: SessionInput) -> LiveSession:
    data, provider = clean(data)
    await check_target(session, acting.user, data.group_id, data.course_id)
    live = LiveSession(
        group_id=data.group_id, course_id=data.course_id, title=data.title, description=data.description,
        starts_at=data.starts_at, duration_minutes=data.duration_minutes, time_zone=data.time_zone,
        meeting_url=data.meeting_url, provider=provider, include_parents=data.include_parents,
        created_by_id=acting.user.id, announced_at=now(),
    )
    session.add(live)
    await session.flush()
    await record(session, acting.actor, "live.scheduled", target_type="live_session", target_id=live.id,
                 title=live.title, starts_at=live.starts_at.isoformat())
    await _announce(session, live, "scheduled")
    return live


async def update(session: AsyncSession, acting: Acting, live: LiveSession, data: SessionInput) -> LiveSession:
    """Change a scheduled session that has not ended (its audience stays); a new time is announced again."""
    if live.status != "scheduled":
        raise LiveError(_("This session was cancelled."), status=409, field="status")
    if live.ends_at <= now():
        raise LiveError(_("This session is over."), status=409, field="starts_at")
    moved = to_utc(data.starts_at) != live.starts_at
    data, provider = clean(data, starts_changed=moved)
    live.title, live.description, live.time_zone = data.title, data.description, data.time_zone
    live.duration_minutes, live.meeting_url, live.provider = data.duration_minutes, data.meeting_url, provider
    live.include_parents = data.include_parents
    if moved:
        live.starts_at, live.announced_at = data.starts_at, now()
    await session.flush()
    await record(session, acting.actor, "live.updated", target_type="live_session", target_id=live.id,
                 title=live.title, starts_at=live.starts_at.isoformat(), moved=moved)
    if moved:
        await _announce(session, live, "moved")
    return live


async def cancel(session: AsyncSession, acting: Acting, live: LiveSession) -> LiveSession:
    if live.status == "cancelled":
        raise LiveError(_("This session is already cancelled."), status=409, field="status")
    if live.ends_at <= now():
        raise LiveError(_("This session is over."), status=409, field="status")
    live.status, live.cancelled_at = "cancelled", now()
    await session.flush()
    await record(session, acting.actor, "live.cancelled", target_type="live_session", target_id=live.id,
                 title=live.title)
    await _announce(session, live, "cancelled")
    return live


async def _announce(session: AsyncSession, live: LiveSession, event: str) -> None:
    from tajiconnect.domains.live.tasks import announce_live_session
    from tajiconnect.tasks.outbox import defer

    await defer(session, announce_live_session, session_id=str(live.id), event=event,
                stamp=live.starts_at.isoformat())


# --- lists --------------------------------------------------------------------------------------------------


@dataclass
class Listed:
    live: LiveSession
    audience_name: str
    #: The viewer teaches the session's class or course (the API shows its staff the link at any time).
    staff: bool = False


def _ends_at() -> ColumnElement[datetime.datetime]:
    return LiveSession.starts_at + func.make_interval(0, 0, 0, 0, 0, LiveSession.duration_minutes)


async def list_for(session: AsyncSession, user: Any, *, when: str = "upcoming", page: int = 1,
                   per_page: int = PER_PAGE) -> tuple[list[Listed], int]:
    """The sessions ``user`` may see: upcoming (not ended, soonest first) or past (latest first)."""
    moment = now()
    where = [visible_to(user), _ends_at() >= moment if when != "past" else _ends_at() < moment]
    total = int(await session.scalar(select(func.count()).select_from(LiveSession).where(*where)) or 0)
    order = LiveSession.starts_at.asc() if when != "past" else LiveSession.starts_at.desc()
    teaches = or_(LiveSession.group_id.in_(relations.groups_led_by(user.id)),
                  LiveSession.course_id.in_(relations.courses_taught_by(user.id)))
    rows = (await session.execute(
        select(LiveSession, func.coalesce(Group.name, Course.title, ""), teaches)
        .outerjoin(Group, Group.id == LiveSession.group_id).outerjoin(Course, Course.id == LiveSession.course_id)
        .where(*where).order_by(order, LiveSession.id).offset((page - 1) * per_page).limit(per_page)
    )).tuples().all()
    return [Listed(live, name, bool(staff)) for live, name, staff in rows], total


async def audience_name(session: AsyncSession, live: LiveSession) -> str:
    if live.group_id is not None:
        return str(await session.scalar(select(Group.name).where(Group.id == live.group_id)) or "")
    return str(await session.scalar(select(Course.title).where(Course.id == live.course_id)) or "")


def join_open(live: LiveSession, at: datetime.datetime | None = None) -> bool:
    """The join link is shown from :data:`JOIN_EARLY` before the start until the end (never once cancelled)."""
    at = at or now()
    return live.status == "scheduled" and live.starts_at - JOIN_EARLY <= at < live.ends_at


def marking_open(live: LiveSession, at: datetime.datetime | None = None) -> bool:
    """Attendance is marked during and after the session (from when the join link shows)."""
    return live.status == "scheduled" and (at or now()) >= live.starts_at - JOIN_EARLY


# --- attendance ---------------------------------------------------------------------------------------------


@dataclass
class AttendanceRow:
    user_id: uuid.UUID
    name: str
    email: str
    status: str | None
    marked_at: datetime.datetime | None


def _rows(live: LiveSession, learners: Select[tuple[uuid.UUID]]) -> Select[Any]:
    return (
        select(User.id, User.name, User.email, LiveAttendance.status, LiveAttendance.marked_at)
        .outerjoin(LiveAttendance, and_(LiveAttendance.session_id == live.id, LiveAttendance.user_id == User.id))
        .where(User.id.in_(learners))
        .order_by(User.name, User.id)
    )


async def attendance(session: AsyncSession, live: LiveSession, *, page: int | None = 1,
                     per_page: int = ATTENDANCE_PER_PAGE) -> tuple[list[AttendanceRow], int]:
    """The audience's learners with their marks (None: not marked), by name; every row when ``page`` is None."""
    learners = audience(live)
    total = int(await session.scalar(select(func.count()).select_from(learners.subquery())) or 0)
    stmt = _rows(live, learners)
    if page is not None:
        stmt = stmt.offset((page - 1) * per_page).limit(per_page)
    rows = (await session.execute(stmt)).tuples().all()
    return [AttendanceRow(*row) for row in rows], total


async def attendance_of(session: AsyncSession, live: LiveSession, learner_ids: Select[tuple[uuid.UUID]]
                        ) -> list[AttendanceRow]:
    """The marks of ``learner_ids`` (a learner's own, a parent's children) among the session's learners."""
    rows = (await session.execute(_rows(live, audience(live)).where(User.id.in_(learner_ids)))).tuples().all()
    return [AttendanceRow(*row) for row in rows]


async def set_marks(session: AsyncSession, acting: Acting, live: LiveSession,
                    marks: list[tuple[Any, str]]) -> int:
    """Mark each ``(learner id, status)``; every learner must be one of the session's. The number marked."""
    if not marking_open(live):
        raise LiveError(_("Attendance is marked from 15 minutes before the start.") if live.status == "scheduled"
                        else _("This session was cancelled."), status=409, field="status")
    wanted: dict[uuid.UUID, str] = {}
    for learner, status in marks:
        key = parse_uuid(learner)
        if status not in ATTENDANCE_STATUSES:
            raise LiveError(_("Choose present, late, absent or excused."), status=422, field="status")
        if key is None:
            raise LiveError(_("Not a learner of this session."), status=422, field="user_id")
        wanted[key] = status
    if not wanted:
        return 0
    learners = audience(live).subquery()
    column = next(iter(learners.c))
    known = set((await session.scalars(select(column).where(column.in_(list(wanted))))).all())
    if known != set(wanted):
        raise LiveError(_("Not a learner of this session."), status=422, field="user_id")
    moment = now()
    statement = insert(LiveAttendance).values([
        {"id": uuid.uuid4(), "session_id": live.id, "user_id": key, "status": status,
         "marked_by_id": acting.user.id, "marked_at": moment}
        for key, status in wanted.items()
    ])
    await session.execute(statement.on_conflict_do_update(
        constraint="uq_live_attendance_session_user",
        set_={"status": statement.excluded.status, "marked_by_id": statement.excluded.marked_by_id,
              "marked_at": statement.excluded.marked_at, "updated_at": moment},
    ))
    return len(wanted)


async def mark_all_present(session: AsyncSession, acting: Acting, live: LiveSession) -> int:
    """Mark every learner not marked yet present (marks already made stay). The number marked."""
    if not marking_open(live):
        raise LiveError(_("Attendance is marked from 15 minutes before the start."), status=409, field="status")
    moment = now()
    learners = audience(live).subquery()
    column = next(iter(learners.c))
    source = select(func.gen_random_uuid(), literal(live.id), column, literal("present"), literal(acting.user.id),
                    literal(moment), literal(moment), literal(moment))
    result = await session.execute(
        insert(LiveAttendance).from_select(
            ["id", "session_id", "user_id", "status", "marked_by_id", "marked_at", "created_at", "updated_at"],
            source,
        ).on_conflict_do_nothing(constraint="uq_live_attendance_session_user")
    )
    return int(getattr(result, "rowcount", 0) or 0)
