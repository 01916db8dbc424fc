"""Shared fixtures: a real PostgreSQL database per test run, migrated; tenants; the app and HTTP clients.

Without ``DATABASE_URL`` the project-local embedded PostgreSQL is started; with it, that server is used. Either
way a fresh database ``taji_test_<random>`` is created for the run and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

BASE_DOMAIN = "taji.test"
ADMIN_PASSWORD = "correct-horse-battery-staple"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server the tests use (its maintenance database)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql+psycopg://", "postgresql://")
    from tajiconnect.db.embedded import start_embedded

    return start_embedded("tajiconnect")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"taji_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mail_sink():
    """A real SMTP server; the app under test sends its mail here (SMTP_URL)."""
    from tests.support import MailSink

    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def localstripe():
    """A fake Stripe API server (localstripe) of this test worker, started on first use."""
    from tests.support import LocalStripe

    server = LocalStripe()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def billing_settings(settings, localstripe):
    """``settings`` with billing configured against the local fake Stripe (``STRIPE_API_BASE``)."""
    import dataclasses

    from tajiconnect.settings import Secret

    billing = dataclasses.replace(
        settings.billing,
        api_key=Secret("sk_test_" + secrets.token_hex(12)),
        webhook_secret=Secret("whsec_" + secrets.token_hex(16)),
        api_base=localstripe.url,
        signup_pow_bits=4,
    )
    return dataclasses.replace(settings, billing=billing)


@pytest.fixture(scope="session")
def settings(database_url: str, mail_sink):
    from tajiconnect.settings import load_settings

    os.environ["SMTP_URL"] = mail_sink.url
    os.environ["TAJI_QUEUE_NAME"] = f"test-{secrets.token_hex(4)}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["TAJI_BASE_DOMAIN"] = BASE_DOMAIN
    os.environ["TAJI_PUBLIC_SCHEME"] = "https"  # the test clients speak https on the default port
    os.environ.pop("TAJI_PUBLIC_PORT", None)
    os.environ["TAJI_SECRET_KEY"] = "test-secret-" + secrets.token_hex(16)
    os.environ["TAJI_STORAGE_DIR"] = tempfile.mkdtemp(prefix="taji-storage-")  # files stored by the app under test
    os.environ.pop("S3_BUCKET", None)
    os.environ.setdefault("TAJI_LOG_LEVEL", "WARNING")
    return load_settings()


@pytest.fixture(scope="session")
def migrated(settings) -> str:
    """The test database migrated to head (public schema; tenants are provisioned at head)."""
    from tajiconnect.db.base import load_models
    from tajiconnect.db.migrate import sync_engine, upgrade_all

    load_models()
    engine = sync_engine(settings.sqlalchemy_url)
    try:
        upgrade_all(engine)
    finally:
        engine.dispose()
    return settings.sqlalchemy_url


@pytest.fixture(scope="session")
async def engine(settings, migrated) -> AsyncIterator[AsyncEngine]:
    from tajiconnect.db.session import create_engine

    engine = create_engine(settings.sqlalchemy_url, pool_size=5)
    yield engine
    await engine.dispose()


TenantFactory = Callable[..., Awaitable["object"]]


@pytest.fixture(scope="session")
def make_tenant(engine: AsyncEngine) -> TenantFactory:
    """Provision a fresh tenant with a unique slug; returns its ``TenantRef``.

    Its license is active with ``seats`` seats (10,000 unless a test about seats asks for fewer), so that tests
    about something else never run out of seats by accident.
    """
    from tajiconnect.domains.licensing.service import set_license
    from tajiconnect.tenancy.service import provision_tenant

    async def make(prefix: str = "t", seats: int = 10_000, **kwargs: object):
        slug = f"{prefix}{uuid.uuid4().hex[:8]}"
        kwargs.setdefault("name", f"Tenant {slug}")
        kwargs.setdefault("admin_email", f"admin@{slug}.example")
        kwargs.setdefault("admin_password", ADMIN_PASSWORD)
        result = await provision_tenant(engine, slug=slug, **kwargs)  # type: ignore[arg-type]
        await set_license(engine, slug, seats=seats, status="active")
        return result.tenant

    return make


@pytest.fixture(scope="session")
async def alpha(make_tenant):
    return await make_tenant("alpha", kind="school")


@pytest.fixture(scope="session")
async def beta(make_tenant):
    return await make_tenant("beta", kind="company")


@pytest.fixture(scope="session")
async def app(settings, migrated) -> Litestar:
    from tajiconnect.app import create_app

    return create_app(settings)


def host_of(tenant: object | None) -> str:
    return f"{tenant.slug}.{BASE_DOMAIN}" if tenant is not None else BASE_DOMAIN  # type: ignore[attr-defined]


@asynccontextmanager
async def open_client(app: Litestar, target: object | str | None = None) -> AsyncIterator[AsyncTestClient]:
    """An HTTPS test client of ``app`` on the host of ``target`` (a tenant, a host name, or None for the apex)."""
    host = target if isinstance(target, str) else host_of(target)
    async with AsyncTestClient(app=app, base_url=f"https://{host}") as client:
        yield client


@pytest.fixture
def client_for(app: Litestar) -> Callable[..., object]:
    """``async with client_for(tenant_or_host) as client``: an HTTPS test client on that host."""
    return lambda target=None: open_client(app, target)


@pytest.fixture
async def pool1_engine(settings, migrated) -> AsyncIterator[AsyncEngine]:
    """An engine with exactly one pooled connection: every checkout reuses the same PostgreSQL session."""
    from tajiconnect.db.session import create_engine

    engine = create_engine(settings.sqlalchemy_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def tenant_files() -> Iterator[Callable[[str, str, str], Path]]:
    """``tenant_files(slug, "static/x.svg", text)`` writes under ``tenants/<slug>/``; removed at teardown."""
    from tajiconnect.tenancy.branding import TENANTS_DIR

    created: list[Path] = []

    def write(slug: str, relative: str, content: str) -> Path:
        root = TENANTS_DIR / slug
        if not root.exists():
            created.append(root)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return path

    yield write
    for root in created:
        shutil.rmtree(root, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("REDIS_URL"):
        return
    skip = pytest.mark.skip(reason="needs REDIS_URL")
    for item in items:
        if "redis" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def run_jobs(settings, engine):
    """``await run_jobs()`` processes every job queued so far (emails...) with a real SAQ worker."""
    from tests.support import JobDrainer

    drainer = JobDrainer(settings, engine)
    yield drainer
    await drainer.close()
