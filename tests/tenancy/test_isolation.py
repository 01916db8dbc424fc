"""One tenant's data is invisible and unchangeable from another: services/ORM, raw SQL, HTTP; fail closed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.base import tenant_metadata
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.tenancy.context import tenant_context
from tests.helpers import add_user, user_emails

SECRET_EMAIL = "only-in-a@example.org"


@pytest.fixture(scope="module")
async def tenants(make_tenant, engine):
    """Two fresh tenants; the first owns a user the second must never see."""
    a, b = await make_tenant("isoa"), await make_tenant("isob")
    user_id = await add_user(engine, a, SECRET_EMAIL, name="Secret Person")
    return a, b, user_id


async def test_orm_reads_only_the_tenant_in_scope(engine, tenants):
    a, b, user_id = tenants
    assert SECRET_EMAIL in await user_emails(engine, a)
    assert SECRET_EMAIL not in await user_emails(engine, b)
    with tenant_context(b):
        async with session_scope(engine) as session:
            assert await session.get(User, user_id) is None
            assert await session.scalar(select(User).where(User.email == SECRET_EMAIL)) is None


async def test_orm_cannot_change_another_tenants_rows(engine, tenants):
    a, b, user_id = tenants
    with tenant_context(b):
        async with session_scope(engine) as session:
            updated = await session.execute(update(User).where(User.id == user_id).values(name="Hijacked"))
            deleted = await session.execute(delete(User).where(User.email == SECRET_EMAIL))
            assert updated.rowcount == 0
            assert deleted.rowcount == 0
    with tenant_context(a):
        async with session_scope(engine) as session:
            assert (await session.get(User, user_id)).name == "Secret Person"


async def test_same_email_is_two_separate_accounts(engine, tenants):
    a, b, _ = tenants
    b_id = await add_user(engine, b, SECRET_EMAIL, name="Other Person")
    try:
        with tenant_context(a):
            async with session_scope(engine) as session:
                assert await session.get(User, b_id) is None
    finally:
        with tenant_context(b):
            async with session_scope(engine) as session:
                await session.execute(delete(User).where(User.id == b_id))


async def test_raw_sql_resolves_unqualified_names_to_own_schema(engine, tenants):
    a, b, user_id = tenants
    with tenant_context(b):
        async with session_scope(engine) as session:
            assert await session.scalar(text("SELECT current_schema()")) == b.schema
            emails = set((await session.scalars(text("SELECT email FROM users"))).all())
            assert SECRET_EMAIL not in emails and emails  # b's admin is there, a's user is not
            changed = await session.execute(text("UPDATE users SET name = 'x' WHERE id = :id"), {"id": user_id})
            assert changed.rowcount == 0
    with tenant_context(a):
        async with session_scope(engine) as session:
            assert await session.scalar(text("SELECT current_schema()")) == a.schema
            assert await session.scalar(text("SELECT name FROM users WHERE id = :id"), {"id": user_id}) == (
                "Secret Person"
            )


async def test_each_transaction_of_a_session_takes_the_tenant_then_in_scope(engine, tenants):
    a, b, _ = tenants
    async with AsyncSession(engine) as session:
        for tenant in (a, b, None, a):
            with tenant_context(tenant):
                async with session.begin():
                    schema = await session.scalar(text("SELECT current_schema()"))
            assert schema == (tenant.schema if tenant else "public")


async def test_http_home_shows_only_its_own_tenant(client_for, tenants):
    a, b, _ = tenants
    for me, other in ((a, b), (b, a)):
        async with client_for(me) as client:
            response = await client.get("/")
        assert response.status_code == 200
        assert me.name in response.text
        assert other.name not in response.text


async def test_tenant_static_file_is_served_to_its_tenant_only(client_for, tenant_files, tenants):
    a, b, _ = tenants
    tenant_files(a.slug, "static/mark.svg", '<svg xmlns="http://www.w3.org/2000/svg"><title>a-mark</title></svg>')
    async with client_for(a) as client:
        own = await client.get("/tenant-static/mark.svg")
    assert own.status_code == 200
    assert "a-mark" in own.text
    assert own.headers["content-type"].startswith("image/svg+xml")
    for target in (b, None):
        async with client_for(target) as client:
            assert (await client.get("/tenant-static/mark.svg")).status_code == 404


async def test_no_tenant_in_scope_fails_closed(engine):
    with tenant_context(None):
        async with session_scope(engine) as session:
            assert await session.scalar(text("SHOW search_path")) == "public"
        with pytest.raises(ProgrammingError) as raw:
            async with session_scope(engine) as session:
                await session.execute(text("SELECT * FROM users"))
        assert type(raw.value.orig).__name__ == "UndefinedTable"
        with pytest.raises(ProgrammingError, match="UndefinedTable"):
            async with session_scope(engine) as session:
                await session.execute(select(User))


async def test_public_schema_holds_no_tenant_table(engine):
    names = sorted(table.name for table in tenant_metadata.tables.values())
    assert names, "tenant metadata is empty: load_models() was not called"
    with tenant_context(None):
        async with session_scope(engine) as session:
            found = (
                await session.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public' AND table_name = ANY(:names)"
                    ),
                    {"names": names},
                )
            ).all()
    assert found == []


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_search_path_is_reset_when_a_tenant_transaction_ends(pool1_engine, tenants, ending):
    a, _, _ = tenants
    async with pool1_engine.connect() as conn:
        baseline_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        baseline_path = await conn.scalar(text("SHOW search_path"))
    assert a.schema not in baseline_path

    with tenant_context(a):
        if ending == "commit":
            async with session_scope(pool1_engine) as session:
                assert await session.scalar(text("SHOW search_path")) == f'"{a.schema}"'
        else:
            with pytest.raises(ZeroDivisionError):
                async with session_scope(pool1_engine) as session:
                    assert await session.scalar(text("SHOW search_path")) == f'"{a.schema}"'
                    raise ZeroDivisionError

    # The same pooled connection, used with no ORM session and no tenant: back on its default path.
    async with pool1_engine.connect() as conn:
        assert await conn.scalar(text("SELECT pg_backend_pid()")) == baseline_pid
        assert await conn.scalar(text("SHOW search_path")) == baseline_path
        with pytest.raises(ProgrammingError, match="UndefinedTable"):
            await conn.execute(text("SELECT * FROM users"))
