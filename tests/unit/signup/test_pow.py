"""The sign-up's proof of work: what the server accepts and what it refuses."""

from __future__ import annotations

import hashlib

import pytest

from tajiconnect.domains.signup import pow

SECRET = "unit-test-secret"
NOW = 1_800_000_000


def challenge(bits: int = 6, now: float = NOW, secret: str = SECRET) -> str:
    return pow.issue_challenge(secret, bits, now=now)


def test_a_solved_challenge_is_accepted():
    c = challenge()
    nonce = pow.solve(c, 6)
    pow.verify(c, nonce, secret=SECRET, bits=6, now=NOW + 60)
    digest = hashlib.sha256(f"{c}:{nonce}".encode()).digest()
    assert pow.leading_zero_bits(digest) >= 6
    assert c.startswith("v1.") and c.split(".")[3] == "6"


def test_zero_bits_accepts_any_nonce_but_still_needs_the_signature():
    c = challenge(bits=0)
    pow.verify(c, "0", secret=SECRET, bits=0, now=NOW)
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(c, "0", secret="another", bits=0, now=NOW)
    assert exc.value.reason == "signature"


def test_another_difficulty_than_configured_is_refused():
    easy = challenge(bits=2)
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(easy, pow.solve(easy, 2), secret=SECRET, bits=6, now=NOW)
    assert exc.value.reason == "bits"


@pytest.mark.parametrize("tamper", ["bits", "time", "random", "mac"])
def test_a_tampered_challenge_is_refused(tamper):
    version, issued, random, bits, mac = challenge(bits=6).split(".")
    if tamper == "bits":
        bits = "1"
    elif tamper == "time":
        issued = str(NOW + 600)
    elif tamper == "random":
        random = "0" * 24
    else:
        mac = ("0" if mac[0] != "0" else "1") + mac[1:]
    forged = ".".join((version, issued, random, bits, mac))
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(forged, pow.solve(forged, int(bits)), secret=SECRET, bits=int(bits), now=NOW + 700)
    assert exc.value.reason == "signature"


def test_an_expired_challenge_is_refused():
    c = challenge()
    nonce = pow.solve(c, 6)
    pow.verify(c, nonce, secret=SECRET, bits=6, now=NOW + pow.MAX_AGE_SECONDS)
    for late in (NOW + pow.MAX_AGE_SECONDS + 1, NOW - pow.CLOCK_SKEW_SECONDS - 1):
        with pytest.raises(pow.ProofOfWorkError) as exc:
            pow.verify(c, nonce, secret=SECRET, bits=6, now=late)
        assert exc.value.reason == "expired"


def test_a_hash_that_misses_the_target_is_refused():
    c = challenge(bits=8)
    wrong = next(
        str(n) for n in range(1000) if pow.leading_zero_bits(pow.solution_hash(c, str(n))) < 8
    )
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(c, wrong, secret=SECRET, bits=8, now=NOW)
    assert exc.value.reason == "target"


@pytest.mark.parametrize("value", ["", "v1", "v1.x.y.z.w", "v2.1.2.3.4", "v1.1800000000.abc.6." + "0" * 64])
def test_malformed_challenges_are_refused(value):
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(value, "1", secret=SECRET, bits=6, now=NOW)
    assert exc.value.reason == "malformed"


@pytest.mark.parametrize("nonce", ["", "1 2", "x" * 33, "1\x00"])
def test_malformed_nonces_are_refused(nonce):
    with pytest.raises(pow.ProofOfWorkError) as exc:
        pow.verify(challenge(bits=0), nonce, secret=SECRET, bits=0, now=NOW)
    assert exc.value.reason == "nonce"


def test_leading_zero_bits():
    assert pow.leading_zero_bits(bytes([0, 0, 0x80])) == 16
    assert pow.leading_zero_bits(bytes([0, 0x01])) == 15
    assert pow.leading_zero_bits(bytes([0x10])) == 3
    assert pow.leading_zero_bits(bytes(4)) == 32
