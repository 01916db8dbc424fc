"""Pairing codes: a learner (or their teacher, or an admin) makes a short code; a parent types it to link
themselves to that learner.

* 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as ``K7MQ-29XD``; typed in any case,
  with or without the dash or spaces. 31^8 (about 8.5 * 10^11) possible codes.
* Stored only as an HMAC-SHA-256 under the app's secret key and the tenant's schema: a copy of the table (or of
  another organization's) gives nothing to try offline.
* Valid for :data:`CODE_TTL`, once. At most :data:`MAX_LIVE` unused codes per learner: a new one retires the
  oldest. A learner can also withdraw all their unused codes.
* Redeeming is throttled like signing in (``accounts/signin.py``): failures are audit entries, counted per parent
  and per address over ``WINDOW``; past ``MAX_FAILURES`` every attempt is refused until the window moves on.
  Failures are committed on their own (``record(engine, ...)``) so that they count even though the request
  rolls back.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.signin import WINDOW, is_throttled
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.parents import service
from tajiconnect.domains.parents.models import PairingCode
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
CODE_TTL = datetime.timedelta(hours=48)
MAX_LIVE = 3
FAILURE = "pairing_code.failure"
FAILURE_ACTIONS = (FAILURE,)
THROTTLE_MINUTES = int(WINDOW.total_seconds() // 60)

Reason = Literal["invalid", "expired", "used", "not_learner", "self", "throttled"]


class PairingCodeError(Exception):
    """A code refused; ``reason`` says why, ``message`` says it to the person (translated when read)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        if self.reason == "throttled":
            return _("Too many wrong codes were tried. Wait %(minutes)d minutes, then try again.") % {
                "minutes": THROTTLE_MINUTES
            }
        if self.reason == "expired":
            return _("This code has expired or was replaced by a newer one. Ask for a new code.")
        if self.reason == "used":
            return _("This code was already used. Ask for a new code.")
        if self.reason == "not_learner":
            return _("Pairing codes can only be made for members with the Learner role.")
        if self.reason == "self":
            return _("You cannot link yourself to your own account.")
        return _("This code is not valid. Check it and try again.")


@dataclass(frozen=True)
class IssuedCode:
    code: str  # as shown: XXXX-XXXX
    learner_id: uuid.UUID
    learner_name: str
    expires_at: datetime.datetime
    retired: int  # older unused codes this one replaced


@dataclass(frozen=True)
class Redeemed:
    learner: User
    created: bool  # False: the parent was already linked to this learner


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize(text: str | None) -> str | None:
    """The code in ``text`` (any case, dashes and spaces ignored), or None when it cannot be one."""
    code = "".join((text or "")[:64].split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def code_hash(code: str, secret: str) -> str:
    """HMAC-SHA-256 of the tenant's schema and the code, under the app's secret key (64 hex characters)."""
    message = f"{require_tenant().schema}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def live_codes(session: AsyncSession, learner_id: uuid.UUID) -> tuple[int, datetime.datetime | None]:
    """(how many unused, unexpired codes the learner has, when the last of them expires)."""
    count, last = (
        await session.execute(
            select(func.count(), func.max(PairingCode.expires_at)).where(
                PairingCode.learner_id == learner_id, PairingCode.used_at.is_(None), PairingCode.expires_at > _now()
            )
        )
    ).one()
    return int(count or 0), last


async def issue(session: AsyncSession, learner: User, actor: Actor, *, secret: str) -> IssuedCode:
    """A new code for ``learner`` (who must be a learner still). Older unused codes beyond ``MAX_LIVE - 1``
    are retired (they expire now)."""
    if not learner.has_role("student") or learner.status == "deactivated":
        raise PairingCodeError("not_learner")
    now = _now()
    live = (
        await session.scalars(
            select(PairingCode.id)
            .where(PairingCode.learner_id == learner.id, PairingCode.used_at.is_(None), PairingCode.expires_at > now)
            .order_by(PairingCode.created_at.desc(), PairingCode.id.desc())
            .offset(MAX_LIVE - 1)
        )
    ).all()
    if live:
        await session.execute(update(PairingCode).where(PairingCode.id.in_(live)).values(expires_at=now))
    code = new_code()
    expires_at = now + CODE_TTL
    session.add(PairingCode(learner_id=learner.id, code_hash=code_hash(code, secret), created_by_id=actor.id,
                            expires_at=expires_at))
    await session.flush()
    await record(session, actor, "pairing_code.created", subject_email=learner.email, target_type="user",
                 target_id=learner.id, expires_at=expires_at.isoformat(), retired=len(live))
    return IssuedCode(shown(code), learner.id, learner.name, expires_at, len(live))


async def withdraw(session: AsyncSession, learner: User, actor: Actor) -> int:
    """Retire every unused code of ``learner``; how many there were."""
    now = _now()
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(PairingCode)
            .where(PairingCode.learner_id == learner.id, PairingCode.used_at.is_(None), PairingCode.expires_at > now)
            .values(expires_at=now)
        ),
    )
    if result.rowcount:
        await record(session, actor, "pairing_code.withdrawn", subject_email=learner.email, target_type="user",
                     target_id=learner.id, count=result.rowcount)
    return int(result.rowcount or 0)


async def redeem(
    engine: AsyncEngine, session: AsyncSession, parent: User, text: str, actor: Actor, *, secret: str
) -> Redeemed:
    """Link ``parent`` (who has the ``parent`` role: the caller checks) to the learner of the code ``text``.

    Raises :class:`PairingCodeError`; every refusal is recorded (committed at once) and counts towards the
    throttle of this parent and this address.
    """
    if await is_throttled(session, parent.email, actor.ip, actions=FAILURE_ACTIONS):
        await record(engine, actor, "pairing_code.throttled", subject_email=parent.email)
        raise PairingCodeError("throttled")

    async def refuse(reason: Reason, **details: Any) -> PairingCodeError:
        await record(engine, actor, FAILURE, subject_email=parent.email, reason=reason, **details)
        return PairingCodeError(reason)

    code = normalize(text)
    if code is None:
        raise await refuse("invalid")
    # Locked: two parents typing the same code at the same moment get it one after the other (the second: used).
    row = await session.scalar(
        select(PairingCode).where(PairingCode.code_hash == code_hash(code, secret)).with_for_update()
    )
    if row is None:
        raise await refuse("invalid")
    if row.used_at is not None:
        raise await refuse("used", code_id=str(row.id))
    now = _now()
    if row.expires_at <= now:
        raise await refuse("expired", code_id=str(row.id))
    learner = await session.get(User, row.learner_id)
    if learner is None or learner.status == "deactivated" or not learner.has_role("student"):
        raise await refuse("invalid", code_id=str(row.id))
    if learner.id == parent.id:
        raise await refuse("self", code_id=str(row.id))
    row.used_at, row.used_by_id = now, parent.id
    await session.flush()
    created = await service.link(session, parent, learner, source="code", actor=actor)
    await record(session, actor, "pairing_code.redeemed", subject_email=parent.email, target_type="user",
                 target_id=learner.id, code_id=str(row.id), learner_email=learner.email, created=created)
    return Redeemed(learner, created)
