"""The groups pages, ``/groups``: one set of routes for admins (everything) and leaders (the groups they lead).

What each person sees and may change is decided by the service (:func:`service.group_scope` and the checks of
each action), so a leader who types another group's address gets a 404, and a structure change a 403. Forms
re-render with their errors (422, or 409 when the current state refuses the change); successes redirect with a
``notice`` code (``templates/groups/_notice.html``).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.groups import service
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.groups.service import (
    MAX_LEVEL,
    Acting,
    GroupConflict,
    GroupError,
    GroupForbidden,
    GroupNotFound,
)
from tajiconnect.web.forms import Form, render_form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

MEMBERS_PER_PAGE = 25
HISTORY_PER_PAGE = 50
SEARCH_MAX = 100


def requires_groups(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Signed in as an active admin, manager or teacher (what each may see is narrowed by the service)."""
    requires_user(connection, handler)
    if not service.may_use_groups(connection.scope["user"]):
        raise PermissionDeniedException()


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def refuse(exc: GroupError) -> None:
    """Re-raise what is not a form error: an unseen group (404) or a forbidden change (403)."""
    if isinstance(exc, GroupForbidden):
        raise PermissionDeniedException(detail=str(exc)) from exc
    if isinstance(exc, GroupNotFound) and exc.field is None:
        raise NotFoundException(detail=str(exc)) from exc


def status_of(exc: GroupError) -> int:
    return 409 if isinstance(exc, GroupConflict) else 422


def _search(value: str | None) -> str:
    return (value or "").strip()[:SEARCH_MAX]


def common(request: Request, **context: Any) -> dict[str, Any]:
    user = request.scope["user"]
    return {
        "words": service.vocabulary(),
        "kind_label": service.kind_label,
        "tenant_kinds": service.tenant_kinds(),
        "max_level": MAX_LEVEL,
        "is_admin": service.is_admin(user),
        **context,
    }


class GroupPages(Controller):
    path = "/groups"
    guards = [requires_groups]
    include_in_schema = False

    # --- the tree -------------------------------------------------------------------------------------------------

    @get("/", name="groups.index")
    async def index(
        self,
        request: Request,
        db_session: DbSession,
        archived: FromQuery[str | None] = None,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        show_archived = archived == "1"
        roots = await service.group_tree(db_session, request.scope["user"], include_archived=show_archived)
        return Template(
            "groups/index.html",
            context=common(request, roots=roots, show_archived=show_archived, notice=notice),
        )

    # --- structure (admins) ---------------------------------------------------------------------------------------

    async def _parent_options(self, request: Request, db_session: Any, exclude: Group | None = None) -> list[Any]:
        """Groups a group may go under: not archived, not too deep, never the group itself or one below it."""
        nodes = await service.visible_groups(db_session, request.scope["user"])
        if exclude is not None:
            below = {exclude.id}
            for node in nodes:  # tree order: a parent comes before its children
                if node.group.parent_id in below:
                    below.add(node.group.id)
            nodes = [n for n in nodes if n.group.id not in below]
        return [n for n in nodes if n.group.depth < MAX_LEVEL]

    def _form(self, request: Request, template: str, form: Form, status: int, **context: Any) -> Template:
        return render_form(template, form, status=status, **common(request, **context))

    @get("/new", name="groups.new")
    async def new_page(
        self,
        request: Request,
        db_session: DbSession,
        parent: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
    ) -> Template:
        if not service.is_admin(request.scope["user"]):
            raise PermissionDeniedException()
        top, leaf = service.tenant_kinds()
        form = Form({"parent_id": parent or "", "kind": kind if kind in (top, leaf) else (leaf if parent else top)})
        options = await self._parent_options(request, db_session)
        return self._form(request, "groups/form.html", form, 200, parents=options, kinds=(top, leaf), group=None)

    @post("/new", name="groups.create")
    async def create(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = await Form.read(request)
        try:
            group = await service.create_group(
                db_session,
                acting(request),
                name=form.get("name"),
                kind=form.get("kind") or None,
                parent_id=form.get("parent_id") or None,
                description=form.get("description"),
            )
        except GroupError as exc:
            refuse(exc)
            form.error(exc.field or "form", str(exc))
            options = await self._parent_options(request, db_session)
            return self._form(
                request, "groups/form.html", form, status_of(exc),
                parents=options, kinds=service.tenant_kinds(), group=None,
            )
        return see_other(f"/groups/{group.id}", notice="created")

    @get("/{group_id:str}/edit", name="groups.edit")
    async def edit_page(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template:
        group = await self._group(request, db_session, group_id)
        if not service.is_admin(request.scope["user"]):
            raise PermissionDeniedException()
        form = Form(
            {"name": group.name, "description": group.description or "", "parent_id": str(group.parent_id or "")}
        )
        options = await self._parent_options(request, db_session, exclude=group)
        return self._form(request, "groups/form.html", form, 200, parents=options, kinds=(), group=group)

    @post("/{group_id:str}/edit", name="groups.update")
    async def update(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template | Redirect:
        group = await self._group(request, db_session, group_id)
        form = await Form.read(request)
        who = acting(request)
        try:
            await service.rename_group(db_session, who, group.id, form.get("name"))
            await service.describe_group(db_session, who, group.id, form.get("description"))
            await service.move_group(db_session, who, group.id, form.get("parent_id") or None)
        except GroupError as exc:
            refuse(exc)
            form.error(exc.field or "form", str(exc))
            options = await self._parent_options(request, db_session, exclude=group)
            return self._form(request, "groups/form.html", form, status_of(exc), parents=options, kinds=(), group=group)
        return see_other(f"/groups/{group.id}", notice="saved")

    @post("/{group_id:str}/archive", name="groups.archive")
    async def archive(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template | Redirect:
        try:
            group = await service.archive_group(db_session, acting(request), group_id)
        except GroupError as exc:
            refuse(exc)
            return await self._detail(request, db_session, group_id, errors={"form": str(exc)}, status=409)
        return see_other(f"/groups/{group.id}", notice="archived")

    @post("/{group_id:str}/restore", name="groups.restore")
    async def restore(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template | Redirect:
        try:
            group = await service.restore_group(db_session, acting(request), group_id)
        except GroupError as exc:
            refuse(exc)
            return await self._detail(request, db_session, group_id, errors={"form": str(exc)}, status=409)
        return see_other(f"/groups/{group.id}", notice="restored")

    @get("/{group_id:str}/delete", name="groups.delete.confirm")
    async def delete_page(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template:
        group = await self._group(request, db_session, group_id)
        if not service.is_admin(request.scope["user"]):
            raise PermissionDeniedException()
        return Template("groups/delete.html", context=common(request, group=group, errors={}))

    @post("/{group_id:str}/delete", name="groups.delete")
    async def delete(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template | Redirect:
        group = await self._group(request, db_session, group_id)
        try:
            await service.delete_group(db_session, acting(request), group.id)
        except GroupError as exc:
            refuse(exc)
            return Template(
                "groups/delete.html", context=common(request, group=group, errors={"form": str(exc)}), status_code=409
            )
        return see_other("/groups", notice="deleted")

    # --- one group --------------------------------------------------------------------------------------------------

    async def _group(self, request: Request, db_session: Any, group_id: str) -> Group:
        try:
            return await service.get_group(db_session, request.scope["user"], group_id)
        except GroupNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _detail(
        self,
        request: Request,
        db_session: Any,
        group_id: str,
        *,
        q: str | None = None,
        page: int = 1,
        find: str | None = None,
        add_role: str | None = None,
        notice: str | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        fragment: str | None = None,
    ) -> Template:
        user = request.scope["user"]
        try:
            node = await service.get_node(db_session, user, group_id)
        except GroupNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        group = node.group
        admin = service.is_admin(user)
        role = add_role if admin and add_role in service.ROLES else "member"
        needle, find_text = _search(q), _search(find)
        members, total = await service.list_members(
            db_session, group, role="member", q=needle or None, page=page, per_page=MEMBERS_PER_PAGE
        )
        found = await service.candidates(db_session, group, find_text, role=role) if find_text else []
        context = common(
            request,
            group=group,
            node=node,
            members=members,
            filters={"q": needle},
            paging=page_info(total, page, MEMBERS_PER_PAGE),
            find=find_text,
            add_role=role,
            found=found,
            notice=notice,
            errors=errors or {},
        )
        if fragment == "members-results":
            return Template("groups/_members.html", context=context)
        if fragment == "candidates":
            return Template("groups/_candidates.html", context=context)
        leaders, _count = await service.list_members(db_session, group, role="leader", per_page=100)
        context.update(
            leaders=leaders,
            ancestors=await service.ancestors(db_session, group, user),
            subgroups=await service.children(db_session, user, group, include_archived=admin),
        )
        return Template("groups/detail.html", context=context, status_code=status)

    @get("/{group_id:str}", name="groups.detail")
    async def detail(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        group_id: FromPath[str],
        q: FromQuery[str | None] = None,
        find: FromQuery[str | None] = None,
        add_role: FromQuery[str | None] = None,
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        fragment = next((t for t in ("members-results", "candidates") if wants_fragment(request, t)), None)
        return await self._detail(
            request, db_session, group_id, q=q, page=page, find=find, add_role=add_role, notice=notice,
            fragment=fragment,
        )

    @post("/{group_id:str}/members", name="groups.members.add")
    async def add_member(self, request: Request, db_session: DbSession, group_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        role = form.get("role") or "member"
        try:
            await service.add_member(db_session, acting(request), group_id, form.get("user_id"), role)
        except GroupError as exc:
            refuse(exc)
            return await self._detail(
                request, db_session, group_id, find=form.get("find"), add_role=role,
                errors={"add": str(exc)}, status=status_of(exc),
            )
        return see_other(f"/groups/{group_id}", notice="leader_added" if role == "leader" else "member_added")

    @post("/{group_id:str}/members/{user_id:str}/remove", name="groups.members.remove")
    async def remove_member(
        self, request: Request, db_session: DbSession, group_id: FromPath[str], user_id: FromPath[str]
    ) -> Template | Redirect:
        try:
            await service.remove_member(db_session, acting(request), group_id, user_id)
        except GroupError as exc:
            refuse(exc)
            return await self._detail(
                request, db_session, group_id, errors={"form": str(exc)}, status=status_of(exc)
            )
        return see_other(f"/groups/{group_id}", notice="member_removed")

    async def _move_context(
        self, request: Request, db_session: Any, group_id: str, user_id: str
    ) -> dict[str, Any]:
        user = request.scope["user"]
        group = await self._group(request, db_session, group_id)
        try:
            person = await service.get_person(db_session, user_id)
        except GroupNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        membership = await service.current_membership(db_session, group.id, person.id)
        if membership is None:
            raise NotFoundException(detail="not in this group")
        targets = [
            n for n in await service.visible_groups(db_session, user) if n.group.id != group.id
        ]
        return common(request, group=group, person=person, membership=membership, targets=targets)

    @get("/{group_id:str}/members/{user_id:str}/move", name="groups.members.move.page")
    async def move_page(
        self, request: Request, db_session: DbSession, group_id: FromPath[str], user_id: FromPath[str]
    ) -> Template:
        context = await self._move_context(request, db_session, group_id, user_id)
        return Template("groups/move_member.html", context={**context, "form": {}, "errors": {}})

    @post("/{group_id:str}/members/{user_id:str}/move", name="groups.members.move")
    async def move_member(
        self, request: Request, db_session: DbSession, group_id: FromPath[str], user_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            moved = await service.move_member(db_session, acting(request), group_id, user_id, form.get("to_group_id"))
        except GroupError as exc:
            refuse(exc)
            form.error(exc.field or "form", str(exc))
            context = await self._move_context(request, db_session, group_id, user_id)
            return render_form("groups/move_member.html", form, status=status_of(exc), **context)
        return see_other(f"/groups/{moved.group_id}", notice="member_moved")

    @get("/{group_id:str}/history", name="groups.history")
    async def history(
        self, request: HTMXRequest, db_session: DbSession, group_id: FromPath[str], page: PageParam = 1
    ) -> Template:
        group = await self._group(request, db_session, group_id)
        rows, total = await service.group_history(db_session, group, page=page, per_page=HISTORY_PER_PAGE)
        return Template(
            "groups/_history.html" if wants_fragment(request, "history-results") else "groups/history.html",
            context=common(request, group=group, person=None, rows=rows,
                           paging=page_info(total, page, HISTORY_PER_PAGE)),
        )

    @get("/people/{user_id:str}", name="groups.person")
    async def person(
        self, request: HTMXRequest, db_session: DbSession, user_id: FromPath[str], page: PageParam = 1
    ) -> Template:
        try:
            person, rows, total = await service.person_history(
                db_session, request.scope["user"], user_id, page=page, per_page=HISTORY_PER_PAGE
            )
        except GroupNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return Template(
            "groups/_history.html" if wants_fragment(request, "history-results") else "groups/history.html",
            context=common(request, group=None, person=person, rows=rows,
                           paging=page_info(total, page, HISTORY_PER_PAGE)),
        )
