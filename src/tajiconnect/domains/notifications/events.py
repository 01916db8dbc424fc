"""The events other domains tell members about, each a one-line call inside the event's own transaction.

Keys are stable per event, so an event that repeats (a retried task, a request sent twice) notifies once:

=================  ==========================================  ==================================================
category           key                                         who
=================  ==========================================  ==================================================
invitation         ``invitation:<user id>``                    the invitee (in-app welcome; email: see below)
enrollment         ``enrollment:<enrollment id>`` /            the learner assigned a course / a learning path
                   ``path_enrollment:<path enrollment id>``
graded             ``graded:<grade id>:released``              the learner, when the grade is released
import_finished    ``import_finished:<import id>``             the admin who applied the import
seats_low          ``seats_low:<seats>:<assigned seat events>``  each active admin, when a claim crosses 90 %
child_linked       ``child_linked:<link id>``                  the parent
due_soon/overdue   ``due_soon|overdue:<assessment id>``        the learner (reminders.py, hourly)
=================  ==========================================  ==================================================

The invitation's own email (templates/email/invite.*, with the link to choose a password) IS the invitation
category's email: the notification carries ``data.email = "sent_separately"`` and its email delivery is recorded as
skipped with that reason, never sent twice.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications.service import notify
from tajiconnect.i18n import N_
from tajiconnect.tenancy.context import require_tenant

#: Share of the purchased seats that, once reached, warns the admins.
SEATS_LOW_SHARE = 0.9


async def invited(session: AsyncSession, user: User) -> None:
    await notify(session, user, "invitation", key=f"invitation:{user.id}", title=N_("Welcome to %(org)s"),
                 body=N_("Your account is ready. Choose what you are told about, and how, in your preferences."),
                 params={"org": require_tenant().name}, link="/notifications/preferences",
                 data={"email": "sent_separately"})


async def enrolled(session: AsyncSession, courses: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
                   paths: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]) -> None:
    """``courses``/``paths``: (enrollment id, user id, course or path id) of new enrollments by assignment."""
    from tajiconnect.domains.courses.models import Course
    from tajiconnect.domains.paths.models import LearningPath

    if not courses and not paths:
        return
    users = {u.id: u for u in (await session.scalars(
        select(User).where(User.id.in_({r[1] for r in (*courses, *paths)})))).all()}
    titles = dict((await session.execute(select(Course.id, Course.title).where(
        Course.id.in_({r[2] for r in courses})))).tuples().all()) if courses else {}
    path_titles = dict((await session.execute(select(LearningPath.id, LearningPath.title).where(
        LearningPath.id.in_({r[2] for r in paths})))).tuples().all()) if paths else {}
    for enrollment_id, user_id, course_id in courses:
        if (user := users.get(user_id)) is not None:
            await notify(session, user, "enrollment", key=f"enrollment:{enrollment_id}",
                         title=N_("New course for you: %(title)s"), params={"title": titles.get(course_id, "")},
                         link=f"/courses/{course_id}")
    for enrollment_id, user_id, path_id in paths:
        if (user := users.get(user_id)) is not None:
            await notify(session, user, "enrollment", key=f"path_enrollment:{enrollment_id}",
                         title=N_("New learning path for you: %(title)s"),
                         params={"title": path_titles.get(path_id, "")}, link=f"/paths/{path_id}")


async def graded(session: AsyncSession, grades: Sequence[Any], title: str) -> None:
    """Released ``grades`` (rows with ``id``, ``user_id``) of the assessment whose lesson is ``title``."""
    if not grades:
        return
    users = {u.id: u for u in (await session.scalars(
        select(User).where(User.id.in_({g.user_id for g in grades})))).all()}
    for grade in grades:
        if (user := users.get(grade.user_id)) is not None:
            await notify(session, user, "graded", key=f"graded:{grade.id}:released",
                         title=N_("Your grade is out: %(title)s"), params={"title": title}, link="/learn/grades",
                         data={"grade_id": str(grade.id)})


async def import_finished(session: AsyncSession, imp: Any, result: dict[str, Any]) -> None:
    email = imp.applied_by_email or imp.created_by_email
    user = (await session.scalars(select(User).where(func.lower(User.email) == (email or "").lower()))).first()
    if user is None:
        return
    await notify(session, user, "import_finished", key=f"import_finished:{imp.id}",
                 title=N_("Your import %(file)s is done"),
                 body=N_("%(created)d members added, %(updated)d updated."),
                 params={"file": imp.filename, "created": result.get("created", 0),
                         "updated": result.get("updated", 0)},
                 link=f"/admin/imports/{imp.id}")


async def seats_claimed(session: AsyncSession, *, purchased: int, used_before: int, wanted: int) -> None:
    """Warn the admins when this claim makes the used seats reach :data:`SEATS_LOW_SHARE` of the purchased ones
    (once per crossing: the key counts the seats ever assigned, which only grows)."""
    from tajiconnect.domains.licensing.models import SeatEvent

    threshold = math.ceil(purchased * SEATS_LOW_SHARE)
    if purchased <= 0 or wanted <= 0 or not used_before < threshold <= used_before + wanted:
        return
    assigned = int(await session.scalar(
        select(func.count()).select_from(SeatEvent).where(SeatEvent.change == "assigned")) or 0)
    admins = (await session.scalars(
        select(User).where(User.roles.contains(["org_admin"]), User.status == "active"))).all()
    for admin in admins:
        await notify(session, admin, "seats_low", key=f"seats_low:{purchased}:{assigned}",
                     title=N_("Seats nearly used up: %(used)d of %(purchased)d"),
                     body=N_("Buy more seats or reclaim unused ones before new learners are refused."),
                     params={"used": used_before + wanted, "purchased": purchased}, link="/admin/seats")


async def child_linked(session: AsyncSession, parent: User, learner: User, link_id: uuid.UUID) -> None:
    await notify(session, parent, "child_linked", key=f"child_linked:{link_id}",
                 title=N_("%(name)s is now linked to your account"), params={"name": learner.name},
                 link="/children")
