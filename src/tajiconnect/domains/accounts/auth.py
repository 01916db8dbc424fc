"""Who is calling: a browser session (cookie) on pages, a bearer access token on ``/api/``.

The middleware runs after the tenancy middleware. On tenant hosts it puts the ``User`` (or ``None``) in
``scope["user"]`` and an :class:`AuthInfo` in ``scope["auth"]``; guards in :mod:`policies` then decide. On the
apex host it puts the signed-in platform operator (or ``None``) in ``scope["state"]`` (read it with
:func:`current_operator`).
The session cookie is host-only (no ``Domain``), ``__Host-`` prefixed when secure, HttpOnly, SameSite=Lax, so
the browser never sends one tenant's cookie to another; and the token is looked up in the tenant's own store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, Headers
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from tajiconnect import i18n
from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import OrganizationSettings, User
from tajiconnect.domains.accounts.service import two_factor_required
from tajiconnect.domains.accounts.sessions import ABSOLUTE_TTL, MFA_TTL, SessionRecord, SessionStore
from tajiconnect.domains.accounts.tokens import decode_access, family_is_live
from tajiconnect.domains.audit.service import Actor
from tajiconnect.tenancy.context import TenantRef, current_tenant

if TYPE_CHECKING:
    from tajiconnect.platform.models import PlatformOperator

R = TypeVar("R", bound=Response)


@dataclass
class AuthInfo:
    kind: str  # "session" | "token"
    session_token: str | None = None
    session: SessionRecord | None = None  # the full session, when signed in by cookie
    pending: SessionRecord | None = None  # a password-accepted session waiting for the second factor
    family: uuid.UUID | None = None
    must_enroll_2fa: bool = False


def cookie_name(secure: bool) -> str:
    return "__Host-taji_session" if secure else "taji_session"


def operator_cookie_name(secure: bool) -> str:
    return "__Host-taji_operator" if secure else "taji_operator"


def session_cookie(settings: Any, token: str, *, max_age: int | None, name: str | None = None) -> Cookie:
    return Cookie(
        key=name or cookie_name(settings.secure_cookies),
        value=token,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        max_age=max_age,
    )


async def start_session(
    request: Request, store: SessionStore, user_id: uuid.UUID, stage: str, *, old_token: str | None
) -> str:
    """A brand-new session token (rotated at every sign-in and every step of it); ``old_token`` is ended."""
    if old_token:
        await store.delete(old_token)
    return await store.create(user_id, stage, client_ip(request.scope), request.headers.get("user-agent"))


def with_session_cookie(
    request: Request, response: R, token: str, *, stage: str = "full", name: str | None = None
) -> R:
    """Set the session cookie (lifetime of the session's stage) on ``response``."""
    lifetime = MFA_TTL if stage == "mfa" else ABSOLUTE_TTL
    response.set_cookie(
        session_cookie(request.app.state.settings, token, max_age=int(lifetime.total_seconds()), name=name)
    )
    return response


def clear_session_cookie(settings: Any, response: Response) -> None:
    response.delete_cookie(cookie_name(settings.secure_cookies), path="/")


def client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def current_operator(scope: Scope) -> PlatformOperator | None:
    """The platform operator signed in on the apex host (set by :class:`AuthenticationMiddleware`), or None."""
    return scope.get("state", {}).get("operator")


def operator_session_token(scope: Scope) -> str | None:
    """The operator's session token, when :func:`current_operator` or :func:`pending_operator` is set."""
    return scope.get("state", {}).get("operator_token")


def pending_operator(scope: Scope) -> SessionRecord | None:
    """An operator's session whose password was accepted and whose second factor is still due (stage ``mfa``):
    it reaches the 2FA pages and sign-out only, never what :func:`current_operator` guards."""
    return scope.get("state", {}).get("operator_pending")


def actor_of(request: Request, user: Any = None) -> Actor:
    """The audit actor: ``user`` when given (e.g. just signed in), else the signed-in user, with the address."""
    user = user or request.scope.get("user")
    return Actor(
        id=user.id if user else None,
        email=user.email if user else None,
        ip=client_ip(request.scope),
        user_agent=request.headers.get("user-agent"),
    )


async def _load_user(engine: Any, user_id: uuid.UUID, family: uuid.UUID | None = None) -> tuple[User | None, bool]:
    async with session_scope(engine) as session:
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            return None, False
        if family is not None and not await family_is_live(session, family):
            return None, False
        must_enroll = not user.totp_enabled and two_factor_required(user, await session.get(OrganizationSettings, 1))
        session.expunge(user)
        return user, must_enroll


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        scope["auth"] = None
        state = scope.setdefault("state", {})
        state["operator"] = None
        state["operator_pending"] = None
        handler = scope.get("route_handler")
        if (getattr(handler, "opt", None) or {}).get("anonymous"):
            # Static files: the same bytes for everyone, cached publicly; no session is read or touched.
            await next_app(scope, receive, send)
            return
        tenant = current_tenant()
        if tenant is not None:
            await self._authenticate(scope, tenant)
        elif state.get("host_kind") == "apex":
            await self._authenticate_operator(scope)
        user = scope["user"]
        if user is not None and user.locale != i18n.current_locale():
            with i18n.locale_context(user.locale):  # a member's own language beats the organization's
                await next_app(scope, receive, send)
            return
        await next_app(scope, receive, send)

    async def _authenticate_operator(self, scope: Scope) -> None:
        from tajiconnect.platform.models import PlatformOperator

        state = scope["app"].state
        token = ASGIConnection(scope).cookies.get(operator_cookie_name(state.settings.secure_cookies))
        if not token:
            return
        record = await state.operator_session_store.get(token)
        if record is None:
            return
        if record.stage == "mfa":
            scope_state = scope.setdefault("state", {})
            scope_state["operator_pending"] = record
            scope_state["operator_token"] = token
            return
        if not record.is_full:
            return
        async with session_scope(state.engine, schema=None) as session:
            operator = await session.get(PlatformOperator, record.user_id)
            if operator is None or not operator.is_active:
                return
            session.expunge(operator)
        await state.operator_session_store.touch(token, record)
        scope_state = scope.setdefault("state", {})
        scope_state["operator"] = operator
        scope_state["operator_token"] = token

    async def _authenticate(self, scope: Scope, tenant: TenantRef) -> None:
        state = scope["app"].state
        settings, engine = state.settings, state.engine
        headers = Headers.from_scope(scope)
        if scope["path"].startswith("/api/"):
            authorization = headers.get("authorization", "")
            scheme, _, bearer = authorization.partition(" ")
            if scheme.lower() != "bearer" or not bearer:
                return
            claims = decode_access(settings.secret_key.get(), tenant, bearer.strip())
            if claims is None:
                return
            user, must_enroll = await _load_user(engine, claims.user_id, claims.family)
            if user is not None:
                scope["user"] = user
                scope["auth"] = AuthInfo("token", family=claims.family, must_enroll_2fa=must_enroll)
            return
        token = ASGIConnection(scope).cookies.get(cookie_name(settings.secure_cookies))
        if not token:
            return
        store: SessionStore = state.session_store
        record = await store.get(token)
        if record is None:
            return
        if record.stage == "mfa":
            scope["auth"] = AuthInfo("session", session_token=token, pending=record)
            return
        user, must_enroll = await _load_user(engine, record.user_id)
        if user is None:
            await store.delete(token)
            return
        await store.touch(token, record)
        scope["user"] = user
        scope["auth"] = AuthInfo("session", session_token=token, session=record, must_enroll_2fa=must_enroll)
