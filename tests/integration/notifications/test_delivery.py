"""Notifications through the real queue and worker: the in-app list, a real SMTP sink, a stand-in SMS provider;
preferences, quiet hours and the daily digest respected; each delivery once."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.notifications import service
from tajiconnect.domains.notifications.models import NotificationDelivery
from tajiconnect.domains.notifications.tasks import release_due
from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.tenancy.context import tenant_context
from tests.integration.conftest import drain
from tests.integration.notifications.conftest import SMS_KEY, tell
from tests.support import html_of, text_of


async def set_prefs(engine, tenant, member_id, *, phone: str | None = None, **changes) -> None:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            user = await session.get(User, member_id)
            prefs = await service.get_preferences(session, user)
            for name, value in changes.items():
                setattr(prefs, name, value)
            prefs.phone = phone
            await service.save_preferences(session, user, prefs)


async def deliveries(engine, tenant, notification_id) -> dict[str, NotificationDelivery]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            rows = (await session.execute(select(NotificationDelivery).where(
                NotificationDelivery.notification_id == notification_id))).scalars()
            return {d.channel: d for d in rows}


async def test_a_notification_reaches_the_app_email_and_sms_once(
    sms_org, make_user, engine, sms_jobs, sms_server, mail_sink, signed_in, settings
):
    learner = await make_user(sms_org.tenant, ["student"], name="Wanjiku Learner")
    await set_prefs(engine, sms_org.tenant, learner.id, phone="+254712345678",
                    channels={"graded": ["app", "email", "sms"]})
    title = f"Your essay was graded {uuid.uuid4().hex[:6]}"
    nid = await tell(engine, sms_org.tenant, learner.id, sms_jobs, title=title, link="/learn/grades")
    assert nid is not None
    assert await tell(engine, sms_org.tenant, learner.id, sms_jobs, key="dup") is not None
    assert await tell(engine, sms_org.tenant, learner.id, sms_jobs, key="dup") is None  # the same key: once
    await drain(sms_jobs)

    msg = mail_sink.last_to(learner.email, title)
    link = f"https://{sms_org.tenant.slug}.{settings.base_domain}/learn/grades"
    assert link in text_of(msg) and link in html_of(msg)
    assert sms_org.tenant.name in str(msg["From"])
    assert len([m for m in mail_sink.to(learner.email) if title in str(m["Subject"])]) == 1

    sent = [r for r in sms_server.received if title in r["message"]]
    assert len(sent) == 1
    assert sent[0]["path"] == "/version1/messaging"
    assert sent[0]["to"] == "+254712345678" and sent[0]["username"] == "testorg"
    assert sent[0]["api_key"] == SMS_KEY and sent[0]["from"] == "TESTORG"
    assert link in sent[0]["message"]

    rows = await deliveries(engine, sms_org.tenant, nid)
    assert {c: r.status for c, r in rows.items()} == {"email": "sent", "sms": "sent"}
    assert rows["sms"].provider_id.startswith("ATXid_") and rows["email"].provider_id == str(msg["Message-ID"])

    # The job again (a retry after a crash): nothing new is sent, no row is added.
    from tajiconnect.tasks.base import REGISTRY

    with tenant_context(sms_org.tenant):
        ctx = {"engine": engine, "settings": sms_jobs.workers[0].context["settings"]}
        again = await REGISTRY["deliver_notification"].fn(ctx, notification_id=str(nid), tenant=sms_org.tenant.slug)
    assert again["channels"] == {}
    assert len([r for r in sms_server.received if title in r["message"]]) == 1

    async with signed_in(learner) as client:
        page = await client.get("/notifications")
        assert page.status_code == 200 and title in page.text
        history = await client.get("/notifications/history")
        assert history.status_code == 200 and "+254712345678" in history.text


async def test_a_channel_turned_off_sends_nothing_and_sms_off_is_skipped(
    new_org, make_user, engine, run_jobs, mail_sink
):
    org = await new_org("nof")
    learner = await make_user(org.tenant, ["student"])
    await set_prefs(engine, org.tenant, learner.id, phone="+254700000001",
                    channels={"graded": ["app"], "enrollment": ["app", "sms"]})
    title = f"Quiet one {uuid.uuid4().hex[:6]}"
    nid = await tell(engine, org.tenant, learner.id, run_jobs, title=title)
    other = await tell(engine, org.tenant, learner.id, run_jobs, category="enrollment", title=title + " sms")
    await drain(run_jobs)
    assert await deliveries(engine, org.tenant, nid) == {}
    rows = await deliveries(engine, org.tenant, other)
    assert set(rows) == {"sms"} and rows["sms"].status == "skipped" and "off" in rows["sms"].error
    assert [m for m in mail_sink.to(learner.email) if title in str(m["Subject"])] == []


async def test_a_deactivated_member_is_told_nothing(new_org, make_user, engine, run_jobs, mail_sink):
    """Deactivated before the event: no notification. Deactivated while an email waits for the end of quiet hours:
    it is recorded as skipped when released, never sent."""
    org = await new_org("nod")
    learner = await make_user(org.tenant, ["student"])
    now = datetime.datetime.now(datetime.UTC).astimezone(datetime.timezone(datetime.timedelta(hours=3)))
    await set_prefs(engine, org.tenant, learner.id,  # quiet hours around now (Africa/Nairobi = UTC+3)
                    quiet_start=(now - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0),
                    quiet_end=(now + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0))
    title = f"Before leaving {uuid.uuid4().hex[:6]}"
    nid = await tell(engine, org.tenant, learner.id, run_jobs, title=title)
    await drain(run_jobs)
    held = (await deliveries(engine, org.tenant, nid))["email"]
    assert held.status == "held"
    with tenant_context(org.tenant):
        async with session_scope(engine) as session:
            (await session.get(User, learner.id)).status = "deactivated"
    assert (await _release(engine, org.tenant, run_jobs, held.send_after))["released"] == 1
    await drain(run_jobs)
    email = (await deliveries(engine, org.tenant, nid))["email"]
    assert email.status == "skipped" and email.error == "account deactivated"
    assert await tell(engine, org.tenant, learner.id, run_jobs, title=title + " after") is None
    assert [m for m in mail_sink.to(learner.email) if title in str(m["Subject"])] == []


async def test_a_failed_sms_is_recorded_and_finally_failed(
    sms_org, make_user, engine, sms_jobs, sms_server
):
    learner = await make_user(sms_org.tenant, ["student"])
    await set_prefs(engine, sms_org.tenant, learner.id, phone="+254712000111", channels={"graded": ["sms"]})
    sms_server.fail = True
    nid = await tell(engine, sms_org.tenant, learner.id, sms_jobs)
    await drain(sms_jobs)  # retried by the task policy (with backoff): at least the first attempt ran
    rows = await deliveries(engine, sms_org.tenant, nid)
    assert rows["sms"].attempts >= 1 and "provider down" in rows["sms"].error
    # The last attempt (no job: no retry left) marks it failed.
    from tajiconnect.domains.notifications.tasks import deliver_one

    with tenant_context(sms_org.tenant):
        ctx = {"engine": engine, "settings": sms_jobs.workers[0].context["settings"]}
        assert await deliver_one(ctx, rows["sms"]) == "failed"
    rows = await deliveries(engine, sms_org.tenant, nid)
    assert rows["sms"].status == "failed" and rows["sms"].error


async def _release(engine, tenant, drainer, at: datetime.datetime) -> dict:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            done = await release_due(session, at)
        await dispatch_committed(session, drainer.queues)
    return done


async def test_quiet_hours_hold_then_release(new_org, make_user, engine, run_jobs, mail_sink):
    org = await new_org("quiet")
    learner = await make_user(org.tenant, ["student"])
    now = datetime.datetime.now(datetime.UTC).astimezone(datetime.timezone(datetime.timedelta(hours=3)))
    start = (now - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    await set_prefs(engine, org.tenant, learner.id, quiet_start=start, quiet_end=end)  # Africa/Nairobi = UTC+3
    title = f"In quiet hours {uuid.uuid4().hex[:6]}"
    nid = await tell(engine, org.tenant, learner.id, run_jobs, title=title)
    await drain(run_jobs)
    email = (await deliveries(engine, org.tenant, nid))["email"]
    assert email.status == "held" and email.send_after is not None
    assert email.send_after > datetime.datetime.now(datetime.UTC)
    assert mail_sink.to(learner.email) == [] or all(title not in str(m["Subject"]) for m in mail_sink.to(learner.email))

    assert (await _release(engine, org.tenant, run_jobs, email.send_after - datetime.timedelta(minutes=1)))[
        "released"] == 0
    assert (await _release(engine, org.tenant, run_jobs, email.send_after))["released"] == 1
    await drain(run_jobs)
    assert (await deliveries(engine, org.tenant, nid))["email"].status == "sent"
    assert mail_sink.last_to(learner.email, title)
    assert (await _release(engine, org.tenant, run_jobs, email.send_after))["released"] == 0  # once


async def test_daily_digest_is_one_email_listing_them(new_org, make_user, engine, run_jobs, mail_sink):
    org = await new_org("digest")
    learner = await make_user(org.tenant, ["student"])
    await set_prefs(engine, org.tenant, learner.id, daily_digest=True, digest_hour=7)
    tag = uuid.uuid4().hex[:6]
    ids = [await tell(engine, org.tenant, learner.id, run_jobs, title=f"Digest item {n} {tag}") for n in range(3)]
    urgent = await tell(engine, org.tenant, learner.id, run_jobs, category="seats_low", title=f"Urgent {tag}")
    await drain(run_jobs)
    rows = [(await deliveries(engine, org.tenant, i))["email"] for i in ids]
    assert all(r.status == "held" and r.digest for r in rows)
    assert (await deliveries(engine, org.tenant, urgent))["email"].status == "sent"  # urgent: never in the digest
    at = max(r.send_after for r in rows)
    assert at.astimezone(datetime.timezone(datetime.timedelta(hours=3))).hour == 7
    assert (await _release(engine, org.tenant, run_jobs, at))["digests"] == 1
    await drain(run_jobs)
    digests = [m for m in mail_sink.to(learner.email) if "summary" in str(m["Subject"])]
    assert len(digests) == 1
    text = text_of(digests[0])
    assert all(f"Digest item {n} {tag}" in text for n in range(3))
    assert {(await deliveries(engine, org.tenant, i))["email"].status for i in ids} == {"sent"}
