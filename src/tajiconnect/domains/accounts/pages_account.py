"""The signed-in user's own account: profile and avatar, password, two-step verification, sessions."""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import delete

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.auth import actor_of, clear_session_cookie, start_session, with_session_cookie
from tajiconnect.domains.accounts.avatars import (
    MAX_UPLOAD_BYTES,
    AvatarError,
    avatar_from_upload,
    process_avatar_async,
    remove_avatar,
    store_avatar,
)
from tajiconnect.domains.accounts.devices import describe_devices
from tajiconnect.domains.accounts.models import RecoveryCode, User, UserAvatar
from tajiconnect.domains.accounts.notices import security_notice, send_link_email
from tajiconnect.domains.accounts.passwords import verify_password_async
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.accounts.service import AccountError, get_user, set_password
from tajiconnect.domains.accounts.tokens import issue_link, revoke_all_for_user
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import SUPPORTED_LOCALES, _
from tajiconnect.tenancy.context import require_tenant
from tajiconnect.web.forms import Form, render_form, see_other

LOCALE_NAMES = {"en": "English", "sw": "Kiswahili", "fr": "Français"}


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


async def _me(request: Request, db_session: DbSession) -> User:
    user = await get_user(db_session, request.scope["user"].id)
    if user is None:
        raise NotFoundException()
    return user


async def notify(db_session: DbSession, user: User, event: str) -> None:
    await security_notice(db_session, user, event)


class AccountPages(Controller):
    path = "/account"
    guards = [requires_user]
    include_in_schema = False

    # --- profile ----------------------------------------------------------------------------------------------

    def _profile(self, user: User, form: dict | None = None, errors: dict | None = None, status: int = 200,
                 notice: str | None = None) -> Template:
        return Template(
            "account/profile.html",
            context={
                "user": user,
                "form": form or {"name": user.name, "locale": user.locale, "time_zone": user.time_zone},
                "errors": errors or {},
                "locales": LOCALE_NAMES,
                "time_zones": time_zones(),
                "notice": notice,
            },
            status_code=status,
        )

    @get("/profile", name="account.profile", opt={"allow_unenrolled": True})
    async def profile(self, request: Request, db_session: DbSession, notice: FromQuery[str | None] = None) -> Template:
        return self._profile(await _me(request, db_session), notice=notice)

    @post("/profile", name="account.profile.submit", opt={"allow_unenrolled": True})
    async def update_profile(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = await _me(request, db_session)
        form = await Form.read(request)
        name = form.get("name").strip()
        locale = form.get("locale")
        time_zone = form.get("time_zone")
        if not name or len(name) > 200:
            form.error("name", _("Enter your name (at most 200 characters)."))
        if locale not in SUPPORTED_LOCALES:
            form.error("locale", _("Choose a language from the list."))
        if time_zone not in time_zones():
            form.error("time_zone", _("Choose a time zone from the list."))
        upload = form.data.get("avatar")
        uploaded_id = form.get("avatar_file_id").strip()  # a picture already sent through /uploads (upload.js)
        avatar: bytes | None = None
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                avatar = await process_avatar_async(await upload.read(MAX_UPLOAD_BYTES + 1))
            except AvatarError as exc:
                form.error("avatar", str(exc))
        if not form.ok:
            values = {"name": name, "locale": locale, "time_zone": time_zone}
            return self._profile(user, values, form.errors, status=422)
        storage = request.app.state.storage
        if avatar is not None:
            await store_avatar(db_session, storage, user, avatar)
        elif uploaded_id:
            try:
                await avatar_from_upload(db_session, storage, user, uploaded_id)
            except AvatarError as exc:
                form.error("avatar", str(exc))
                values = {"name": name, "locale": locale, "time_zone": time_zone}
                return self._profile(user, values, form.errors, status=422)
        user.name, user.locale, user.time_zone = name, locale, time_zone
        if form.get("remove_avatar") == "1":
            await remove_avatar(db_session, storage, user)
        await record(db_session, actor_of(request), "user.profile.updated", target_type="user", target_id=user.id)
        return see_other("/account/profile", notice="profile_saved")

    @post("/verify-email", name="account.verify_email.send", opt={"allow_unenrolled": True})
    async def send_verification(self, request: Request, db_session: DbSession) -> Redirect:
        user = await _me(request, db_session)
        if user.email_verified_at is None:
            token = await issue_link(db_session, user, "verify_email")
            await send_link_email(db_session, request.app.state.settings, user, "verify_email", token,
                                  "/auth/verify-email")
        return see_other("/account/profile", notice="verification_sent")

    # --- password ---------------------------------------------------------------------------------------------

    @get("/password", name="account.password", opt={"allow_unenrolled": True})
    async def password_page(self) -> Template:
        return Template("account/password.html", context={"form": {}, "errors": {}})

    @post("/password", name="account.password.submit", opt={"allow_unenrolled": True})
    async def change_password(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = await _me(request, db_session)
        form = await Form.read(request)
        if not await verify_password_async(user.password_hash, form.get("current_password")):
            form.error("current_password", _("Your current password is not right."))
        elif form.get("password") != form.get("password_confirm"):
            form.error("password_confirm", _("The two passwords are not the same."))
        elif form.get("password") == form.get("current_password"):
            form.error("password", _("Choose a password different from the current one."))
        else:
            try:
                await set_password(db_session, user, form.get("password"))
            except AccountError as exc:
                form.error("password", str(exc))
        if not form.ok:
            return render_form("account/password.html", form)
        await revoke_all_for_user(db_session, user.id)
        await record(db_session, actor_of(request), "user.password.changed", target_type="user", target_id=user.id)
        await notify(db_session, user, "password_changed")
        await db_session.commit()
        # Every session of the account ends, this one included; this device continues on a brand-new token.
        store = request.app.state.session_store
        await store.delete_for_user(user.id)
        token = await start_session(request, store, user.id, "full", old_token=None)
        return with_session_cookie(request, see_other("/account/profile", notice="password_changed"), token)

    # --- two-step verification --------------------------------------------------------------------------------

    @get("/two-factor", name="account.two_factor", opt={"allow_unenrolled": True})
    async def two_factor_page(self, request: Request, db_session: DbSession,
                              notice: FromQuery[str | None] = None) -> Template:
        user = await _me(request, db_session)
        context: dict = {"user": user, "errors": {}, "notice": notice,
                         "required": request.scope["auth"].must_enroll_2fa}
        if not user.totp_enabled:
            if not user.totp_secret:
                user.totp_secret = totp.new_secret()
            uri = totp.provisioning_uri(user.totp_secret, account=user.email, issuer=require_tenant().name)
            context.update(secret=user.totp_secret, qr=totp.qr_svg(uri), uri=uri)
        else:
            context["codes_left"] = await totp.unused_recovery_codes(db_session, RecoveryCode.user_id, user.id)
        return Template("account/two_factor.html", context=context)

    async def _new_recovery_codes(self, db_session: DbSession, user: User) -> list[str]:
        return await totp.replace_recovery_codes(db_session, RecoveryCode.user_id, user.id)

    @post("/two-factor/enable", name="account.two_factor.enable", opt={"allow_unenrolled": True, "read_only_ok": True})
    async def enable_two_factor(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = await _me(request, db_session)
        if user.totp_enabled:
            return see_other("/account/two-factor")
        form = await Form.read(request)
        check = totp.check_code(user.totp_secret or "", form.get("code"), last_step=user.totp_last_step)
        if not user.totp_secret or not check.ok:
            uri = totp.provisioning_uri(user.totp_secret or "", account=user.email, issuer=require_tenant().name)
            return Template(
                "account/two_factor.html",
                context={"user": user, "secret": user.totp_secret, "qr": totp.qr_svg(uri), "uri": uri,
                         "errors": {"code": _("That code is not valid. Check your phone's clock and try again.")},
                         "required": request.scope["auth"].must_enroll_2fa},
                status_code=422,
            )
        user.totp_last_step = check.step
        user.totp_enabled_at = datetime.datetime.now(datetime.UTC)
        codes = await self._new_recovery_codes(db_session, user)
        await record(db_session, actor_of(request), "user.two_factor.enabled", target_type="user", target_id=user.id)
        await notify(db_session, user, "two_factor_enabled")
        return Template("account/recovery_codes.html", context={"codes": codes})

    @post("/two-factor/recovery-codes", name="account.two_factor.codes")
    async def regenerate_codes(self, request: Request, db_session: DbSession) -> Template | Redirect:
        user = await _me(request, db_session)
        form = await Form.read(request)
        if not user.totp_enabled or not await verify_password_async(user.password_hash, form.get("password")):
            return see_other("/account/two-factor", notice="password_wrong")
        codes = await self._new_recovery_codes(db_session, user)
        await record(db_session, actor_of(request), "user.two_factor.codes_regenerated", target_type="user",
                     target_id=user.id)
        await notify(db_session, user, "recovery_codes_regenerated")
        return Template("account/recovery_codes.html", context={"codes": codes})

    @post("/two-factor/disable", name="account.two_factor.disable")
    async def disable_two_factor(self, request: Request, db_session: DbSession) -> Redirect:
        from tajiconnect.domains.accounts.service import organization_settings, two_factor_required

        user = await _me(request, db_session)
        form = await Form.read(request)
        check = totp.check_code(user.totp_secret or "", form.get("code"), last_step=user.totp_last_step)
        if not await verify_password_async(user.password_hash, form.get("password")) or not check.ok:
            return see_other("/account/two-factor", notice="disable_failed")
        if two_factor_required(user, await organization_settings(db_session)):
            return see_other("/account/two-factor", notice="required_by_org")
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = check.step
        await db_session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        await record(db_session, actor_of(request), "user.two_factor.disabled", target_type="user", target_id=user.id)
        await notify(db_session, user, "two_factor_disabled")
        return see_other("/account/two-factor", notice="two_factor_disabled")

    # --- sessions ---------------------------------------------------------------------------------------------

    @get("/sessions", name="account.sessions", opt={"allow_unenrolled": True})
    async def sessions(self, request: Request, notice: FromQuery[str | None] = None) -> Template:
        auth = request.scope["auth"]
        records = await request.app.state.session_store.list_for_user(request.scope["user"].id)
        current = auth.session.public_id if auth.session else None
        devices = await describe_devices(record.user_agent for record in records)
        return Template("account/sessions.html", context={
            "sessions": list(zip(records, devices, strict=True)), "current": current, "notice": notice,
        })

    @post("/sessions/{public_id:str}/revoke", name="account.sessions.revoke",
          opt={"allow_unenrolled": True, "read_only_ok": True})
    async def revoke_session(self, request: Request, public_id: FromPath[str]) -> Redirect:
        user = request.scope["user"]
        if await request.app.state.session_store.delete_by_public_id(user.id, public_id):
            await record(request.app.state.engine, actor_of(request), "auth.session.revoked", target_type="session",
                         target_id=public_id)
        return see_other("/account/sessions", notice="session_revoked")

    @post("/sessions/revoke-all", name="account.sessions.revoke_all",
          opt={"allow_unenrolled": True, "read_only_ok": True})
    async def sign_out_everywhere(self, request: Request, db_session: DbSession) -> Redirect:
        user = await _me(request, db_session)
        await revoke_all_for_user(db_session, user.id)
        await notify(db_session, user, "signed_out_everywhere")
        await db_session.commit()
        count = await request.app.state.session_store.delete_for_user(user.id)
        await record(request.app.state.engine, actor_of(request), "auth.sign_out.everywhere", target_type="user",
                     target_id=user.id, sessions=count)
        response = see_other("/auth/sign-in", notice="signed_out_everywhere")
        clear_session_cookie(request.app.state.settings, response)
        return response


async def avatar_response(request: Request, db_session: DbSession, user_id: str) -> Response[bytes] | Redirect:
    """A picture in storage: a redirect to its short-lived URL; one not moved yet: its bytes from the database."""
    user = await get_user(db_session, user_id)
    if user is None:
        raise NotFoundException()
    cache = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
    if user.avatar_file_id is not None:
        file = await db_session.get(StoredFile, user.avatar_file_id)
        if file is not None and file.status == "ready":
            # Cached a minute by the browser, well within the URL's own lifetime (TAJI_STORAGE_URL_SECONDS).
            return Redirect(request.app.state.storage.url(file), status_code=302, headers=cache)
    row = await db_session.get(UserAvatar, user.id)
    if row is None:
        raise NotFoundException()
    return Response(row.data, media_type=row.content_type,
                    headers={**cache, "Cache-Control": "private, max-age=300"})


@get("/avatars/{user_id:str}", name="account.avatar", guards=[requires_user], include_in_schema=False,
     opt={"allow_unenrolled": True})
async def avatar(request: Request, user_id: FromPath[str], db_session: DbSession) -> Response[bytes] | Redirect:
    """A member's picture, for signed-in members of the same organization only."""
    return await avatar_response(request, db_session, user_id)
