"""Migrations: models and migrations agree; tenant upgrades are one transaction each, resumable, and locked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from tajiconnect.db.base import PUBLIC_SCHEMA, public_metadata, tenant_metadata
from tajiconnect.db.migrate import (
    UPGRADE_LOCK_KEY,
    UpgradeLockedError,
    head_revision,
    sync_engine,
    tenant_versions,
    upgrade_all,
    upgrade_public_on,
    upgrade_tenant_on,
)
from tajiconnect.db.session import set_search_path
from tajiconnect.tenancy.service import delete_tenant

EXTRA_REVISION = '''
"""test-only: add users.nickname"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))


def downgrade():
    op.drop_column("users", "nickname")
'''


def include_name(name, type_, parent_names) -> bool:
    if type_ == "schema":
        return name in (None, PUBLIC_SCHEMA)
    if type_ == "table":
        return not (name.startswith("saq_") or name == "alembic_version")
    return True


def without_public_fk_noise(diff: list) -> list:
    """``diff`` without the FK pairs that differ only by the spelling of the default schema.

    Between tables of the default schema, PostgreSQL reflects a foreign key's target without a schema
    (``tenants.id``) while the public models name it (``public.tenants.id``), so Alembic reports every such key as
    removed and added again. A pair identical but for that prefix is noise; any real difference is kept.
    """

    def signature(fk) -> tuple:
        targets = tuple(e.target_fullname.removeprefix(f"{PUBLIC_SCHEMA}.") for e in fk.elements)
        return fk.name, fk.parent.name, tuple(fk.column_keys), targets, fk.ondelete

    removed = {signature(d[1]) for d in diff if isinstance(d, tuple) and d[0] == "remove_fk"}
    added = {signature(d[1]) for d in diff if isinstance(d, tuple) and d[0] == "add_fk"}
    noise = removed & added
    return [
        d for d in diff if not (isinstance(d, tuple) and d[0] in ("remove_fk", "add_fk") and signature(d[1]) in noise)
    ]


@pytest.fixture(scope="module")
def sync(settings, migrated) -> Iterator[Engine]:
    engine = sync_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def test_tenant_migrations_match_the_models(sync):
    schema = f"tenant_zz_compare_{uuid.uuid4().hex[:8]}"
    with sync.connect() as conn, conn.begin() as tx:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        upgrade_tenant_on(conn, schema)
        assert conn.execute(text("SELECT current_schema()")).scalar() == schema
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision("tenant")
        context = MigrationContext.configure(
            conn,
            opts={
                "target_metadata": tenant_metadata,
                "version_table_schema": schema,
                "include_name": include_name,
                "compare_type": True,
            },
        )
        diff = compare_metadata(context, tenant_metadata)
        tx.rollback()
    assert diff == []


def test_public_migrations_match_the_models(sync):
    with sync.connect() as conn, conn.begin() as tx:
        upgrade_public_on(conn)  # already at head: a no-op that proves it
        set_search_path(conn, None)
        context = MigrationContext.configure(
            conn,
            opts={
                "target_metadata": public_metadata,
                "version_table_schema": PUBLIC_SCHEMA,
                "include_schemas": True,
                "include_name": include_name,
                "compare_type": True,
            },
        )
        diff = without_public_fk_noise(compare_metadata(context, public_metadata))
        tx.rollback()
    assert diff == []


@pytest.fixture
async def two_tenants(make_tenant, engine):
    """Two throwaway tenants, deleted afterwards (they end up at a test-only revision)."""
    tenants = [await make_tenant("miga"), await make_tenant("migb")]
    yield tenants
    for tenant in tenants:
        await delete_tenant(engine, tenant.slug)


@pytest.fixture
def extra_revision(tmp_path) -> tuple[list, str]:
    """A version directory holding one additive revision on top of the tenant head."""
    revision = f"test{uuid.uuid4().hex[:8]}"
    tmp_path.joinpath(f"{revision}_nickname.py").write_text(
        EXTRA_REVISION.format(revision=revision, down=head_revision("tenant"))
    )
    return [tmp_path], revision


def has_nickname(sync, schema: str) -> bool:
    with sync.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_schema = :s AND table_name = 'users' AND column_name = 'nickname'"
                ),
                {"s": schema},
            ).scalar()
        )


def versions(sync, schemas) -> dict[str, str | None]:
    with sync.connect() as conn:
        return tenant_versions(conn, schemas)


def test_upgrade_is_per_tenant_and_resumable(sync, two_tenants, extra_revision):
    locations, revision = extra_revision
    good, bad = (t.schema for t in two_tenants)
    old_head = head_revision("tenant")
    assert head_revision("tenant", locations) == revision
    # Make the second tenant's upgrade fail halfway: its users table already has the column.
    with sync.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{bad}".users ADD COLUMN nickname text'))

    report = upgrade_all(sync, [good, bad], include_public=False, extra_version_locations=locations)
    assert report.upgraded == [good]
    assert set(report.failed) == {bad} and "DuplicateColumn" in report.failed[bad]
    assert versions(sync, [good, bad]) == {good: revision, bad: old_head}  # the failed one rolled back whole
    assert has_nickname(sync, good)

    with sync.begin() as conn:  # the operator fixes the cause and runs it again
        conn.execute(text(f'ALTER TABLE "{bad}".users DROP COLUMN nickname'))
    report = upgrade_all(sync, [good, bad], include_public=False, extra_version_locations=locations)
    assert report.upgraded == [bad] and report.already_current == [good] and not report.failed
    assert versions(sync, [good, bad]) == {good: revision, bad: revision}
    assert has_nickname(sync, bad)


def test_parallel_upgrade_reaches_head_everywhere(sync, two_tenants, extra_revision):
    locations, revision = extra_revision
    schemas = [t.schema for t in two_tenants]
    report = upgrade_all(sync, schemas, parallel=2, include_public=False, extra_version_locations=locations)
    assert sorted(report.upgraded) == sorted(schemas) and not report.failed
    assert set(versions(sync, schemas).values()) == {revision}
    assert all(has_nickname(sync, s) for s in schemas)


def test_second_concurrent_upgrade_is_refused(sync, database_url):
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
        with pytest.raises(UpgradeLockedError):
            upgrade_all(sync, [])
        holder.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))
    report = upgrade_all(sync, [])  # free again, and upgrade_all releases it when done
    assert not report.failed
    with psycopg.connect(database_url, autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (UPGRADE_LOCK_KEY,)).fetchone()[0]
        other.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))


def test_seat_migration_gives_todays_learners_a_seat(sync):
    """Tenant 0004 on a schema with members: invited and active learners hold a seat (with its history), nobody
    else does, and the constraint then refuses a seat to a deactivated learner."""
    schema = f"tenant_zz_seats_{uuid.uuid4().hex[:8]}"
    members = [
        ("active@x.example", ["student"], "active"),
        ("invited@x.example", ["student", "parent"], "invited"),
        ("gone@x.example", ["student"], "deactivated"),
        ("teacher@x.example", ["teacher"], "active"),
    ]
    with sync.connect() as conn, conn.begin() as tx:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        upgrade_tenant_on(conn, schema, "0003")
        for email, roles, status in members:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, roles, status, locale, time_zone, has_avatar, created_at,"
                    " updated_at) VALUES (gen_random_uuid(), :email, 'X', CAST(:roles AS varchar[]), :status, 'en',"
                    " 'UTC', false, now(), now())"
                ),
                {"email": email, "roles": "{" + ",".join(roles) + "}", "status": status},
            )
        upgrade_tenant_on(conn, schema)
        holders = conn.execute(
            text("SELECT email FROM users WHERE seat_assigned_at IS NOT NULL ORDER BY email")
        ).scalars().all()
        events = conn.execute(
            text("SELECT user_email, change, reason FROM seat_events ORDER BY user_email")
        ).all()
        with pytest.raises(Exception, match="ck_users_seat_holder"), conn.begin_nested():
            conn.execute(text("UPDATE users SET seat_assigned_at = now() WHERE email = 'gone@x.example'"))
        tx.rollback()
    assert holders == ["active@x.example", "invited@x.example"]
    assert [tuple(e) for e in events] == [
        ("active@x.example", "assigned", "migration"),
        ("invited@x.example", "assigned", "migration"),
    ]
