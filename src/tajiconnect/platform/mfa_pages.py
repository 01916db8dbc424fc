"""The operators' second factor on the apex host: the code after the password, the enrollment every operator goes
through at the first sign-in (a QR code and the key, confirmed with a code, then recovery codes shown once), and
the Security page where a signed-in operator makes new recovery codes.

A password-accepted session is at stage ``mfa`` (:func:`pending_operator`): it reaches these pages and sign-out
only. The TOTP and recovery-code logic is the members' own (:mod:`tajiconnect.domains.accounts.totp`).
"""

from __future__ import annotations

import datetime
from typing import TypeVar

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts import totp
from tajiconnect.domains.accounts.auth import (
    actor_of,
    current_operator,
    operator_cookie_name,
    operator_session_token,
    pending_operator,
    start_session,
    with_session_cookie,
)
from tajiconnect.domains.accounts.passwords import verify_password_async
from tajiconnect.domains.accounts.signin import Outcome
from tajiconnect.domains.audit.models import PlatformAuditEntry
from tajiconnect.domains.audit.service import record
from tajiconnect.i18n import _
from tajiconnect.platform.models import OperatorRecoveryCode, PlatformOperator
from tajiconnect.platform.pages import APEX, requires_operator
from tajiconnect.platform.service import check_second_factor, operator_actor
from tajiconnect.web.forms import Form, render_form, see_other

ISSUER = "TajiConnect operators"
CODES = OperatorRecoveryCode.operator_id
R = TypeVar("R", Template, Redirect)


class OperatorTwoFactorPages(Controller):
    path = "/platform"
    opt = APEX
    include_in_schema = False

    # --- the code after the password ----------------------------------------------------------------------------

    @get("/2fa", name="platform.two_factor", opt=APEX)
    async def two_factor_page(self, request: Request, db_session: DbSession) -> Template | Redirect:
        operator = await _pending(request, db_session)
        if not isinstance(operator, PlatformOperator):
            return operator
        if not operator.totp_enabled:
            return see_other("/platform/2fa/setup")
        return Template("auth/two_factor.html", context={"form": {}, "errors": {}, "area": "platform"})

    @post("/2fa", name="platform.two_factor.submit", opt=APEX)
    async def two_factor(self, request: Request, db_session: DbSession) -> Template | Redirect:
        operator = await _pending(request, db_session, lock=True)
        if not isinstance(operator, PlatformOperator):
            return operator
        if not operator.totp_enabled:
            return see_other("/platform/2fa/setup")
        form = await Form.read(request)
        outcome = await check_second_factor(
            request.app.state.engine, db_session, operator, form.get("code"), actor_of(request, operator)
        )
        if outcome is Outcome.THROTTLED:
            form.error("code", _("Too many attempts. Wait 15 minutes and try again."))
            return render_form("auth/two_factor.html", form, status=HTTP_429_TOO_MANY_REQUESTS, area="platform")
        if outcome is not Outcome.OK:
            form.error("code", _("That code is not valid. Use the current code from your app, or a recovery code."))
            return render_form("auth/two_factor.html", form, area="platform")
        await db_session.commit()  # the step (or recovery code) is spent before the session is given out
        return await _full_session(request, operator, see_other("/platform"))

    # --- enrollment (forced: an operator without a second factor reaches nothing else) ----------------------------

    @get("/2fa/setup", name="platform.two_factor.setup", opt=APEX)
    async def setup_page(self, request: Request, db_session: DbSession) -> Template | Redirect:
        operator = await _pending(request, db_session)
        if not isinstance(operator, PlatformOperator):
            return operator
        if operator.totp_enabled:
            return see_other("/platform/2fa")
        if not operator.totp_secret:
            operator.totp_secret = totp.new_secret()  # kept (committed) so a reload shows the same key
        return _setup_template(operator, {})

    @post("/2fa/setup", name="platform.two_factor.setup.submit", opt=APEX)
    async def setup(self, request: Request, db_session: DbSession) -> Template | Redirect:
        operator = await _pending(request, db_session, lock=True)
        if not isinstance(operator, PlatformOperator):
            return operator
        if operator.totp_enabled:
            return see_other("/platform/2fa")
        if not operator.totp_secret:
            return see_other("/platform/2fa/setup")
        form = await Form.read(request)
        check = totp.check_code(operator.totp_secret, form.get("code"), last_step=operator.totp_last_step)
        if not check.ok:
            error = _("That code is not valid. Check your phone's clock and try again.")
            return _setup_template(operator, {"code": error}, status=422)
        operator.totp_last_step = check.step
        operator.totp_enabled_at = datetime.datetime.now(datetime.UTC)
        codes = await totp.replace_recovery_codes(db_session, CODES, operator.id)
        await record(db_session, operator_actor(operator, actor_of(request)), "platform.mfa.enabled",
                     subject_email=operator.email, target_type="operator", target_id=operator.id,
                     model=PlatformAuditEntry)
        await db_session.commit()
        page = Template("account/recovery_codes.html", context={"codes": codes, "done_href": "/platform"})
        return await _full_session(request, operator, page)

    # --- Security: new recovery codes -----------------------------------------------------------------------------

    @get("/security", name="platform.security", opt=APEX, guards=[requires_operator])
    async def security_page(self, request: Request, db_session: DbSession) -> Template:
        return await _security_template(request, db_session, {})

    @post("/security/recovery-codes", name="platform.security.codes", opt=APEX, guards=[requires_operator])
    async def regenerate_codes(self, request: Request, db_session: DbSession) -> Template:
        operator = await db_session.get(PlatformOperator, _signed_in(request).id)
        form = await Form.read(request)
        if operator is None or not await verify_password_async(operator.password_hash, form.get("password")):
            return await _security_template(request, db_session, {"password": _("That password is not right.")},
                                            status=422)
        codes = await totp.replace_recovery_codes(db_session, CODES, operator.id)
        await record(db_session, operator_actor(operator, actor_of(request)), "platform.mfa.codes_regenerated",
                     subject_email=operator.email, target_type="operator", target_id=operator.id,
                     model=PlatformAuditEntry)
        return Template("account/recovery_codes.html", context={"codes": codes, "done_href": "/platform/security"})


def _signed_in(request: Request) -> PlatformOperator:
    operator = current_operator(request.scope)
    assert operator is not None  # requires_operator
    return operator


async def _pending(request: Request, db_session: DbSession, *, lock: bool = False) -> PlatformOperator | Redirect:
    """The operator whose second factor is due, or where to go instead (console when signed in, else sign-in).

    ``lock``: the row is locked until the request's transaction ends, so that the same code sent twice at once is
    checked once against the stored last step, then refused (FOR NO KEY UPDATE: rows referencing the operator may
    still be written meanwhile)."""
    pending = pending_operator(request.scope)
    if pending is None:
        return see_other("/platform" if current_operator(request.scope) else "/platform/sign-in")
    operator = await db_session.get(
        PlatformOperator, pending.user_id, with_for_update={"key_share": True} if lock else None
    )
    if operator is None or not operator.is_active:
        token = operator_session_token(request.scope)
        if token:
            await request.app.state.operator_session_store.delete(token)
        return see_other("/platform/sign-in")
    return operator


async def _full_session(request: Request, operator: PlatformOperator, response: R) -> R:
    """``response`` with a brand-new session token at stage ``full`` (the ``mfa`` one ends)."""
    store = request.app.state.operator_session_store
    token = await start_session(request, store, operator.id, "full", old_token=operator_session_token(request.scope))
    name = operator_cookie_name(request.app.state.settings.secure_cookies)
    return with_session_cookie(request, response, token, name=name)


def _setup_template(operator: PlatformOperator, errors: dict[str, str], status: int = 200) -> Template:
    secret = operator.totp_secret or ""
    uri = totp.provisioning_uri(secret, account=operator.email, issuer=ISSUER)
    return Template(
        "platform/two_factor_setup.html",
        context={"secret": secret, "qr": totp.qr_svg(uri), "uri": uri, "errors": errors, "form": {}},
        status_code=status,
    )


async def _security_template(
    request: Request, db_session: DbSession, errors: dict[str, str], status: int = 200
) -> Template:
    operator = _signed_in(request)
    context = {
        "operator": operator,
        "codes_left": await totp.unused_recovery_codes(db_session, CODES, operator.id),
        "errors": errors,
        "form": {},
    }
    return Template("platform/security.html", context=context, status_code=status)
