"""The fan-out: one notification per recipient, in batches, exactly once however often the job runs; a withdrawn
announcement stops it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tajiconnect.domains.announcements import service
from tajiconnect.domains.announcements.models import Announcement, AnnouncementRecipient
from tajiconnect.domains.announcements.service import Draft
from tajiconnect.domains.announcements.tasks import deliver_announcement, run_delivery
from tajiconnect.domains.notifications.models import NotificationDelivery
from tajiconnect.tasks.base import enqueue
from tajiconnect.tenancy.context import tenant_context
from tests.integration.announcements.conftest import deliver, notified
from tests.integration.groups.conftest import acting_as, tenant_session
from tests.integration.progress.conftest import add_group


async def _announce(engine, tenant, author, group_id, **draft) -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        ann = await service.create(session, await acting_as(session, author), scope="group", target_id=group_id,
                                   draft=Draft(title="Sports day", body="Bring water.", **draft))
        return ann.id


async def _pending(engine, tenant, announcement_id) -> int:
    async with tenant_session(engine, tenant) as session:
        return int(await session.scalar(select(func.count()).select_from(AnnouncementRecipient).where(
            AnnouncementRecipient.announcement_id == announcement_id, AnnouncementRecipient.notified_at.is_(None))))


async def test_batches_notify_each_recipient_exactly_once(new_org, make_user, engine, run_jobs):
    org = await new_org("annf")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])
    learners = [await make_user(t, ["student"]) for _ in range(7)]
    group_id = await add_group(engine, t, members=[m.id for m in learners], leaders=[teacher.id])
    announcement_id = await _announce(engine, t, teacher, group_id)
    with tenant_context(t):
        # Small batches and no time: each run notifies one batch, then hands the rest to a new job.
        first = await run_delivery(engine, None, announcement_id, batch=3, budget=0)
        assert first == {"notified": 3, "continued": True}
        assert await _pending(engine, t, announcement_id) == 4
        again = await run_delivery(engine, None, announcement_id, batch=3)
        assert again == {"notified": 4}
        assert await run_delivery(engine, None, announcement_id, batch=3) == {"notified": 0}
    # The job deferred at publishing, the one deferred by the first run, and a stray extra one: nothing new.
    await run_jobs()
    with tenant_context(t):
        await enqueue(run_jobs.queues, deliver_announcement, announcement_id=str(announcement_id), key="extra")
    await deliver(engine, t, run_jobs)
    counts = await notified(engine, t, announcement_id)
    assert counts == {m.id: 1 for m in learners}
    async with tenant_session(engine, t) as session:  # one email each, by the notification service
        emails = await session.scalar(select(func.count()).select_from(NotificationDelivery).where(
            NotificationDelivery.channel == "email", NotificationDelivery.user_id.in_([m.id for m in learners])))
    assert emails == 7


async def test_a_withdrawn_announcement_stops_its_fan_out(new_org, make_user, engine):
    org = await new_org("annw")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])
    learners = [await make_user(t, ["student"]) for _ in range(4)]
    group_id = await add_group(engine, t, members=[m.id for m in learners], leaders=[teacher.id])
    announcement_id = await _announce(engine, t, teacher, group_id)
    with tenant_context(t):
        await run_delivery(engine, None, announcement_id, batch=2, budget=0)
        async with tenant_session(engine, t) as session:
            await service.take_back(session, await acting_as(session, teacher), announcement_id)
        assert await run_delivery(engine, None, announcement_id, batch=2) == {"notified": 0,
                                                                             "stopped": "not published"}
    assert len(await notified(engine, t, announcement_id)) == 2
    async with tenant_session(engine, t) as session:
        assert (await session.get(Announcement, announcement_id)).status == "withdrawn"


async def test_a_large_audience_is_recorded_in_one_statement(new_org, make_user, engine):
    """Publishing copies the audience with INSERT ... SELECT: the number of statements does not grow with it."""
    from sqlalchemy import event

    org = await new_org("annl")
    t = org.tenant
    teacher = await make_user(t, ["teacher"])
    few = await add_group(engine, t, members=[(await make_user(t, ["student"])).id], leaders=[teacher.id])
    many = await add_group(engine, t, members=[(await make_user(t, ["student"])).id for _ in range(12)],
                           leaders=[teacher.id])
    counts = []
    for group_id in (few, many):
        seen: list[str] = []

        def count(conn, cursor, statement, *args, seen=seen):
            seen.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await _announce(engine, t, teacher, group_id, include_parents=True)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[0] == counts[1]


async def test_a_job_in_another_organization_finds_nothing(new_org, make_user, engine):
    """An announcement's id handed to another organization's job (or page) is unknown there: nobody is notified."""
    org, other = await new_org("annj"), await new_org("annk")
    teacher = await make_user(org.tenant, ["teacher"])
    learner = await make_user(org.tenant, ["student"])
    group_id = await add_group(engine, org.tenant, members=[learner.id], leaders=[teacher.id])
    announcement_id = await _announce(engine, org.tenant, teacher, group_id)
    with tenant_context(other.tenant):
        assert await run_delivery(engine, None, announcement_id) == {"notified": 0, "stopped": "not published"}
    assert await notified(engine, org.tenant, announcement_id) == {}
    assert await notified(engine, other.tenant, announcement_id) == {}
    assert await _pending(engine, org.tenant, announcement_id) == 1
    with tenant_context(org.tenant):
        assert await run_delivery(engine, None, announcement_id) == {"notified": 1}
    assert await notified(engine, org.tenant, announcement_id) == {learner.id: 1}


async def test_a_scheduled_announcement_whose_author_lost_the_class_is_cancelled(new_org, make_user, engine):
    """At its time, an announcement is published only if its author may still post to its audience: a teacher who
    no longer leads the class gets it cancelled by the system (audited), and nobody receives it."""
    import datetime

    from sqlalchemy import select, update

    from tajiconnect.domains.announcements.models import Announcement, AnnouncementRecipient
    from tajiconnect.domains.announcements.service import publish_due
    from tajiconnect.domains.groups.models import GroupMembership
    from tests.integration.conftest import audit_entries
    from tests.integration.groups.conftest import tenant_session
    from tests.integration.progress.conftest import add_group

    org = await new_org("annlost")
    t = org.tenant
    teacher, pupil = await make_user(t, ["teacher"]), await make_user(t, ["student"])
    group_id = await add_group(engine, t, members=[pupil.id], leaders=[teacher.id])
    now = datetime.datetime.now(datetime.UTC)
    async with tenant_session(engine, t) as session:
        kept = Announcement(author_id=teacher.id, author_name="T", scope="group", group_id=group_id, title="Kept",
                            status="scheduled", publish_at=now - datetime.timedelta(minutes=2))
        session.add(kept)
    async with tenant_session(engine, t) as session:
        assert await publish_due(session, now) == 1
    async with tenant_session(engine, t) as session:
        lost = Announcement(author_id=teacher.id, author_name="T", scope="group", group_id=group_id, title="Lost",
                            status="scheduled", publish_at=now - datetime.timedelta(minutes=1))
        session.add(lost)
        await session.execute(update(GroupMembership).where(GroupMembership.user_id == teacher.id)
                              .values(ended_at=now))
    async with tenant_session(engine, t) as session:
        assert await publish_due(session, now) == 1
    async with tenant_session(engine, t) as session:
        statuses = dict((await session.execute(select(Announcement.title, Announcement.status))).all())
        assert statuses == {"Kept": "published", "Lost": "cancelled"}
        lost_recipients = await session.scalar(select(AnnouncementRecipient.user_id).join(
            Announcement, Announcement.id == AnnouncementRecipient.announcement_id).where(Announcement.title == "Lost"))
        assert lost_recipients is None
    [entry] = await audit_entries(engine, t, "announcement.cancelled")
    assert entry.actor_email == "system" and entry.details["title"] == "Lost"
