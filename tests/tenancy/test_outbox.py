"""The outbox: a deferred task reaches the queue exactly when its transaction commits, and a stranded one is swept."""

from __future__ import annotations

import datetime

from sqlalchemy import select

from tajiconnect.db.session import session_scope
from tajiconnect.mail.tasks import send_email
from tajiconnect.tasks.models import OutboxMessage
from tajiconnect.tasks.outbox import defer, dispatch_committed, sweep_tenant
from tajiconnect.tasks.queue import create_queue
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.service import suspend_tenant


async def _messages(engine, tenant) -> list[OutboxMessage]:
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            return list((await session.scalars(select(OutboxMessage))).all())


async def _defer_one(engine, tenant, to: str, *, fail: bool = False):
    with tenant_context(tenant):
        async with session_scope(engine) as session:
            await defer(session, send_email, to=to, template="security_notice",
                        context={"user_name": "X", "event": "password_changed"})
            if fail:
                raise RuntimeError("the transaction fails after deferring")
    return session


async def test_a_rolled_back_transaction_sends_nothing(engine, make_tenant, mail_sink, run_jobs):
    tenant = await make_tenant("obrb")
    try:
        await _defer_one(engine, tenant, "never@example.org", fail=True)
    except RuntimeError:
        pass
    assert await _messages(engine, tenant) == []
    await run_jobs()
    assert mail_sink.to("never@example.org") == []


async def test_a_stranded_message_is_swept_once_and_sent_once(settings, engine, make_tenant, mail_sink, run_jobs):
    """The process died between commit and enqueue: the sweeper enqueues it; sweeping again changes nothing."""
    tenant = await make_tenant("obsw")
    await _defer_one(engine, tenant, "stranded@example.org")  # committed, never dispatched
    [message] = await _messages(engine, tenant)
    assert message.dispatched_at is None
    queue = create_queue(settings)
    await queue.connect()
    try:
        assert await sweep_tenant(engine, queue, tenant) == 0  # too recent: the fast path may still be at work
        assert await sweep_tenant(engine, queue, tenant, older_than=datetime.timedelta(0)) == 1
        assert await sweep_tenant(engine, queue, tenant, older_than=datetime.timedelta(0)) == 0
    finally:
        await queue.disconnect()
    await run_jobs()
    assert len(mail_sink.to("stranded@example.org")) == 1
    assert (await _messages(engine, tenant))[0].dispatched_at is not None


async def test_fast_path_and_sweeper_racing_make_one_job(settings, engine, make_tenant, mail_sink, run_jobs):
    tenant = await make_tenant("obrc")
    session = await _defer_one(engine, tenant, "race@example.org")
    queue = create_queue(settings)
    await queue.connect()
    try:
        # The sweeper gets there first (the web process was slow), then the fast path enqueues the same message.
        assert await sweep_tenant(engine, queue, tenant, older_than=datetime.timedelta(0)) == 1
        await dispatch_committed(session, queue)
    finally:
        await queue.disconnect()
    await run_jobs()
    assert len(mail_sink.to("race@example.org")) == 1


async def test_a_suspended_tenants_outbox_is_not_swept(settings, engine, make_tenant, run_jobs):
    from tajiconnect.tasks.base import REGISTRY

    tenant = await make_tenant("obsp")
    await _defer_one(engine, tenant, "paused@example.org")
    await suspend_tenant(engine, tenant.slug)
    queue = create_queue(settings)
    await queue.connect()
    try:
        result = await REGISTRY["sweep_outbox"].fn({"engine": engine, "queue": queue})
    finally:
        await queue.disconnect()
    assert tenant.slug not in result["failed"]
    assert (await _messages(engine, tenant))[0].dispatched_at is None  # kept for when it is resumed


async def test_defer_refuses_what_the_queue_could_not_carry(engine, make_tenant):
    import pytest
    from sqlalchemy.exc import StatementError

    tenant = await make_tenant("obbad")
    with tenant_context(tenant):
        with pytest.raises(ValueError, match="not a tenant task"):
            async with session_scope(engine) as session:
                await defer(session, "sweep_outbox")
        with pytest.raises((StatementError, TypeError)):  # raised by the JSONB flush, inside defer()
            async with session_scope(engine) as session:
                await defer(session, send_email, to=object(), template="invite")
    assert await _messages(engine, tenant) == []
