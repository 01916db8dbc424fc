"""Time-based one-time passwords (RFC 6238) and recovery codes.

Codes are accepted one 30-second step either side of now; the step of the last accepted code is stored and
any code of that step or earlier is refused, so a code is never accepted twice.

Members and platform operators hold the same fields (``totp_secret``, ``totp_last_step``) and each has a table of
recovery codes (``code_hash``, ``used_at`` and an owner column): :func:`spend_second_factor`,
:func:`replace_recovery_codes` and :func:`unused_recovery_codes` serve both, given the owner column.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, cast

import pyotp
import segno
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


async def spend_second_factor(
    session: AsyncSession, holder: Any, code: str, *, owner: InstrumentedAttribute[Any]
) -> Literal["totp", "recovery"] | None:
    """Accept ``code`` as ``holder``'s second factor: a TOTP code (its step stored on ``holder``, so it is never
    accepted again) or one of its unused recovery codes (spent, once, even under concurrent use); None otherwise.

    ``owner`` is the recovery codes' owner column (``RecoveryCode.user_id``, ``OperatorRecoveryCode.operator_id``).
    """
    code = (code or "").strip()
    if holder.totp_secret:
        check = check_code(holder.totp_secret, code, last_step=holder.totp_last_step)
        if check.ok:
            holder.totp_last_step = check.step
            await session.flush()
            return "totp"
    if len(code) < 12:
        return None
    model: Any = owner.class_
    row_id = await session.scalar(
        select(model.id).where(owner == holder.id, model.code_hash == recovery_hash(code), model.used_at.is_(None))
    )
    if row_id is None:
        return None
    spend = (
        update(model)
        .where(model.id == row_id, model.used_at.is_(None))
        .values(used_at=datetime.datetime.now(datetime.UTC))
    )
    spent = cast(CursorResult[Any], await session.execute(spend))  # DML: a CursorResult at run time
    return "recovery" if spent.rowcount == 1 else None


async def replace_recovery_codes(session: AsyncSession, owner: InstrumentedAttribute[Any], owner_id: Any) -> list[str]:
    """A new set of recovery codes for ``owner_id`` (returned once, stored hashed); the old ones stop working."""
    model: Any = owner.class_
    await session.execute(delete(model).where(owner == owner_id))
    codes = new_recovery_codes()
    session.add_all(model(**{owner.key: owner_id, "code_hash": recovery_hash(c)}) for c in codes)
    await session.flush()
    return codes


async def unused_recovery_codes(session: AsyncSession, owner: InstrumentedAttribute[Any], owner_id: Any) -> int:
    model: Any = owner.class_
    count = await session.scalar(
        select(func.count()).select_from(model).where(owner == owner_id, model.used_at.is_(None))
    )
    return int(count or 0)
