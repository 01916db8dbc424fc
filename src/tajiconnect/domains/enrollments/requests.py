"""Requests to be given learning that is by assignment only ("ask my manager").

* A learner asks for a published course they find in the catalog, or a published path, that they may not enroll in
  themselves (:func:`ask`); the request may name the career pathway it came from and carry a note. At most one open
  request per learner and course or path: asking again answers the open one.
* Who is told (category ``learning_request``): the **approvers**, the active leaders of the learner's current groups
  who may assign learning; when there are none, the organization's admins.
* Whoever may assign learning to the learner (their managers, admins) approves (the learner is assigned the course
  or path through ``service.assign``, audited there, and enrolled) or declines with a reason (audited); the learner
  is told either way. Deciding locks the request, so two managers answering at once decide once.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.ids import parse_uuid
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, roles_with
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.courses.models import Course
from tajiconnect.domains.enrollments import service
from tajiconnect.domains.enrollments.models import LearningRequest
from tajiconnect.domains.enrollments.service import (
    Acting,
    EnrollmentConflict,
    EnrollmentNotFound,
)
from tajiconnect.domains.groups.models import GroupMembership
from tajiconnect.domains.notifications.service import notify
from tajiconnect.domains.paths.models import LearningPath
from tajiconnect.domains.people.relations import CURRENT
from tajiconnect.i18n import N_
from tajiconnect.i18n import gettext as _
from tajiconnect.validation import clean_text

NOTE_MAX = 500
PER_PAGE = 25


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def approvers(learner_id: uuid.UUID) -> Any:
    """SELECT of the active members told of ``learner_id``'s requests (see the module)."""
    assigners = User.roles.overlap(roles_with(Permission.ASSIGN_LEARNING))
    groups_of = select(GroupMembership.group_id).where(
        GroupMembership.user_id == learner_id, GroupMembership.role == "member", CURRENT)
    leaders = select(User.id).where(
        User.status == "active", assigners, User.id != learner_id,
        User.id.in_(select(GroupMembership.user_id).where(
            GroupMembership.group_id.in_(groups_of), GroupMembership.role == "leader", CURRENT)))
    admins = select(User.id).where(User.status == "active", User.roles.contains(["org_admin"]), User.id != learner_id,
                                   ~leaders.exists())
    return leaders.union(admins)


async def _subject(session: AsyncSession, user: Any, kind: str, thing_id: Any) -> Course | LearningPath:
    if kind == "course":
        course = await service.findable_course(session, user, thing_id)
        if course.status != "published":
            raise EnrollmentConflict(_("This course is not open for enrollment."))
        return course
    if kind == "path":
        from tajiconnect.domains.paths import service as paths

        path = await paths.get_path(session, user, thing_id)
        if path.status != "published":
            raise EnrollmentConflict(_("This learning path is not open for enrollment."))
        return path
    raise EnrollmentNotFound(_("No such course or learning path."), "kind")


async def ask(session: AsyncSession, acting: Acting, kind: str, thing_id: Any, *, pathway_id: uuid.UUID | None = None,
              note: str = "") -> tuple[LearningRequest, bool]:
    """The learner asks for a course or path (see the module); the request and whether it is new."""
    user = acting.user
    subject = await _subject(session, user, kind, thing_id)
    if subject.self_enroll:
        raise EnrollmentConflict(_("This is open to you: enroll instead."))
    enrolled = (await service.current_enrollment(session, user.id, subject.id) if kind == "course"
                else await service.path_enrollment_of(session, user.id, subject.id))
    if enrolled is not None:
        raise EnrollmentConflict(_("You are enrolled already."))
    text_ = clean_text(note, NOTE_MAX, "note", error=EnrollmentConflict)
    now = _now()
    column = "course_id" if kind == "course" else "path_id"
    created = (await session.execute(
        insert(LearningRequest).values(id=uuid.uuid4(), user_id=user.id, pathway_id=pathway_id, note=text_,
                                       status="open", created_at=now, updated_at=now, **{column: subject.id})
        .on_conflict_do_nothing().returning(LearningRequest))).scalar_one_or_none()
    if created is None:
        existing = await session.scalar(select(LearningRequest).where(
            LearningRequest.user_id == user.id, LearningRequest.status == "open",
            getattr(LearningRequest, column) == subject.id))
        if existing is None:  # answered between the two statements: ask again
            raise EnrollmentConflict(_("Your earlier request was just answered: ask again if you still want it."))
        return existing, False
    for approver in (await session.scalars(select(User).where(User.id.in_(approvers(user.id))))).all():
        await notify(session, approver, "learning_request", key=f"learning_request:{created.id}",
                     title=N_("%(name)s asks to take %(title)s"),
                     body=N_("Approve or decline the request on your team's requests page."),
                     params={"name": user.name or user.email, "title": subject.title}, link="/team/requests")
    return created, True


def decidable(viewer: Any) -> Any:
    """SQL: the requests ``viewer`` may decide (of learners they may assign to)."""
    if not service.may_assign(viewer):
        return false()
    return service.in_learner_scope(viewer, LearningRequest.user_id)


@dataclass
class RequestView:
    request: LearningRequest
    learner_name: str
    learner_email: str
    title: str
    kind: str


async def open_requests(session: AsyncSession, viewer: Any, *, page: int = 1,
                        per_page: int = PER_PAGE) -> tuple[list[RequestView], int]:
    """The open requests ``viewer`` may decide, oldest first; one page and the total, in one statement."""
    title = func.coalesce(Course.title, LearningPath.title)
    rows = (await session.execute(
        select(LearningRequest, User.name, User.email, title, func.count().over())
        .join(User, User.id == LearningRequest.user_id)
        .outerjoin(Course, Course.id == LearningRequest.course_id)
        .outerjoin(LearningPath, LearningPath.id == LearningRequest.path_id)
        .where(LearningRequest.status == "open", User.status == "active", decidable(viewer))
        .order_by(LearningRequest.created_at, LearningRequest.id)
        .offset((page - 1) * per_page).limit(per_page)
    )).all()
    return ([RequestView(r[0], r[1] or "", r[2], r[3] or "", "course" if r[0].course_id else "path") for r in rows],
            int(rows[0][4]) if rows else 0)


async def count_open(session: AsyncSession, viewer: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(LearningRequest).join(
        User, User.id == LearningRequest.user_id).where(
        LearningRequest.status == "open", User.status == "active", decidable(viewer))) or 0)


async def decide(session: AsyncSession, acting: Acting, request_id: Any, *, approve: bool,
                 reason: str = "") -> LearningRequest:
    """Approve or decline an open request (see the module)."""
    key = parse_uuid(request_id)
    found = await session.scalar(select(LearningRequest).where(
        LearningRequest.id == key, decidable(acting.user)).with_for_update()
        .execution_options(populate_existing=True)) if key else None
    if found is None:
        raise EnrollmentNotFound(_("No such request."))
    if found.status != "open":
        raise EnrollmentConflict(_("This request was answered already."))
    text_ = clean_text(reason, NOTE_MAX, "reason", error=EnrollmentConflict)
    learner = await session.get(User, found.user_id)
    assert learner is not None
    if approve:
        await service.assign(session, acting, course_id=found.course_id, path_id=found.path_id,
                             user_ids=[found.user_id])
    subject = await session.get(Course, found.course_id) if found.course_id else await session.get(
        LearningPath, found.path_id)
    assert subject is not None
    found.status, found.decided_by_id, found.decided_at, found.reason = (
        "approved" if approve else "declined", acting.user.id, _now(), text_)
    await session.flush()
    await record(session, acting.actor, "learning.request." + found.status, target_type="learning_request",
                 target_id=found.id, learner=learner.email, title=subject.title, reason=text_ or None)
    link = f"/courses/{subject.id}" if found.course_id else f"/paths/{subject.id}"
    if approve:
        await notify(session, learner, "learning_request", key=f"learning_request:{found.id}:answer",
                     title=N_("Your request for %(title)s was approved"),
                     body=N_("You are enrolled: start when you are ready."), params={"title": subject.title},
                     link=link)
    else:
        await notify(session, learner, "learning_request", key=f"learning_request:{found.id}:answer",
                     title=N_("Your request for %(title)s was declined"),
                     body=N_("Reason: %(reason)s") if text_ else "", params={"title": subject.title, "reason": text_},
                     link=link)
    return found
