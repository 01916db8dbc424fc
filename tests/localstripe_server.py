"""localstripe (a fake Stripe API) bound to 127.0.0.1, for the billing tests: ``python tests/localstripe_server.py
PORT``. Started by :class:`tests.support.LocalStripe`.

localstripe keeps its state in memory (its copy to ``/tmp/localstripe.pickle`` is turned off: parallel test
workers would share that file). Stripe endpoints it does not have and the app calls, Checkout Sessions and the
Billing Portal, are stand-ins here that record each request (``GET /_config/requests``) and answer like Stripe
with a hosted page's URL: tests check the request the app built, then send the signed events that follow.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any

from aiohttp import web
from localstripe import resources
from localstripe.server import app, get_post_data

resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]

recorded: list[dict[str, Any]] = []


async def _checkout_session(request: web.Request) -> web.Response:
    data = await get_post_data(request)
    recorded.append({"path": request.path, "data": data})
    session_id = "cs_test_" + secrets.token_hex(12)
    return web.json_response({
        "id": session_id, "object": "checkout.session", "mode": data.get("mode"), "customer": data.get("customer"),
        "client_reference_id": data.get("client_reference_id"), "status": "open", "subscription": None,
        "url": f"https://checkout.stripe.test/c/pay/{session_id}", "created": int(time.time()),
        "metadata": data.get("metadata") or {},
    })


async def _portal_session(request: web.Request) -> web.Response:
    data = await get_post_data(request)
    recorded.append({"path": request.path, "data": data})
    session_id = "bps_" + secrets.token_hex(12)
    return web.json_response({
        "id": session_id, "object": "billing_portal.session", "customer": data.get("customer"),
        "return_url": data.get("return_url"), "url": f"https://billing.stripe.test/p/session/{session_id}",
        "created": int(time.time()),
    })


async def _requests(request: web.Request) -> web.Response:
    return web.json_response(recorded)


app.router.add_post("/v1/checkout/sessions", _checkout_session)
app.router.add_post("/v1/billing_portal/sessions", _portal_session)
app.router.add_get("/_config/requests", _requests)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
