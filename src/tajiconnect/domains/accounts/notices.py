"""Security notices: an email to the account holder whenever something sensitive changes or is used."""

from __future__ import annotations

from typing import Any

from tajiconnect.domains.accounts.models import User
from tajiconnect.mail.tasks import send_email
from tajiconnect.tasks.base import enqueue

#: events with a message in templates/email/_notices.txt
EVENTS = (
    "password_changed", "password_reset", "two_factor_enabled", "two_factor_disabled",
    "recovery_codes_regenerated", "signed_out_everywhere", "recovery_code_used",
)


async def security_notice(queue: Any, user: User, event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown security event {event!r}")
    await enqueue(queue, send_email, to=user.email, template="security_notice", locale=user.locale,
                  context={"user_name": user.name, "event": event})
