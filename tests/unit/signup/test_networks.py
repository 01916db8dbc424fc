"""The unit of the sign-up limit per address: an IPv4 address, or an IPv6 address's /64."""

from __future__ import annotations

import pytest

from tajiconnect.domains.signup.service import network_of


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("196.201.214.10", "196.201.214.10"),
        ("2c0f:fe38:2405:8a1::1", "2c0f:fe38:2405:8a1::/64"),
        ("2c0f:fe38:2405:8a1:dead:beef:1:2", "2c0f:fe38:2405:8a1::/64"),
        ("2C0F:FE38:2405:08A1::9", "2c0f:fe38:2405:8a1::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:196.201.214.10", "196.201.214.10"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64"),
        ("testclient", "testclient"),
        ("x" * 100, "x" * 45),
        (None, None),
        ("", None),
    ],
)
def test_network_of(ip, network):
    assert network_of(ip) == network


def test_two_addresses_of_one_ipv6_64_share_a_limit_and_the_next_64_does_not():
    assert network_of("2001:db8:0:1::a") == network_of("2001:db8:0:1:ffff::b")
    assert network_of("2001:db8:0:1::a") != network_of("2001:db8:0:2::a")
