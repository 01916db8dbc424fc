"""Drill: the database cut off and restored, through a TCP proxy between ``tajiconnect run --with-worker`` and
PostgreSQL.

While the database is away, every host answers ``/health`` with 503 within seconds, pages with the "temporarily
unavailable" page and the API with a 503 problem; once it is back, pages, API and background tasks work again
without a restart. A server started while the database is away comes up all the same, answering 503, and its
task worker waits for the database instead of exiting.
"""

from __future__ import annotations

import secrets
import time

import httpx

from tests.conftest import ADMIN_PASSWORD
from tests.drills.harness import (
    DatabaseProxy,
    DrillMailSink,
    Invite,
    Server,
    api_token,
    database_target,
    next_address,
    post_invite,
    proxied_url,
    server_port,
    wait_until,
)

#: How fast an outage must show: the health check's own timeout is 2 s, a connection attempt's 3 s.
PROMPT = 3.5


def timed(method: str, server: Server, path: str, host: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, server.url(path), headers={"host": host, **kwargs.pop("headers", {})},
                             timeout=15, **kwargs)
    return response, time.monotonic() - started


def assert_unavailable(server: Server, slug: str, token: str | None) -> dict[str, float]:
    """Every kind of request answers 503 promptly; returns how long each took."""
    took: dict[str, float] = {}
    for name, host in (("apex", server.host()), ("tenant", server.host(slug)), ("unknown", server.host("nobody"))):
        response, took[f"health@{name}"] = timed("GET", server, "/health", host)
        assert response.status_code == 503, (name, response.status_code, response.text)
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"]["database"]["status"] == "error"

    page, took["page"] = timed("GET", server, "/auth/sign-in", server.host(slug), headers={"accept": "text/html"})
    assert page.status_code == 503, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in page.text and "cannot reach its database" in page.text

    if token is None:  # no token yet: the token endpoint itself
        api, took["api"] = timed("POST", server, "/api/v1/auth/token", server.host(slug),
                                 json={"email": "someone@drill.example", "password": "x"})
    else:
        api, took["api"] = timed("POST", server, "/api/v1/users", server.host(slug),
                                 headers={"authorization": f"Bearer {token}"},
                                 json=Invite("cut@drill.example", "cut").body)
    assert api.status_code == 503, api.text
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["status"] == 503
    assert api.headers.get("retry-after"), "a 503 says when to try again"
    slow = {name: seconds for name, seconds in took.items() if seconds > PROMPT}
    assert not slow, f"503 not within {PROMPT}s: {slow}"
    return took


def recovered(server: Server, slug: str) -> bool:
    hosts = (server.host(), server.host(slug), server.host("nobody"))
    if not all(timed("GET", server, "/health", host)[0].status_code == 200 for host in hosts):
        return False
    return timed("GET", server, "/auth/sign-in", server.host(slug))[0].status_code == 200


async def assert_recovers(drill, server: Server, proxy: DatabaseProxy, tenant, admin: str, sink: DrillMailSink) -> str:
    """Restore the database: pages, API and tasks work again within seconds, with no restart. Returns a token."""
    proxy.restore()
    restored = time.monotonic()
    wait_until(lambda: recovered(server, tenant.slug), 10, "/health and a page answering 200 after the restore")
    pages_in = time.monotonic() - restored
    token = api_token(server, tenant.slug, admin, ADMIN_PASSWORD)
    invite = Invite(f"back-{secrets.token_hex(4)}@drill.example", secrets.token_hex(8))
    assert post_invite(server, tenant.slug, token, invite, next_address()).status_code == 201
    # The task worker is back at work too. (Just after an outage the request's own hand-off to the queue may
    # still fail, leaving the email to the outbox sweep, which runs each minute: run it now instead.)
    await drill.sweep_outbox(tenant)
    sink.last_to(invite.email, timeout=20)
    print(f"pages back {pages_in:.2f}s, an invitation email {time.monotonic() - restored:.2f}s after the restore")
    assert server.alive() and server.task_workers(), "a process of the server died"
    return token


async def test_database_cut_and_restored(drill) -> None:
    tenant, admin = await drill.tenant()
    sink = drill.sink()
    with DatabaseProxy(database_target(drill.database_url)) as proxy:
        env = drill.env(sink, database_url=proxied_url(drill.database_url, proxy.port))

        # 1. Started while the database is away: the server comes up and says so; its task worker waits.
        proxy.cut()
        server = drill.start(Server.of(env, server_port(), drill.log("run"), with_worker=True))
        started = time.monotonic()
        server.wait_answering(status=503)
        print(f"started during the cut: answering 503 after {time.monotonic() - started:.1f}s")
        print("503 in", assert_unavailable(server, tenant.slug, None))
        token = await assert_recovers(drill, server, proxy, tenant, admin, sink)

        # 2. Cut under the running server, whose pools hold live connections.
        for _ in range(3):
            invite = Invite(f"warm-{secrets.token_hex(4)}@drill.example", secrets.token_hex(8))
            assert post_invite(server, tenant.slug, token, invite, next_address()).status_code == 201
        proxy.cut()
        print("503 in", assert_unavailable(server, tenant.slug, token))
        await assert_recovers(drill, server, proxy, tenant, admin, sink)
