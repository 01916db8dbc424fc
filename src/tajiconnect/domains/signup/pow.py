"""The sign-up form's bot check: a proof of work that needs no third-party service.

The form carries a challenge signed by the server, ``v1.<issued unix>.<random>.<bits>.<mac>``; the browser
(``static/signup.js``) finds a nonce such that ``sha256(challenge + ":" + nonce)`` starts with ``bits`` zero bits.
The server checks the signature (it issued the challenge, with today's difficulty), its age, and the hash: one
SHA-256, a few microseconds. Each challenge serves one sign-up (``Signup.challenge_hash`` is unique).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

VERSION = "v1"
#: A challenge is good for this long after it was issued (the time to fill the form in).
MAX_AGE_SECONDS = 30 * 60
#: Clocks of several app servers may differ a little: a challenge "issued" this far in the future is accepted.
CLOCK_SKEW_SECONDS = 60
NONCE_PATTERN = re.compile(r"^[0-9A-Za-z]{1,32}$")
_CHALLENGE = re.compile(r"^v1\.(\d{1,12})\.([0-9a-f]{24})\.(\d{1,2})\.([0-9a-f]{64})$")


class ProofOfWorkError(ValueError):
    """The proof of work does not hold; ``reason`` says which check failed (for logs and tests, not for people)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mac(secret: str, payload: str) -> str:
    # Domain-separated from every other use of the secret key.
    return hmac.new(secret.encode(), b"signup-pow:" + payload.encode(), hashlib.sha256).hexdigest()


def issue_challenge(secret: str, bits: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    payload = f"{VERSION}.{issued}.{secrets.token_hex(12)}.{bits}"
    return f"{payload}.{_mac(secret, payload)}"


def challenge_hash(challenge: str) -> str:
    """What is stored to refuse a second use of ``challenge``."""
    return hashlib.sha256(challenge.encode()).hexdigest()


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solution_hash(challenge: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()


def issued_at(challenge: str) -> int | None:
    match = _CHALLENGE.fullmatch(challenge or "")
    return int(match.group(1)) if match else None


def verify(challenge: str, nonce: str, *, secret: str, bits: int, now: float | None = None) -> None:
    """Return when ``nonce`` solves ``challenge`` at today's difficulty; raise :class:`ProofOfWorkError`."""
    match = _CHALLENGE.fullmatch(challenge or "")
    if match is None:
        raise ProofOfWorkError("malformed")
    issued, _random, challenge_bits, mac = match.groups()
    payload = challenge.rsplit(".", 1)[0]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise ProofOfWorkError("signature")
    now = time.time() if now is None else now
    if not -CLOCK_SKEW_SECONDS <= now - int(issued) <= MAX_AGE_SECONDS:
        raise ProofOfWorkError("expired")
    if int(challenge_bits) != bits:
        raise ProofOfWorkError("bits")
    if not NONCE_PATTERN.fullmatch(nonce or ""):
        raise ProofOfWorkError("nonce")
    if leading_zero_bits(solution_hash(challenge, nonce)) < bits:
        raise ProofOfWorkError("target")


def solve(challenge: str, bits: int) -> str:
    """A nonce for ``challenge`` (what the browser does; for tests and tools, at low difficulty)."""
    nonce = 0
    while leading_zero_bits(solution_hash(challenge, str(nonce))) < bits:
        nonce += 1
    return str(nonce)
