"""Reminders 24 hours and 15 minutes before a live session: exactly once per reminder and recipient."""

from __future__ import annotations

import datetime

from tajiconnect.domains.live.tasks import run_announce, run_reminders
from tajiconnect.tenancy.context import tenant_context
from tests.integration.live.conftest import create_session, live_notifications, set_session, soon


async def test_reminders_are_sent_once_each_and_again_for_a_new_time(engine, live_school):
    s = live_school
    start = soon(hours=20)
    session_id = await create_session(engine, s.tenant, title="Revision", group_id=s.group_id, starts_at=start,
                                      include_parents=True, announced_at=soon(days=-2))
    late = await create_session(engine, s.tenant, title="Short notice", group_id=s.group_id,
                                starts_at=soon(hours=5), announced_at=soon(minutes=-5))
    with tenant_context(s.tenant):
        first = await run_reminders(engine)
        again = await run_reminders(engine)
    assert first["24h"] >= 3 and again == {"24h": 0, "15m": 0}  # learner, classmate, parent (others' sessions too)
    titles = [n.title for n in await live_notifications(engine, s.tenant, s.parent.id)]
    assert titles.count("Live class tomorrow: Revision") == 1
    assert not any("Short notice" in t for t in titles)  # announced 5 hours ahead: that was its reminder
    assert await live_notifications(engine, s.tenant, s.unlinked_parent.id) == []
    assert await live_notifications(engine, s.tenant, s.outsider.id) == []

    with tenant_context(s.tenant):  # 10 minutes before: the 15-minute reminder, once
        at = start - datetime.timedelta(minutes=10)
        assert (await run_reminders(engine, at))["15m"] >= 3
        assert (await run_reminders(engine, at)) == {"24h": 0, "15m": 0}
    titles = [n.title for n in await live_notifications(engine, s.tenant, s.learner.id)]
    assert titles.count("Live class starting soon: Revision") == 1
    assert titles.count("Live class tomorrow: Revision") == 1

    # Moved to a new time: announced and reminded again, for the new time only.
    new_start = soon(hours=30)
    await set_session(engine, s.tenant, session_id, starts_at=new_start, announced_at=soon(hours=-1))
    with tenant_context(s.tenant):
        await run_announce(engine, str(session_id), "moved", new_start.isoformat())
        await run_announce(engine, str(session_id), "moved", new_start.isoformat())  # a retried job
        await run_reminders(engine, new_start - datetime.timedelta(minutes=14))
        await run_reminders(engine, new_start - datetime.timedelta(minutes=5))
    titles = [n.title for n in await live_notifications(engine, s.tenant, s.learner.id)]
    assert titles.count("Live class moved: Revision") == 1
    assert titles.count("Live class starting soon: Revision") == 2  # once per start time
    assert titles.count("Live class tomorrow: Revision") == 1  # moved an hour before: no second "tomorrow"
    await set_session(engine, s.tenant, late, status="cancelled", cancelled_at=soon())


async def test_cancelled_and_past_sessions_are_not_reminded(engine, new_org, make_user):
    from tests.integration.live.conftest import build_school

    s = await build_school(engine, new_org, make_user, "livr")
    await create_session(engine, s.tenant, title="Off", group_id=s.group_id, starts_at=soon(minutes=10),
                         status="cancelled", cancelled_at=soon())
    await create_session(engine, s.tenant, title="Done", group_id=s.group_id, starts_at=soon(minutes=-10))
    with tenant_context(s.tenant):
        assert await run_reminders(engine) == {"24h": 0, "15m": 0}
    assert await live_notifications(engine, s.tenant, s.learner.id) == []


async def test_a_large_audience_is_told_in_batches_once_each(engine, new_org, make_user, monkeypatch):
    """Batches of two (here) each commit: everyone is told once, and a rerun tells nobody again."""
    from tajiconnect.domains.live import tasks
    from tests.integration.progress.conftest import add_group

    monkeypatch.setattr(tasks, "RECIPIENTS_BATCH", 2)
    org = await new_org("livbt")
    pupils = [await make_user(org.tenant, ["student"]) for _ in range(5)]
    teacher = await make_user(org.tenant, ["teacher"])
    group_id = await add_group(engine, org.tenant, members=[p.id for p in pupils], leaders=[teacher.id])
    session_id = await create_session(engine, org.tenant, title="Big class", group_id=group_id,
                                      starts_at=soon(hours=20), announced_at=soon(days=-2))
    with tenant_context(org.tenant):
        assert (await run_reminders(engine))["24h"] == 5
        assert await run_announce(engine, str(session_id), "cancelled", "") == {"notified": 5}
        assert await run_announce(engine, str(session_id), "cancelled", "") == {"notified": 0}
    for pupil in pupils:
        titles = [n.title for n in await live_notifications(engine, org.tenant, pupil.id)]
        assert titles == ["Live class tomorrow: Big class", "Live class cancelled: Big class"] or sorted(titles) == [
            "Live class cancelled: Big class", "Live class tomorrow: Big class"]
