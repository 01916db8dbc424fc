"""The ``send_email`` task: renders ``templates/email/<name>.{subject.txt,txt,html}`` inside the tenant (its name,
its branding, the recipient's locale) and delivers it. Retried on SMTP failures like every task."""

from __future__ import annotations

from typing import Any

from tajiconnect import i18n
from tajiconnect.mail.mailer import build_message, deliver
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


@tenant_task
async def send_email(ctx: dict[str, Any], *, to: str, template: str, locale: str | None = None,
                     context: dict[str, Any] | None = None) -> dict[str, str]:
    tenant = require_tenant()
    with i18n.locale_context(locale or tenant.locale):
        subject, text, html = render_email(template, context or {})
    settings = ctx["settings"]
    msg = build_message(
        sender_name=tenant.name, sender=settings.mail_from, to=to, subject=subject, text=text, html=html
    )
    await deliver(settings, msg)
    return {"to": to, "template": template}
