"""Pages every host has: the apex landing page, a tenant's home page, tenant static files."""

from __future__ import annotations

import mimetypes

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.dashboard import service as dashboard
from tajiconnect.tenancy.branding import _FILE, TENANTS_DIR
from tajiconnect.tenancy.context import current_tenant
from tajiconnect.tenancy.middleware import TenantSuspendedError


@get("/", opt={"host": "any"}, name="home", include_in_schema=False)
async def home(request: Request, db_session: DbSession) -> Template | Redirect:
    """``/`` is the landing page on the apex host and the organization's home on a tenant host; an organization
    admin's home is the admin dashboard."""
    tenant = current_tenant()
    if tenant is None:
        state = request.scope["state"]
        if state.get("suspended_tenant") is not None:
            raise TenantSuspendedError(detail="This organization is suspended.")
        if state.get("host_kind") != "apex":
            raise NotFoundException()
        return Template("public/landing.html")
    auth = request.scope.get("auth")
    if auth is not None and auth.must_enroll_2fa:
        return Redirect("/account/two-factor?notice=required", status_code=303)
    user = request.scope.get("user")
    if user is not None and user.is_active and user.has_role("org_admin"):
        return Template("home/dashboard.html", context={"tenant": tenant, "board": await dashboard.load(db_session)})
    return Template("home/index.html", context={"tenant": tenant})


@get("/tenant-static/{name:str}", name="tenant_static", include_in_schema=False)
async def tenant_static(name: FromPath[str]) -> File:
    """A file from ``tenants/<slug>/static/`` for the tenant in scope (logo, images). No paths, no dotfiles."""
    tenant = current_tenant()
    if tenant is None or not _FILE.fullmatch(name):
        raise NotFoundException()
    path = TENANTS_DIR / tenant.slug / "static" / name
    if not path.is_file():
        raise NotFoundException()
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return File(
        path=path,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
