"""Résumé reviews: a member asks a teacher or career adviser to read their résumé and comment on it.

* The reviewer is an active staff member of the organization (a teacher, a manager or an admin), never the member
  themself; the member names them by email (the page offers their own teachers first). Asking the same reviewer
  again while a review is open answers the open one. The reviewer is told (category ``resume_review``).
* While the review is open the reviewer reads the résumé (page and PDF) and comments, per section or in general;
  the member answers in the same thread. Each side is told of the other's comments.
* The member closes a review; the reviewer's access ends with it (the comments stay for the member).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications.service import notify
from tajiconnect.domains.resumes.models import SECTIONS, Resume, ResumeComment, ResumeReview
from tajiconnect.domains.resumes.service import ResumeContent, ResumeError, clean_text, content, mine
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _

STAFF = ("teacher", "manager", "org_admin")
MESSAGE_MAX, COMMENT_MAX = 500, 2000
PER_PAGE = 25


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def request(session: AsyncSession, user: Any, reviewer_email: str,
                  message: str = "") -> tuple[ResumeReview, bool]:
    """Ask the staff member with ``reviewer_email`` to review the member's résumé; the review and whether new."""
    email = " ".join((reviewer_email or "").split()).lower()
    reviewer = await session.scalar(select(User).where(
        func.lower(User.email) == email, User.status == "active", User.roles.overlap(list(STAFF)))) if email else None
    if reviewer is None or reviewer.id == user.id:
        raise ResumeError(_("Give the email of a teacher, manager or admin of your organization."),
                          status=404, field="reviewer")
    text_ = clean_text(message, MESSAGE_MAX, "message", multiline=True)
    resume = await mine(session, user)
    moment = _now()
    made = (await session.execute(insert(ResumeReview).values(
        id=uuid.uuid4(), resume_id=resume.id, reviewer_id=reviewer.id, message=text_, status="open",
        created_at=moment, updated_at=moment).on_conflict_do_nothing().returning(ResumeReview))).scalar_one_or_none()
    if made is None:
        existing = await session.scalar(select(ResumeReview).where(
            ResumeReview.resume_id == resume.id, ResumeReview.reviewer_id == reviewer.id,
            ResumeReview.status == "open"))
        if existing is None:  # closed between the two statements
            raise ResumeError(_("That review was just closed: ask again."), status=409, field="reviewer")
        return existing, False
    await notify(session, reviewer, "resume_review", key=f"resume_review:{made.id}",
                 title=N_("%(name)s asks you to review their résumé"), body=text_ or "",
                 params={"name": user.name or user.email}, link=f"/career/reviews/{made.id}")
    return made, True


@dataclass
class ReviewView:
    review: ResumeReview
    learner_id: uuid.UUID
    learner_name: str
    reviewer_name: str


def _view_query() -> Any:
    learner, reviewer = User.__table__.alias("learner"), User.__table__.alias("reviewer")
    return (select(ResumeReview, learner.c.id, func.coalesce(func.nullif(learner.c.name, ""), learner.c.email),
                   func.coalesce(func.nullif(reviewer.c.name, ""), reviewer.c.email), learner.c.status)
            .join(Resume, Resume.id == ResumeReview.resume_id)
            .join(learner, learner.c.id == Resume.user_id)
            .join(reviewer, reviewer.c.id == ResumeReview.reviewer_id)), learner


async def for_reviewer(session: AsyncSession, viewer: Any, *, page: int = 1,
                       per_page: int = PER_PAGE) -> tuple[list[ReviewView], int]:
    """The open reviews asked of ``viewer`` (of active members), oldest first; one page and the total."""
    stmt, learner = _view_query()
    rows = (await session.execute(
        stmt.add_columns(func.count().over())
        .where(ResumeReview.reviewer_id == viewer.id, ResumeReview.status == "open", learner.c.status == "active")
        .order_by(ResumeReview.created_at, ResumeReview.id).offset((page - 1) * per_page).limit(per_page))).all()
    return [ReviewView(r[0], r[1], r[2], r[3]) for r in rows], int(rows[0][5]) if rows else 0


async def of_member(session: AsyncSession, user: Any) -> list[ReviewView]:
    """The member's reviews, open first then newest (at most 50)."""
    stmt, learner = _view_query()
    rows = (await session.execute(stmt.where(learner.c.id == user.id).order_by(
        (ResumeReview.status == "open").desc(), ResumeReview.created_at.desc()).limit(50))).all()
    return [ReviewView(r[0], r[1], r[2], r[3]) for r in rows]


async def readable(session: AsyncSession, viewer: Any, review_id: Any) -> ReviewView:
    """A review ``viewer`` may read: its reviewer while it is open, its member always."""
    key = parse_uuid(review_id)
    stmt, _learner = _view_query()
    row = (await session.execute(stmt.where(ResumeReview.id == key))).first() if key else None
    if row is None or not (row[1] == viewer.id or (row[0].reviewer_id == viewer.id and row[0].status == "open"
                                                    and row[4] == "active")):
        raise ResumeError(_("No such review."), status=404)
    return ReviewView(row[0], row[1], row[2], row[3])


async def content_of(session: AsyncSession, viewer: Any, review_id: Any) -> tuple[ReviewView, ResumeContent]:
    """A review ``viewer`` may read (:func:`readable`) and the résumé it is about, as a page or PDF shows it."""
    view = await readable(session, viewer, review_id)
    owner = await session.get(User, view.learner_id)
    resume = await session.get(Resume, view.review.resume_id)
    assert owner is not None and resume is not None  # a review goes with its résumé, a résumé with its member
    return view, await content(session, resume, owner)


async def comments(session: AsyncSession, review_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[Any, str]]]:
    """The comments of the reviews, oldest first, each with its author's name."""
    if not review_ids:
        return {}
    rows = (await session.execute(
        select(ResumeComment, func.coalesce(func.nullif(User.name, ""), User.email, ""))
        .outerjoin(User, User.id == ResumeComment.author_id)
        .where(ResumeComment.review_id.in_(review_ids))
        .order_by(ResumeComment.created_at, ResumeComment.id))).all()
    found: dict[uuid.UUID, list[tuple[Any, str]]] = {}
    for comment, name in rows:
        found.setdefault(comment.review_id, []).append((comment, name))
    return found


async def comment(session: AsyncSession, user: Any, review_id: Any, body: str, section: str = "general"
                  ) -> ResumeComment:
    """A comment on an open review, by its reviewer or its member; the other side is told."""
    view = await readable(session, user, review_id)
    if view.review.status != "open":
        raise ResumeError(_("This review is closed."), status=409)
    if section not in SECTIONS:
        raise ResumeError(_("Choose a section from the list."), field="section")
    text_ = clean_text(body, COMMENT_MAX, "body", required=True, multiline=True)
    made = ResumeComment(review_id=view.review.id, author_id=user.id, section=section, body=text_)
    session.add(made)
    await session.flush()
    to_reviewer = user.id == view.learner_id
    other = await session.get(User, view.review.reviewer_id if to_reviewer else view.learner_id)
    if other is not None:
        await notify(session, other, "resume_review", key=f"resume_comment:{made.id}",
                     title=N_("%(name)s commented on a résumé review"), body=text_[:300],
                     params={"name": user.name or user.email},
                     link=f"/career/reviews/{view.review.id}" if to_reviewer else "/career/resume#reviews")
    return made


async def close(session: AsyncSession, user: Any, review_id: Any) -> ResumeReview:
    view = await readable(session, user, review_id)
    if view.learner_id != user.id:
        raise ResumeError(_("Only the résumé's owner closes a review."), status=403)
    if view.review.status == "open":
        view.review.status, view.review.closed_at = "closed", _now()
        await session.flush()
    return view.review
