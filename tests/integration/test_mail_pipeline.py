"""Emails go through the real queue, a real worker and a real SMTP server."""

from __future__ import annotations

from tajiconnect.tasks.base import enqueue
from tajiconnect.tasks.queue import create_queue
from tajiconnect.tenancy.context import tenant_context
from tests.support import html_of, text_of


async def test_send_email_task_delivers_over_smtp_in_the_tenant_name(settings, alpha, mail_sink, run_jobs):
    queue = create_queue(settings)  # on this test's event loop (a Redis client is bound to the loop it runs on)
    await queue.connect()
    try:
        with tenant_context(alpha):
            await enqueue(queue, "send_email", to="someone@example.org", template="security_notice",
                          context={"user_name": "Someone", "event": "password_changed"})
    finally:
        await queue.disconnect()
    assert await run_jobs() >= 1
    msg = mail_sink.last_to("someone@example.org", "Security notice")
    assert alpha.name in msg["Subject"]
    assert alpha.name in str(msg["From"])
    assert "The password of your account was changed" in text_of(msg)
    assert "<p>" in html_of(msg)


async def _send(settings, tenant, **kwargs) -> None:
    queue = create_queue(settings)
    await queue.connect()
    try:
        with tenant_context(tenant):
            await enqueue(queue, "send_email", **kwargs)
    finally:
        await queue.disconnect()


async def test_plain_text_parts_and_headers_are_not_html_escaped_and_cannot_be_injected(
    settings, make_tenant, mail_sink, run_jobs
):
    tenant = await make_tenant("mailesc", name="Smith & O'Brien <Academy>")
    await _send(settings, tenant, to="zoe@example.org", template="invite",
                context={"user_name": "Zoë O'Brien & Sons", "link": "https://x.test/a?b=1&c=2", "inviter": "A&B"})
    assert await run_jobs() >= 1
    msg = mail_sink.last_to("zoe@example.org", "invited")
    assert msg["Subject"] == "You are invited to Smith & O'Brien <Academy> on TajiConnect"
    text = text_of(msg)
    assert "Hello Zoë O'Brien & Sons," in text
    assert "https://x.test/a?b=1&c=2" in text
    assert "&amp;" not in text and "&#39;" not in text
    assert "Smith &amp; O&#39;Brien &lt;Academy&gt;" in html_of(msg)  # the HTML part is escaped, as it must be


async def test_a_newline_in_a_name_cannot_add_a_header(settings, make_tenant, mail_sink, run_jobs):
    tenant = await make_tenant("mailhdr", name="Evil\r\nBcc: victim@example.org")
    await _send(settings, tenant, to="target@example.org", template="invite",
                context={"user_name": "x", "link": "https://x.test/", "inviter": "y"})
    assert await run_jobs() >= 1
    msg = mail_sink.last_to("target@example.org", "invited")
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert mail_sink.to("victim@example.org") == []


async def test_a_retried_job_does_not_send_twice(settings, alpha, engine, mail_sink, run_jobs):
    """The effect is recorded under the job's key: running the same job again finds it and skips."""
    from tajiconnect.mail.tasks import send_email
    from tajiconnect.tasks.base import REGISTRY, build_job
    from tajiconnect.worker import load_tasks

    load_tasks()
    with tenant_context(alpha):
        job = build_job(send_email, key="retry-test", to="once@example.org", template="security_notice",
                        context={"user_name": "Once", "event": "password_changed"})
    job.queue = create_queue(settings)  # never connected: the job only needs to name its queue
    ctx = {"engine": engine, "settings": settings, "job": job}
    first = await REGISTRY["send_email"].fn(ctx, **job.kwargs)
    again = await REGISTRY["send_email"].fn(ctx, **job.kwargs)
    assert "skipped" not in first and again["skipped"] == "already sent"
    assert len(mail_sink.to("once@example.org")) == 1


async def test_a_sent_record_of_one_tenant_never_suppresses_another_tenants_email(
    settings, alpha, beta, engine, mail_sink
):
    """The record lives in each tenant's schema: the same job key sends once per tenant, not once overall."""
    from tajiconnect.tasks.base import REGISTRY, build_job
    from tajiconnect.worker import load_tasks

    load_tasks()
    sent = []
    for tenant in (alpha, beta, alpha):
        with tenant_context(tenant):
            job = build_job("send_email", to="both@example.org", template="security_notice",
                            context={"user_name": "Both", "event": "password_changed"})
        job.key = "same-key-everywhere"  # as if two tenants' jobs collided on a key
        job.queue = create_queue(settings)
        sent.append(await REGISTRY["send_email"].fn({"engine": engine, "settings": settings, "job": job},
                                                    **job.kwargs))
    assert ["skipped" in result for result in sent] == [False, False, True]
    senders = sorted(str(m["From"]) for m in mail_sink.to("both@example.org"))
    assert len(senders) == 2
    assert any(alpha.name in s for s in senders) and any(beta.name in s for s in senders)

