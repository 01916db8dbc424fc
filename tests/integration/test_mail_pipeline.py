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
