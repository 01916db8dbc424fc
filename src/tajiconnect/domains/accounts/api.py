"""The accounts API under ``/api/v1``: tokens (OAuth 2 token-response form), the caller, user administration.

Bearer tokens only (never cookies), so these endpoints need no CSRF token; every answer that is not 2xx is a
JSON problem body.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta

from tajiconnect.db.session import DbSession, session_scope
from tajiconnect.domains.accounts import admin, service
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import Role, User, UserStatus
from tajiconnect.domains.accounts.policies import Permission, permissions_of, requires_permission, requires_user
from tajiconnect.domains.accounts.service import AccountError, UserQuery
from tajiconnect.domains.accounts.signin import Outcome, check_credentials, check_second_factor
from tajiconnect.domains.accounts.tokens import RefreshError, family_of, issue_pair, revoke_family, rotate
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.licensing.seats import SeatError, SeatLimitError
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.errors import problem
from tajiconnect.web.openapi import (
    BEARER_OPTIONAL,
    BODY,
    GUARDED,
    NOT_BLANK,
    REQUIRES_BEARER,
    SUSPENDED,
    Timestamp,
    problems,
)
from tajiconnect.web.paging import PageParam

# Body members: msgspec validates these constraints (a 400 problem listing each failure) and Litestar documents
# them in the schema, from this one declaration.
Email = Annotated[str, Meta(max_length=320)]
NewEmail = Annotated[str, Meta(max_length=320, extra_json_schema={"extra": {"format": "email"}})]
Name = Annotated[str, Meta(max_length=200)]
# Not blank: at least one character that ``str.strip()`` keeps (``\S`` and ``str.isspace`` agree in Python).
NonBlankName = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
Roles = Annotated[list[Role], Meta(min_length=1)]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Members per page.")]
SearchText = Annotated[str | None, Parameter(max_length=100, description="Part of the name or email, any case.")]
RoleFilter = Annotated[Role | None, Parameter(description="Only members with this role.")]
StatusFilter = Annotated[UserStatus | None, Parameter(description="Only members in this state.")]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: str
    totp_code: str | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: str


class InviteRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: NewEmail
    roles: Roles
    name: Name = ""


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: NonBlankName | None = None
    roles: Roles | None = None


class Member(msgspec.Struct):
    """A member of the organization, as the API shows one."""

    id: uuid.UUID
    email: str
    name: str
    roles: list[Role]
    status: UserStatus
    locale: str
    time_zone: str
    email_verified: bool
    two_factor_enabled: bool
    last_sign_in_at: Timestamp | None
    created_at: Timestamp


class Caller(Member):
    """The member the access token belongs to, with what their roles allow."""

    permissions: list[Permission]


class MemberPage(msgspec.Struct):
    items: list[Member]
    total: int
    page: int
    per_page: int


class Tokens(msgspec.Struct):
    """An OAuth 2.0 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str


def member_fields(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
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


def seat_conflict(exc: SeatError) -> HTTPException:
    """409: the change needs seats the license does not have (``missing_seats`` says how many), or none can be
    given because the license is suspended or cancelled."""
    missing = exc.missing if isinstance(exc, SeatLimitError) else 0
    return HTTPException(status_code=409, detail=str(exc), extra={"missing_seats": missing})


def user_json(user: User) -> Member:
    return Member(**member_fields(user))


def tokens_response(pair: Any) -> Response[Tokens]:
    return Response(Tokens(**pair.as_oauth()), headers={"Cache-Control": "no-store"})


def oauth_error(status: int, error: str, description: str) -> Response[Any]:
    """RFC 6749 §5.2 error fields inside an RFC 9457 problem body."""
    return problem(status, description, {"error": error, "error_description": description})


# Documents the header ``tokens_response`` sets on the token responses.
NO_STORE = [ResponseHeader(name="Cache-Control", value="no-store", required=True, documentation_only=True)]
TOKEN_NOTES = {
    401: "`invalid_grant`: wrong credentials or `totp_code`; `totp_required`: this account needs a `totp_code`.",
    403: (
        "`two_factor_enrollment_required`: the organization requires two-step verification of this member, who must "
        f"set it up in the web app first. {SUSPENDED}"
    ),
    429: "`slow_down`: too many failed attempts for this account or from this address; try again in 15 minutes.",
}


class AuthApi(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    opt = {"read_only_ok": True}  # tokens are signing in: allowed on a read-only organization (billing/read_only.py)

    @post(
        "/token",
        name="api.auth.token",
        summary="Exchange credentials for an access and a refresh token",
        status_code=200,
        response_headers=NO_STORE,
        **problems(*BODY, oauth=(401, 403, 429), notes=TOKEN_NOTES),
    )
    async def token(
        self, request: Request, data: JSONBody[TokenRequest], db_session: DbSession
    ) -> Response[Tokens]:
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
        return tokens_response(pair)

    @post(
        "/refresh",
        name="api.auth.refresh",
        summary="Rotate a refresh token",
        status_code=200,
        response_headers=NO_STORE,
        **problems(
            *BODY,
            403,
            oauth=(401,),
            notes={
                401: "`invalid_grant`: the refresh token is unknown, expired, revoked or was already used (a reuse "
                "revokes its whole sign-in).",
                403: SUSPENDED,
            },
        ),
    )
    async def refresh(self, request: Request, data: JSONBody[RefreshRequest]) -> Response[Tokens]:
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
        return tokens_response(pair)

    @post(
        "/logout",
        name="api.auth.logout",
        summary="Revoke a refresh token family (and its access tokens)",
        description=(
            "Revokes the sign-in of `refresh_token`: that token, the tokens it rotated into and their access tokens. "
            "When `refresh_token` is unknown, a bearer access token sent along names the sign-in instead."
        ),
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER_OPTIONAL,
        **problems(
            *BODY,
            401,
            403,
            notes={401: "Neither the refresh token nor a bearer access token names a live sign-in.", 403: SUSPENDED},
        ),
    )
    async def logout(self, request: Request, db_session: DbSession, data: JSONBody[RefreshRequest]) -> None:
        auth = request.scope.get("auth")
        family = auth.family if auth is not None and auth.kind == "token" else None
        if data.refresh_token:
            family = await family_of(db_session, data.refresh_token) or family
        if family is None:
            raise HTTPException(status_code=401, detail="send a live refresh_token (or a bearer access token)")
        await revoke_family(db_session, family)
        await record(db_session, actor_of(request), "auth.sign_out", channel="api")


class MeApi(Controller):
    path = "/api/v1/users/me"
    tags = ["users"]
    guards = [requires_user]
    security = REQUIRES_BEARER

    @get("/", name="api.users.me", summary="The caller", **problems(*GUARDED))
    async def me(self, request: Request) -> Caller:
        user = request.scope["user"]
        return Caller(**member_fields(user), permissions=sorted(permissions_of(user.roles)))


class UsersApi(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [requires_permission(Permission.MANAGE_USERS)]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.users.list",
        summary="Members, searchable and filterable, paginated",
        **problems(400, *GUARDED),
    )
    async def list_users(
        self,
        db_session: DbSession,
        q: SearchText = None,
        role: RoleFilter = None,
        status: StatusFilter = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> MemberPage:
        users, total = await service.search_users(
            db_session, UserQuery(q=q, role=role, status=status, page=page, per_page=per_page)
        )
        return MemberPage(items=[user_json(u) for u in users], total=total, page=page, per_page=per_page)

    @post(
        "/",
        name="api.users.invite",
        summary="Invite a member (sends the invitation email)",
        status_code=HTTP_201_CREATED,
        **problems(
            *BODY,
            *GUARDED,
            409,
            429,
            notes={
                409: "Someone with this email is already a member (`field`: `email`), or a learner's invitation"
                " needs a seat and none is left (`missing_seats` says how many are missing).",
                429: "Too many invitation emails went to this address, or from this admin, recently.",
            },
            idempotent=True,
        ),
    )
    async def invite(self, request: Request, data: JSONBody[InviteRequest], db_session: DbSession) -> Member:
        try:
            user = await admin.invite_member(
                request, db_session, email=data.email, name=data.name, roles=list(data.roles)
            )
        except SeatError as exc:
            raise seat_conflict(exc) from exc
        except AccountError as exc:
            status = 409 if exc.field == "email" and "already" in str(exc) else 400
            raise HTTPException(status_code=status, detail=str(exc), extra={"field": exc.field}) from exc
        except admin.InvitationLimitedError as exc:
            raise HTTPException(status_code=429, detail="too many invitations sent recently") from exc
        return user_json(user)

    @get("/{user_id:str}", name="api.users.get", summary="One member", **problems(*GUARDED, 404))
    async def get_user(self, db_session: DbSession, user_id: FromPath[str]) -> Member:
        return user_json(await admin.target(db_session, user_id))

    @patch(
        "/{user_id:str}",
        name="api.users.update",
        summary="Change a member's name or roles",
        **problems(
            *BODY,
            *GUARDED,
            404,
            409,
            notes={
                409: "The organization must keep an active admin, admins cannot remove their own admin role, and"
                " making someone a learner needs a free seat (`missing_seats`)."
            },
            idempotent=True,
        ),
    )
    async def update(
        self, request: Request, db_session: DbSession, user_id: FromPath[str], data: JSONBody[UserPatch]
    ) -> Member:
        user = await admin.target(db_session, user_id)
        try:
            if data.name is not None:
                await admin.rename_member(request, db_session, user, data.name)
            if data.roles is not None:
                await admin.change_roles(request, db_session, user, list(data.roles))
        except SeatError as exc:
            raise seat_conflict(exc) from exc
        except AccountError as exc:
            raise HTTPException(status_code=409 if exc.field is None else 400, detail=str(exc)) from exc
        return user_json(user)

    @post(
        "/{user_id:str}/deactivate",
        name="api.users.deactivate",
        summary="Deactivate a member (ends all access)",
        status_code=200,
        **problems(
            *GUARDED,
            404,
            409,
            notes={409: "Admins cannot deactivate themselves, and the organization must keep an active admin."},
            idempotent=True,
        ),
    )
    async def deactivate(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Member:
        user = await admin.target(db_session, user_id)
        try:
            await admin.deactivate_member(request, db_session, user)
        except AccountError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
        return user_json(user)

    @post(
        "/{user_id:str}/reactivate",
        name="api.users.reactivate",
        summary="Reactivate a member",
        status_code=200,
        **problems(
            *GUARDED,
            404,
            409,
            notes={409: "A learner needs a seat and none is left (`missing_seats`), or the license is closed."},
            idempotent=True,
        ),
    )
    async def reactivate(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Member:
        user = await admin.target(db_session, user_id)
        try:
            await admin.reactivate_member(request, db_session, user)
        except SeatError as exc:
            raise seat_conflict(exc) from exc
        return user_json(user)

    @delete(
        "/{user_id:str}",
        name="api.users.delete",
        summary="Delete a member and their sessions, tokens and links",
        status_code=HTTP_204_NO_CONTENT,
        **problems(
            *GUARDED,
            404,
            409,
            notes={409: "Admins cannot delete themselves, and the organization must keep an active admin."},
            idempotent=True,
        ),
    )
    async def delete_user(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> None:
        user = await admin.target(db_session, user_id)
        try:
            await admin.delete_member(request, db_session, user)
        except AccountError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc
