"""Server-side browser sessions: Redis when ``REDIS_URL`` is set, the tenant's database otherwise.

The cookie holds a random token; the store keeps only its SHA-256, under the tenant in scope (a table in the
tenant's schema, or Redis keys prefixed with the tenant's schema), so a cookie from one tenant means nothing to
another. Platform operators use the same stores with their own table / prefix. A session is either ``mfa``
(password accepted, second factor pending, 5 minutes) or ``full`` (7 days idle, 30 days at most).
"""

from __future__ import annotations

import datetime
import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.crypto import new_token, token_hash
from tajiconnect.tenancy.context import current_tenant

MFA_TTL = datetime.timedelta(minutes=5)
IDLE_TTL = datetime.timedelta(days=7)
ABSOLUTE_TTL = datetime.timedelta(days=30)
TOUCH_EVERY = datetime.timedelta(minutes=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class SessionRecord:
    public_id: str
    user_id: uuid.UUID
    stage: str
    created_at: datetime.datetime
    last_seen_at: datetime.datetime
    expires_at: datetime.datetime
    ip: str | None = None
    user_agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_full(self) -> bool:
        return self.stage == "full"

    def to_json(self) -> str:
        raw = asdict(self)
        raw["user_id"] = str(self.user_id)
        for key in ("created_at", "last_seen_at", "expires_at"):
            raw[key] = raw[key].isoformat()
        return json.dumps(raw)

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionRecord:
        raw = json.loads(text)
        raw["user_id"] = uuid.UUID(raw["user_id"])
        for key in ("created_at", "last_seen_at", "expires_at"):
            raw[key] = datetime.datetime.fromisoformat(raw[key])
        return cls(**raw)


def new_record(user_id: uuid.UUID, stage: str, ip: str | None, user_agent: str | None) -> SessionRecord:
    now = _now()
    return SessionRecord(
        public_id=secrets.token_urlsafe(16)[:22],
        user_id=user_id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        expires_at=now + (MFA_TTL if stage == "mfa" else IDLE_TTL),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )


def next_expiry(record: SessionRecord, now: datetime.datetime) -> datetime.datetime:
    if record.stage == "mfa":
        return record.expires_at
    return min(now + IDLE_TTL, record.created_at + ABSOLUTE_TTL)


class SessionStore(Protocol):
    async def create(self, user_id: uuid.UUID, stage: str, ip: str | None, user_agent: str | None) -> str: ...
    async def get(self, token: str) -> SessionRecord | None: ...
    async def touch(self, token: str, record: SessionRecord) -> None: ...
    async def delete(self, token: str) -> None: ...
    async def delete_by_public_id(self, user_id: uuid.UUID, public_id: str) -> bool: ...
    async def delete_for_user(self, user_id: uuid.UUID, *, keep_token: str | None = None) -> int: ...
    async def list_for_user(self, user_id: uuid.UUID) -> list[SessionRecord]: ...


class DatabaseSessionStore:
    """Sessions in a table of the tenant's schema (or, for operators, a public table of the same shape)."""

    def __init__(self, engine: AsyncEngine, model: Any = None) -> None:
        from tajiconnect.domains.accounts.models import UserSession

        self.engine = engine
        self.model = model or UserSession

    def _to_record(self, row: Any) -> SessionRecord:
        return SessionRecord(
            public_id=row.public_id,
            user_id=row.user_id,
            stage=row.stage,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
            data=row.data or {},
        )

    async def create(self, user_id: uuid.UUID, stage: str, ip: str | None, user_agent: str | None) -> str:
        token = new_token()
        record = new_record(user_id, stage, ip, user_agent)
        async with session_scope(self.engine) as session:
            session.add(self.model(id_hash=token_hash(token), **{**asdict(record), "user_id": user_id}))
        return token

    async def get(self, token: str) -> SessionRecord | None:
        m = self.model
        async with session_scope(self.engine) as session:
            row = await session.get(m, token_hash(token))
            if row is None:
                return None
            if row.expires_at <= _now():
                await session.delete(row)
                return None
            return self._to_record(row)

    async def touch(self, token: str, record: SessionRecord) -> None:
        now = _now()
        if now - record.last_seen_at < TOUCH_EVERY:
            return
        m = self.model
        async with session_scope(self.engine) as session:
            await session.execute(
                update(m)
                .where(m.id_hash == token_hash(token))
                .values(last_seen_at=now, expires_at=next_expiry(record, now))
            )

    async def delete(self, token: str) -> None:
        m = self.model
        async with session_scope(self.engine) as session:
            await session.execute(delete(m).where(m.id_hash == token_hash(token)))

    async def delete_by_public_id(self, user_id: uuid.UUID, public_id: str) -> bool:
        m = self.model
        async with session_scope(self.engine) as session:
            stmt = delete(m).where(m.user_id == user_id, m.public_id == public_id)
            result = cast(CursorResult[Any], await session.execute(stmt))  # DML: a CursorResult at run time
        return bool(result.rowcount)

    async def delete_for_user(self, user_id: uuid.UUID, *, keep_token: str | None = None) -> int:
        m = self.model
        stmt = delete(m).where(m.user_id == user_id)
        if keep_token:
            stmt = stmt.where(m.id_hash != token_hash(keep_token))
        async with session_scope(self.engine) as session:
            result = cast(CursorResult[Any], await session.execute(stmt))  # DML: a CursorResult at run time
        return int(result.rowcount or 0)

    async def list_for_user(self, user_id: uuid.UUID) -> list[SessionRecord]:
        m = self.model
        async with session_scope(self.engine) as session:
            rows = await session.scalars(
                select(m)
                .where(m.user_id == user_id, m.stage == "full", m.expires_at > _now())
                .order_by(m.last_seen_at.desc())
                .limit(100)
            )
            return [self._to_record(r) for r in rows]


class RedisSessionStore:
    """Sessions in Redis under ``taji:<namespace>:session:<sha256>`` with a per-user index set.

    The namespace is the tenant's schema (or ``platform`` for operators), taken from the tenant in scope.
    """

    def __init__(self, redis: Any, namespace: str | None = None) -> None:
        self.redis = redis
        self.fixed_namespace = namespace

    def _ns(self) -> str:
        if self.fixed_namespace:
            return self.fixed_namespace
        tenant = current_tenant()
        if tenant is None:
            raise RuntimeError("tenant sessions need a tenant in scope")
        return tenant.schema

    def _key(self, token_digest: str) -> str:
        return f"taji:{self._ns()}:session:{token_digest}"

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"taji:{self._ns()}:user-sessions:{user_id}"

    async def _save(self, digest: str, record: SessionRecord) -> None:
        ttl = max(1, int((record.expires_at - _now()).total_seconds()))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(digest), record.to_json(), ex=ttl)
            pipe.sadd(self._user_key(record.user_id), digest)
            pipe.expire(self._user_key(record.user_id), int(ABSOLUTE_TTL.total_seconds()))
            await pipe.execute()

    async def create(self, user_id: uuid.UUID, stage: str, ip: str | None, user_agent: str | None) -> str:
        token = new_token()
        await self._save(token_hash(token), new_record(user_id, stage, ip, user_agent))
        return token

    async def get(self, token: str) -> SessionRecord | None:
        raw = await self.redis.get(self._key(token_hash(token)))
        if raw is None:
            return None
        record = SessionRecord.from_json(raw)
        return record if record.expires_at > _now() else None

    async def touch(self, token: str, record: SessionRecord) -> None:
        now = _now()
        if now - record.last_seen_at < TOUCH_EVERY:
            return
        record.last_seen_at = now
        record.expires_at = next_expiry(record, now)
        await self._save(token_hash(token), record)

    async def delete(self, token: str) -> None:
        digest = token_hash(token)
        raw = await self.redis.get(self._key(digest))
        await self.redis.delete(self._key(digest))
        if raw is not None:
            await self.redis.srem(self._user_key(SessionRecord.from_json(raw).user_id), digest)

    async def _records(self, user_id: uuid.UUID) -> list[tuple[str, SessionRecord]]:
        digests = [
            d.decode() if isinstance(d, bytes) else d for d in await self.redis.smembers(self._user_key(user_id))
        ]
        if not digests:
            return []
        values = await self.redis.mget([self._key(d) for d in digests])
        found, stale = [], []
        for digest, raw in zip(digests, values, strict=True):
            if raw is None:
                stale.append(digest)
            else:
                found.append((digest, SessionRecord.from_json(raw)))
        if stale:
            await self.redis.srem(self._user_key(user_id), *stale)
        return found

    async def delete_by_public_id(self, user_id: uuid.UUID, public_id: str) -> bool:
        for digest, record in await self._records(user_id):
            if record.public_id == public_id:
                await self.redis.delete(self._key(digest))
                await self.redis.srem(self._user_key(user_id), digest)
                return True
        return False

    async def delete_for_user(self, user_id: uuid.UUID, *, keep_token: str | None = None) -> int:
        keep = token_hash(keep_token) if keep_token else None
        doomed = [d for d, _r in await self._records(user_id) if d != keep]
        if doomed:
            await self.redis.delete(*[self._key(d) for d in doomed])
            await self.redis.srem(self._user_key(user_id), *doomed)
        return len(doomed)

    async def list_for_user(self, user_id: uuid.UUID) -> list[SessionRecord]:
        records = [r for _d, r in await self._records(user_id) if r.is_full and r.expires_at > _now()]
        return sorted(records, key=lambda r: r.last_seen_at, reverse=True)
