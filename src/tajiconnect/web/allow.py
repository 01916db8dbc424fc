"""``OPTIONS`` answers with an ``Allow`` header that lists every method of the path (a ``before_send`` hook).

Litestar 2 adds an ``OPTIONS`` handler to each route, and its ``Allow`` header lists the route's methods. When the
handlers of one path are registered in several steps (a controller with ``GET``, ``PATCH`` and ``DELETE`` on
``/{user_id}``), the route is rebuilt but keeps the first step's ``OPTIONS`` handler, which lists only that step's
methods (litestar-org/litestar#4169, fixed in Litestar 3). This hook sets the header from the route the request
matched instead.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def allowed_methods(app: object, handler: object) -> str | None:
    """``Allow`` for the route whose ``OPTIONS`` handler is ``handler``, or None if no route has it."""
    for route in getattr(app, "routes", ()):
        if isinstance(route, HTTPRoute) and route.route_handler_map.get("OPTIONS", (None,))[0] is handler:
            return ", ".join(sorted(route.methods))
    return None


async def allow_header(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    if "allow" not in headers:  # not the generated OPTIONS answer (an error, or a handler of our own)
        return
    methods = allowed_methods(scope.get("app"), scope.get("route_handler"))
    if methods:
        headers["allow"] = methods
