"""Delivering a notification beyond the app: ``deliver_notification`` (queue ``notifications``).

Placeholder of the core: the channels (email, SMS), preferences, quiet hours and digests are built on it.
"""

from __future__ import annotations

from typing import Any

from tajiconnect.tasks.base import TaskPolicy, tenant_task

NOTIFICATIONS = TaskPolicy(queue="notifications", timeout=120)


@tenant_task(policy=NOTIFICATIONS)
async def deliver_notification(ctx: dict[str, Any], *, notification_id: str) -> dict[str, Any]:
    """Send the notification on each channel its member wants (one ``notification_deliveries`` row each)."""
    return {"notification_id": notification_id, "channels": []}
