"""Request -> tenant. Runs for every matched route before its handler.

* Reads the Host header, resolves it (apex, tenant, or unknown). A missing, repeated or malformed Host, or an
  absolute-form request target naming another host, is a 400: such a request names no host of ours for sure.
* The database unreachable while resolving: a 503 ("temporarily unavailable"), except on ``any`` routes
  (``/health``), which go on without a tenant and report the outage themselves.
* Enforces the route's host rule: ``opt={"host": "tenant" | "apex" | "any"}`` (default ``tenant``).
  Unknown hosts are a 404; suspended tenants a 403 page; ``any`` routes (health) answer everywhere.
* Enters the tenant (context variable) and binds ``tenant`` and ``request_id`` to every log line.
"""

from __future__ import annotations

import secrets

import structlog
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from tajiconnect import i18n
from tajiconnect.i18n import lazy_gettext
from tajiconnect.tenancy.context import tenant_context
from tajiconnect.tenancy.resolver import UNKNOWN, HostMatch, MalformedHostError, TenantResolver, parse_host
from tajiconnect.web.errors import is_unavailable


class TenantSuspendedError(PermissionDeniedException):
    """The organization is suspended: a clear 403 page, not a generic error."""


class BadHostError(ClientException):
    """400: the request does not name one well-formed host."""


def request_host(scope: Scope) -> str:
    """The host the request names (parsed: lower-case, no port); :class:`BadHostError` when the Host header is
    missing, repeated, malformed or contradicted by an absolute-form target (``GET http://other.example/``)."""
    values = [value for name, value in scope.get("headers", ()) if name.lower() == b"host"]
    if len(values) != 1:
        raise BadHostError(detail=lazy_gettext("The request must carry exactly one Host header."))
    try:
        host = parse_host(values[0].decode("ascii"))
    except (UnicodeDecodeError, MalformedHostError) as exc:
        raise BadHostError(detail=lazy_gettext("The Host header is malformed.")) from exc
    target = scope.get("raw_path", b"")
    if target[:7].lower() == b"http://" or target[:8].lower() == b"https://":
        authority = target.split(b"/", 3)[2].decode("ascii", "replace")
        try:
            same = parse_host(authority) == host
        except MalformedHostError:
            same = False
        if not same:
            raise BadHostError(detail=lazy_gettext("The request target and the Host header name different hosts."))
    return host


def host_rule(scope: Scope) -> str:
    handler = scope.get("route_handler")
    return (getattr(handler, "opt", None) or {}).get("host", "tenant")


class TenancyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        request_id = headers.get("x-request-id") or secrets.token_hex(8)
        if len(request_id) > 64 or not request_id.replace("-", "").isalnum():
            request_id = secrets.token_hex(8)
        resolver: TenantResolver = scope["app"].state.tenant_resolver
        rule = host_rule(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["host"] = host = request_host(scope)
        try:
            match: HostMatch = await resolver.resolve(host)
        except Exception as exc:
            if rule != "any" or not is_unavailable(exc):
                raise
            match = UNKNOWN  # /health answers 503 on its own
        state["host_kind"] = match.kind
        tenant = match.tenant
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, tenant=tenant.slug if tenant else "-", path=scope.get("path")
        )
        locale = (tenant.locale if tenant else None) or i18n.negotiate(headers.get("accept-language"))
        with i18n.locale_context(locale):
            if rule != "any":
                if match.kind == "unknown" or match.kind != rule:
                    raise NotFoundException()
                if tenant is not None and not tenant.is_active:
                    with tenant_context(None):
                        state["suspended_tenant"] = tenant
                        raise TenantSuspendedError(detail="This organization is suspended.")
            elif tenant is not None and not tenant.is_active:
                # Host-agnostic routes (health, "/") never enter a suspended tenant; "/" tells the visitor why.
                state["suspended_tenant"] = tenant
                tenant = None
            state["tenant"] = tenant
            with tenant_context(tenant):
                await next_app(scope, receive, send)
