"""The ``send_email`` task: renders ``templates/email/<name>.{subject.txt,txt,html}`` inside the tenant (its name,
its branding, the recipient's locale) and delivers it, at most once per job.

Idempotency: the job's key (``<slug>:outbox:<id>`` for messages from the outbox, SAQ's own key otherwise; a
retried job keeps its key) is recorded in ``sent_emails`` right after the mail server accepts the message, and
a job whose key is recorded does not send again. The one remaining window is between the server's acceptance
and that record's commit: a worker killed exactly there sends the message once more when the job is retried
(docs/jobs.md). The key also makes the ``Message-ID``, so receiving systems can recognise such a duplicate.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.mail.mailer import build_message, deliver
from tajiconnect.mail.models import SentEmail
from tajiconnect.tasks.base import tenant_task
from tajiconnect.tenancy.context import require_tenant


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    from tajiconnect.web.templating import email_environment

    env = email_environment()
    tenant = require_tenant()
    ctx = {"tenant": tenant, **context}
    subject = env.get_template(f"email/{template}.subject.txt").render(ctx).strip()
    text = env.get_template(f"email/{template}.txt").render(ctx)
    html = env.get_template(f"email/{template}.html").render(ctx)
    return subject, text, html


def message_id_for(key: str, sender: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.rsplit('@', 1)[-1]}>"


@tenant_task
async def send_email(ctx: dict[str, Any], *, to: str, template: str, locale: str | None = None,
                     context: dict[str, Any] | None = None) -> dict[str, Any]:
    tenant = require_tenant()
    settings, engine = ctx["settings"], ctx["engine"]
    job = ctx.get("job")
    key = job.key if job is not None else None
    if key is not None:
        async with session_scope(engine) as session:
            if await session.get(SentEmail, key) is not None:
                return {"to": to, "template": template, "skipped": "already sent"}
    with i18n.locale_context(locale or tenant.locale):
        subject, text, html = render_email(template, context or {})
    message_id = message_id_for(key, settings.mail_from) if key else None
    msg = build_message(
        sender_name=tenant.name, sender=settings.mail_from, to=to, subject=subject, text=text, html=html,
        message_id=message_id,
    )
    await deliver(settings, msg)
    if key is not None:
        async with session_scope(engine) as session:
            await session.execute(
                insert(SentEmail)
                .values(idempotency_key=key, recipient=to, template=template, message_id=str(msg["Message-ID"]),
                        sent_at=datetime.datetime.now(datetime.UTC))
                .on_conflict_do_nothing()
            )
    return {"to": to, "template": template}
