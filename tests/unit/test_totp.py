"""TOTP (RFC 6238): one step of drift either side, never the same or an earlier step twice; recovery codes."""

from __future__ import annotations

import re

import pyotp
import pytest

from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.crypto import token_hash

SECRET = pyotp.random_base32(32)
NOW = 1_700_000_015.0  # 15 s into a 30 s step
STEP = int(NOW // 30)


def code_at(steps: int) -> str:
    return totp.code_for(SECRET, at=NOW + steps * 30)


def test_code_for_matches_an_independent_rfc6238_implementation():
    assert totp.code_for(SECRET, at=NOW) == pyotp.TOTP(SECRET).at(int(NOW))
    assert re.fullmatch(r"\d{6}", totp.code_for(SECRET, at=NOW))


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_current_and_adjacent_steps_are_accepted(steps):
    check = totp.check_code(SECRET, code_at(steps), last_step=None, now=NOW)
    assert check.ok
    assert check.step == STEP + steps


@pytest.mark.parametrize("steps", [-2, 2, -10, 10])
def test_codes_two_or_more_steps_away_are_refused(steps):
    code = code_at(steps)
    if code in {code_at(s) for s in (-1, 0, 1)}:  # an accidental collision of 6-digit codes
        pytest.skip("code collides with an accepted step")
    check = totp.check_code(SECRET, code, last_step=None, now=NOW)
    assert not check.ok
    assert check.step is None


def test_a_code_is_never_accepted_twice():
    first = totp.check_code(SECRET, code_at(0), last_step=None, now=NOW)
    assert first.ok
    again = totp.check_code(SECRET, code_at(0), last_step=first.step, now=NOW)
    assert not again.ok


def test_codes_of_earlier_steps_are_refused_after_a_later_one_was_used():
    later = totp.check_code(SECRET, code_at(1), last_step=None, now=NOW)
    assert later.ok
    assert not totp.check_code(SECRET, code_at(0), last_step=later.step, now=NOW).ok
    assert not totp.check_code(SECRET, code_at(-1), last_step=later.step, now=NOW).ok


def test_a_later_step_is_accepted_after_an_earlier_one():
    earlier = totp.check_code(SECRET, code_at(-1), last_step=None, now=NOW)
    assert earlier.ok
    later = totp.check_code(SECRET, code_at(1), last_step=earlier.step, now=NOW)
    assert later.ok and later.step == STEP + 1


def test_spaces_and_dashes_in_a_code_are_ignored():
    code = code_at(0)
    assert totp.check_code(SECRET, f"{code[:3]} {code[3:]}", last_step=None, now=NOW).ok
    assert totp.check_code(SECRET, f" {code[:3]}-{code[3:]} ", last_step=None, now=NOW).ok


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", None])
def test_malformed_codes_are_refused(code):
    assert not totp.check_code(SECRET, code, last_step=None, now=NOW).ok


def test_a_code_of_another_secret_is_refused():
    other = pyotp.random_base32(32)
    code = totp.code_for(other, at=NOW)
    if code in {code_at(s) for s in (-1, 0, 1)}:
        pytest.skip("accidental collision")
    assert not totp.check_code(SECRET, code, last_step=None, now=NOW).ok


def test_new_secrets_are_random_base32_of_160_bits_or_more():
    a, b = totp.new_secret(), totp.new_secret()
    assert a != b
    assert re.fullmatch(r"[A-Z2-7]{32}", a)


def test_provisioning_uri_names_the_issuer_and_account():
    uri = totp.provisioning_uri(SECRET, account="ann@example.org", issuer="Alpha School")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={SECRET}" in uri
    assert "issuer=Alpha%20School" in uri
    assert "ann%40example.org" in uri


def test_qr_code_is_inline_svg():
    svg = totp.qr_svg("otpauth://totp/x?secret=" + SECRET)
    assert svg.startswith("<svg") and "</svg>" in svg


def test_recovery_codes_are_ten_distinct_unambiguous_codes():
    codes = totp.new_recovery_codes()
    assert len(codes) == totp.RECOVERY_CODE_COUNT == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}", code), code
        assert not set(code) & set("01ilo")


def test_recovery_codes_differ_between_calls():
    assert set(totp.new_recovery_codes()).isdisjoint(totp.new_recovery_codes())


def test_recovery_hash_normalizes_case_and_spaces():
    code = "k7q2-9xmp-a3vd"
    expected = totp.recovery_hash(code)
    assert expected == token_hash(code)
    assert totp.recovery_hash(" K7Q2-9XMP-A3VD ") == expected
    assert totp.recovery_hash("k7q2 -9xmp- a3vd") == expected
    assert totp.recovery_hash("k7q2-9xmp-a3ve") != expected


def test_recovery_hash_is_not_the_code():
    code = totp.new_recovery_codes(1)[0]
    digest = totp.recovery_hash(code)
    assert code not in digest and re.fullmatch(r"[0-9a-f]{64}", digest)
