"""Each wired event notifies its member once, however often it repeats (keys: domains/notifications/events.py)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from sqlalchemy import select, update

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.assessments.models import Assessment, Attempt
from tajiconnect.domains.audit.service import Acting, Actor
from tajiconnect.domains.enrollments import service as enrollments
from tajiconnect.domains.grading import records
from tajiconnect.domains.grading.models import Grade
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.notifications.models import Notification, NotificationDelivery
from tajiconnect.domains.notifications.reminders import remind
from tajiconnect.domains.parents import service as parents
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import bearer_for, drain
from tests.integration.gradebook.conftest import give, graded_course
from tests.integration.learning.conftest import make_course
from tests.integration.progress.conftest import enroll

ACTOR = Actor(email="tester@example.org", ip="127.0.0.1")


async def notes(engine, tenant, user_id) -> list[Notification]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.scalars(select(Notification).where(Notification.user_id == user_id))).all())


async def test_a_released_grade_notifies_once(new_org, make_user, engine):
    org = await new_org("evgr")
    teacher = await make_user(org.tenant, ["teacher"])
    learner = await make_user(org.tenant, ["student"])
    course = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz",))
    grade_id = await give(engine, org.tenant, course.id, course.items[0], learner.id, "draft", 7)
    for _ in range(2):
        with tenant_context(org.tenant):
            async with session_scope(engine) as session:
                assessment = await session.get(Assessment, course.items[0])
                grade = await session.get(Grade, grade_id)
                await records.release(session, assessment, [grade], actor=ACTOR)
    found = await notes(engine, org.tenant, learner.id)
    assert [(n.category, n.key) for n in found] == [("graded", f"graded:{grade_id}:released")]


async def test_an_assignment_notifies_each_learner_once(new_org, make_user, engine):
    org = await new_org("evas", kind="company")
    manager = await make_user(org.tenant, ["manager", "org_admin"])
    learner = await make_user(org.tenant, ["student"])
    course_id = await make_course(engine, org.tenant, "Safety first")
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            await session.execute(update(User).where(User.id == learner.id)
                                  .values(seat_assigned_at=datetime.datetime.now(datetime.UTC)))
    for _ in range(2):
        with tenant_context(org.tenant):
            async with session_scope(engine) as session:
                acting = Acting(await session.get(User, manager.id), ACTOR)
                await enrollments.assign(session, acting, course_id=course_id, user_ids=[learner.id])
    found = await notes(engine, org.tenant, learner.id)
    assert len(found) == 1 and found[0].category == "enrollment" and "Safety first" in found[0].title


async def test_a_new_child_link_notifies_the_parent_once(new_org, make_user, engine):
    org = await new_org("evpa")
    parent = await make_user(org.tenant, ["parent"])
    learner = await make_user(org.tenant, ["student"], name="Baraka Child")
    for _ in range(2):
        with tenant_context(org.tenant):
            async with session_scope(engine) as session:
                await parents.link(session, await session.get(User, parent.id), await session.get(User, learner.id),
                                   source="admin", actor=ACTOR)
    found = await notes(engine, org.tenant, parent.id)
    assert len(found) == 1 and found[0].category == "child_linked" and "Baraka Child" in found[0].title


async def test_seats_nearly_used_up_warns_the_admins_once_per_crossing(make_tenant, make_user, engine):
    tenant = await make_tenant("evse", seats=10)
    learners = [await make_user(tenant, ["student"]) for _ in range(10)]
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            admins = list((await session.scalars(select(User).where(User.roles.contains(["org_admin"])))).all())
            used = await seats.seats_used(session)
    assert admins

    async def give_seats(members) -> None:
        with tenant_context(tenant):
            async with session_scope(engine) as session:
                users = [await session.get(User, m.id) for m in members]
                await seats.assign(session, users, reason="admin", actor_email=ACTOR.email)

    free = learners[: max(0, 8 - used)]
    await give_seats(free)  # 8 of 10: not yet
    assert [n for n in await notes(engine, tenant, admins[0].id) if n.category == "seats_low"] == []
    await give_seats([learners[-1]])  # 9 of 10: crossed
    await give_seats([learners[-2]])  # 10 of 10: still above, no new warning
    warned = [n for n in await notes(engine, tenant, admins[0].id) if n.category == "seats_low"]
    assert len(warned) == 1 and "9 of 10" in warned[0].title


async def test_an_invitation_is_an_in_app_welcome_and_the_invite_email_only(
    new_org, make_user, engine, client_for, run_jobs, mail_sink, signed_in
):
    org = await new_org("evin")
    email = f"invitee{uuid.uuid4().hex[:6]}@example.org"
    async with client_for(org.tenant) as client:
        auth = await bearer_for(client, org.admin)
        answer = await client.post("/api/v1/users", json={"email": email, "roles": ["teacher"], "name": "Ina"},
                                   headers=auth)
        assert answer.status_code == 201, answer.text
    await drain(run_jobs)
    invites = mail_sink.to(email)
    assert len(invites) == 1 and "invited" in str(invites[0]["Subject"])  # the invitation email, not a second one
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            user_id = (await session.scalars(select(User.id).where(User.email == email))).one()
            delivery = (await session.scalars(select(NotificationDelivery).where(
                NotificationDelivery.user_id == user_id))).one()
    found = await notes(engine, org.tenant, user_id)
    assert [n.category for n in found] == ["invitation"]
    assert delivery.channel == "email" and delivery.status == "skipped"


async def test_due_soon_and_overdue_reminders_once_per_learner_and_item(new_org, make_user, engine):
    org = await new_org("evdu")
    teacher = await make_user(org.tenant, ["teacher"])
    late, done = await make_user(org.tenant, ["student"]), await make_user(org.tenant, ["student"])
    course = await graded_course(engine, org.tenant, owner_id=teacher.id, kinds=("quiz", "assignment"))
    for learner in (late, done):
        await enroll(engine, org.tenant, learner.id, course.id)
    now = datetime.datetime.now(datetime.UTC)
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            await session.execute(update(Assessment).where(Assessment.id == course.items[0])
                                  .values(due_at=now + datetime.timedelta(hours=5)))
            await session.execute(update(Assessment).where(Assessment.id == course.items[1])
                                  .values(due_at=now - datetime.timedelta(hours=2)))
            session.add(Attempt(assessment_id=course.items[0], user_id=done.id, status="submitted", started_at=now,
                                submitted_at=now, max_points=Decimal(10)))
    for _ in range(2):  # the hourly task twice
        with tenant_context(org.tenant):
            async with session_scope(engine) as session:
                await remind(session, now)
    late_notes = sorted((n.category, n.key) for n in await notes(engine, org.tenant, late.id))
    assert late_notes == [("due_soon", f"due_soon:{course.items[0]}"), ("overdue", f"overdue:{course.items[1]}")]
    done_notes = [(n.category, n.key) for n in await notes(engine, org.tenant, done.id)]
    assert done_notes == [("overdue", f"overdue:{course.items[1]}")]  # submitted the quiz, not the assignment
