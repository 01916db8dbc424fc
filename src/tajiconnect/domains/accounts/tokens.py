"""Tokens: single-use email links, and the API's access and refresh tokens.

* Email links (invite, verify_email, reset_password) are random, stored hashed, expire, and are spent once.
* Access tokens are short-lived JWTs (HS256) that name the tenant (``tid``), the user (``sub``) and the
  refresh-token family (``fam``); they are accepted only on the tenant that issued them and only while the
  family is not revoked.
* Refresh tokens rotate: each use spends the token and issues the next one in the same family; presenting a
  spent token again revokes the whole family (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any, cast

import jwt
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.crypto import new_token, token_hash
from tajiconnect.domains.accounts.models import EmailToken, RefreshToken, User
from tajiconnect.tenancy.context import TenantRef

LINK_LIFETIMES = {
    "invite": datetime.timedelta(days=7),
    "verify_email": datetime.timedelta(days=2),
    "reset_password": datetime.timedelta(hours=1),
}
ACCESS_TTL = datetime.timedelta(minutes=15)
REFRESH_TTL = datetime.timedelta(days=30)
JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "tajiconnect-api"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- single-use email links -------------------------------------------------------------------------------------


async def issue_link(session: AsyncSession, user: User, purpose: str) -> str:
    """A new link token for ``purpose``; earlier unused links of the same purpose stop working."""
    now = _now()
    await session.execute(
        update(EmailToken)
        .where(EmailToken.user_id == user.id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = new_token()
    session.add(
        EmailToken(
            user_id=user.id, purpose=purpose, token_hash=token_hash(token), expires_at=now + LINK_LIFETIMES[purpose]
        )
    )
    await session.flush()
    return token


class LinkError(Exception):
    """The link is unknown, expired or already used (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def peek_link(session: AsyncSession, token: str, purpose: str) -> tuple[EmailToken, User]:
    """The link's row and user, if still usable (not spent)."""
    row = await session.scalar(
        select(EmailToken).where(EmailToken.token_hash == token_hash(token), EmailToken.purpose == purpose)
    )
    if row is None:
        raise LinkError("unknown")
    if row.used_at is not None:
        raise LinkError("used")
    if row.expires_at <= _now():
        raise LinkError("expired")
    user = await session.get(User, row.user_id)
    if user is None or user.status == "deactivated":
        raise LinkError("unknown")
    return row, user


async def spend_link(session: AsyncSession, token: str, purpose: str) -> User:
    """Spend the link (atomically: a concurrent second use fails) and return its user."""
    row, user = await peek_link(session, token, purpose)
    spend = update(EmailToken).where(EmailToken.id == row.id, EmailToken.used_at.is_(None)).values(used_at=_now())
    result = cast(CursorResult[Any], await session.execute(spend))  # DML: a CursorResult at run time
    if result.rowcount != 1:
        raise LinkError("used")
    return user


# --- API tokens -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)

    def as_oauth(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


def _access_token(secret: str, tenant: TenantRef, user_id: uuid.UUID, family: uuid.UUID) -> str:
    now = _now()
    claims = {
        "iss": f"tajiconnect:{tenant.slug}",
        "aud": JWT_AUDIENCE,
        "sub": str(user_id),
        "tid": str(tenant.id),
        "fam": str(family),
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
        "jti": new_token(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    family: uuid.UUID


def decode_access(secret: str, tenant: TenantRef, token: str) -> AccessClaims | None:
    """The claims of a valid access token issued by ``tenant``, else ``None``."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=f"tajiconnect:{tenant.slug}",
            options={"require": ["exp", "sub", "tid", "fam", "iss", "aud"]},
        )
        if claims["tid"] != str(tenant.id):
            return None
        return AccessClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["fam"]))
    except (jwt.PyJWTError, ValueError, KeyError):
        return None


async def issue_pair(
    session: AsyncSession, secret: str, tenant: TenantRef, user: User, family: uuid.UUID | None = None
) -> TokenPair:
    family = family or uuid.uuid4()
    refresh = new_token()
    session.add(
        RefreshToken(user_id=user.id, family_id=family, token_hash=token_hash(refresh), expires_at=_now() + REFRESH_TTL)
    )
    await session.flush()
    return TokenPair(
        access_token=_access_token(secret, tenant, user.id, family),
        refresh_token=refresh,
        expires_in=int(ACCESS_TTL.total_seconds()),
    )


class RefreshError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def revoke_family(session: AsyncSession, family: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def rotate(session: AsyncSession, secret: str, tenant: TenantRef, refresh_token: str) -> tuple[TokenPair, User]:
    """Spend ``refresh_token`` and issue the next pair. Reuse of a spent token revokes its family.

    The caller must commit even when this raises ``RefreshError('reused')``: the revocation must stick.
    """
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token)).with_for_update()
    )
    if row is None:
        raise RefreshError("unknown")
    if row.revoked_at is not None:
        raise RefreshError("revoked")
    if row.used_at is not None:
        await revoke_family(session, row.family_id)
        raise RefreshError("reused")
    if row.expires_at <= _now():
        raise RefreshError("expired")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        await revoke_family(session, row.family_id)
        raise RefreshError("inactive")
    row.used_at = _now()
    pair = await issue_pair(session, secret, tenant, user, family=row.family_id)
    return pair, user


async def family_is_live(session: AsyncSession, family: uuid.UUID) -> bool:
    revoked = await session.scalar(
        select(RefreshToken.id).where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_not(None)).limit(1)
    )
    return revoked is None


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def family_of(session: AsyncSession, refresh_token: str) -> uuid.UUID | None:
    return await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash(refresh_token))
    )
