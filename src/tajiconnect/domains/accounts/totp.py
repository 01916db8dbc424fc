"""Time-based one-time passwords (RFC 6238) and recovery codes.

Codes are accepted one 30-second step either side of now; the step of the last accepted code is stored and
any code of that step or earlier is refused, so a code is never accepted twice.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pyotp
import segno

from tajiconnect.domains.accounts.crypto import token_hash

STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code of ``uri`` (no external service, no image download)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#1d2428", light="#ffffff")


def code_for(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(int(at if at is not None else time.time()))


@dataclass(frozen=True)
class TotpCheck:
    ok: bool
    step: int | None = None  # the time step the code matched, to be stored as the last used step


def check_code(secret: str, code: str, *, last_step: int | None, now: float | None = None) -> TotpCheck:
    # ASCII digits only: ``str.isdigit`` also accepts other scripts' digits and superscripts ("²"), which no code
    # contains and ``secrets.compare_digest`` refuses to compare (TypeError: a 500). Anything else typed around the
    # six digits (spaces, dashes) is ignored.
    code = "".join(ch for ch in (code or "") if ch in "0123456789")
    if len(code) != 6:
        return TotpCheck(False)
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return TotpCheck(True, step)
    return TotpCheck(False)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Human-friendly one-time codes like ``k7q2-9xmp-a3vd`` (60 bits each)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return ["-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)) for _ in range(count)]


def recovery_hash(code: str) -> str:
    return token_hash(code.strip().lower().replace(" ", ""))
