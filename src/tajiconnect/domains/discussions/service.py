"""Course discussions and Q&A: every rule (docs/discussions.md). Pages and API only translate outcomes.

Every lookup goes through the course's read rule in the query itself (``access.read_filter``): a course, thread or
post the caller may not read, another organization's included, is "not found" (404), never "forbidden", so ids do
not leak. Moderation needs the course's staff or an admin (403 for a reader who is not).

Replies and mentions notify in the background (``tasks.notify_new_post``, deferred through the outbox in the
post's own transaction): once per post and recipient (key ``discussion:post:<id>``), whatever repeats.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Acting, record
from tajiconnect.domains.courses.markdown import render
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.discussions.access import course_member_filter, may_moderate, moderate_filter, read_filter
from tajiconnect.domains.discussions.models import (
    THREAD_KINDS,
    DiscussionPost,
    DiscussionReport,
    DiscussionSubscription,
    DiscussionThread,
)
from tajiconnect.i18n import gettext as _

TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 500
SEARCH_MAX = 100
PER_PAGE = 20
POSTS_PER_PAGE = 30
MENTIONS_MAX = 20
#: At most this many posts (threads and replies) per member per minute, and reports per hour: cheap to abuse.
POSTS_PER_MINUTE = 6
REPORTS_PER_HOUR = 20

MENTION_RE = re.compile(r"(?<![\w@.])@(\w[\w.\-]{0,63})")


class DiscussionError(Exception):
    """A refused action: ``status`` (404 not found or not readable, 403 not allowed, 400/409 refused value, 429
    too many) and ``field`` for a form or problem body."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def not_found() -> DiscussionError:
    return DiscussionError(_("No such discussion here."), status=404)


def forbidden() -> DiscussionError:
    return DiscussionError(_("Only the course's teachers and admins may do this."), status=403)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- mentions -------------------------------------------------------------------------------------------------


def handle_of(text: str) -> str:
    """A member's mention handle: their name lower-cased without spaces or punctuation (``@aminawanjiru``)."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def mention_handles(body: str) -> list[str]:
    """The handles ``@name`` in ``body`` (at most :data:`MENTIONS_MAX`, each once, in order)."""
    seen: list[str] = []
    for raw in MENTION_RE.findall(body or ""):
        handle = handle_of(raw)
        if handle and handle not in seen:
            seen.append(handle)
        if len(seen) >= MENTIONS_MAX:
            break
    return seen


def _handle_sql(column: Any) -> Any:
    return func.lower(func.regexp_replace(column, "[^[:alnum:]]", "", "g"))


async def mentioned_ids(session: AsyncSession, course: Course, body: str, author_id: uuid.UUID) -> list[uuid.UUID]:
    """The course members (staff and enrolled learners) ``body`` mentions by name handle or by the local part of
    their email address; nobody else, never the author."""
    handles = mention_handles(body)
    if not handles:
        return []
    local_part = func.split_part(User.email, "@", 1)
    rows = await session.scalars(select(User.id).where(
        (_handle_sql(User.name).in_(handles)) | (_handle_sql(local_part).in_(handles)),
        course_member_filter(course), User.id != author_id,
    ).order_by(User.id).limit(MENTIONS_MAX))
    return list(rows.all())


# --- reading --------------------------------------------------------------------------------------------------


async def course_for(session: AsyncSession, user: Any, course_id: str | uuid.UUID) -> Course:
    """The course whose discussions ``user`` may read, else 404."""
    key = parse_uuid(course_id)
    course = None if key is None else await session.scalar(
        select(Course).where(Course.id == key, read_filter(user)))
    if course is None:
        raise not_found()
    return course


@dataclass
class ThreadView:
    thread: DiscussionThread
    course: Course
    moderator: bool

    @property
    def hidden_for_me(self) -> bool:
        return self.thread.hidden_at is not None and not self.moderator


async def thread_for(session: AsyncSession, user: Any, thread_id: str | uuid.UUID, *,
                     course_id: str | uuid.UUID | None = None, lock: bool = False) -> ThreadView:
    """The thread (and its course) if ``user`` may read it, else 404; ``course_id`` must match when given."""
    key = parse_uuid(thread_id)
    if key is None:
        raise not_found()
    stmt = (select(DiscussionThread, Course).join(Course, Course.id == DiscussionThread.course_id)
            .where(DiscussionThread.id == key, read_filter(user)))
    if course_id is not None:
        course_key = parse_uuid(course_id)
        if course_key is None:
            raise not_found()
        stmt = stmt.where(Course.id == course_key)
    if lock:
        stmt = stmt.with_for_update(of=DiscussionThread).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        raise not_found()
    thread, course = row
    return ThreadView(thread, course, may_moderate(user, course))


@dataclass
class ThreadRow:
    thread: DiscussionThread
    author_name: str | None


async def list_threads(session: AsyncSession, course: Course, *, q: str = "", page: int = 1,
                       per_page: int = PER_PAGE) -> tuple[list[ThreadRow], int]:
    """The course's threads, pinned first, then by latest activity; ``q`` searches titles. Two statements."""
    where = [DiscussionThread.course_id == course.id]
    q = (q or "").strip()[:SEARCH_MAX]
    if q:  # hidden threads are not searched (their titles are not shown to readers either)
        where += [DiscussionThread.title.icontains(q, autoescape=True), DiscussionThread.hidden_at.is_(None)]
    total = int(await session.scalar(select(func.count()).select_from(DiscussionThread).where(*where)) or 0)
    rows = await session.execute(
        select(DiscussionThread, User.name).outerjoin(User, User.id == DiscussionThread.author_id).where(*where)
        .order_by(DiscussionThread.pinned.desc(), DiscussionThread.last_activity_at.desc(), DiscussionThread.id)
        .offset((page - 1) * per_page).limit(per_page))
    return [ThreadRow(t, name) for t, name in rows.all()], total


@dataclass
class PostRow:
    post: DiscussionPost
    author_name: str | None
    reported_by_me: bool


async def list_posts(session: AsyncSession, user: Any, view: ThreadView, *, page: int = 1,
                     per_page: int = POSTS_PER_PAGE) -> tuple[list[PostRow], int]:
    """The thread's posts, oldest first (the opening post first), with whether ``user`` reported each. One
    statement: the total is the thread's own figure."""
    total = view.thread.reply_count + 1
    if view.hidden_for_me:
        return [], total
    mine = (select(DiscussionReport.id).where(DiscussionReport.post_id == DiscussionPost.id,
                                               DiscussionReport.reporter_id == user.id).exists())
    rows = await session.execute(
        select(DiscussionPost, User.name, mine).outerjoin(User, User.id == DiscussionPost.author_id)
        .where(DiscussionPost.thread_id == view.thread.id)
        .order_by(DiscussionPost.created_at, DiscussionPost.id)
        .offset((page - 1) * per_page).limit(per_page))
    return [PostRow(p, name, bool(reported)) for p, name, reported in rows.all()], total


async def is_subscribed(session: AsyncSession, thread_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(DiscussionSubscription.active).where(
        DiscussionSubscription.thread_id == thread_id, DiscussionSubscription.user_id == user_id)))


async def recent_questions(session: AsyncSession, user: Any, *, limit: int = 5) -> list[tuple[DiscussionThread, str]]:
    """For the teacher's home: the latest visible questions without an accepted answer in the courses ``user``
    moderates, with the course's title. One statement."""
    rows = await session.execute(
        select(DiscussionThread, Course.title).join(Course, Course.id == DiscussionThread.course_id)
        .where(moderate_filter(user), DiscussionThread.kind == "question",
               DiscussionThread.accepted_post_id.is_(None), DiscussionThread.hidden_at.is_(None))
        .order_by(DiscussionThread.created_at.desc()).limit(limit))
    return [(t, title) for t, title in rows.all()]


# --- writing --------------------------------------------------------------------------------------------------


def clean_title(value: str) -> str:
    title = " ".join((value or "").split())
    if not title:
        raise DiscussionError(_("Give the thread a title."), field="title")
    if len(title) > TITLE_MAX:
        raise DiscussionError(_("The title is too long (at most %(n)d characters).") % {"n": TITLE_MAX},
                              field="title")
    return title


def clean_body(value: str) -> str:
    body = (value or "").strip()
    if not body:
        raise DiscussionError(_("Write something first."), field="body")
    if len(body) > BODY_MAX:
        raise DiscussionError(_("The text is too long (at most %(n)d characters).") % {"n": BODY_MAX},
                              field="body")
    return body


def clean_reason(value: str) -> str:
    reason = " ".join((value or "").split())
    if not reason:
        raise DiscussionError(_("Say why."), field="reason")
    if len(reason) > REASON_MAX:
        raise DiscussionError(_("The reason is too long (at most %(n)d characters).") % {"n": REASON_MAX},
                              field="reason")
    return reason


async def _throttle_posts(session: AsyncSession, user_id: uuid.UUID) -> None:
    recent = await session.scalar(select(func.count()).select_from(DiscussionPost).where(
        DiscussionPost.author_id == user_id, DiscussionPost.created_at > now() - datetime.timedelta(minutes=1)))
    if int(recent or 0) >= POSTS_PER_MINUTE:
        raise DiscussionError(_("You are posting very fast. Wait a minute, then try again."), status=429)


async def _subscribe(session: AsyncSession, thread_id: uuid.UUID, user_id: uuid.UUID, *,
                     active: bool | None = None) -> None:
    """``active`` None: subscribe unless they chose otherwise before (the default for authors and repliers);
    True/False: their explicit choice."""
    stmt = insert(DiscussionSubscription).values(id=uuid.uuid4(), thread_id=thread_id, user_id=user_id,
                                                 active=True if active is None else active,
                                                 created_at=now(), updated_at=now())
    if active is None:
        stmt = stmt.on_conflict_do_nothing(constraint="uq_discussion_subscriptions_thread_user")
    else:
        stmt = stmt.on_conflict_do_update(constraint="uq_discussion_subscriptions_thread_user",
                                          set_={"active": active, "updated_at": now()})
    await session.execute(stmt)


async def _add_post(session: AsyncSession, user: Any, course: Course, thread_id: uuid.UUID, body: str, *,
                    opening: bool) -> DiscussionPost:
    from tajiconnect.domains.discussions.tasks import notify_new_post
    from tajiconnect.tasks.outbox import defer

    post = DiscussionPost(thread_id=thread_id, author_id=user.id, is_opening=opening, body=body,
                          body_html=render(body), mentioned_ids=await mentioned_ids(session, course, body, user.id))
    session.add(post)
    await session.flush()
    await _subscribe(session, thread_id, user.id)
    await defer(session, notify_new_post, post_id=str(post.id))
    return post


async def create_thread(session: AsyncSession, acting: Acting, course: Course, *, kind: str, title: str,
                        body: str) -> tuple[DiscussionThread, DiscussionPost]:
    """A new thread with its opening post, by a reader of the course; the author follows it."""
    errors: list[DiscussionError] = []
    if kind not in THREAD_KINDS:
        errors.append(DiscussionError(_("Choose a discussion or a question."), field="kind"))
    for check, value in ((clean_title, title), (clean_body, body)):
        try:
            check(value)
        except DiscussionError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
    await _throttle_posts(session, acting.user.id)
    thread = DiscussionThread(course_id=course.id, author_id=acting.user.id, kind=kind, title=clean_title(title),
                              last_activity_at=now())
    session.add(thread)
    await session.flush()
    post = await _add_post(session, acting.user, course, thread.id, clean_body(body), opening=True)
    return thread, post


async def reply(session: AsyncSession, acting: Acting, thread_id: str | uuid.UUID, body: str, *,
                course_id: str | uuid.UUID | None = None) -> tuple[ThreadView, DiscussionPost]:
    """A reply to a thread the caller reads; refused (409) when the thread is locked or hidden."""
    view = await thread_for(session, acting.user, thread_id, course_id=course_id, lock=True)
    if view.thread.locked:
        raise DiscussionError(_("This thread is locked: it takes no replies."), status=409, field="body")
    if view.thread.hidden_at is not None:
        raise DiscussionError(_("This thread was hidden by a moderator: it takes no replies."), status=409,
                              field="body")
    text = clean_body(body)
    await _throttle_posts(session, acting.user.id)
    post = await _add_post(session, acting.user, view.course, view.thread.id, text, opening=False)
    await session.execute(update(DiscussionThread).where(DiscussionThread.id == view.thread.id).values(
        reply_count=DiscussionThread.reply_count + 1, last_activity_at=now()))
    await session.refresh(view.thread)
    return view, post


async def set_subscribed(session: AsyncSession, user: Any, view: ThreadView, subscribed: bool) -> None:
    if view.hidden_for_me and subscribed:
        raise DiscussionError(_("This thread was hidden by a moderator."), status=409)
    await _subscribe(session, view.thread.id, user.id, active=subscribed)


async def set_flag(session: AsyncSession, acting: Acting, view: ThreadView, flag: str, value: bool) -> None:
    """Pin/unpin or lock/unlock a thread (moderators; audited)."""
    if not view.moderator:
        raise forbidden()
    if flag not in ("pinned", "locked"):
        raise ValueError(flag)
    if getattr(view.thread, flag) == value:
        return
    setattr(view.thread, flag, value)
    action = {("pinned", True): "pinned", ("pinned", False): "unpinned",
              ("locked", True): "locked", ("locked", False): "unlocked"}[(flag, value)]
    await record(session, acting.actor, f"discussion.thread_{action}", target_type="discussion_thread",
                 target_id=view.thread.id, course_id=str(view.course.id), title=view.thread.title)


async def accept(session: AsyncSession, acting: Acting, view: ThreadView, post_id: str | uuid.UUID | None) -> None:
    """Mark a reply as a question's accepted answer (None: unmark): the question's author or a moderator."""
    thread = view.thread
    if thread.kind != "question":
        raise DiscussionError(_("Only a question has an accepted answer."), status=409, field="accepted_post_id")
    if acting.user.id != thread.author_id and not view.moderator:
        raise DiscussionError(_("Only the question's author and the course's teachers accept an answer."),
                              status=403)
    if view.hidden_for_me:
        raise not_found()
    if post_id is None:
        thread.accepted_post_id = None
        return
    key = parse_uuid(post_id)
    post = None if key is None else await session.scalar(select(DiscussionPost).where(
        DiscussionPost.id == key, DiscussionPost.thread_id == thread.id))
    if post is None:
        raise DiscussionError(_("No such reply in this thread."), status=404, field="accepted_post_id")
    if post.is_opening or post.hidden_at is not None:
        raise DiscussionError(_("Only a visible reply can be the accepted answer."), status=409,
                              field="accepted_post_id")
    thread.accepted_post_id = post.id


# --- reports and moderation -----------------------------------------------------------------------------------


async def post_for(session: AsyncSession, user: Any, post_id: str | uuid.UUID) -> tuple[DiscussionPost, ThreadView]:
    """A post ``user`` may read (with its thread and course), else 404."""
    key = parse_uuid(post_id)
    if key is None:
        raise not_found()
    row = (await session.execute(
        select(DiscussionPost, DiscussionThread, Course)
        .join(DiscussionThread, DiscussionThread.id == DiscussionPost.thread_id)
        .join(Course, Course.id == DiscussionThread.course_id)
        .where(DiscussionPost.id == key, read_filter(user)))).one_or_none()
    if row is None:
        raise not_found()
    post, thread, course = row
    view = ThreadView(thread, course, may_moderate(user, course))
    if view.hidden_for_me or (post.hidden_at is not None and not view.moderator):
        raise not_found()
    return post, view


async def report(session: AsyncSession, acting: Acting, post_id: str | uuid.UUID, reason: str) -> DiscussionReport:
    """A reader reports a post, once per post (409 the second time)."""
    post, view = await post_for(session, acting.user, post_id)
    if post.author_id == acting.user.id:
        raise DiscussionError(_("You cannot report your own post."), status=409, field="reason")
    text = clean_reason(reason)
    recent = await session.scalar(select(func.count()).select_from(DiscussionReport).where(
        DiscussionReport.reporter_id == acting.user.id,
        DiscussionReport.created_at > now() - datetime.timedelta(hours=1)))
    if int(recent or 0) >= REPORTS_PER_HOUR:
        raise DiscussionError(_("You reported many posts recently. Try again later."), status=429)
    created = (await session.execute(insert(DiscussionReport).values(
        id=uuid.uuid4(), post_id=post.id, course_id=view.course.id, reporter_id=acting.user.id, reason=text,
        status="open", created_at=now(), updated_at=now(),
    ).on_conflict_do_nothing(constraint="uq_discussion_reports_post_reporter").returning(DiscussionReport.id)
    )).scalar_one_or_none()
    if created is None:
        raise DiscussionError(_("You already reported this post."), status=409, field="reason")
    found = await session.get(DiscussionReport, created)
    assert found is not None
    return found


async def _resolve_reports(session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID, status: str) -> int:
    result = await session.execute(update(DiscussionReport).where(
        DiscussionReport.post_id == post_id, DiscussionReport.status == "open",
    ).values(status=status, resolved_at=now(), resolved_by_id=user_id, updated_at=now()))
    return int(getattr(result, "rowcount", 0) or 0)


async def hide_post(session: AsyncSession, acting: Acting, post_id: str | uuid.UUID, reason: str) -> DiscussionPost:
    """Hide a post with a reason (moderators; audited); its open reports are resolved as hidden."""
    post, view = await post_for(session, acting.user, post_id)
    if not view.moderator:
        raise forbidden()
    text = clean_reason(reason)
    if post.hidden_at is not None:
        raise DiscussionError(_("This post is already hidden."), status=409)
    post.hidden_at, post.hidden_by_id, post.hidden_reason = now(), acting.user.id, text
    if view.thread.accepted_post_id == post.id:
        view.thread.accepted_post_id = None
    reports = await _resolve_reports(session, acting.user.id, post.id, "hidden")
    await record(session, acting.actor, "discussion.post_hidden", target_type="discussion_post", target_id=post.id,
                 course_id=str(view.course.id), thread_id=str(view.thread.id), reason=text, reports=reports)
    return post


async def restore_post(session: AsyncSession, acting: Acting, post_id: str | uuid.UUID) -> DiscussionPost:
    post, view = await post_for(session, acting.user, post_id)
    if not view.moderator:
        raise forbidden()
    if post.hidden_at is None:
        raise DiscussionError(_("This post is not hidden."), status=409)
    reason = post.hidden_reason
    post.hidden_at = post.hidden_by_id = post.hidden_reason = None
    await record(session, acting.actor, "discussion.post_restored", target_type="discussion_post",
                 target_id=post.id, course_id=str(view.course.id), thread_id=str(view.thread.id),
                 hidden_reason=reason)
    return post


async def hide_thread(session: AsyncSession, acting: Acting, view: ThreadView, reason: str) -> None:
    if not view.moderator:
        raise forbidden()
    text = clean_reason(reason)
    if view.thread.hidden_at is not None:
        raise DiscussionError(_("This thread is already hidden."), status=409)
    view.thread.hidden_at, view.thread.hidden_by_id, view.thread.hidden_reason = now(), acting.user.id, text
    await record(session, acting.actor, "discussion.thread_hidden", target_type="discussion_thread",
                 target_id=view.thread.id, course_id=str(view.course.id), title=view.thread.title, reason=text)


async def restore_thread(session: AsyncSession, acting: Acting, view: ThreadView) -> None:
    if not view.moderator:
        raise forbidden()
    if view.thread.hidden_at is None:
        raise DiscussionError(_("This thread is not hidden."), status=409)
    reason = view.thread.hidden_reason
    view.thread.hidden_at = view.thread.hidden_by_id = view.thread.hidden_reason = None
    await record(session, acting.actor, "discussion.thread_restored", target_type="discussion_thread",
                 target_id=view.thread.id, course_id=str(view.course.id), hidden_reason=reason)


@dataclass
class ReportRow:
    report: DiscussionReport
    post: DiscussionPost
    thread: DiscussionThread
    course_title: str
    reporter_name: str | None
    author_name: str | None


async def open_reports(session: AsyncSession, user: Any, *, course_id: str | None = None, page: int = 1,
                       per_page: int = PER_PAGE) -> tuple[list[ReportRow], int]:
    """The moderation queue: open reports in the courses ``user`` moderates (one course with ``course_id``),
    oldest first. Two statements."""
    where = [DiscussionReport.status == "open", moderate_filter(user)]
    if course_id:
        key = parse_uuid(course_id)
        if key is None:
            raise not_found()
        where.append(Course.id == key)
    base = select(func.count()).select_from(DiscussionReport).join(Course, Course.id == DiscussionReport.course_id)
    total = int(await session.scalar(base.where(*where)) or 0)
    reporter, author = aliased(User), aliased(User)
    rows = await session.execute(
        select(DiscussionReport, DiscussionPost, DiscussionThread, Course.title, reporter.name, author.name)
        .join(Course, Course.id == DiscussionReport.course_id)
        .join(DiscussionPost, DiscussionPost.id == DiscussionReport.post_id)
        .join(DiscussionThread, DiscussionThread.id == DiscussionPost.thread_id)
        .outerjoin(reporter, reporter.id == DiscussionReport.reporter_id)
        .outerjoin(author, author.id == DiscussionPost.author_id)
        .where(*where).order_by(DiscussionReport.created_at, DiscussionReport.id)
        .offset((page - 1) * per_page).limit(per_page))
    return [ReportRow(*row) for row in rows.all()], total


async def dismiss_report(session: AsyncSession, acting: Acting, report_id: str | uuid.UUID) -> int:
    """Dismiss a report (and the other open reports of the same post): moderators of its course; audited."""
    key = parse_uuid(report_id)
    found = None if key is None else (await session.execute(
        select(DiscussionReport).join(Course, Course.id == DiscussionReport.course_id)
        .where(DiscussionReport.id == key, moderate_filter(acting.user)))).scalar_one_or_none()
    if found is None:
        raise DiscussionError(_("No such report."), status=404)
    if found.status != "open":
        raise DiscussionError(_("This report was already resolved."), status=409)
    count = await _resolve_reports(session, acting.user.id, found.post_id, "dismissed")
    await record(session, acting.actor, "discussion.report_dismissed", target_type="discussion_post",
                 target_id=found.post_id, course_id=str(found.course_id), reports=count)
    return count
