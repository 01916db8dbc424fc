"""The calendar feed of a member: a private tokenized iCalendar URL (``/calendar/<token>.ics``).

* The token (:data:`TOKEN_BYTES` random bytes, URL-safe) is shown once, when made; only its SHA-256 is stored. A
  new link replaces the hash (the old link stops working at once); turning the feed off deletes it.
* The feed needs no session: the token is the key. An unknown or revoked token, a deactivated member, or a token
  of another organization (looked up in this host's schema only) is a 404.
* Each feed is rate-limited: :data:`FETCHES_PER_WINDOW` fetches per :data:`WINDOW` (calendar apps poll every 15
  minutes to a few hours), then 429 with ``Retry-After``.
* It carries the live sessions the member may see (from :data:`PAST` ago to :data:`AHEAD` ahead, cancelled ones
  with ``STATUS:CANCELLED`` so calendars drop them) and the due dates of their enrollments and of the quizzes and
  assignments of the courses they are enrolled in; for a parent, those of each linked child too, labelled with
  the child's name. Times are UTC. It is made with the maintained ``icalendar`` library.
* What comes matters more than what went: up to :data:`EVENTS_MAX` upcoming items of each kind (soonest first),
  and up to :data:`PAST_MAX` past ones (latest first), so a busy calendar never loses next week to last month.
* A live class carries the address of its page (``/live/<id>``), never the meeting link: the page shows the link
  when it is time to join (to the class's staff always), and a cancelled class's link is of no use.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import icalendar
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect import i18n
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment
from tajiconnect.domains.courses.models import Course, Lesson
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.live import service
from tajiconnect.domains.live.links import label_of
from tajiconnect.domains.live.models import CalendarFeed, LiveSession
from tajiconnect.domains.people import relations
from tajiconnect.i18n import gettext as _

TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
WINDOW = datetime.timedelta(hours=1)
FETCHES_PER_WINDOW = 30
PAST = datetime.timedelta(days=60)
AHEAD = datetime.timedelta(days=400)
EVENTS_MAX = 500
PAST_MAX = 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def status(session: AsyncSession, user_id: uuid.UUID) -> CalendarFeed | None:
    return await session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user_id))


async def new_link(session: AsyncSession, user_id: uuid.UUID) -> str:
    """A new token for the member's feed (replacing any earlier one); returned once, stored hashed."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    values = {"token_hash": token_hash(token), "window_started_at": None, "window_count": 0,
              "last_fetched_at": None, "updated_at": service.now()}
    await session.execute(insert(CalendarFeed).values(id=uuid.uuid4(), user_id=user_id, **values)
                          .on_conflict_do_update(index_elements=["user_id"], set_=values))
    return token


async def revoke(session: AsyncSession, user_id: uuid.UUID) -> bool:
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))


async def by_token(session: AsyncSession, token: str) -> tuple[CalendarFeed, User] | None:
    """The feed and its (active) member for ``token``, or None."""
    if not TOKEN_RE.fullmatch(token or ""):
        return None
    row = (await session.execute(
        select(CalendarFeed, User).join(User, User.id == CalendarFeed.user_id)
        .where(CalendarFeed.token_hash == token_hash(token))
    )).tuples().first()
    if row is None or row[1].status != "active":
        return None
    return row[0], row[1]


async def claim_fetch(session: AsyncSession, feed: CalendarFeed) -> int | None:
    """Count this fetch in the feed's window; None when allowed, else the seconds until the window ends."""
    moment = service.now()
    fresh = CalendarFeed.window_started_at.is_(None) | (CalendarFeed.window_started_at <= moment - WINDOW)
    started, count = (await session.execute(
        update(CalendarFeed).where(CalendarFeed.id == feed.id)
        .values(window_started_at=case((fresh, moment), else_=CalendarFeed.window_started_at),
                window_count=case((fresh, 1), else_=CalendarFeed.window_count + 1),
                last_fetched_at=moment)
        .returning(CalendarFeed.window_started_at, CalendarFeed.window_count)
    )).tuples().one()
    if count <= FETCHES_PER_WINDOW:
        return None
    assert started is not None
    return max(1, int((started + WINDOW - moment).total_seconds()))


# --- what the feed carries ------------------------------------------------------------------------------------


@dataclass
class Due:
    uid: str
    at: datetime.datetime
    summary: str
    link: str


def _window(column: Any, moment: datetime.datetime, since: datetime.datetime, until: datetime.datetime,
            upcoming: bool) -> tuple[tuple[Any, ...], Any, int]:
    """(the conditions, the order, the limit) of one side of :func:`build`'s window on ``column``."""
    if upcoming:
        return (column >= moment, column <= until), column.asc(), EVENTS_MAX
    return (column >= since, column < moment), column.desc(), PAST_MAX


async def _sessions(session: AsyncSession, user: User, moment: datetime.datetime, since: datetime.datetime,
                    until: datetime.datetime, upcoming: bool) -> list[tuple[LiveSession, str]]:
    where, order, limit = _window(LiveSession.starts_at, moment, since, until, upcoming)
    rows = (await session.execute(
        select(LiveSession, func.coalesce(Group.name, Course.title, ""))
        .outerjoin(Group, Group.id == LiveSession.group_id).outerjoin(Course, Course.id == LiveSession.course_id)
        .where(service.visible_to(user), *where).order_by(order).limit(limit)
    )).tuples().all()
    return [(live, name) for live, name in rows]


async def _dues(session: AsyncSession, user: User, moment: datetime.datetime, since: datetime.datetime,
                until: datetime.datetime, upcoming: bool) -> list[Due]:
    """Due dates of the member's (and their children's) enrollments and of their courses' quizzes and assignments."""
    learners = select(User.id).where(
        (User.id == user.id) | User.id.in_(relations.children_of(user.id))).subquery()
    active = (Enrollment.user_id.in_(select(learners.c.id)), Enrollment.withdrawn_at.is_(None))
    enrolled_where, enrolled_order, limit = _window(Enrollment.due_at, moment, since, until, upcoming)
    work_where, work_order, _limit = _window(Assessment.due_at, moment, since, until, upcoming)
    courses = (await session.execute(
        select(Enrollment.id, Enrollment.user_id, User.name, Enrollment.due_at, Course.title, Course.id)
        .join(Course, Course.id == Enrollment.course_id).join(User, User.id == Enrollment.user_id)
        .where(*active, *enrolled_where).order_by(enrolled_order).limit(limit)
    )).tuples().all()
    work = (await session.execute(
        select(Assessment.id, Enrollment.user_id, User.name, Assessment.due_at, Lesson.title, Course.title,
               Assessment.kind, Assessment.lesson_id)
        .join(Enrollment, Enrollment.course_id == Assessment.course_id)
        .join(Lesson, Lesson.id == Assessment.lesson_id).join(Course, Course.id == Assessment.course_id)
        .join(User, User.id == Enrollment.user_id)
        .where(*active, *work_where).order_by(work_order).limit(limit)
    )).tuples().all()

    def label(learner_id: uuid.UUID, name: str, text: str) -> str:
        return text if learner_id == user.id else _("%(child)s: %(what)s") % {"child": name, "what": text}

    found = [Due(f"due-enrollment-{eid}", at,  # type: ignore[arg-type]
                 label(uid, name, _("Due: %(title)s") % {"title": title}),
                 f"/learn/courses/{cid}" if uid == user.id else f"/children/{uid}")
             for eid, uid, name, at, title, cid in courses]
    found += [Due(f"due-{kind}-{aid}-{uid}", at,  # type: ignore[arg-type]
                  label(uid, name, _("Due: %(title)s (%(course)s)") % {"title": title, "course": course}),
                  f"/learn/{'quizzes' if kind == 'quiz' else 'assignments'}/{lesson}" if uid == user.id
                  else f"/children/{uid}")
              for aid, uid, name, at, title, course, kind, lesson in work]
    return found


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


async def build(session: AsyncSession, user: User, *, host: str, base_url: str) -> bytes:
    """The member's calendar as iCalendar bytes (see the module)."""
    moment = service.now()
    since, until = moment - PAST, moment + AHEAD
    sessions = [*await _sessions(session, user, moment, since, until, upcoming=True),
                *await _sessions(session, user, moment, since, until, upcoming=False)]
    dues = [*await _dues(session, user, moment, since, until, upcoming=True),
            *await _dues(session, user, moment, since, until, upcoming=False)]
    with i18n.locale_context(user.locale):
        cal = icalendar.Calendar()
        cal.add("prodid", "-//TajiConnect//Live classes and due dates//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", _("%(name)s: classes and due dates") % {"name": user.name})
        cal.add("x-wr-timezone", "UTC")
        for live, audience in sessions:
            event = icalendar.Event()
            event.add("uid", f"live-{live.id}@{host}")
            event.add("dtstamp", _utc(moment))
            event.add("last-modified", _utc(live.updated_at))
            event.add("dtstart", _utc(live.starts_at))
            event.add("dtend", _utc(live.ends_at))
            event.add("summary", live.title)
            page = f"{base_url}/live/{live.id}"
            lines = [f"{audience}", f"{_(label_of(live.provider))}: {page}"]
            if live.description:
                lines.append(live.description)
            event.add("description", "\n".join(lines))
            event.add("location", page)
            event.add("url", page)
            event.add("status", "CANCELLED" if live.status == "cancelled" else "CONFIRMED")
            cal.add_component(event)
        for due in dues:
            event = icalendar.Event()
            event.add("uid", f"{due.uid}@{host}")
            event.add("dtstamp", _utc(moment))
            event.add("dtstart", _utc(due.at))
            event.add("dtend", _utc(due.at))
            event.add("summary", due.summary)
            event.add("url", f"{base_url}{due.link}")
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
        return bytes(cal.to_ical())


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url}/calendar/{token}.ics"
