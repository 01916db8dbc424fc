"""A signed-in device in words, from real User-Agent strings (``domains/accounts/devices.py``)."""

from __future__ import annotations

import pytest

from tajiconnect.domains.accounts.devices import describe_device, describe_devices

REAL = [
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Firefox Mobile 133 on Android 14",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Mobile Safari/537.36",
        "Chrome Mobile 131 on Android 14 (Pixel 7)",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 "
        "Mobile Safari/537.36",
        "Chrome Mobile 131 on Android 13 (Samsung SM-A536B)",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "Mobile Safari 17 on iOS 17 (iPhone)",
    ),
    (
        "Mozilla/5.0 (Mobile; Nokia_8110_4G; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
        "Firefox Mobile 48 on KaiOS 2 (Nokia 8110)",
    ),
    # Frozen versions (Windows 11 still says 10, macOS says 10.15): the system without a version.
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0",
        "Edge 131 on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15",
        "Safari 18 on macOS",
    ),
    # Chrome's reduced Android string names no device ("K"): none shown.
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
        "Safari/537.36",
        "Chrome Mobile 131 on Android 10",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Linux"),
    ("curl/8.5.0", "curl 8"),
]


@pytest.mark.parametrize(("user_agent", "expected"), REAL)
def test_real_user_agents_read_as_browser_system_and_device(user_agent, expected):
    assert describe_device(user_agent) == expected


@pytest.mark.parametrize("user_agent", [None, "", "   "])
def test_no_user_agent_is_an_unknown_device(user_agent):
    assert describe_device(user_agent) == "Unknown device"


def test_what_the_parser_cannot_read_is_shown_as_sent_and_shortened():
    assert describe_device("python-httpx/0.28.1") == "python-httpx/0.28.1"
    long = "SomeAgent/" + "x" * 200
    shown = describe_device(long)
    assert len(shown) == 60 and shown.endswith("…") and long.startswith(shown[:-1])


async def test_describing_a_list_keeps_its_order():
    agents = [REAL[0][0], None, REAL[1][0]]
    assert await describe_devices(agents) == [REAL[0][1], "Unknown device", REAL[1][1]]
