"""Pages for parent links: a parent's children and the pairing-code form, a learner's family and codes, the
codes teachers make for their learners, and the links section of an admin's member page."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts import admin
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.parents import codes, overview, service
from tajiconnect.domains.parents.access import CODE_MAKER_ROLES, LEADER_ROLES, may_issue_code_for, requires_role
from tajiconnect.domains.parents.codes import PairingCodeError
from tajiconnect.domains.parents.service import LinkError
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

NO_STORE = {"Cache-Control": "no-store"}  # a page showing a fresh pairing code is never kept by a cache
SearchParam = FromQuery[str | None]


async def _me(request: Request, db_session: AsyncSession) -> User:
    user = await get_user(db_session, request.scope["user"].id)
    if user is None:
        raise NotFoundException()
    return user


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key.get()


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- a parent -------------------------------------------------------------------------------------------------


class ChildrenPages(Controller):
    """``/children``: the learners linked to the signed-in parent, and the form to add one with a code."""

    path = "/children"
    guards = [requires_role("parent")]
    include_in_schema = False

    async def _page(
        self, request: Request, db_session: AsyncSession, *, page: int = 1, form: Form | None = None,
        status: int = 200, notice: str | None = None,
    ) -> Template:
        me = request.scope["user"]
        children, total = await service.children_of(db_session, me.id, page=page, active_only=True)
        return Template(
            "parents/children.html",
            context={
                "children": children,
                "paging": page_info(total, page, service.PAGE_SIZE),
                "form": (form.data if form else {}),
                "errors": (form.errors if form else {}),
                "link_notice": notice,
            },
            status_code=status,
        )

    @get("/", name="parents.children")
    async def index(
        self, request: Request, db_session: DbSession, page: PageParam = 1, notice: FromQuery[str | None] = None
    ) -> Template:
        return await self._page(request, db_session, page=page, notice=notice)

    @post("/pair", name="parents.children.pair")
    async def pair(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        text = form.get("pairing_code").strip()[:64]
        form.data = {"pairing_code": text}
        if not text:
            form.error("pairing_code", _("Enter the pairing code you were given."))
            return await self._page(request, db_session, form=form, status=422)
        me = await _me(request, db_session)
        try:
            result = await codes.redeem(
                request.app.state.engine, db_session, me, text, actor_of(request), secret=_secret(request)
            )
        except PairingCodeError as exc:
            form.error("pairing_code", exc.message)
            return await self._page(request, db_session, form=form, status=429 if exc.reason == "throttled" else 422)
        return see_other("/children", notice="linked" if result.created else "already_linked")

    @get("/{learner_id:str}", name="parents.child")
    async def child(
        self, request: Request, db_session: DbSession, learner_id: FromPath[str], page: PageParam = 1
    ) -> Template:
        me = request.scope["user"]
        key = _uuid(learner_id)
        child = await service.child_of(db_session, me.id, key, active_only=True) if key else None
        if child is None:  # not linked to this parent, whoever it is: nothing to see
            raise NotFoundException()
        now = overview.now_utc()
        (view,) = await overview.overviews(db_session, me.id, [child], limits=overview.DETAIL, now=now,
                                           grades_page=page)
        return Template("parents/child.html", context={
            "child": child, "view": view, "now": now, "local_date": _local_date(me),
            "grades_paging": page_info(view.grades_total, page, overview.DETAIL.grades),
        })


def _local_date(viewer: Any) -> Any:
    from tajiconnect.domains.progress.pages import local_date

    return lambda moment: local_date(moment, getattr(viewer, "time_zone", None))


HOME_CHILDREN = 10


async def home_context(request: Request, db_session: AsyncSession) -> dict[str, Any]:
    """What a parent's home (``/`` for a parent-only member) shows: each linked child of the page (``?page=``) with
    every section, in a fixed number of statements whatever the number of children."""
    me = request.scope["user"]
    try:
        page = min(max(int(request.query_params.get("page") or 1), 1), 10_000)
    except ValueError:
        page = 1
    children, total = await service.children_of(db_session, me.id, page=page, per_page=HOME_CHILDREN,
                                                 active_only=True)
    now = overview.now_utc()
    return {
        "views": await overview.overviews(db_session, me.id, children, now=now),
        "paging": page_info(total, page, HOME_CHILDREN),
        "now": now,
        "local_date": _local_date(me),
    }


# --- a learner ------------------------------------------------------------------------------------------------


class FamilyPages(Controller):
    """``/family``: who is linked to the signed-in learner, and their pairing codes."""

    path = "/family"
    guards = [requires_role("student")]
    include_in_schema = False

    async def _page(
        self, request: Request, db_session: AsyncSession, *, page: int = 1, issued: codes.IssuedCode | None = None,
        notice: str | None = None, status: int = 200,
    ) -> Template:
        me = request.scope["user"]
        parents, total = await service.parents_of(db_session, me.id, page=page)
        live, last_expiry = await codes.live_codes(db_session, me.id)
        return Template(
            "parents/family.html",
            context={
                "parents": parents,
                "paging": page_info(total, page, service.PAGE_SIZE),
                "live_codes": live,
                "last_expiry": last_expiry,
                "issued": issued,
                "link_notice": notice,
                "code_hours": int(codes.CODE_TTL.total_seconds() // 3600),
            },
            headers=NO_STORE if issued else None,
            status_code=status,
        )

    @get("/", name="parents.family")
    async def index(
        self, request: Request, db_session: DbSession, page: PageParam = 1, notice: FromQuery[str | None] = None
    ) -> Template:
        return await self._page(request, db_session, page=page, notice=notice)

    @post("/code", name="parents.family.code")
    async def new_code(self, request: Request, db_session: DbSession) -> Template:
        me = await _me(request, db_session)
        issued = await codes.issue(db_session, me, actor_of(request), secret=_secret(request))
        return await self._page(request, db_session, issued=issued, status=201)

    @post("/codes/withdraw", name="parents.family.withdraw")
    async def withdraw(self, request: Request, db_session: DbSession) -> Redirect:
        me = await _me(request, db_session)
        await codes.withdraw(db_session, me, actor_of(request))
        return see_other("/family", notice="withdrawn")


# --- teachers, managers and admins: codes for a learner -------------------------------------------------------


class PairingCodePages(Controller):
    """``/pairing-codes``: find one of your learners and make a pairing code for their parent."""

    path = "/pairing-codes"
    guards = [requires_role("org_admin", *LEADER_ROLES)]
    include_in_schema = False

    @get("/", name="parents.codes")
    async def index(
        self, request: HTMXRequest, db_session: DbSession, q: SearchParam = None, page: PageParam = 1
    ) -> Template:
        me = await _me(request, db_session)
        query = (q or "").strip()[:100]
        learners, total = await service.learners_for(db_session, me, q=query, page=page)
        context = {"learners": learners, "q": query, "paging": page_info(total, page, service.PAGE_SIZE)}
        fragment = wants_fragment(request, "code-learners")
        return Template("parents/_code_learners.html" if fragment else "parents/codes.html", context=context)

    @post("/", name="parents.codes.create")
    async def create(self, request: Request, db_session: DbSession) -> Template:
        me = await _me(request, db_session)
        form = await Form.read(request)
        key = _uuid(form.get("learner_id"))
        learner = await get_user(db_session, key) if key else None
        if learner is None or not await may_issue_code_for(db_session, me, learner):
            raise NotFoundException(detail=_("No such learner among yours."))
        try:
            issued = await codes.issue(db_session, learner, actor_of(request), secret=_secret(request))
        except PairingCodeError as exc:
            return Template(
                "parents/codes.html",
                context={"learners": [], "q": "", "paging": page_info(0, 1, service.PAGE_SIZE),
                         "errors": {"form": exc.message}},
                status_code=409,
            )
        return Template(
            "parents/codes.html",
            context={"learners": [], "q": "", "paging": page_info(0, 1, service.PAGE_SIZE), "issued": issued,
                     "code_hours": int(codes.CODE_TTL.total_seconds() // 3600)},
            headers=NO_STORE,
            status_code=201,
        )


# --- admins: a member's links ---------------------------------------------------------------------------------


class AdminFamilyPages(Controller):
    """The "Parents and children" section of ``/admin/users/{id}`` (loaded into the page by HTMX) and its
    actions. Without JavaScript the section is a page of its own."""

    path = "/admin/users/{user_id:str}/family"
    guards = [requires_permission(Permission.MANAGE_USERS)]
    include_in_schema = False

    async def _context(
        self, db_session: AsyncSession, user: User, page: int = 1
    ) -> dict[str, Any]:
        children, children_total = await service.children_of(db_session, user.id, page=page)
        parents, parents_total = await service.parents_of(db_session, user.id, page=page)
        return {
            "member": user,
            "children": children,
            "parents": parents,
            "children_paging": page_info(children_total, page, service.PAGE_SIZE),
            "parents_paging": page_info(parents_total, page, service.PAGE_SIZE),
            "errors": {},
        }

    @get("/", name="admin.users.family")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        user_id: FromPath[str],
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        user = await admin.target(db_session, user_id)
        context = {**await self._context(db_session, user, page), "link_notice": notice}
        fragment = wants_fragment(request, "family-links")
        return Template("parents/_admin_family.html" if fragment else "parents/admin_family.html", context=context)

    @get("/candidates", name="admin.users.family.candidates")
    async def candidates(
        self, db_session: DbSession, user_id: FromPath[str], want: FromQuery[str] = "learner", q: SearchParam = None
    ) -> Template:
        user = await admin.target(db_session, user_id)
        kind: Literal["learner", "parent"] = "parent" if want == "parent" else "learner"
        found = await service.link_candidates(db_session, user, want=kind, q=q) if (q or "").strip() else []
        return Template(
            "parents/_admin_candidates.html",
            context={"member": user, "candidates": found, "want": kind, "q": (q or "").strip()[:100]},
        )

    async def _refuse(self, db_session: AsyncSession, user: User, message: str, status: int = 409) -> Template:
        context = await self._context(db_session, user)
        context["errors"] = {"form": message}
        return Template("parents/admin_family.html", context=context, status_code=status)

    async def _change(
        self, request: Request, db_session: AsyncSession, user_id: str, other_id: str, *, user_is: str, add: bool
    ) -> Template | Redirect:
        user = await admin.target(db_session, user_id)
        key = _uuid(other_id)
        other = await get_user(db_session, key) if key else None
        if other is None:
            return await self._refuse(db_session, user, _("Choose a member from the list."), status=422)
        parent, learner = (user, other) if user_is == "parent" else (other, user)
        actor = actor_of(request)
        if add:
            try:
                await service.link(db_session, parent, learner, source="admin", actor=actor)
            except LinkError as exc:
                return await self._refuse(db_session, user, str(exc))
            return see_other(f"/admin/users/{user.id}", notice="link_added")
        await service.unlink(db_session, parent, learner, actor=actor)
        return see_other(f"/admin/users/{user.id}", notice="link_removed")

    @post("/children", name="admin.users.family.link_child")
    async def link_child(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        return await self._change(request, db_session, user_id, form.get("learner_id"), user_is="parent", add=True)

    @post("/children/{other_id:str}/remove", name="admin.users.family.unlink_child")
    async def unlink_child(
        self, request: Request, db_session: DbSession, user_id: FromPath[str], other_id: FromPath[str]
    ) -> Template | Redirect:
        return await self._change(request, db_session, user_id, other_id, user_is="parent", add=False)

    @post("/parents", name="admin.users.family.link_parent")
    async def link_parent(
        self, request: Request, db_session: DbSession, user_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        return await self._change(request, db_session, user_id, form.get("parent_id"), user_is="learner", add=True)

    @post("/parents/{other_id:str}/remove", name="admin.users.family.unlink_parent")
    async def unlink_parent(
        self, request: Request, db_session: DbSession, user_id: FromPath[str], other_id: FromPath[str]
    ) -> Template | Redirect:
        return await self._change(request, db_session, user_id, other_id, user_is="learner", add=False)


PAGES = [ChildrenPages, FamilyPages, PairingCodePages, AdminFamilyPages]
__all__ = ["CODE_MAKER_ROLES", "PAGES", "home_context"]
