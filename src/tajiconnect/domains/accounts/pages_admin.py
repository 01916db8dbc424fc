"""Organization admin pages: members (search, filters, invite, roles, deactivate, delete) and security settings."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts import admin, service
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.accounts.service import AccountError, UserQuery
from tajiconnect.domains.audit.service import record
from tajiconnect.domains.licensing.seats import SeatError
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info


class AdminUserPages(Controller):
    path = "/admin/users"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    @get("/", name="admin.users")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        role: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        query = UserQuery(q=(q or "").strip()[:100] or None, role=role or None, status=status or None, page=page)
        users, total = await service.search_users(db_session, query)
        context = {
            "users": users,
            "filters": {"q": query.q or "", "role": query.role or "", "status": query.status or ""},
            "roles": ROLES,
            "paging": page_info(total, page, query.per_page),
            "notice": notice,
        }
        # An HTMX filter or page change swaps only the results.
        fragment = wants_fragment(request, "users-results")
        return Template("admin/users/_results.html" if fragment else "admin/users/index.html", context=context)

    @get("/invite", name="admin.users.invite")
    async def invite_page(self) -> Template:
        return Template(
            "admin/users/invite.html", context={"form": {"roles": ["student"]}, "errors": {}, "roles": ROLES}
        )

    @post("/invite", name="admin.users.invite.submit")
    async def invite(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        roles = form.getlist("roles")
        try:
            user = await admin.invite_member(
                request, db_session, email=form.get("email"), name=form.get("name"), roles=roles
            )
        except (AccountError, admin.InvitationLimitedError) as exc:
            if isinstance(exc, AccountError):
                form.error(exc.field or "form", str(exc))
                status = 409 if isinstance(exc, SeatError) else 422  # as the API: a conflict, not bad input
            else:
                form.error("email", _("Too many invitations were sent recently. Try again later."))
                status = 429
            form.data["roles"] = roles
            return render_form("admin/users/invite.html", form, status=status, roles=ROLES)
        return see_other(f"/admin/users/{user.id}", notice="invited")

    @get("/{user_id:str}", name="admin.users.detail")
    async def detail(
        self, db_session: DbSession, user_id: FromPath[str], notice: FromQuery[str | None] = None
    ) -> Template:
        user = await admin.target(db_session, user_id)
        return Template(
            "admin/users/detail.html", context={"user": user, "roles": ROLES, "notice": notice, "errors": {}}
        )

    def _refuse(self, user: User, message: str, status: int = 409) -> Template:
        return Template(
            "admin/users/detail.html",
            context={"user": user, "roles": ROLES, "errors": {"form": message}},
            status_code=status,
        )

    @post("/{user_id:str}/roles", name="admin.users.roles")
    async def set_roles(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        form = await Form.read(request)
        try:
            await admin.change_roles(request, db_session, user, form.getlist("roles"))
        except AccountError as exc:
            return self._refuse(user, str(exc))
        return see_other(f"/admin/users/{user.id}", notice="roles_saved")

    @post("/{user_id:str}/deactivate", name="admin.users.deactivate")
    async def deactivate(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        try:
            await admin.deactivate_member(request, db_session, user)
        except AccountError as exc:
            return self._refuse(user, str(exc))
        return see_other(f"/admin/users/{user.id}", notice="deactivated")

    @post("/{user_id:str}/reactivate", name="admin.users.reactivate")
    async def reactivate(
        self, request: Request, db_session: DbSession, user_id: FromPath[str]
    ) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        try:
            await admin.reactivate_member(request, db_session, user)
        except AccountError as exc:
            return self._refuse(user, str(exc))
        return see_other(f"/admin/users/{user.id}", notice="reactivated")

    @post("/{user_id:str}/resend-invitation", name="admin.users.resend")
    async def resend(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        if user.status != "invited":
            return see_other(f"/admin/users/{user.id}")
        try:
            await admin.send_invitation(request, db_session, user)
        except admin.InvitationLimitedError:
            return self._refuse(user, _("Too many invitations were sent recently. Try again later."), status=429)
        return see_other(f"/admin/users/{user.id}", notice="invited")

    @get("/{user_id:str}/delete", name="admin.users.delete.confirm")
    async def delete_page(self, db_session: DbSession, user_id: FromPath[str]) -> Template:
        user = await admin.target(db_session, user_id)
        return Template("admin/users/delete.html", context={"user": user, "errors": {}})

    @post("/{user_id:str}/delete", name="admin.users.delete")
    async def delete(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        form = await Form.read(request)
        if form.get("confirm_email").strip().lower() != user.email:
            return Template(
                "admin/users/delete.html",
                status_code=422,
                context={"user": user, "errors": {"confirm_email": _("Type the member's email address to confirm.")}},
            )
        try:
            await admin.delete_member(request, db_session, user)
        except AccountError as exc:
            return self._refuse(user, str(exc))
        return see_other("/admin/users", notice="deleted")


class AdminSecurityPages(Controller):
    path = "/admin/security"
    guards = [requires_permission(Permission.MANAGE_SECURITY)]
    include_in_schema = False

    @get("/", name="admin.security")
    async def page(self, db_session: DbSession, notice: FromQuery[str | None] = None) -> Template:
        from tajiconnect.domains.jobs.board import allowed as jobs_allowed
        from tajiconnect.domains.messages.access import learners_may_talk

        settings = await service.organization_settings(db_session)
        return Template(
            "admin/security.html", context={"required": settings.require_2fa_roles, "roles": ROLES, "notice": notice,
                                            "learner_messages": await learners_may_talk(db_session),
                                            "jobs_allowed": await jobs_allowed(db_session)}
        )

    @post("/", name="admin.security.submit")
    async def save(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            roles = service.check_roles(form.getlist("require_2fa_roles"))
        except AccountError as exc:
            return Template(
                "admin/security.html",
                status_code=422,
                context={"required": [], "roles": ROLES, "errors": {"form": str(exc)}},
            )
        settings = await service.organization_settings(db_session)
        before = list(settings.require_2fa_roles)
        settings.require_2fa_roles = roles
        await record(db_session, actor_of(request), "org.security.updated", before=before, require_2fa_roles=roles)
        return see_other("/admin/security", notice="saved")
