"""Session records: the JSON form the Redis store keeps, and the idle / absolute expiry rules."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tajiconnect.domains.accounts.sessions import (
    ABSOLUTE_TTL,
    IDLE_TTL,
    MFA_TTL,
    SessionRecord,
    new_record,
    next_expiry,
)

UTC = datetime.UTC


def record(**overrides) -> SessionRecord:
    now = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    values = dict(
        public_id="p" * 22,
        user_id=uuid.uuid4(),
        stage="full",
        created_at=now,
        last_seen_at=now,
        expires_at=now + IDLE_TTL,
        ip="203.0.113.5",
        user_agent="Firefox",
        data={"k": [1, "two"]},
    )
    values.update(overrides)
    return SessionRecord(**values)


def test_json_roundtrip_keeps_every_field():
    original = record()
    restored = SessionRecord.from_json(original.to_json())
    assert restored == original
    assert isinstance(restored.user_id, uuid.UUID)
    assert restored.created_at.tzinfo is not None


def test_json_roundtrip_from_bytes_and_with_empty_optionals():
    original = record(ip=None, user_agent=None, data={})
    assert SessionRecord.from_json(original.to_json().encode()) == original


def test_is_full():
    assert record().is_full
    assert not record(stage="mfa").is_full


def test_new_full_record_lasts_the_idle_time():
    rec = new_record(uuid.uuid4(), "full", "198.51.100.1", "UA")
    assert rec.expires_at - rec.created_at == IDLE_TTL
    assert rec.created_at == rec.last_seen_at
    assert len(rec.public_id) == 22


def test_new_mfa_record_lasts_five_minutes():
    rec = new_record(uuid.uuid4(), "mfa", None, None)
    assert rec.expires_at - rec.created_at == MFA_TTL == datetime.timedelta(minutes=5)


def test_new_record_trims_the_user_agent():
    assert new_record(uuid.uuid4(), "full", None, "x" * 1000).user_agent == "x" * 300
    assert new_record(uuid.uuid4(), "full", None, "").user_agent is None


def test_public_ids_are_random():
    ids = {new_record(uuid.uuid4(), "full", None, None).public_id for _ in range(50)}
    assert len(ids) == 50


def test_next_expiry_slides_by_the_idle_time():
    rec = record()
    later = rec.created_at + datetime.timedelta(days=3)
    assert next_expiry(rec, later) == later + IDLE_TTL


def test_next_expiry_never_passes_the_absolute_limit():
    rec = record()
    late = rec.created_at + datetime.timedelta(days=28)
    assert late + IDLE_TTL > rec.created_at + ABSOLUTE_TTL
    assert next_expiry(rec, late) == rec.created_at + ABSOLUTE_TTL == rec.created_at + datetime.timedelta(days=30)


@pytest.mark.parametrize("days", [0, 1, 22, 23, 29])
def test_next_expiry_is_the_earlier_of_idle_and_absolute(days):
    rec = record()
    now = rec.created_at + datetime.timedelta(days=days)
    assert next_expiry(rec, now) == min(now + IDLE_TTL, rec.created_at + ABSOLUTE_TTL)


def test_next_expiry_does_not_extend_a_pending_second_factor():
    rec = record(stage="mfa", expires_at=datetime.datetime(2025, 3, 1, 12, 5, tzinfo=UTC))
    assert next_expiry(rec, rec.created_at + datetime.timedelta(minutes=4)) == rec.expires_at
