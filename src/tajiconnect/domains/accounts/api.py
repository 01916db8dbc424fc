"""The accounts API under ``/api/v1``: tokens (OAuth 2 token-response form), the caller, user administration.

Bearer tokens only (never cookies), so these endpoints need no CSRF token; every answer that is not 2xx is a
JSON problem body.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts import admin, service
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.accounts.policies import Permission, permissions_of, requires_permission, requires_user
from tajiconnect.domains.accounts.service import AccountError, UserQuery
from tajiconnect.domains.accounts.signin import Outcome, check_credentials, check_second_factor
from tajiconnect.domains.accounts.tokens import RefreshError, family_of, issue_pair, revoke_family, rotate
from tajiconnect.domains.audit.service import record
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.errors import problem


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str
    totp_code: str | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: str


class InviteRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    roles: list[str]
    name: str = ""


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    roles: list[str] | None = None


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "roles": list(user.roles),
        "status": user.status,
        "locale": user.locale,
        "time_zone": user.time_zone,
        "email_verified": user.email_verified_at is not None,
        "two_factor_enabled": user.totp_enabled,
        "last_sign_in_at": user.last_sign_in_at.isoformat() if user.last_sign_in_at else None,
        "created_at": user.created_at.isoformat(),
    }


def oauth_error(status: int, error: str, description: str) -> Response[dict[str, Any]]:
    """RFC 6749 §5.2 error fields inside an RFC 9457 problem body."""
    return problem(status, description, {"error": error, "error_description": description})


class AuthApi(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        name="api.auth.token",
        summary="Exchange credentials for an access and a refresh token",
        status_code=200,
    )
    async def token(
        self, request: Request, data: JSONBody[TokenRequest], db_session: DbSession
    ) -> Response[dict[str, Any]]:
        engine = request.app.state.engine
        actor = actor_of(request)
        result = await check_credentials(engine, db_session, data.email, data.password, actor, channel="api")
        if result.outcome is Outcome.THROTTLED:
            return oauth_error(429, "slow_down", "too many failed attempts; try again in 15 minutes")
        if result.outcome is Outcome.INVALID or result.user is None:
            return oauth_error(401, "invalid_grant", "invalid credentials")
        user = result.user
        if result.outcome is Outcome.NEEDS_SECOND_FACTOR:
            if not data.totp_code:
                return oauth_error(401, "totp_required", "this account needs a totp_code")
            outcome = await check_second_factor(
                engine, db_session, user, data.totp_code, actor, channel="api"
            )
            if outcome is Outcome.THROTTLED:
                return oauth_error(429, "slow_down", "too many failed attempts; try again in 15 minutes")
            if outcome is not Outcome.OK:
                await db_session.commit()
                return oauth_error(401, "invalid_grant", "invalid totp_code")
        elif result.must_enroll_2fa:
            return oauth_error(
                403,
                "two_factor_enrollment_required",
                "your organization requires two-step verification: set it up in the web app first",
            )
        pair = await issue_pair(db_session, request.app.state.settings.secret_key.get(), require_tenant(), user)
        await record(db_session, actor_of(request, user), "auth.sign_in.success", subject_email=user.email,
                     channel="api")
        return Response(pair.as_oauth(), headers={"Cache-Control": "no-store"})

    @post("/refresh", name="api.auth.refresh", summary="Rotate a refresh token", status_code=200)
    async def refresh(self, request: Request, data: JSONBody[RefreshRequest]) -> Response[dict[str, Any]]:
        engine = request.app.state.engine
        failure: RefreshError | None = None
        # Own transaction: a detected reuse must revoke the family even though the answer is an error.
        async with session_scope(engine) as session:
            try:
                pair, _user = await rotate(
                    session, request.app.state.settings.secret_key.get(), require_tenant(), data.refresh_token
                )
            except RefreshError as exc:
                failure = exc
        if failure is not None:
            if failure.reason == "reused":
                await record(engine, actor_of(request), "auth.refresh_token.reused", channel="api")
            return oauth_error(401, "invalid_grant", f"refresh token {failure.reason}")
        return Response(pair.as_oauth(), headers={"Cache-Control": "no-store"})

    @post(
        "/logout",
        name="api.auth.logout",
        summary="Revoke a refresh token family (and its access tokens)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(
        self, request: Request, db_session: DbSession, data: JSONBody[RefreshRequest | None] = None
    ) -> None:
        auth = request.scope.get("auth")
        family = auth.family if auth is not None and auth.kind == "token" else None
        if data is not None and data.refresh_token:
            family = await family_of(db_session, data.refresh_token) or family
        if family is None:
            raise HTTPException(status_code=401, detail="send the refresh_token or a bearer access token")
        await revoke_family(db_session, family)
        await record(db_session, actor_of(request), "auth.sign_out", channel="api")


class MeApi(Controller):
    path = "/api/v1/users/me"
    tags = ["users"]
    guards = [requires_user]

    @get("/", name="api.users.me", summary="The caller")
    async def me(self, request: Request) -> dict[str, Any]:
        user = request.scope["user"]
        return {**user_json(user), "permissions": sorted(p.value for p in permissions_of(user.roles))}


class UsersApi(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [requires_permission(Permission.MANAGE_USERS)]

    @get("/", name="api.users.list", summary="Members, searchable and filterable, paginated")
    async def list_users(
        self,
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        role: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
        per_page: FromQuery[int] = 25,
    ) -> dict[str, Any]:
        if role is not None and role not in ROLES:
            raise ValidationException(detail=f"role must be one of {', '.join(ROLES)}")
        if status is not None and status not in ("invited", "active", "deactivated"):
            raise ValidationException(detail="status must be invited, active or deactivated")
        if page < 1 or not 1 <= per_page <= 100:
            raise ValidationException(detail="page must be >= 1 and per_page between 1 and 100")
        users, total = await service.search_users(
            db_session, UserQuery(q=q, role=role, status=status, page=page, per_page=per_page)
        )
        return {"items": [user_json(u) for u in users], "total": total, "page": page, "per_page": per_page}

    @post(
        "/",
        name="api.users.invite",
        summary="Invite a member (sends the invitation email)",
        status_code=HTTP_201_CREATED,
    )
    async def invite(self, request: Request, data: JSONBody[InviteRequest], db_session: DbSession) -> dict[str, Any]:
        try:
            user = await admin.invite_member(request, db_session, email=data.email, name=data.name, roles=data.roles)
        except AccountError as exc:
            status = 409 if exc.field == "email" and "already" in str(exc) else 400
            raise HTTPException(status_code=status, detail=str(exc), extra={"field": exc.field}) from exc
        except admin.InvitationLimitedError as exc:
            raise HTTPException(status_code=429, detail="too many invitations sent recently") from exc
        return user_json(user)

    @get("/{user_id:str}", name="api.users.get", summary="One member")
    async def get_user(self, db_session: DbSession, user_id: FromPath[str]) -> dict[str, Any]:
        return user_json(await admin.target(db_session, user_id))

    @patch("/{user_id:str}", name="api.users.update", summary="Change a member's name or roles")
    async def update(
        self, request: Request, db_session: DbSession, user_id: FromPath[str], data: JSONBody[UserPatch]
    ) -> dict[str, Any]:
        user = await admin.target(db_session, user_id)
        try:
            if data.name is not None:
                await admin.rename_member(request, db_session, user, data.name)
            if data.roles is not None:
                await admin.change_roles(request, db_session, user, data.roles)
        except AccountError as exc:
            raise HTTPException(status_code=409 if exc.field is None else 400, detail=str(exc)) from exc
        return user_json(user)

    @post(
        "/{user_id:str}/deactivate",
        name="api.users.deactivate",
        summary="Deactivate a member (ends all access)",
        status_code=200,
    )
    async def deactivate(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> dict[str, Any]:
        user = await admin.target(db_session, user_id)
        try:
            await admin.deactivate_member(request, db_session, user)
        except AccountError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return user_json(user)

    @post("/{user_id:str}/reactivate", name="api.users.reactivate", summary="Reactivate a member", status_code=200)
    async def reactivate(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> dict[str, Any]:
        user = await admin.target(db_session, user_id)
        await admin.reactivate_member(request, db_session, user)
        return user_json(user)

    @delete(
        "/{user_id:str}",
        name="api.users.delete",
        summary="Delete a member and their sessions, tokens and links",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_user(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> None:
        user = await admin.target(db_session, user_id)
        try:
            await admin.delete_member(request, db_session, user)
        except AccountError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
