"""SMS through Africa's Talking's official SDK (``africastalking``), per tenant and off by default.

A tenant turns SMS on in ``tenants/<slug>/tenant.toml``::

    [sms]
    enabled = true
    username = "myorg"             # the Africa's Talking application's user name ("sandbox" for the sandbox)
    sender_id = "MYORG"            # optional: the registered sender id or short code
    api_key_env = "MYORG_AT_KEY"   # the environment variable holding the API key (never the key itself)

``TAJI_SMS_API_URL`` (``Settings.sms_api_url``) replaces the provider's API base URL (``https://api.
africastalking.com``): the SDK posts to ``<base>/version1/messaging``, so tests and staging point it at a local
stand-in server. The key only ever comes from the environment.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from tajiconnect.settings import Settings
from tajiconnect.tenancy.branding import tenant_definition


class SmsError(RuntimeError):
    """The provider refused or could not be reached (the message says why; it never holds the key)."""


@dataclass(frozen=True)
class SmsConfig:
    username: str
    api_key: str
    sender_id: str | None = None


def sms_config(slug: str) -> SmsConfig | None:
    """The tenant's SMS settings, or None when SMS is off (not enabled, incomplete, or the key is not set)."""
    raw = tenant_definition(slug).get("sms", {})
    if not isinstance(raw, dict) or raw.get("enabled") is not True:
        return None
    username, key_env = raw.get("username"), raw.get("api_key_env")
    if not isinstance(username, str) or not username or not isinstance(key_env, str) or not key_env:
        return None
    api_key = os.environ.get(key_env, "")
    if not api_key:
        return None
    sender = raw.get("sender_id")
    return SmsConfig(username=username, api_key=api_key, sender_id=sender if isinstance(sender, str) else None)


def _send(settings: Settings, config: SmsConfig, to: str, message: str) -> str:
    from africastalking.SMS import SMSService

    service = SMSService(config.username, config.api_key)
    if settings.sms_api_url:
        # The SDK builds every URL from this attribute (Service._make_url): the documented way to aim it elsewhere.
        service._baseUrl = settings.sms_api_url.rstrip("/") + "/version1"
    try:
        answer: Any = service.send(message, [to], sender_id=config.sender_id)
    except Exception as exc:  # the SDK raises AfricasTalkingException (HTTP error) or requests' errors
        raise SmsError(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    try:
        recipient = answer["SMSMessageData"]["Recipients"][0]
    except (TypeError, KeyError, IndexError) as exc:
        raise SmsError(f"unexpected answer from the SMS provider: {str(answer)[:300]}") from exc
    if recipient.get("status") != "Success":
        raise SmsError(f"the SMS provider refused the message: {recipient.get('status')}")
    return str(recipient.get("messageId") or "")


async def send_sms(settings: Settings, config: SmsConfig, to: str, message: str) -> str:
    """Send ``message`` to ``to`` (E.164); the provider's message id. Raises :class:`SmsError`."""
    return await asyncio.to_thread(_send, settings, config, to, message)
