"""A signed-in device in words ("Firefox 133 on Android (Pixel 7)") from its User-Agent, for the devices list.

The parsing is ``ua-parser`` (the maintained uap-core rules, updated with the package). A first parse loads the
rules (about 0.1 s), later ones take about a millisecond and are cached: pages call :func:`describe_devices`
off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable

import ua_parser
from anyio import to_thread

from tajiconnect.i18n import _

# Systems whose version in the User-Agent is frozen (macOS says 10.15, Windows 11 says 10): no version shown.
_FROZEN_VERSION = {"Mac OS X": "macOS", "Windows": "Windows"}
# Device names that say nothing a reader can use.
_VAGUE_DEVICES = {"Other", "Spider", "Mac", "Generic Smartphone", "Generic Tablet", "Generic Feature Phone"}
_MAX_RAW = 60


def _named(family: str | None, major: str | None) -> str | None:
    if not family or family == "Other":
        return None
    return f"{family} {major}" if major else family


def describe_device(user_agent: str | None) -> str:
    """Browser, system and device when the parser knows them; else the raw string, shortened; else "Unknown"."""
    raw = (user_agent or "").strip()
    if not raw:
        return _("Unknown device")
    result = ua_parser.parse(raw)
    browser = _named(result.user_agent.family, result.user_agent.major) if result.user_agent else None
    system = None
    if result.os is not None:
        family = result.os.family
        system = _FROZEN_VERSION[family] if family in _FROZEN_VERSION else _named(family, result.os.major)
    device = None
    if result.device is not None and result.device.family not in _VAGUE_DEVICES:
        if not (result.device.brand or "").startswith("Generic"):
            device = result.device.family
    if browser and system and device:
        return _("%(browser)s on %(system)s (%(device)s)") % {"browser": browser, "system": system, "device": device}
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser or system:
        named = browser or system or ""
        return _("%(name)s (%(device)s)") % {"name": named, "device": device} if device else named
    return raw if len(raw) <= _MAX_RAW else raw[: _MAX_RAW - 1] + "…"


async def describe_devices(user_agents: Iterable[str | None]) -> list[str]:
    """:func:`describe_device` of each, in a worker thread (the first parse loads the rules)."""
    agents = list(user_agents)
    return await to_thread.run_sync(lambda: [describe_device(agent) for agent in agents])
