"""Signing in and out, the second factor, invitations, password reset and email verification (pages)."""

from __future__ import annotations

import datetime
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_429_TOO_MANY_REQUESTS

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of, clear_session_cookie, start_session, with_session_cookie
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.notices import security_notice, send_link_email
from tajiconnect.domains.accounts.service import AccountError, get_by_email, get_user, set_password
from tajiconnect.domains.accounts.signin import (
    Outcome,
    check_credentials,
    check_second_factor,
    email_send_allowed,
)
from tajiconnect.domains.accounts.tokens import LinkError, issue_link, peek_link, revoke_all_for_user, spend_link
from tajiconnect.domains.audit.service import record
from tajiconnect.i18n import _, lazy_gettext
from tajiconnect.web.forms import Form, render_form, safe_next, see_other

#: ``?next=`` (the parameter is named ``next_`` in Python; without the alias Litestar would read ``?next_=``)
NextParam = Annotated[str | None, QueryParameter(name="next")]

LINK_ERRORS = {
    "unknown": lazy_gettext("This link is not valid. Ask for a new one."),
    "used": lazy_gettext("This link was already used. Ask for a new one if you still need it."),
    "expired": lazy_gettext("This link has expired. Ask for a new one."),
}


def link_problem(exc: LinkError) -> Template:
    """410 Gone for an unknown, spent or expired email link, saying which."""
    return Template("auth/link_problem.html", context={"message": str(LINK_ERRORS[exc.reason])}, status_code=410)


def _request_token(request: Request) -> str | None:
    """The session token the request came with (pre-sign-in, pending second factor, or full), if any."""
    auth = request.scope.get("auth")
    return auth.session_token if auth is not None else None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class AuthPages(Controller):
    path = "/auth"
    tags = ["pages"]
    include_in_schema = False
    # Signing in and out, the second step, password reset, invitations and email confirmation work on a read-only
    # organization too (domains/billing/read_only.py): its members must be able to get in and pay.
    opt = {"read_only_ok": True}

    @get("/sign-in", name="auth.sign_in")
    async def sign_in_page(self, request: Request, next_: NextParam = None) -> Template | Redirect:
        if request.scope.get("user") is not None:
            return see_other(safe_next(next_))
        # ``?notice=signed_out`` / ``password_reset``...: only known codes are shown (components/notice.html).
        return Template(
            "auth/sign_in.html",
            context={"form": {"next": safe_next(next_)}, "errors": {}, "notice": request.query_params.get("notice")},
        )

    @post("/sign-in", name="auth.sign_in.submit")
    async def sign_in(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        engine = request.app.state.engine
        result = await check_credentials(
            engine, db_session, form.get("email"), form.get("password"), actor_of(request), channel="web"
        )
        if result.outcome is Outcome.THROTTLED:
            form.error("form", _("Too many attempts. Wait 15 minutes and try again."))
            return render_form("auth/sign_in.html", form, status=HTTP_429_TOO_MANY_REQUESTS)
        if result.outcome is Outcome.INVALID or result.user is None:
            form.error("form", _("That email and password do not match an active account."))
            return render_form("auth/sign_in.html", form)
        user = result.user
        next_path = safe_next(form.get("next"))
        if result.outcome is Outcome.NEEDS_SECOND_FACTOR:
            token = await start_session(
                request, request.app.state.session_store, user.id, "mfa", old_token=_request_token(request)
            )
            response = see_other(f"/auth/two-factor?next={quote(next_path, safe='/')}")
            return with_session_cookie(request, response, token, stage="mfa")
        return await self._complete(request, db_session, user, next_path)

    async def _complete(self, request: Request, db_session: DbSession, user: User, next_path: str) -> Redirect:
        user.last_sign_in_at = _now()
        await record(db_session, actor_of(request, user), "auth.sign_in.success", subject_email=user.email,
                     channel="web")
        await db_session.commit()
        token = await start_session(
            request, request.app.state.session_store, user.id, "full", old_token=_request_token(request)
        )
        return with_session_cookie(request, see_other(next_path), token)

    @get("/two-factor", name="auth.two_factor")
    async def two_factor_page(self, request: Request, next_: NextParam = None) -> Template | Redirect:
        auth = request.scope.get("auth")
        if auth is None or auth.pending is None:
            return see_other("/auth/sign-in")
        return Template("auth/two_factor.html", context={"form": {"next": safe_next(next_)}, "errors": {}})

    @post("/two-factor", name="auth.two_factor.submit")
    async def two_factor(self, request: Request, db_session: DbSession) -> Template | Redirect:
        auth = request.scope.get("auth")
        if auth is None or auth.pending is None:
            return see_other("/auth/sign-in")
        form = await Form.read(request)
        user = await get_user(db_session, auth.pending.user_id)
        if user is None or not user.is_active:
            return see_other("/auth/sign-in")
        outcome = await check_second_factor(
            request.app.state.engine,
            db_session,
            user,
            form.get("code"),
            actor_of(request),
            channel="web",
        )
        if outcome is Outcome.THROTTLED:
            form.error("code", _("Too many attempts. Wait 15 minutes and try again."))
            return render_form("auth/two_factor.html", form, status=HTTP_429_TOO_MANY_REQUESTS)
        if outcome is not Outcome.OK:
            await db_session.commit()
            form.error("code", _("That code is not valid. Use the current code from your app, or a recovery code."))
            return render_form("auth/two_factor.html", form)
        return await self._complete(
            request, db_session, user, safe_next(form.get("next"))
        )

    @post("/sign-out", name="auth.sign_out")
    async def sign_out(self, request: Request) -> Redirect:
        auth = request.scope.get("auth")
        if auth is not None and auth.session_token:
            await request.app.state.session_store.delete(auth.session_token)
            if request.scope.get("user") is not None:
                await record(request.app.state.engine, actor_of(request), "auth.sign_out")
        response = see_other("/auth/sign-in", notice="signed_out")
        clear_session_cookie(request.app.state.settings, response)
        return response

    # --- invitations ------------------------------------------------------------------------------------------

    @get("/invitation/{token:str}", name="auth.invitation")
    async def invitation_page(self, token: FromPath[str], db_session: DbSession) -> Template:
        try:
            _row, user = await peek_link(db_session, token, "invite")
        except LinkError as exc:
            return link_problem(exc)
        return Template(
            "auth/accept_invitation.html", context={"user": user, "form": {"name": user.name}, "errors": {}}
        )

    @post("/invitation/{token:str}", name="auth.invitation.submit")
    async def accept_invitation(
        self, request: Request, token: FromPath[str], db_session: DbSession
    ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            _row, user = await peek_link(db_session, token, "invite")
        except LinkError as exc:
            return link_problem(exc)
        name = form.get("name").strip()
        if not name or len(name) > 200:  # refused, not cut short: what is saved is what was typed (as the profile)
            form.error("name", _("Enter your name (at most 200 characters)."))
        if form.get("password") != form.get("password_confirm"):
            form.error("password_confirm", _("The two passwords are not the same."))
        if form.ok:
            user.name = name
            try:
                await set_password(db_session, user, form.get("password"))
            except AccountError as exc:
                form.error(exc.field or "password", str(exc))
        if not form.ok:
            return render_form("auth/accept_invitation.html", form, user=user)
        await spend_link(db_session, token, "invite")
        user.email_verified_at = user.email_verified_at or _now()
        await record(
            db_session,
            actor_of(request, user),
            "user.invitation.accepted",
            subject_email=user.email,
            target_type="user",
            target_id=user.id,
        )
        return await self._complete(request, db_session, user, "/")

    # --- password reset ---------------------------------------------------------------------------------------

    @get("/forgot-password", name="auth.forgot_password")
    async def forgot_page(self) -> Template:
        return Template("auth/forgot_password.html", context={"form": {}, "errors": {}})

    @post("/forgot-password", name="auth.forgot_password.submit")
    async def forgot(self, request: Request, db_session: DbSession) -> Template:
        form = await Form.read(request)
        email = form.get("email").strip().lower()[:320]
        if "@" not in email:
            form.error("email", _("Enter the email address of your account."))
            return render_form("auth/forgot_password.html", form)
        actor = actor_of(request)
        engine = request.app.state.engine
        # Same answer whether or not the account exists, and whether or not the limit was reached.
        if await email_send_allowed(db_session, "auth.password_reset.requested", email, actor.ip):
            await record(engine, actor, "auth.password_reset.requested", subject_email=email)
            user = await get_by_email(db_session, email)
            if user is not None and user.is_active:
                token = await issue_link(db_session, user, "reset_password")
                await send_link_email(db_session, request.app.state.settings, user, "reset_password", token,
                                      "/auth/reset-password")
        else:
            await record(engine, actor, "auth.password_reset.throttled", subject_email=email)
        return Template(
            "auth/forgot_password.html", context={"sent": True, "form": {}, "errors": {}}, status_code=HTTP_200_OK
        )

    @get("/reset-password/{token:str}", name="auth.reset_password")
    async def reset_page(self, token: FromPath[str], db_session: DbSession) -> Template:
        try:
            await peek_link(db_session, token, "reset_password")
        except LinkError as exc:
            return link_problem(exc)
        return Template("auth/reset_password.html", context={"form": {}, "errors": {}})

    @post("/reset-password/{token:str}", name="auth.reset_password.submit")
    async def reset(self, request: Request, token: FromPath[str], db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            _row, user = await peek_link(db_session, token, "reset_password")
        except LinkError as exc:
            return link_problem(exc)
        if form.get("password") != form.get("password_confirm"):
            form.error("password_confirm", _("The two passwords are not the same."))
        else:
            try:
                await set_password(db_session, user, form.get("password"))
            except AccountError as exc:
                form.error("password", str(exc))
        if not form.ok:
            return render_form("auth/reset_password.html", form)
        await spend_link(db_session, token, "reset_password")
        await revoke_all_for_user(db_session, user.id)
        await record(
            db_session,
            actor_of(request, user),
            "auth.password_reset.completed",
            subject_email=user.email,
            target_type="user",
            target_id=user.id,
        )
        await security_notice(db_session, user, "password_reset")
        await db_session.commit()
        await request.app.state.session_store.delete_for_user(user.id)
        response = see_other("/auth/sign-in", notice="password_reset")
        clear_session_cookie(request.app.state.settings, response)
        return response

    # --- email verification -----------------------------------------------------------------------------------

    @get("/verify-email/{token:str}", name="auth.verify_email")
    async def verify_page(self, token: FromPath[str], db_session: DbSession) -> Template:
        try:
            await peek_link(db_session, token, "verify_email")
        except LinkError as exc:
            return link_problem(exc)
        return Template("auth/verify_email.html", context={"token": token})

    @post("/verify-email/{token:str}", name="auth.verify_email.submit")
    async def verify(self, request: Request, token: FromPath[str], db_session: DbSession) -> Template | Redirect:
        try:
            user = await spend_link(db_session, token, "verify_email")
        except LinkError as exc:
            return link_problem(exc)
        user.email_verified_at = _now()
        await record(
            db_session,
            actor_of(request),
            "user.email.verified",
            subject_email=user.email,
            target_type="user",
            target_id=user.id,
        )
        return see_other("/account/profile" if request.scope.get("user") else "/auth/sign-in", notice="email_verified")
