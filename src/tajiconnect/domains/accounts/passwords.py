"""Password hashing with argon2id (above OWASP's recommendation) and password rules.

Hashing costs ~0.1-0.3 s of CPU by design; async callers use the ``*_async`` variants, which run it on a thread
so that one sign-in never stalls every other request of the process.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from tajiconnect.i18n import _

# OWASP's argon2id options are m=46 MiB/t=1/p=1 ... m=19 MiB/t=2/p=1; this is above both in every dimension.
# One lane (p=1): extra lanes only add contention on small servers (measured in docs/performance.md).
_hasher = PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1, hash_len=32, salt_len=16)

# Verified against when the account does not exist, so that timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_STRENGTH = 2  # zxcvbn score 0-4; below 2 means common or easily guessed
# zxcvbn's cost grows fast with length, and zxcvbn 4.5 refuses (ValueError: a 500) anything longer than this:
# the strength of a longer password is judged on its first 72 characters.
STRENGTH_CHECKED = 72


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no hash to check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is refused (translated), or ``None`` when it is acceptable.

    Length first (NIST SP 800-63B: at least 10 here, no composition rules), then zxcvbn, which knows common
    passwords, dictionary words, keyboard patterns and the user's own name and email.
    """
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters.") % {"n": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("Use at most %(n)d characters.") % {"n": MAX_LENGTH}
    result = zxcvbn(password[:STRENGTH_CHECKED], user_inputs=[u for u in user_inputs if u])
    if result["score"] < MIN_STRENGTH:
        return _("This password is too common or easy to guess. Try a few unrelated words.")
    return None
