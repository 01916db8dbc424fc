"""The teams API, ``/api/v1/teams``: groups (departments/teams or grade levels/classes) and their members.

Admins see and change everything; managers and teachers see the groups they lead (and those below) and add or
remove their learners. A group that is not visible, another organization's included, is a 404. Refusals are
problem bodies: 403 (a leader changing the structure or the leaders), 404 (no such group or person here), 409
(the current state refuses: a name taken, a cycle, too deep, subgroups left, a person who cannot hold that role or
is already in the group, an archived group).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Meta, UnsetType

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.models import Role
from tajiconnect.domains.groups import service
from tajiconnect.domains.groups.models import GroupKind, MembershipRole
from tajiconnect.domains.groups.pages import acting, requires_groups
from tajiconnect.domains.groups.service import GroupError, GroupNode
from tajiconnect.web.openapi import BODY, GUARDED, NOT_BLANK, REQUIRES_BEARER, Timestamp, problems, refusal
from tajiconnect.web.paging import PageParam

Name = Annotated[str, Meta(min_length=1, max_length=service.NAME_MAX, pattern=NOT_BLANK)]
Description = Annotated[str, Meta(max_length=service.DESCRIPTION_MAX)]
ExternalId = Annotated[str, Meta(min_length=1, max_length=service.EXTERNAL_ID_MAX, pattern=NOT_BLANK)]
# A string rather than a boolean: Litestar converts request bodies leniently, so a JSON ``0`` would pass as false.
TeamStatus = Literal["active", "archived"]
PerPage = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
SearchText = Annotated[str | None, Parameter(max_length=100, description="Part of the name, any case.")]
PersonSearch = Annotated[str | None, Parameter(max_length=100, description="Part of the name or email, any case.")]

NOTES_409 = {
    409: "The organization's current state refuses the change (`field` names the input): a name already used "
    "under that parent, a kind this organization does not use or a top kind inside a leaf kind, a parent inside "
    "the group itself, a tree deeper than 3 levels below the top, an archived parent."
}


class Team(msgspec.Struct):
    """A group: a department or team (company), a grade level or class (school), with its current counts."""

    id: uuid.UUID
    name: str
    kind: GroupKind
    parent_id: uuid.UUID | None
    depth: int
    description: str | None
    external_id: str | None
    status: TeamStatus
    archived_at: Timestamp | None
    member_count: int
    leader_count: int
    created_at: Timestamp


class TeamPage(msgspec.Struct):
    items: list[Team]
    total: int
    page: int
    per_page: int


class TeamCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``kind`` defaults to the top kind (department, grade) at the top and the leaf kind (team, class) below."""

    name: Name
    kind: GroupKind | None = None
    parent_id: uuid.UUID | None = None
    description: Description | None = None
    external_id: ExternalId | None = None


class TeamPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Members left out stay as they are; ``parent_id: null`` moves the group to the top; ``status`` archives or
    restores it (with the groups below it)."""

    name: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    parent_id: uuid.UUID | UnsetType | None = UNSET
    status: TeamStatus | UnsetType = UNSET


class TeamMember(msgspec.Struct):
    """A current membership: the person, their role in the group, since when."""

    user_id: uuid.UUID
    name: str
    email: str
    roles: list[Role]
    role: MembershipRole
    since: Timestamp
    added_by: str | None


class TeamMemberPage(msgspec.Struct):
    items: list[TeamMember]
    total: int
    page: int
    per_page: int


class TeamMemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    """``member`` for a learner (student role); ``leader`` for a manager, teacher or admin (admins only)."""

    user_id: uuid.UUID
    role: MembershipRole = "member"


def team_json(node: GroupNode) -> Team:
    g = node.group
    return Team(
        id=g.id,
        name=g.name,
        kind=g.kind,  # type: ignore[arg-type]  # the CHECK constraint keeps it one of GroupKind
        parent_id=g.parent_id,
        depth=g.depth,
        description=g.description,
        external_id=g.external_id,
        status="archived" if g.archived_at is not None else "active",
        archived_at=g.archived_at.isoformat() if g.archived_at else None,
        member_count=node.members,
        leader_count=node.leaders,
        created_at=g.created_at.isoformat(),
    )


class TeamsApi(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]
    guards = [requires_groups]
    security = REQUIRES_BEARER

    @get(
        "/",
        name="api.teams.list",
        summary="Teams (or classes) the caller may see, filterable, paginated",
        description="Admins see every group; managers and teachers the groups they lead and those below them.",
        **problems(400, *GUARDED),
    )
    async def list_teams(
        self,
        request: Request,
        db_session: DbSession,
        parent_id: Annotated[uuid.UUID | None, Parameter(description="Only the groups directly inside this one.")]
        = None,
        top_level: Annotated[bool, Parameter(description="Only groups at the top (ignored with `parent_id`).")]
        = False,
        kind: Annotated[GroupKind | None, Parameter(description="Only groups of this kind.")] = None,
        q: SearchText = None,
        include_archived: Annotated[bool, Parameter(description="Archived groups too.")] = False,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> TeamPage:
        nodes, total = await service.list_groups(
            db_session, request.scope["user"], parent_id=parent_id, top_level=top_level, kind=kind, q=q,
            include_archived=include_archived, page=page, per_page=per_page,
        )
        return TeamPage(items=[team_json(n) for n in nodes], total=total, page=page, per_page=per_page)

    @post(
        "/",
        name="api.teams.create",
        summary="Create a team (or class, department, grade level)",
        status_code=HTTP_201_CREATED,
        **problems(
            *BODY, *GUARDED, 404, 409,
            notes={
                403: "Only organization admins change the structure. The organization may be suspended.",
                404: "`parent_id` names no group here.",
                409: f"{NOTES_409[409]} Or the `external_id` is already used.",
            },
            idempotent=True,
        ),
    )
    async def create_team(self, request: Request, db_session: DbSession, data: JSONBody[TeamCreate]) -> Team:
        try:
            group = await service.create_group(
                db_session, acting(request), name=data.name, kind=data.kind, parent_id=data.parent_id,
                description=data.description, external_id=data.external_id,
            )
        except GroupError as exc:
            raise refusal(exc) from exc
        return team_json(GroupNode(group))

    @get("/{team_id:str}", name="api.teams.get", summary="One team", **problems(*GUARDED, 404))
    async def get_team(self, request: Request, db_session: DbSession, team_id: FromPath[str]) -> Team:
        try:
            return team_json(await service.get_node(db_session, request.scope["user"], team_id))
        except GroupError as exc:
            raise refusal(exc) from exc

    @patch(
        "/{team_id:str}",
        name="api.teams.update",
        summary="Rename, describe, move, archive or restore a team",
        **problems(
            *BODY, *GUARDED, 404, 409,
            notes={
                403: "Only organization admins change the structure. The organization may be suspended.",
                404: "No such team here, or `parent_id` names no group here.",
                409: f"{NOTES_409[409]} Or a restored group's parent is still archived.",
            },
            idempotent=True,
        ),
    )
    async def update_team(
        self, request: Request, db_session: DbSession, team_id: FromPath[str], data: JSONBody[TeamPatch]
    ) -> Team:
        user = request.scope["user"]
        who = acting(request)
        try:
            group = await service.get_group(db_session, user, team_id)
            service.require_admin(who)
            if data.name is not UNSET:
                await service.rename_group(db_session, who, group.id, data.name)
            if data.description is not UNSET:
                await service.describe_group(db_session, who, group.id, data.description)
            if data.parent_id is not UNSET:
                await service.move_group(db_session, who, group.id, data.parent_id)
            if data.status == "archived":
                await service.archive_group(db_session, who, group.id)
            elif data.status == "active":
                await service.restore_group(db_session, who, group.id)
            return team_json(await service.get_node(db_session, user, group.id))
        except GroupError as exc:
            raise refusal(exc) from exc

    @delete(
        "/{team_id:str}",
        name="api.teams.delete",
        summary="Delete a team without subgroups (its memberships go with it)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(
            *GUARDED, 404, 409,
            notes={
                403: "Only organization admins change the structure. The organization may be suspended.",
                409: "The team has groups inside it: move or delete them first.",
            },
            idempotent=True,
        ),
    )
    async def delete_team(self, request: Request, db_session: DbSession, team_id: FromPath[str]) -> None:
        try:
            await service.delete_group(db_session, acting(request), team_id)
        except GroupError as exc:
            raise refusal(exc) from exc

    @get(
        "/{team_id:str}/members",
        name="api.teams.members.list",
        summary="Current members and leaders of a team, paginated",
        **problems(400, *GUARDED, 404),
    )
    async def list_members(
        self,
        request: Request,
        db_session: DbSession,
        team_id: FromPath[str],
        role: Annotated[MembershipRole | None, Parameter(description="Only leaders, or only members.")] = None,
        q: PersonSearch = None,
        page: PageParam = 1,
        per_page: PerPage = 25,
    ) -> TeamMemberPage:
        try:
            group = await service.get_group(db_session, request.scope["user"], team_id)
        except GroupError as exc:
            raise refusal(exc) from exc
        rows, total = await service.list_members(db_session, group, role=role, q=q, page=page, per_page=per_page)
        items = [
            TeamMember(
                user_id=r.user.id, name=r.user.name, email=r.user.email, roles=list(r.user.roles),  # type: ignore[arg-type]
                role=r.membership.role,  # type: ignore[arg-type]
                since=r.membership.created_at.isoformat(), added_by=r.membership.added_by_email,
            )
            for r in rows
        ]
        return TeamMemberPage(items=items, total=total, page=page, per_page=per_page)

    @post(
        "/{team_id:str}/members",
        name="api.teams.members.add",
        summary="Add a learner (or, for admins, a leader) to a team",
        status_code=HTTP_201_CREATED,
        **problems(
            *BODY, *GUARDED, 404, 409,
            notes={
                403: "Only organization admins add leaders. The organization may be suspended.",
                404: "No such team here, or `user_id` names no one in this organization.",
                409: "The person is already in the team, cannot hold this role (members are learners; leaders are "
                "managers, teachers or admins), or is deactivated; or the team is archived.",
            },
            idempotent=True,
        ),
    )
    async def add_member(
        self, request: Request, db_session: DbSession, team_id: FromPath[str], data: JSONBody[TeamMemberAdd]
    ) -> TeamMember:
        try:
            membership = await service.add_member(db_session, acting(request), team_id, data.user_id, data.role)
            person = await service.get_person(db_session, membership.user_id)
        except GroupError as exc:
            raise refusal(exc) from exc
        return TeamMember(
            user_id=person.id, name=person.name, email=person.email, roles=list(person.roles),  # type: ignore[arg-type]
            role=membership.role,  # type: ignore[arg-type]
            since=membership.created_at.isoformat(), added_by=membership.added_by_email,
        )

    @delete(
        "/{team_id:str}/members/{user_id:str}",
        name="api.teams.members.remove",
        summary="End a person's membership of a team (kept in the history)",
        status_code=HTTP_204_NO_CONTENT,
        **problems(
            *GUARDED, 404, 409,
            notes={
                403: "Only organization admins remove leaders. The organization may be suspended.",
                404: "No such team here, or the person is not in it.",
                409: "The team is archived.",
            },
            idempotent=True,
        ),
    )
    async def remove_member(
        self, request: Request, db_session: DbSession, team_id: FromPath[str], user_id: FromPath[str]
    ) -> None:
        try:
            await service.remove_member(db_session, acting(request), team_id, user_id)
        except GroupError as exc:
            raise refusal(exc) from exc

