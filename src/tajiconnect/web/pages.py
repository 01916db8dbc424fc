"""Pages every host has: the apex landing page, a tenant's home page, static files (shared and the tenant's)."""

from __future__ import annotations

from litestar import Request, get, route
from litestar.enums import HttpMethod
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.dashboard import service as dashboard
from tajiconnect.domains.homes import pages as homes
from tajiconnect.domains.parents import access as parent_access
from tajiconnect.domains.parents import pages as parent_pages
from tajiconnect.domains.progress import pages as learn
from tajiconnect.tenancy.branding import TENANTS_DIR
from tajiconnect.tenancy.context import current_tenant
from tajiconnect.tenancy.middleware import TenantSuspendedError
from tajiconnect.web.assets import STATIC_DIR, asset_response, find
from tajiconnect.web.paging import PageParam

# Files are the same for everyone and publicly cached: no CSRF cookie is set on them and no session is read.
PUBLIC_ASSET = {"exclude_from_csrf": True, "anonymous": True}
GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]


@get("/", opt={"host": "any"}, name="home", include_in_schema=False)
async def home(request: Request, db_session: DbSession, page: PageParam = 1) -> Template | Redirect:
    """``/`` is the landing page on the apex host and the organization's home on a tenant host, by role: an
    organization admin's home is the admin dashboard; then a teacher's the teacher's home, a manager's the manager's
    home (``domains/homes/``); a parent-only member's the parent's home (``domains/parents/``); a learner's (roles
    only learner-ish) their learning home (``/learn``). ``page`` pages
    the home's main list (learners at risk, overdue people)."""
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
    if user is not None and homes.is_teacher(user):
        return await homes.teacher_page(request, db_session, page)
    if user is not None and homes.is_manager(user):
        return await homes.manager_page(request, db_session, page)
    if user is not None and user.is_active and parent_access.is_parent_only(user):  # the parent's home
        return Template("parents/home.html", context=await parent_pages.home_context(request, db_session))
    if user is not None and user.is_active and learn.is_learner_only(user):
        return Template("learn/home.html", context=await learn.home_context(request, db_session))
    return Template("home/index.html", context={"tenant": tenant})


@route("/static/{name:path}", http_method=GET_HEAD, opt=PUBLIC_ASSET | {"host": "any"}, name="static",
       include_in_schema=False)
async def static_file(name: FromPath[str], v: FromQuery[str | None] = None) -> File:
    """A file from ``static/``; a year of caching when ``v`` is its fingerprint (``web/assets.py``)."""
    path = find(STATIC_DIR, name.lstrip("/"))
    if path is None:
        raise NotFoundException()
    return asset_response(path, v)


@route("/favicon.ico", http_method=GET_HEAD, opt=PUBLIC_ASSET | {"host": "any"}, name="favicon",
       include_in_schema=False)
async def favicon() -> File:
    """Asked for by browsers and tools whatever the page links: the same icon, briefly cached (no fingerprint)."""
    return asset_response(STATIC_DIR / "favicon.ico", None)


@route("/tenant-static/{name:str}", http_method=GET_HEAD, opt=PUBLIC_ASSET, name="tenant_static",
       include_in_schema=False)
async def tenant_static(name: FromPath[str], v: FromQuery[str | None] = None) -> File:
    """A file from ``tenants/<slug>/static/`` for the tenant in scope (logo, images). No paths, no dotfiles."""
    tenant = current_tenant()
    path = find(TENANTS_DIR / tenant.slug / "static", name) if tenant is not None else None
    if path is None:
        raise NotFoundException()
    return asset_response(path, v)
