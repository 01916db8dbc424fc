"""The apex host's operator area: sign in, a tenant overview, sign out. Never reachable on a tenant host."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from sqlalchemy import func, select

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import (
    client_ip,
    current_operator,
    operator_cookie_name,
    operator_session_token,
    start_session,
    with_session_cookie,
)
from tajiconnect.domains.audit.service import Actor
from tajiconnect.i18n import _
from tajiconnect.platform.service import authenticate
from tajiconnect.tenancy.models import Tenant
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.paging import PageParam, page_info

APEX = {"host": "apex"}


def requires_operator(connection: ASGIConnection, _: BaseRouteHandler) -> None:
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
        store = request.app.state.operator_session_store
        old = operator_session_token(request.scope)
        token = await start_session(request, store, operator.id, "full", old_token=old)
        name = operator_cookie_name(request.app.state.settings.secure_cookies)
        return with_session_cookie(request, see_other("/platform"), token, name=name)

    @post("/sign-out", name="platform.sign_out", opt=APEX)
    async def sign_out(self, request: Request) -> Redirect:
        token = operator_session_token(request.scope)
        if token:
            await request.app.state.operator_session_store.delete(token)
        response = see_other("/platform/sign-in")
        response.delete_cookie(operator_cookie_name(request.app.state.settings.secure_cookies), path="/")
        return response

    @get("/", name="platform.home", opt=APEX, guards=[requires_operator])
    async def home(self, db_session: DbSession, page: PageParam = 1) -> Template:
        per_page = 50
        total = await db_session.scalar(select(func.count()).select_from(Tenant))
        tenants = await db_session.scalars(
            select(Tenant).order_by(Tenant.slug).limit(per_page).offset((page - 1) * per_page)
        )
        return Template(
            "platform/home.html",
            context={"tenants": list(tenants), "paging": page_info(int(total or 0), page, per_page)},
        )
