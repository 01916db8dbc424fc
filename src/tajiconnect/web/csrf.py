"""CSRF protection (double submit): a token in a cookie, the same token in each form or ``X-CSRFToken`` header.

Litestar's own middleware, adapted in two ways:

* the token is bound to the host: ``<random><HMAC(secret, host, random)>``, so a pair minted on one tenant's host
  is refused on another's even if a client carries it over;
* exclusions are exact: a route opts out with ``opt={"exclude_from_csrf": True}``, and the only path rule is
  the ``/api/`` prefix (bearer tokens, never cookies). No substring of a path can switch the check off.

Templates read the token through Litestar's ``csrf_token()`` / ``csrf_input``, which take it from the scope state.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from tajiconnect.i18n import lazy_gettext
from tajiconnect.web.input_guard import read_form

COOKIE = "csrftoken"
HEADER = "x-csrftoken"
FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_RANDOM_HEX = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


FORM_EXPIRED = lazy_gettext("This form has expired or did not come from this site. Reload the page and try again.")


class CSRFError(PermissionDeniedException):
    """403: the form's token is missing, forged or from another host."""


class CSRFMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, secret: str, *, secure: bool) -> None:
        self.secret = secret.encode()
        self.secure = secure

    def _mac(self, host: str, random: str) -> str:
        return hmac.new(self.secret, f"{host}\n{random}".encode(), hashlib.sha256).hexdigest()

    def new_token(self, host: str) -> str:
        random = secrets.token_hex(_RANDOM_HEX // 2)
        return random + self._mac(host, random)

    def valid(self, token: str | None, host: str) -> bool:
        if not token or len(token) != _RANDOM_HEX + 64:
            return False
        random, mac = token[:_RANDOM_HEX], token[_RANDOM_HEX:]
        return hmac.compare_digest(mac, self._mac(host, random))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        if (getattr(handler, "opt", None) or {}).get("exclude_from_csrf") or scope["path"].startswith("/api/"):
            await next_app(scope, receive, send)
            return
        host = scope["state"]["host"]  # validated by the tenancy middleware
        request: Request[Any, Any, Any] = Request(scope, receive)
        cookie = request.cookies.get(COOKIE)
        state = ScopeState.from_scope(scope)
        if request.method in SAFE_METHODS:
            token = cookie if cookie and self.valid(cookie, host) else self.new_token(host)
            state.csrf_token = token
            await next_app(scope, receive, send if token == cookie else self._setting_cookie(send, token))
            return
        submitted = request.headers.get(HEADER)
        if submitted is None and request.content_type[0] in FORM_TYPES:
            form = await read_form(request)
            value = form.get(FIELD)
            submitted = value if isinstance(value, str) else None
        if not (self.valid(submitted, host) and cookie is not None and hmac.compare_digest(submitted or "", cookie)):
            raise CSRFError(detail=FORM_EXPIRED)
        state.csrf_token = cookie
        await next_app(scope, receive, send)

    def _setting_cookie(self, send: Send, token: str) -> Send:
        cookie = Cookie(key=COOKIE, value=token, path="/", secure=self.secure, httponly=True, samesite="lax")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped
