"""Error responses: an HTML page for people, a JSON problem body (RFC 9457) for the API."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from tajiconnect import i18n
from tajiconnect.i18n import N_, _
from tajiconnect.tenancy.context import tenant_context

log = structlog.get_logger(__name__)

# Marked with N_ for the catalog: API problem bodies keep the English title, error pages translate it.
TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Please check the form"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Temporarily unavailable"),
}


def wants_json(request: Request) -> bool:
    path = request.scope.get("path", "")  # never request.url: it is built from the Host header, which may be bad
    if path.startswith(("/api/", "/schema")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(status: int, detail: str | None, extra: dict[str, Any] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type="application/problem+json")


def render_error_page(request: Request, status: int, detail: Any) -> Response[str]:
    state = request.scope.get("state", {})
    tenant = state.get("tenant")
    suspended = state.get("suspended_tenant")
    template_name = "errors/suspended.html" if suspended else "errors/error.html"
    if state.get("read_only_refused") and status == 403:  # domains/billing/read_only.py
        template_name = "errors/read_only.html"
    shown = tenant or suspended
    locale = (shown.locale if shown else None) or i18n.negotiate(request.headers.get("accept-language"))
    title = TITLES.get(status, N_("Error"))
    with tenant_context(tenant), i18n.locale_context(locale):
        engine = request.app.template_engine
        assert engine is not None, "the app is built with a template engine (app.py)"
        html = engine.get_template(template_name).render(
            status=status,
            title=_(title),
            detail=str(detail) if detail is not None else None,  # a lazy detail is translated here
            suspended_tenant=suspended,
            request=request,
        )
    return Response(html, status_code=status, media_type=MediaType.HTML)


def _redirect(request: Request, path: str) -> Response[Any]:
    """A redirect a browser follows, or an ``HX-Redirect`` for an HTMX request (which would swap a 303 body)."""
    if request.headers.get("hx-request") == "true":
        return Response(None, status_code=204, headers={"HX-Redirect": path})
    return Response(None, status_code=303, headers={"Location": path})


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


def http_exception_handler(request: Request, exc: HTTPException) -> Response[Any]:
    from tajiconnect.domains.accounts.policies import TwoFactorEnrollmentRequired

    status = exc.status_code
    state = request.scope.get("state", {})
    if not wants_json(request) and status == 401 and state.get("host_kind") == "apex":
        # Password accepted, second factor due: the 2FA page (which sends an operator not enrolled to enroll).
        return _redirect(request, "/platform/2fa" if state.get("operator_pending") else "/platform/sign-in")
    if not wants_json(request) and state.get("tenant") is not None:
        if status == 401:
            query = request.scope.get("query_string", b"").decode("latin-1")
            target = request.scope["path"] + (f"?{query}" if query else "")
            return _redirect(request, f"/auth/sign-in?next={quote(target, safe='/')}")
        if isinstance(exc, TwoFactorEnrollmentRequired):
            return _redirect(request, "/account/two-factor?notice=required")
    # A detail may be a lazy translation (input guard, CSRF, Host): text in the API, translated on HTML pages.
    detail: Any = exc.detail if exc.detail and str(exc.detail) not in {TITLES.get(status), _phrase(status)} else None
    headers = getattr(exc, "headers", None) or {}
    if wants_json(request):
        extra = None
        if isinstance(exc, ValidationException) and exc.extra:
            extra = {"errors": exc.extra}
        elif isinstance(exc.extra, dict):  # e.g. {"field": "email"}: members of the problem body
            extra = {k: v for k, v in exc.extra.items() if k not in ("type", "title", "status", "detail")}
        response: Response[Any] = problem(status, str(detail) if detail is not None else None, extra)
    else:
        response = render_error_page(request, status, detail if status < 500 else None)
    response.headers.update(headers)
    return response


def database_error_handler(request: Request, exc: Exception) -> Response[Any]:
    """A statement or commit the database refused: never a success answer, and a precise status.

    * unreachable (connection refused or lost, pool exhausted, timeout): 503, with ``Retry-After``;
    * a uniqueness or reference rule (two requests racing for the same email): 409;
    * anything else is a bug: 500.
    """
    from sqlalchemy.exc import IntegrityError

    if is_unavailable(exc):
        log.warning("database unavailable", exc_type=type(exc).__name__)
        return error_response(request, 503, None, headers={"Retry-After": "5"})
    if isinstance(exc, IntegrityError):
        log.warning("database refused a change", exc_type=type(exc).__name__, constraint=_constraint(exc))
        return error_response(request, 409, _("This conflicts with a change made at the same moment. Try again."))
    return internal_error_handler(request, exc)


def _constraint(exc: Exception) -> str | None:
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    return getattr(diag, "constraint_name", None)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (as opposed to refusing a statement)."""
    import psycopg
    import psycopg_pool
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    if isinstance(exc, (PoolTimeoutError, TimeoutError, ConnectionError, psycopg_pool.PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        return isinstance(exc.orig, psycopg.OperationalError)
    return isinstance(exc, psycopg.OperationalError)


def error_response(
    request: Request, status: int, detail: str | None, headers: dict[str, str] | None = None
) -> Response[Any]:
    response = problem(status, detail) if wants_json(request) else render_error_page(request, status, detail)
    response.headers.update(headers or {})
    return response


def internal_error_handler(request: Request, exc: Exception) -> Response[Any]:
    if is_unavailable(exc):
        return database_error_handler(request, exc)
    log.exception("unhandled error", exc_type=type(exc).__name__)
    if wants_json(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, None)
    return render_error_page(request, HTTP_500_INTERNAL_SERVER_ERROR, None)
