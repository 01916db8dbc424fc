"""The parents' weekly digest: what it says (released grades only, due and overdue work, the week's learning), once
per parent and week, skipped when there is nothing to say, by email or SMS per the parent's preferences, and only
ever within the organization it runs in."""

from __future__ import annotations

import datetime

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.notifications.models import Notification
from tajiconnect.domains.parents import digest
from tajiconnect.tasks.base import REGISTRY
from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.tasks.schedule import SCHEDULED
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import drain
from tests.integration.notifications.test_delivery import set_prefs
from tests.integration.parents.conftest import add_link, build_family
from tests.support import html_of, text_of


async def run_digest(engine, tenant, drainer, now=None) -> dict[str, int]:
    now = now or datetime.datetime.now(datetime.UTC)
    if not drainer.connected:
        await drainer.queues.connect()
        drainer.connected = True

    async def dispatch(session) -> None:
        await dispatch_committed(session, drainer.queues)

    with tenant_context(tenant):
        return await digest.send_weekly_digests(engine, now, after_batch=dispatch)


async def digests_of(engine, tenant, user_id) -> list[Notification]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            rows = await session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                                    Notification.category == "weekly_digest"))
            return list(rows.all())


def test_the_digest_task_is_weekly_per_tenant():
    from tajiconnect.worker import SCHEDULE, load_tasks

    load_tasks()
    assert ("fan_out_weekly", "23 14 * * 5") in SCHEDULE
    assert "send_weekly_digest" in SCHEDULED["weekly"]
    assert REGISTRY["send_weekly_digest"].tenant_scoped


async def test_a_parent_gets_their_childrens_week_once_by_email(new_org, make_user, engine, run_jobs, mail_sink):
    org = await new_org("dig", kind="school")
    f = await build_family(engine, org.tenant, make_user)
    quiet_parent = await make_user(org.tenant, ["parent"])
    quiet_child = await make_user(org.tenant, ["student"])
    await add_link(engine, org.tenant, quiet_parent.id, quiet_child.id)
    lonely_parent = await make_user(org.tenant, ["parent"])  # no child at all

    first = await run_digest(engine, org.tenant, run_jobs)
    assert first == {"notified": 1, "quiet": 1, "already": 0}
    again = await run_digest(engine, org.tenant, run_jobs)  # a rerun, a retried job: nobody twice
    assert again == {"notified": 0, "quiet": 1, "already": 1}
    await drain(run_jobs)

    (note,) = await digests_of(engine, org.tenant, f.parent.id)
    assert note.key == digest.week_key(datetime.datetime.now(datetime.UTC))
    assert note.key.startswith("weekly_digest:") and "-W" in note.key
    assert f"Child {f.tag}" in note.title and "1 new grade" in note.title and "1 overdue" in note.title
    assert note.read_at is not None  # email only by default: no unread item in the bell
    assert await digests_of(engine, org.tenant, quiet_parent.id) == []
    assert await digests_of(engine, org.tenant, lonely_parent.id) == []

    (mail,) = [m for m in mail_sink.to(f.parent.email) if "week" in str(m["Subject"])]
    text, html = text_of(mail), html_of(mail)
    for body in (text, html):
        assert f"Child {f.tag}" in body
        assert f.released_title in body and "8 / 10" in body and f"Well argued {f.tag}" in body
        assert f.due_title in body and f.overdue_title in body
        assert "30 minutes of learning" in body
        assert f"SECRET draft {f.tag}" not in body and f"Other {f.tag}" not in body and "Not yours" not in body
    assert mail_sink.to(quiet_parent.email) == []


async def test_a_parent_who_chose_sms_gets_an_sms_and_no_email(sms_org, make_user, engine, sms_jobs, sms_server,
                                                                mail_sink):
    f = await build_family(engine, sms_org.tenant, make_user)
    await set_prefs(engine, sms_org.tenant, f.parent.id, phone="+254712345600", channels={"weekly_digest": ["sms"]})
    assert (await run_digest(engine, sms_org.tenant, sms_jobs))["notified"] == 1
    await drain(sms_jobs)
    sent = [r for r in sms_server.received if r["to"] == "+254712345600"]
    assert len(sent) == 1
    assert f"Child {f.tag}" in sent[0]["message"] and "1 new grade" in sent[0]["message"]
    assert [m for m in mail_sink.to(f.parent.email) if "week" in str(m["Subject"])] == []


async def test_the_digest_stays_in_its_organization(new_org, make_user, engine, run_jobs):
    org, other = await new_org("diga", kind="school"), await new_org("digb", kind="school")
    here = await build_family(engine, org.tenant, make_user)
    there = await build_family(engine, other.tenant, make_user)
    assert (await run_digest(engine, org.tenant, run_jobs))["notified"] == 1
    assert len(await digests_of(engine, org.tenant, here.parent.id)) == 1
    assert await digests_of(engine, other.tenant, there.parent.id) == []


async def test_a_week_without_news_says_nothing(new_org, make_user, engine, run_jobs):
    org = await new_org("digq", kind="school")
    f = await build_family(engine, org.tenant, make_user)
    # Five weeks later: the grade and the learning are old, the work is long past its overdue window.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=35)
    assert await run_digest(engine, org.tenant, run_jobs, now=later) == {"notified": 0, "quiet": 1, "already": 0}
    assert await digests_of(engine, org.tenant, f.parent.id) == []


async def test_the_weekly_job_runs_in_its_tenant_through_the_worker(new_org, make_user, engine, run_jobs, mail_sink):
    """The task as the fan-out enqueues it (the tenant in the job): a real worker runs it, and the email follows."""
    from tajiconnect.tasks.base import build_job

    org, other = await new_org("digw", kind="school"), await new_org("digx", kind="school")
    here = await build_family(engine, org.tenant, make_user)
    there = await build_family(engine, other.tenant, make_user)
    await run_jobs.queues.connect()
    run_jobs.connected = True
    await run_jobs.queues.enqueue(build_job("send_weekly_digest", key="send_weekly_digest:test", tenant=org.tenant,
                                            tick="2026-11-30T00:00:00+00:00"))
    await drain(run_jobs)
    assert len(await digests_of(engine, org.tenant, here.parent.id)) == 1
    assert await digests_of(engine, other.tenant, there.parent.id) == []
    assert len([m for m in mail_sink.to(here.parent.email) if "week" in str(m["Subject"])]) == 1
