"""Browser tests: the real app served by granian (with a real SAQ worker) and driven by Debian's headless Chromium.

The server is a subprocess (``tajiconnect run --with-worker``) on 127.0.0.1 and a free port, with
``TAJI_BASE_DOMAIN=localhost``: Chromium resolves ``<slug>.localhost`` to 127.0.0.1, so each tenant is reached on
its own host, exactly as in production. Mail goes to the session's real SMTP sink (``mail_sink``).

Playwright's sync API marks its own event loop as running between calls, so these tests use no async fixture
(tenants are provisioned on a loop in a thread of their own) and the Playwright driver lives only for the length
of one test module.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
TIMEOUT_MS = 10_000
E2E_PASSWORD = "amber-lantern-quietly-87"
E2E_SIGNUP_POW_BITS = 10
T = TypeVar("T")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_failed_key] = report.failed
    return report


_failed_key = pytest.StashKey[bool]()


# --- the server -----------------------------------------------------------------------------------------------


@dataclass
class E2EServer:
    port: int
    env: dict[str, str]
    log: Path

    def url(self, slug: str, path: str = "") -> str:
        return f"http://{slug}.localhost:{self.port}{path}"


def _server_log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_healthy(proc: subprocess.Popen, port: int, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Host": f"localhost:{port}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}:\n{_server_log_tail(log)}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (local http)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f}s:\n{_server_log_tail(log)}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its worker: SIGTERM to the process group we created, SIGKILL what is left after 2 s.

    A test server needs no graceful drain (the test database is dropped at the end of the run).
    """
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=2)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stray granian or SAQ worker processes of that group
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


@contextmanager
def serve(database_url: str, mail_sink, *, name: str = "e2e", with_worker: bool = True,
          extra_env: dict[str, str] | None = None) -> Iterator[E2EServer]:
    """``tajiconnect run`` (with its SAQ worker unless ``with_worker=False``) on 127.0.0.1 and a free port, on a
    queue of its own; its log goes to ``test-results/<name>-server.log``. Stopped when the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TAJI_BASE_DOMAIN": "localhost",
        "TAJI_PUBLIC_PORT": str(port),
        "TAJI_PUBLIC_SCHEME": "http",
        "TAJI_SECURE_COOKIES": "0",  # plain http on localhost: no __Host- cookie, no Secure flag
        "SMTP_URL": mail_sink.url,
        "TAJI_QUEUE_NAME": f"{name}-{secrets.token_hex(4)}",  # the server's own worker drains it
        "TAJI_SECRET_KEY": "e2e-secret-" + secrets.token_hex(16),
        "TAJI_LOG_LEVEL": "WARNING",
        "TAJI_TENANT_CACHE_SECONDS": "0",
        "TAJI_SIGNUP_POW_BITS": str(E2E_SIGNUP_POW_BITS),  # the browser solves the sign-up's check in a moment
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("REDIS_URL", None)  # sessions and queue in PostgreSQL: nothing shared with other test runs
    if not extra_env or "STRIPE_API_KEY" not in extra_env:
        for key in ("STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
            env.pop(key, None)
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / f"{name}-server.log"
    command = [sys.executable, "-m", "tajiconnect.cli", "run", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command + (["--with-worker"] if with_worker else []),
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_healthy(proc, port, log)
        yield E2EServer(port=port, env=env, log=log)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def e2e_server(database_url: str, migrated: str, mail_sink) -> Iterator[E2EServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}")
    with serve(database_url, mail_sink) as server:
        yield server


def billing_env(localstripe) -> dict[str, str]:
    """Settings of a server with billing configured against the session's localstripe."""
    return {
        "STRIPE_API_KEY": "sk_test_" + secrets.token_hex(12),
        "STRIPE_API_BASE": localstripe.url,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
    }


@dataclass
class E2ETenant:
    slug: str
    base_url: str
    admin_email: str
    admin_password: str
    admin_name: str

    def url(self, path: str = "") -> str:
        return self.base_url + path


def _in_fresh_loop(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a new event loop in a worker thread.

    The sync Playwright API marks its own loop as running in this thread between calls, and the session loop
    of pytest-asyncio must stay untouched: a thread of its own sidesteps both.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result(timeout=60)


def in_tenant(settings: Any, slug: str, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(engine, tenant)`` for the organization ``slug``, on a loop of its own (see :func:`_in_fresh_loop`):
    how a browser test seeds what it needs straight into the database. Its result."""
    from tajiconnect.db.session import create_engine
    from tajiconnect.tenancy.service import load_tenant

    async def run() -> T:
        engine = create_engine(settings.sqlalchemy_url, pool_size=1)
        try:
            return await work(engine, await load_tenant(engine, slug))
        finally:
            await engine.dispose()

    return _in_fresh_loop(run)


@pytest.fixture(scope="session")
def create_tenant(e2e_server: E2EServer, settings) -> Callable[..., E2ETenant]:
    """``create_tenant("adm")``: a fresh tenant (unique slug) and its org admin, provisioned like the CLI does."""
    from tajiconnect.db.session import create_engine
    from tajiconnect.tenancy.service import provision_tenant

    def create(prefix: str = "e2e", kind: str = "company") -> E2ETenant:
        slug = f"{prefix}{uuid.uuid4().hex[:8]}"
        email = f"admin@{slug}.example"
        admin_name = f"Admin {slug}"

        async def provision() -> None:
            engine = create_engine(settings.sqlalchemy_url, pool_size=1)
            try:
                await provision_tenant(
                    engine,
                    slug=slug,
                    name=f"Org {slug}",
                    admin_email=email,
                    admin_password=E2E_PASSWORD,
                    admin_name=admin_name,
                    kind=kind,
                )
            finally:
                await engine.dispose()

        _in_fresh_loop(provision)
        return E2ETenant(
            slug=slug,
            base_url=e2e_server.url(slug),
            admin_email=email,
            admin_password=E2E_PASSWORD,
            admin_name=admin_name,
        )

    return create


# --- the browser ----------------------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright, for the length of the block."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser(e2e_server: E2EServer):
    """Headless Chromium for one test module (see the module docstring for why not the whole session)."""
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def own_browser():
    """Headless Chromium for a module that starts a server of its own (``browser`` would start the shared one)."""
    with chromium() as opened:
        yield opened


@pytest.fixture
def new_page(browser, request: pytest.FixtureRequest) -> Iterator[Callable[[], object]]:
    """``new_page()``: a page in a fresh browser context (its own cookies: one person each).

    When the test fails, a screenshot of every page it opened goes to ``test-results/``.
    """
    contexts: list = []
    pages: list = []

    def make():
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield make
    if request.node.stash.get(_failed_key, False):
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        for i, page in enumerate(pages):
            try:
                page.screenshot(path=str(RESULTS / f"{name}-{i}.png"), full_page=True)
            except Exception as exc:  # a closed page: nothing to capture
                print(f"no screenshot of page {i}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
