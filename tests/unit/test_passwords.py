"""argon2id hashing at or above OWASP's parameters, and the password rules (length, common, personal)."""

from __future__ import annotations

import re

import pytest

from tajiconnect.domains.accounts import passwords
from tajiconnect.domains.accounts.service import AccountError, check_password

GOOD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def good_hash() -> str:
    return passwords.hash_password(GOOD)


def test_hash_is_argon2id_with_owasp_parameters(good_hash):
    assert good_hash.startswith("$argon2id$")
    params = dict(kv.split("=") for kv in re.search(r"\$m=[^$]+", good_hash).group(0)[1:].split(","))
    assert int(params["m"]) >= 19456  # KiB
    assert int(params["t"]) >= 2
    assert int(params["p"]) >= 1


def test_hash_is_salted(good_hash):
    assert passwords.hash_password(GOOD) != good_hash
    assert GOOD not in good_hash


def test_verify_accepts_the_password(good_hash):
    assert passwords.verify_password(good_hash, GOOD)


@pytest.mark.parametrize("attempt", ["correct-horse-battery-stapl", "Correct-horse-battery-staple", "", GOOD + " "])
def test_verify_refuses_other_passwords(good_hash, attempt):
    assert not passwords.verify_password(good_hash, attempt)


def test_verify_without_a_hash_is_false_even_for_the_dummy_password():
    assert not passwords.verify_password(None, GOOD)
    assert not passwords.verify_password(None, "not-a-real-password-for-timing")
    assert not passwords.verify_password("", "not-a-real-password-for-timing")


def test_verify_with_a_broken_hash_is_false():
    assert not passwords.verify_password("$argon2id$garbage", GOOD)
    assert not passwords.verify_password("plaintext", "plaintext")


def test_current_hashes_need_no_rehash_but_weaker_ones_do(good_hash):
    from argon2 import PasswordHasher

    assert not passwords.needs_rehash(good_hash)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    assert passwords.needs_rehash(weak)


@pytest.mark.parametrize("short", ["", "a", "Xy7$kq2!p"])  # at most 9 characters
def test_short_passwords_are_refused(short):
    problem = passwords.password_problem(short)
    assert problem is not None and "10" in problem


def test_ten_characters_are_enough_length():
    assert passwords.password_problem("Xy7$kq2!pZ") is None


def test_overlong_passwords_are_refused():
    assert "256" in (passwords.password_problem("horse-" * 50) or "")


@pytest.mark.parametrize("common", ["password1234", "qwertyuiop", "1234567890", "iloveyou123"])
def test_common_passwords_are_refused(common):
    problem = passwords.password_problem(common)
    assert problem is not None and "common" in problem


def test_personal_passwords_are_refused():
    email = "wanjiku.kamau@example.org"
    inputs = (email, email.split("@")[0], "Wanjiku Kamau")
    for personal in (email, "wanjiku.kamau1"):
        assert passwords.password_problem(personal) is None  # strong enough on its own...
        assert passwords.password_problem(personal, user_inputs=inputs) is not None  # ...but it is theirs


def test_check_password_uses_the_email_and_name():
    with pytest.raises(AccountError) as info:
        check_password("wanjiku.kamau1", email="wanjiku.kamau@example.org")
    assert info.value.field == "password"
    check_password("wanjiku.kamau1", email="someone.else@example.org")


def test_a_good_passphrase_passes():
    assert passwords.password_problem(GOOD) is None
    assert passwords.password_problem("lemon tractor violin harbour", user_inputs=("ann@example.org",)) is None
