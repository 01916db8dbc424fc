"""Announcements: who may post where, publishing (now or at ``publish_at``), who may read, edit, cancel, withdraw.

* **Who posts where** (:func:`may_post`): tenant-wide, org admins; to a group, its current leaders and admins; to a
  course, its staff (owner and co-teachers who may author) and admins. Anyone else has no scope (403); a group or
  course outside the author's scopes, or another organization's id, is "not found" (404).
* **The audience** (:func:`audience`), computed when the announcement is published, never later: tenant-wide,
  every active member with a role other than parent; a group, its current members and other leaders; a course,
  its enrolled (not withdrawn) learners and other staff. With ``include_parents``, the active parents linked to
  the audience's learners (``people.relations.parents_of``) are added. The author is never a recipient.
* **Publishing** (:func:`publish`) copies the audience into ``announcement_recipients`` in one ``INSERT ...
  SELECT`` (whatever its size), counts it, and defers the fan-out task (``tasks.deliver_announcement``) through
  the outbox, all in the caller's transaction. A scheduled announcement is published by the minutely task
  (``tasks.publish_due_announcements``) under a row lock, so exactly once.
* **Who reads**: the recipients recorded at publishing (a withdrawn one shows only that it was withdrawn), the
  author and admins. Scheduled and cancelled ones: the author and admins only. Everyone else: 404.
* **Changes**: the author or an admin edits or cancels a scheduled announcement; after publishing, only withdraws
  it (audited, ``announcement.withdrawn``); cancelling is audited too (``announcement.cancelled``).
* **Rate limit**: :data:`HOURLY_LIMIT` announcements per author per hour (429).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Uuid, and_, func, literal, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, can
from tajiconnect.domains.announcements.models import SCOPES, Announcement, AnnouncementRecipient
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses import markdown
from tajiconnect.domains.courses.access import is_staff, staff_filter
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments.models import Enrollment
from tajiconnect.domains.groups.models import Group, GroupMembership
from tajiconnect.domains.people import relations
from tajiconnect.i18n import gettext as _

PER_PAGE = 20
TITLE_MAX = 200
BODY_MAX = 20_000
HOURLY_LIMIT = 30
MAX_AHEAD = datetime.timedelta(days=366)
CHOICES_MAX = 200
#: Roles that make a member part of a tenant-wide audience (a parent-only member is reached through
#: ``include_parents``).
TENANT_ROLES = ("org_admin", "manager", "teacher", "student", "employer")


class AnnouncementError(Exception):
    """A refused announcement action: ``status`` (404 unknown or not visible, 403 not allowed, 400/409 a refused
    value, 429 too many) and ``field`` for a form or problem body."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def not_found() -> AnnouncementError:
    return AnnouncementError(_("No such announcement."), status=404)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def is_admin(user: Any) -> bool:
    return can(user, Permission.MANAGE_USERS)


def may_announce(user: Any) -> bool:
    """Whether ``user`` has any scope at all (admins, teachers, managers)."""
    return user is not None and user.is_active and (is_admin(user) or can(user, Permission.AUTHOR_COURSES))


# --- who posts where --------------------------------------------------------------------------------------------


@dataclass
class Choices:
    """The scopes an author may use: tenant-wide or not, and the groups and courses (id, name)."""

    tenant: bool
    groups: list[tuple[uuid.UUID, str]]
    courses: list[tuple[uuid.UUID, str]]

    @property
    def any(self) -> bool:
        return self.tenant or bool(self.groups) or bool(self.courses)


def _postable_groups(user: Any) -> Select[Any]:
    stmt = select(Group.id, Group.name).where(Group.archived_at.is_(None))
    if not is_admin(user):
        stmt = stmt.where(Group.id.in_(relations.groups_led_by(user.id)))
    return stmt


def _postable_courses(user: Any) -> Select[Any]:
    return select(Course.id, Course.title).where(Course.status != "archived", staff_filter(user))


async def choices(session: AsyncSession, user: Any) -> Choices:
    """What ``user`` may announce to (two statements; at most :data:`CHOICES_MAX` groups and courses each)."""
    if not may_announce(user):
        return Choices(False, [], [])
    groups = (await session.execute(_postable_groups(user).order_by(Group.name).limit(CHOICES_MAX))).all()
    courses = (await session.execute(_postable_courses(user).order_by(Course.title).limit(CHOICES_MAX))).all()
    return Choices(is_admin(user), [(r[0], r[1]) for r in groups], [(r[0], r[1]) for r in courses])


async def may_post(session: AsyncSession, user: Any, scope: str, target_id: Any) -> str:
    """The audience's label when ``user`` may announce to it (see the module), else :class:`AnnouncementError`."""
    if not may_announce(user):
        raise AnnouncementError(_("Only admins, teachers and managers post announcements."), status=403)
    if scope not in SCOPES:
        raise AnnouncementError(_("Choose who the announcement is for."), field="scope")
    if scope == "tenant":
        if not is_admin(user):
            raise AnnouncementError(_("Only admins announce to the whole organization."), status=403,
                                    field="scope")
        return ""
    key = parse_uuid(target_id)
    if scope == "group":
        group = await session.get(Group, key) if key else None
        if group is None or group.archived_at is not None or not (
                is_admin(user) or await session.scalar(select(
                    relations.groups_led_by(user.id).where(GroupMembership.group_id == group.id).exists()))):
            raise AnnouncementError(_("No such group among those you may announce to."), status=404,
                                    field="group_id")
        return group.name
    course = await session.get(Course, key) if key else None
    if course is None or course.status == "archived" or not is_staff(user, course):
        raise AnnouncementError(_("No such course among those you may announce to."), status=404,
                                field="course_id")
    return course.title


# --- the audience -------------------------------------------------------------------------------------------------


def _active(ids: Any) -> Select[tuple[uuid.UUID]]:
    sub = ids.subquery()
    column = next(iter(sub.c))
    return select(User.id).where(User.id.in_(select(column)), User.status == "active")


def learners(ann: Announcement) -> Select[tuple[uuid.UUID]]:
    """Ids of the audience's learners (whose parents ``include_parents`` adds)."""
    if ann.scope == "tenant":
        return select(User.id).where(User.status == "active", User.roles.contains(["student"]))
    if ann.scope == "group":
        return _active(select(GroupMembership.user_id).where(
            GroupMembership.group_id == ann.group_id, GroupMembership.role == "member", relations.CURRENT))
    return _active(select(Enrollment.user_id).where(
        Enrollment.course_id == ann.course_id, Enrollment.withdrawn_at.is_(None)))


def audience(ann: Announcement) -> Select[tuple[uuid.UUID]]:
    """Ids of the active members the announcement addresses, parents aside (see the module)."""
    if ann.scope == "tenant":
        ids: Select[tuple[uuid.UUID]] = select(User.id).where(
            User.status == "active", User.roles.overlap(list(TENANT_ROLES)))
    elif ann.scope == "group":
        ids = _active(select(GroupMembership.user_id).where(
            GroupMembership.group_id == ann.group_id, relations.CURRENT))
    else:
        enrolled = select(Enrollment.user_id.label("id")).where(
            Enrollment.course_id == ann.course_id, Enrollment.withdrawn_at.is_(None))
        owner = select(Course.owner_id.label("id")).where(Course.id == ann.course_id, Course.owner_id.is_not(None))
        co = select(func.unnest(Course.teacher_ids).label("id")).where(Course.id == ann.course_id)
        ids = _active(union(enrolled, owner, co))
    if ann.author_id is not None:
        ids = ids.where(User.id != ann.author_id)
    return ids


async def _add_recipients(session: AsyncSession, ann: Announcement, ids: Select[tuple[uuid.UUID]], via: str) -> None:
    sub = ids.subquery()
    column = next(iter(sub.c))
    rows = select(literal(ann.id, Uuid), column, literal(via))
    await session.execute(
        insert(AnnouncementRecipient).from_select(["announcement_id", "user_id", "via"], rows)
        .on_conflict_do_nothing(index_elements=["announcement_id", "user_id"]))


async def publish(session: AsyncSession, ann: Announcement, now: datetime.datetime | None = None) -> Announcement:
    """Publish ``ann`` (locked or new, status ``scheduled``) now: record its recipients, count them and defer
    the fan-out, in ``session``'s transaction."""
    from tajiconnect.domains.announcements.tasks import deliver_announcement
    from tajiconnect.tasks.outbox import defer

    await session.flush()
    await _add_recipients(session, ann, audience(ann), "audience")
    if ann.include_parents:
        parents = relations.parents_of(learners(ann))
        if ann.author_id is not None:
            parents = parents.where(User.id != ann.author_id)
        await _add_recipients(session, ann, parents, "parent")
    total, parents_n = (await session.execute(
        select(func.count(), func.count().filter(AnnouncementRecipient.via == "parent"))
        .where(AnnouncementRecipient.announcement_id == ann.id))).one()
    ann.recipient_count, ann.parent_count = int(total), int(parents_n)
    ann.status, ann.published_at = "published", now or _now()
    await session.flush()
    await defer(session, deliver_announcement, announcement_id=str(ann.id))
    return ann


async def publish_due(session: AsyncSession, now: datetime.datetime, limit: int = 100) -> int:
    """Publish the scheduled announcements whose time has come (locked: a concurrent run skips them). One whose
    author may no longer post to its audience (deactivated, no longer the class's leader or the course's staff, the
    class or course gone) is cancelled instead (audited as ``announcement.cancelled``, by the system)."""
    from tajiconnect.domains.audit.service import SYSTEM

    due = list((await session.scalars(
        select(Announcement).where(Announcement.status == "scheduled", Announcement.publish_at <= now)
        .order_by(Announcement.publish_at).limit(limit).with_for_update(skip_locked=True))).all())
    for ann in due:
        author = await session.get(User, ann.author_id) if ann.author_id is not None else None
        try:
            if author is None or not author.is_active:
                raise AnnouncementError(_("The author's account is gone."), status=403)
            await may_post(session, author, ann.scope, ann.group_id or ann.course_id)
        except AnnouncementError as refused:
            ann.status, ann.cancelled_at = "cancelled", now
            await session.flush()
            await record(session, SYSTEM, "announcement.cancelled", target_type="announcement", target_id=ann.id,
                         title=ann.title, scope=ann.scope, reason=refused.message,
                         author_id=str(ann.author_id) if ann.author_id else None)
            continue
        await publish(session, ann, now)
    return len(due)


# --- writing ------------------------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What an author submits (pages and API alike)."""

    title: str | None = None
    body: str | None = None
    publish_at: datetime.datetime | None = None
    include_parents: bool = False


def clean_title(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise AnnouncementError(_("Give the announcement a title."), field="title")
    if len(text) > TITLE_MAX:
        raise AnnouncementError(_("Keep the title under %(n)d characters.") % {"n": TITLE_MAX}, field="title")
    return text


def clean_body(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > BODY_MAX:
        raise AnnouncementError(_("Keep the message under %(n)d characters.") % {"n": BODY_MAX}, field="body")
    return text


def clean_publish_at(value: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime | None:
    """A future time (aware, within a year), or None for "now"."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise AnnouncementError(_("Give the time with its time zone."), field="publish_at")
    try:
        value = value.astimezone(datetime.UTC)
    except OverflowError as exc:  # year 1 east of UTC, year 9999 west of it
        raise AnnouncementError(_("Choose a time within a year."), field="publish_at") from exc
    if value <= now:
        raise AnnouncementError(_("Choose a time in the future, or publish now."), field="publish_at")
    if value - now > MAX_AHEAD:
        raise AnnouncementError(_("Choose a time within a year."), field="publish_at")
    return value


async def _check_rate(session: AsyncSession, user: Any, now: datetime.datetime) -> None:
    recent = await session.scalar(select(func.count()).select_from(Announcement).where(
        Announcement.author_id == user.id, Announcement.created_at > now - datetime.timedelta(hours=1)))
    if int(recent or 0) >= HOURLY_LIMIT:
        raise AnnouncementError(_("You posted many announcements in the last hour; try again later."), status=429)


async def create(session: AsyncSession, acting: Acting, *, scope: str, target_id: Any, draft: Draft) -> Announcement:
    """A new announcement, published now or scheduled (see the module)."""
    user, now = acting.user, _now()
    label = await may_post(session, user, scope, target_id)
    title, body = clean_title(draft.title), clean_body(draft.body)
    publish_at = clean_publish_at(draft.publish_at, now)
    await _check_rate(session, user, now)
    ann = Announcement(
        id=uuid.uuid4(), author_id=user.id, author_name=(user.name or user.email)[:200], scope=scope,
        group_id=parse_uuid(target_id) if scope == "group" else None,
        course_id=parse_uuid(target_id) if scope == "course" else None, audience_label=label[:200],
        title=title, body=body, body_html=markdown.render(body), include_parents=bool(draft.include_parents),
        status="scheduled", publish_at=publish_at or now, recipient_count=0, parent_count=0)
    session.add(ann)
    if publish_at is None:
        await publish(session, ann, now)
    else:
        await session.flush()
    return ann


def may_manage(user: Any, ann: Announcement) -> bool:
    """The author (while active) or an admin."""
    return user is not None and user.is_active and (is_admin(user) or ann.author_id == user.id)


GONE = ("cancelled", "withdrawn")


async def _managed(session: AsyncSession, user: Any, announcement_id: Any, *, live_only: bool = False
                   ) -> Announcement:
    key = parse_uuid(announcement_id)
    ann = await session.get(Announcement, key, with_for_update=True) if key else None
    if ann is None or (live_only and ann.status in GONE):
        raise not_found()
    if not may_manage(user, ann):
        if await _is_recipient(session, user, ann):
            raise AnnouncementError(_("Only the author or an admin changes an announcement."), status=403)
        raise not_found()
    return ann


async def update_scheduled(session: AsyncSession, acting: Acting, announcement_id: Any, *,
                           title: str | None = None, body: str | None = None,
                           publish_at: datetime.datetime | None = None, include_parents: bool | None = None,
                           publish_now: bool = False, live_only: bool = False) -> Announcement:
    """Change a scheduled announcement (its author or an admin); 409 once published or cancelled. Only the
    values given change; ``publish_now`` publishes it at once, when the one acting may still address its audience
    (a leader who no longer leads the class is refused, as the scheduled run would cancel it). ``live_only`` (the
    API): a cancelled or withdrawn one is gone (404)."""
    ann = await _managed(session, acting.user, announcement_id, live_only=live_only)
    if ann.status != "scheduled":
        raise AnnouncementError(_("Only a scheduled announcement can be changed."), status=409, field="status")
    now = _now()
    if title is not None:
        ann.title = clean_title(title)
    if body is not None:
        ann.body = clean_body(body)
        ann.body_html = markdown.render(ann.body)
    if include_parents is not None:
        ann.include_parents = include_parents
    if publish_now:  # published by whoever acts: they must (still) be allowed to address its audience
        try:
            await may_post(session, acting.user, ann.scope, ann.group_id or ann.course_id)
        except AnnouncementError as refused:
            raise AnnouncementError(_("You may no longer announce to this audience."), status=403) from refused
        await publish(session, ann, now)
    elif publish_at is not None:
        ann.publish_at = clean_publish_at(publish_at, now)
    await session.flush()
    return ann


async def take_back(session: AsyncSession, acting: Acting, announcement_id: Any, *, expect: str | None = None,
                    live_only: bool = False) -> Announcement:
    """Cancel a scheduled announcement, or withdraw a published one (audited); 409 when already done, or when
    its status is not ``expect`` (a page's button for the state it showed)."""
    ann = await _managed(session, acting.user, announcement_id, live_only=live_only)
    if expect is not None and ann.status != expect:
        raise AnnouncementError(_("This announcement changed meanwhile: reload the page."), status=409,
                                field="status")
    now = _now()
    if ann.status == "scheduled":
        ann.status, ann.cancelled_at = "cancelled", now
        action = "announcement.cancelled"
    elif ann.status == "published":
        ann.status, ann.withdrawn_at, ann.withdrawn_by_id = "withdrawn", now, acting.user.id
        action = "announcement.withdrawn"
    else:
        raise AnnouncementError(_("This announcement was already cancelled or withdrawn."), status=409,
                                field="status")
    await session.flush()
    await record(session, acting.actor, action, target_type="announcement", target_id=ann.id, title=ann.title,
                 scope=ann.scope, author_id=str(ann.author_id) if ann.author_id else None,
                 recipients=ann.recipient_count)
    return ann


# --- reading ------------------------------------------------------------------------------------------------------


async def _is_recipient(session: AsyncSession, user: Any, ann: Announcement) -> bool:
    if user is None or ann.status not in ("published", "withdrawn"):
        return False
    return bool(await session.scalar(select(select(AnnouncementRecipient.user_id).where(
        AnnouncementRecipient.announcement_id == ann.id, AnnouncementRecipient.user_id == user.id).exists())))


@dataclass
class Seen:
    """An announcement as ``viewer`` sees it: whether they manage it, and their recipient row's ``read_at``."""

    announcement: Announcement
    manages: bool
    recipient: bool
    read_at: datetime.datetime | None = None


async def get_visible(session: AsyncSession, user: Any, announcement_id: Any, *, mark_read: bool = False,
                      live_only: bool = False) -> Seen:
    """One announcement ``user`` may see (see the module), else a 404 error; ``mark_read`` records the
    recipient's first reading; ``live_only`` (the API): a cancelled or withdrawn one is gone (404)."""
    key = parse_uuid(announcement_id)
    ann = await session.get(Announcement, key) if key else None
    if ann is None or user is None or not user.is_active or (live_only and ann.status in GONE):
        raise not_found()
    row = None
    if ann.status in ("published", "withdrawn"):
        row = await session.get(AnnouncementRecipient, (ann.id, user.id))
    manages = may_manage(user, ann)
    if row is None and not manages:
        raise not_found()
    read_at = row.read_at if row is not None else None
    if row is not None and mark_read and row.read_at is None and ann.status == "published":
        row.read_at = read_at = _now()
        await session.flush()
    return Seen(ann, manages, row is not None, read_at)


async def _paged(session: AsyncSession, stmt: Select[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    total = int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    rows = (await session.execute(stmt.offset((max(page, 1) - 1) * per_page).limit(per_page))).all()
    return list(rows), total


async def inbox(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE,
                unread: bool = False) -> tuple[list[tuple[Announcement, datetime.datetime | None]], int]:
    """The published announcements addressed to ``user``, newest first, with their ``read_at`` (two statements)."""
    stmt = (select(Announcement, AnnouncementRecipient.read_at)
            .join(AnnouncementRecipient, AnnouncementRecipient.announcement_id == Announcement.id)
            .where(AnnouncementRecipient.user_id == user.id, Announcement.status == "published")
            .order_by(Announcement.published_at.desc(), Announcement.id))
    if unread:
        stmt = stmt.where(AnnouncementRecipient.read_at.is_(None))
    rows, total = await _paged(session, stmt, page, per_page)
    return [(r[0], r[1]) for r in rows], total


async def unread_count(session: AsyncSession, user: Any) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(AnnouncementRecipient)
        .join(Announcement, Announcement.id == AnnouncementRecipient.announcement_id)
        .where(AnnouncementRecipient.user_id == user.id, AnnouncementRecipient.read_at.is_(None),
               Announcement.status == "published")) or 0)


async def sent(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE,
               status: str | None = None) -> tuple[list[Announcement], int]:
    """The announcements ``user`` wrote (admins: every one of the organization), newest first."""
    stmt = select(Announcement).order_by(Announcement.created_at.desc(), Announcement.id)
    if not is_admin(user):
        stmt = stmt.where(Announcement.author_id == user.id)
    if status:
        stmt = stmt.where(Announcement.status == status)
    rows, total = await _paged(session, stmt, page, per_page)
    return [r[0] for r in rows], total


async def listing(session: AsyncSession, user: Any, *, page: int = 1, per_page: int = PER_PAGE,
                  mine: bool = False, status: str | None = None
                  ) -> tuple[list[tuple[Announcement, datetime.datetime | None, bool]], int]:
    """For the API: what ``user`` may see (published and addressed to them, or managed by them, any status),
    newest first, each with the recipient's ``read_at`` and whether ``user`` was addressed; ``mine``: only what
    they manage."""
    mine_rows = Announcement.author_id == user.id if not is_admin(user) else literal(True)
    addressed = and_(AnnouncementRecipient.user_id.is_not(None), Announcement.status == "published")
    stmt = (select(Announcement, AnnouncementRecipient.read_at, AnnouncementRecipient.user_id.is_not(None))
            .outerjoin(AnnouncementRecipient, and_(AnnouncementRecipient.announcement_id == Announcement.id,
                                                   AnnouncementRecipient.user_id == user.id))
            .where(mine_rows if mine else or_(mine_rows, addressed))
            .order_by(func.coalesce(Announcement.published_at, Announcement.publish_at).desc(), Announcement.id))
    if status:
        stmt = stmt.where(Announcement.status == status)
    rows, total = await _paged(session, stmt, page, per_page)
    return [(r[0], r[1], bool(r[2])) for r in rows], total


async def mark_all_read(session: AsyncSession, user: Any) -> int:
    result = await session.execute(update(AnnouncementRecipient).where(
        AnnouncementRecipient.user_id == user.id, AnnouncementRecipient.read_at.is_(None)).values(read_at=_now()))
    return int(getattr(result, "rowcount", 0) or 0)
