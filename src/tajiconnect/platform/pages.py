"""The apex host's operator area: sign in, the organizations with their licenses, each organization's page (license
changes, suspend and resume), sign out. Never reachable on a tenant host."""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import (
    actor_of,
    client_ip,
    current_operator,
    operator_cookie_name,
    operator_session_token,
    start_session,
    with_session_cookie,
)
from tajiconnect.domains.audit.service import Actor
from tajiconnect.domains.licensing.models import LICENSE_STATUSES, MAX_SEATS
from tajiconnect.domains.licensing.service import LicenseError, LicenseView, list_licenses, plans
from tajiconnect.i18n import _
from tajiconnect.platform import tenants
from tajiconnect.platform.service import authenticate
from tajiconnect.tenancy.resolver import invalidate_tenant_cache
from tajiconnect.tenancy.service import TenantNotFoundError
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

APEX = {"host": "apex"}


def requires_operator(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A signed-in operator past the second factor (a ``full`` session); a pending one is sent to the 2FA page."""
    if current_operator(connection.scope) is None:
        raise NotAuthorizedException()


class PlatformPages(Controller):
    path = "/platform"
    opt = APEX
    include_in_schema = False

    @get("/sign-in", name="platform.sign_in", opt=APEX)
    async def sign_in_page(self) -> Template:
        return Template("platform/sign_in.html", context={"form": {}, "errors": {}})

    @post("/sign-in", name="platform.sign_in.submit", opt=APEX)
    async def sign_in(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        actor = Actor(ip=client_ip(request.scope), user_agent=request.headers.get("user-agent"))
        outcome, operator = await authenticate(
            request.app.state.engine, db_session, form.get("email"), form.get("password"), actor
        )
        if outcome == "throttled":
            form.error("form", _("Too many attempts. Wait 15 minutes and try again."))
            return render_form("platform/sign_in.html", form, status=HTTP_429_TOO_MANY_REQUESTS)
        if operator is None:
            form.error("form", _("That email and password do not match an active operator."))
            return render_form("platform/sign_in.html", form)
        # Password accepted: the second factor is due (platform/mfa_pages.py), or its enrollment when there is none.
        store = request.app.state.operator_session_store
        old = operator_session_token(request.scope)
        token = await start_session(request, store, operator.id, "mfa", old_token=old)
        name = operator_cookie_name(request.app.state.settings.secure_cookies)
        step = "/platform/2fa" if operator.totp_enabled else "/platform/2fa/setup"
        return with_session_cookie(request, see_other(step), token, stage="mfa", name=name)

    @post("/sign-out", name="platform.sign_out", opt=APEX)
    async def sign_out(self, request: Request) -> Redirect:
        token = operator_session_token(request.scope)
        if token:
            await request.app.state.operator_session_store.delete(token)
        response = see_other("/platform/sign-in")
        response.delete_cookie(operator_cookie_name(request.app.state.settings.secure_cookies), path="/")
        return response

    @get("/", name="platform.home", opt=APEX, guards=[requires_operator])
    async def home(self, request: HTMXRequest, page: PageParam = 1) -> Template:
        """Every organization with its plan, seats used of purchased and license status (one page at a time)."""
        licenses, total = await list_licenses(
            request.app.state.engine, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
        context = {"licenses": licenses, "paging": page_info(total, page, PER_PAGE)}
        partial = wants_fragment(request, "platform-tenants")
        return Template("platform/_tenants.html" if partial else "platform/home.html", context=context)

    @get("/tenants/{slug:str}", name="platform.tenant", opt=APEX, guards=[requires_operator])
    async def tenant(
        self, db_session: DbSession, slug: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        detail = await _detail(db_session, slug)
        return await _tenant_page(db_session, detail, form=_license_form(detail.license), notice=notice)

    @post("/tenants/{slug:str}/license", name="platform.tenant.license", opt=APEX, guards=[requires_operator])
    async def change_license(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template | Redirect:
        detail = await _detail(db_session, slug)
        form = await Form.read(request)
        plan_codes = [p.code for p in await plans(db_session)]
        wanted = _read_license_form(form, plan_codes, detail.license.term_start)
        if not form.ok:
            return await _tenant_page(db_session, detail, form=form.data, errors=form.errors, status=422)
        try:
            _, changes = await tenants.change_license(db_session, _actor(request), slug, **wanted)
        except LicenseError as exc:  # e.g. a plan removed meanwhile: refused as a whole
            form.error("form", str(exc))
            return await _tenant_page(db_session, detail, form=form.data, errors=form.errors, status=422)
        return see_other(f"/platform/tenants/{slug}", notice="license_saved" if changes else "nothing_changed")

    @post("/tenants/{slug:str}/suspend", name="platform.tenant.suspend", opt=APEX, guards=[requires_operator])
    async def suspend(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Redirect:
        await _set_status(request, db_session, slug, "suspended")
        return see_other(f"/platform/tenants/{slug}", notice="tenant_suspended")

    @post("/tenants/{slug:str}/resume", name="platform.tenant.resume", opt=APEX, guards=[requires_operator])
    async def resume(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Redirect:
        await _set_status(request, db_session, slug, "active")
        return see_other(f"/platform/tenants/{slug}", notice="tenant_resumed")


PER_PAGE = 50


def _actor(request: Request) -> Actor:
    return actor_of(request, current_operator(request.scope))


async def _detail(db_session: DbSession, slug: str) -> tenants.TenantDetail:
    try:
        return await tenants.tenant_detail(db_session, slug)
    except TenantNotFoundError as exc:
        raise NotFoundException(detail="no such organization") from exc


async def _set_status(request: Request, db_session: DbSession, slug: str, status: str) -> None:
    await _detail(db_session, slug)  # 404 for an unknown slug
    _, changed = await tenants.set_tenant_status(db_session, _actor(request), slug, status)
    if changed:
        # Committed before the host cache is dropped: a request in between would cache the old status again.
        await db_session.commit()
        invalidate_tenant_cache()


def _license_form(lic: LicenseView) -> dict[str, str]:
    return {
        "plan": lic.plan_code,
        "seats": str(lic.seats),
        "status": lic.status,
        "term_end": lic.term_end.isoformat() if lic.term_end else "",
    }


def _read_license_form(form: Form, plan_codes: list[str], term_start: datetime.date) -> dict[str, Any]:
    """The license fields as ``change_license`` takes them; each invalid one gets its error on ``form``."""
    plan = form.get("plan").strip()
    if plan not in plan_codes:
        form.error("plan", _("Choose one of the plans."))
    seats_text = form.get("seats").strip()
    seats = int(seats_text) if seats_text.isascii() and seats_text.isdigit() and len(seats_text) <= 7 else -1
    if not 0 <= seats <= MAX_SEATS:
        form.error("seats", _("Enter a whole number of seats from 0 to %(max)d.") % {"max": MAX_SEATS})
    status = form.get("status").strip()
    if status not in LICENSE_STATUSES:
        form.error("status", _("Choose one of the statuses."))
    term_text = form.get("term_end").strip()
    until: datetime.date | None = None
    if term_text:
        try:
            until = datetime.date.fromisoformat(term_text) if len(term_text) == 10 else None
        except ValueError:
            until = None
        if until is None:
            form.error("term_end", _("Enter a date as YYYY-MM-DD, or leave it empty for a term without an end."))
        elif until < term_start:
            form.error(
                "term_end", _("The term cannot end before it starts (%(start)s).") % {"start": term_start.isoformat()}
            )
    return {"plan": plan, "seats": seats, "status": status, "until": until, "open_ended": not term_text}


async def _tenant_page(
    db_session: DbSession,
    detail: tenants.TenantDetail,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    context = {
        "detail": detail,
        "plans": await plans(db_session),
        "statuses": LICENSE_STATUSES,
        "max_seats": MAX_SEATS,
        "form": {k: v for k, v in form.items() if k != "_csrf_token"},
        "errors": errors or {},
        "notice": notice,
    }
    return Template("platform/tenant.html", context=context, status_code=status)
