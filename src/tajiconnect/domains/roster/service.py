"""Roster imports: upload, validation against the file *and* the organization, the preview, and its lifecycle.

An import moves through these states (``RosterImport.status``)::

    upload -> needs_mapping --(columns chosen)--> validating -> ready --(confirm)--> applying -> applied
                                                       \\-> failed                     \\-> ready (refused: errors
                                                                                           or seats, preview redone)

* **Nothing is written to the roster before the admin confirms.** Validation stores the *plan* (one
  :class:`RosterImportRow` per line of the file: new, update, unchanged, error, skip; with what differs) and a
  summary; the preview, the error report and the API read those.
* **Apply re-plans under the license lock** (:mod:`tajiconnect.domains.roster.apply`), so what is written is what
  the file says against the organization *as it is then*, never a stale preview; errors or missing seats found
  then refuse the import as a whole and the preview is redone.
* Files of at most :data:`INLINE_MAX_ROWS` rows are validated and applied inside the request; larger ones by the
  tasks of :mod:`tajiconnect.domains.roster.tasks`, which report ``processed_rows`` as they go.

Matching: a row names an existing member by its external id first, then by its email address. An import adds:
new members are invited (learners get a seat), roles in the file replace a member's roles (an import never takes
``org_admin`` away), listed teams/classes are joined (created when missing), parents are linked (invited when
not members yet). It never removes a member, a group membership or a parent link.
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ARRAY, String, Uuid, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tajiconnect.domains.accounts.models import ROLES, User
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.groups.models import KINDS_BY_TENANT, Group, GroupMembership
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.seats import CLOSED_STATUSES, SeatUsage
from tajiconnect.domains.parents.models import ParentLink
from tajiconnect.domains.roster import bulk
from tajiconnect.domains.roster.files import MAX_BYTES, RosterFileError, Table, read_table
from tajiconnect.domains.roster.formats import (
    FIELD_NAMES,
    TEMPLATE_HEADERS,
    MappingError,
    check_mapping,
    detect_format,
    duplicates,
    format_label,
    guess_mapping,
    normalize,
    valid_email,
)
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.i18n import _, ngettext
from tajiconnect.tenancy.context import require_tenant

__all__ = [
    "INLINE_MAX_ROWS", "ImportRefusedError", "ImportStateError", "MappingError", "Plan", "RosterFileError",
    "RowPlan", "TooLargeError",
]

#: Files with at most this many rows are validated and applied in the request; larger ones in the background.
INLINE_MAX_ROWS = 500
#: Rows written per statement (and per progress step in the background).
CHUNK = 1000
#: Rows without a role get this one.
DEFAULT_ROLE = "student"
PAGE_SIZE = 50
FILENAME_MAX = 255
#: Groups named in the summary (the count is always complete).
GROUPS_LISTED = 50

Progress = Callable[[int], Awaitable[None]]


class TooLargeError(Exception):
    """The upload is over :data:`MAX_BYTES` (a 413)."""

    def __init__(self) -> None:
        super().__init__(
            _("The file is larger than %(size)d MiB. Split it into several files.") % {"size": MAX_BYTES // 2**20}
        )


class ImportStateError(Exception):
    """The import is not in a state that allows this step (a 409): already applied, still validating..."""


class ImportRefusedError(Exception):
    """Applying was refused as a whole: rows with errors, or not enough seats (``missing_seats``).

    ``plan`` is the plan that was refused (to redo the preview with), when one was made."""

    def __init__(self, message: str, *, missing_seats: int = 0, plan: Plan | None = None) -> None:
        super().__init__(message)
        self.missing_seats = missing_seats
        self.plan = plan


# --- reading -------------------------------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _uuid_list(values: Sequence[uuid.UUID], name: str) -> Any:
    return bindparam(name, value=list(values), type_=ARRAY(Uuid()))


def _text_list(values: Sequence[str], name: str) -> Any:
    return bindparam(name, value=list(values), type_=ARRAY(String()))


async def get_import(session: AsyncSession, import_id: uuid.UUID | str, *, lock: bool = False) -> RosterImport | None:
    """The import of the tenant in scope (another tenant's id is simply not found)."""
    try:
        key = import_id if isinstance(import_id, uuid.UUID) else uuid.UUID(str(import_id))
    except ValueError:
        return None
    stmt = select(RosterImport).where(RosterImport.id == key)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def list_imports(session: AsyncSession, *, page: int, per_page: int = 20) -> tuple[list[RosterImport], int]:
    total = await session.scalar(select(func.count()).select_from(RosterImport))
    rows = await session.scalars(
        select(RosterImport)
        .order_by(RosterImport.created_at.desc(), RosterImport.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return list(rows.all()), int(total or 0)


async def list_rows(
    session: AsyncSession, import_id: uuid.UUID, *, page: int, per_page: int = PAGE_SIZE, only_errors: bool = False
) -> tuple[list[RosterImportRow], int]:
    """The file's rows as planned, errors first, then by line (rows the import adds itself, such as parents to
    invite, are not lines of the file and are left out)."""
    where = [RosterImportRow.import_id == import_id, RosterImportRow.line > 0]
    if only_errors:
        where.append(RosterImportRow.action == "error")
    total = await session.scalar(select(func.count()).select_from(RosterImportRow).where(*where))
    rows = await session.scalars(
        select(RosterImportRow)
        .where(*where)
        .order_by((RosterImportRow.action == "error").desc(), RosterImportRow.line)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return list(rows.all()), int(total or 0)


async def table_of(session: AsyncSession, imp: RosterImport) -> Table:
    """The stored upload read again (``file_data`` is a deferred column: loaded here, never by attribute access)."""
    data = await session.scalar(select(RosterImport.file_data).where(RosterImport.id == imp.id))
    return read_table(data or b"", imp.filename)


# --- the plan ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Existing:
    id: uuid.UUID
    email: str
    name: str
    roles: tuple[str, ...]
    status: str
    external_id: str | None
    seat_assigned_at: datetime.datetime | None


@dataclass(slots=True)
class RowPlan:
    """What applying does with one row (or with a parent the import adds: ``line`` < 0)."""

    line: int
    action: str  # new | update | unchanged | error | skip
    email: str
    name: str
    roles: list[str]
    groups: list[str] = field(default_factory=list)
    parent_email: str | None = None
    external_id: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    user_id: uuid.UUID | None = None
    existing: Existing | None = None
    gains_seat: bool = False
    loses_seat: bool = False

    @property
    def derived(self) -> bool:
        return self.line < 0

    def data(self) -> dict[str, Any]:
        return {
            "email": self.email, "name": self.name, "roles": self.roles, "groups": self.groups,
            "parent_email": self.parent_email, "external_id": self.external_id, "changes": self.changes,
        }


@dataclass
class Plan:
    rows: list[RowPlan]
    usage: SeatUsage
    group_kind: str
    groups_to_create: dict[str, str]  # lower-cased name -> name as first written
    group_ids: dict[str, uuid.UUID]  # lower-cased name -> existing group
    memberships: list[tuple[str, uuid.UUID, str]]  # (group key, user id, role): the ones to add
    links: list[tuple[uuid.UUID, uuid.UUID]]  # (parent id, learner id): the ones to add
    warnings: list[str]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if r.action == "error")

    @property
    def seats_gained(self) -> int:
        return sum(1 for r in self.rows if r.gains_seat)

    @property
    def seats_released(self) -> int:
        return sum(1 for r in self.rows if r.loses_seat)

    @property
    def seats_wanted(self) -> int:
        """Seat holders the import adds, net of those it releases."""
        return self.seats_gained - self.seats_released

    @property
    def missing_seats(self) -> int:
        wanted = self.seats_wanted
        if wanted <= 0:
            return 0
        return seats.missing_seats(purchased=self.usage.purchased, used=self.usage.used, wanted=wanted)

    @property
    def license_closed(self) -> bool:
        return self.seats_gained > 0 and self.usage.status in CLOSED_STATUSES

    def blocking(self) -> list[str]:
        """Why this plan cannot be applied (empty: it can)."""
        reasons = []
        if self.error_rows:
            reasons.append(error_rows_message(self.error_rows))
        if self.license_closed:
            reasons.append(_("The organization's license is not active, so no seat can be given."))
        elif self.missing_seats:
            reasons.append(seat_message(self.missing_seats, self.usage))
        return reasons


def error_rows_message(count: int) -> str:
    return ngettext(
        "%(num)d row has an error. Fix the file and upload it again.",
        "%(num)d rows have errors. Fix the file and upload it again.",
        count,
    ) % {"num": count}


def seat_message(missing: int, usage: SeatUsage) -> str:
    return seats.SeatLimitError(missing=missing, used=usage.used, purchased=usage.purchased).args[0]


def columns_of(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str) and v]


def _canonical(roles: set[str]) -> list[str]:
    return [r for r in ROLES if r in roles]


def _membership_role(roles: Sequence[str]) -> str | None:
    """Learners are members of the groups they are listed in; teachers, managers and admins lead them; anyone
    else joins none (the same rule as the groups service)."""
    if "student" in roles:
        return "member"
    if {"teacher", "manager", "org_admin"} & set(roles):
        return "leader"
    return None


def group_kind_label(kind: str) -> str:
    return {"team": _("team"), "class": _("class"), "department": _("department"), "grade": _("grade")}.get(
        kind, kind
    )


async def build_plan(session: AsyncSession, imp: RosterImport, table: Table | None = None) -> Plan:
    """Validate every row against the file and the organization, and decide what applying would do.

    Reads only; raises :class:`MappingError` when the import's mapping does not fit the file."""
    table = table if table is not None else await table_of(session, imp)
    rows = duplicates(normalize(table, imp.mapping, imp.format, default_role=DEFAULT_ROLE))
    index = {header: i for i, header in enumerate(table.headers)}
    role_cols = [index[c] for c in columns_of(imp.mapping.get("roles")) if c in index]
    roles_given = {
        line: any(values[i] for i in role_cols) for line, values in zip(table.lines, table.rows, strict=True)
    }

    live = [r for r in rows if not r.skip]
    emails = {r.email for r in live if "@" in r.email} | {r.parent_email for r in live if r.parent_email}
    external_ids = {r.external_id for r in live if r.external_id}
    columns = "SELECT id, email, name, roles, status, external_id, seat_assigned_at FROM users"
    found = await bulk.select_in(session, f"{columns} WHERE email IN :values", sorted(emails), "varchar")
    found += await bulk.select_in(
        session, f"{columns} WHERE external_id IN :values", sorted(external_ids), "varchar"
    )
    by_email: dict[str, Existing] = {}
    by_external_id: dict[str, Existing] = {}
    for uid, email, name, roles, status, external_id, seat_at in found:
        known = Existing(uid, email, name, tuple(roles or ()), status, external_id, seat_at)
        by_email[email] = known
        if external_id:
            by_external_id[external_id] = known

    kind = KINDS_BY_TENANT.get(require_tenant().kind, KINDS_BY_TENANT["company"])[-1]
    # A name means (as in the groups service): a live group of the leaf kind anywhere, the shallowest and oldest
    # first; else a live top-level group of any kind; else a new top-level group of the leaf kind.
    named: dict[str, uuid.UUID] = {}
    top_level: dict[str, uuid.UUID] = {}
    archived_top: set[str] = set()
    found_groups = await session.execute(
        select(Group.id, Group.name, Group.kind, Group.parent_id, Group.archived_at).order_by(
            Group.depth, Group.created_at, Group.id
        )
    )
    for gid, gname, gkind, parent_id, archived_at in found_groups.all():
        key = " ".join(gname.split()).lower()
        if archived_at is not None:
            if parent_id is None:
                archived_top.add(key)
        elif gkind == kind:
            named.setdefault(key, gid)
        elif parent_id is None:
            top_level.setdefault(key, gid)
    for key, gid in top_level.items():
        named.setdefault(key, gid)

    member_ids = sorted({m.id for m in by_email.values()} | {m.id for m in by_external_id.values()})
    current: set[tuple[uuid.UUID, uuid.UUID]] = {
        (group_id, user_id) for group_id, user_id in await bulk.select_in(
            session, "SELECT group_id, user_id FROM group_memberships WHERE ended_at IS NULL AND user_id IN :values",
            member_ids, "uuid",
        )
    }
    linked: set[tuple[uuid.UUID, uuid.UUID]] = {
        (parent_id, learner_id) for parent_id, learner_id in await bulk.select_in(
            session, "SELECT parent_id, learner_id FROM parent_links WHERE learner_id IN :values", member_ids, "uuid"
        )
    }

    usage = await seats.usage(session)
    member: Existing | None
    plans: list[RowPlan] = []
    claimed: dict[uuid.UUID, tuple[int, str, str | None]] = {}
    to_create: dict[str, str] = {}
    group_ids: dict[str, uuid.UUID] = {}
    row_groups: dict[int, list[str]] = {}  # line -> group keys

    for row in rows:
        if row.skip:
            plans.append(RowPlan(row.line, "skip", row.email, row.name, [], external_id=row.external_id))
            continue
        plan = RowPlan(
            row.line, "new", row.email, row.name, list(row.roles), list(row.groups), row.parent_email,
            row.external_id, errors=list(row.errors),
        )
        member = by_external_id.get(row.external_id) if row.external_id else None
        if member is None and row.email:
            member = by_email.get(row.email)
        if member is not None:
            first, first_email, first_id = claimed.setdefault(member.id, (row.line, row.email, row.external_id))
            # (a repeated email or external id is already reported by ``duplicates``)
            if first != row.line and row.email != first_email and row.external_id != first_id:
                plan.errors.append(
                    _("Line %(line)d already names this member (%(email)s).") % {"line": first, "email": member.email}
                )
            if row.email != member.email and valid_email(row.email):
                other = by_email.get(row.email)
                if other is not None and other.id != member.id:
                    plan.errors.append(
                        _("The email address %(email)s belongs to another member (external id %(id)s).")
                        % {"email": row.email, "id": member.external_id or "-"}
                    )
            plan.existing, plan.user_id = member, member.id
            if roles_given.get(row.line):
                plan.roles = _canonical(set(row.roles) | (set(member.roles) & {"org_admin"}))
            else:
                plan.roles = list(member.roles)
            if member.status == "deactivated":
                plan.warnings.append(_("This member is deactivated. The import does not reactivate them."))
        else:
            plan.user_id = uuid7()

        keys = []
        for name in row.groups:
            key = " ".join(name.split()).lower()
            if key in named:
                group_ids[key] = named[key]
            elif key in archived_top:
                plan.errors.append(
                    _('The group "%(group)s" is archived: restore or rename it first.') % {"group": name}
                )
                continue
            else:
                to_create.setdefault(key, name)
            keys.append(key)
        row_groups[row.line] = keys
        plans.append(plan)

    # Parents: a row of the file, a member already, or someone to invite; each gets the parent role.
    file_rows = {p.email: p for p in plans if p.action != "skip" and "@" in p.email}
    extra: list[RowPlan] = []
    parent_ids: dict[str, uuid.UUID] = {}
    for plan in plans:
        if plan.action == "skip" or not plan.parent_email:
            continue
        if "student" not in plan.roles:
            plan.errors.append(_("Only learners can have a parent email."))
        email = plan.parent_email
        if email in parent_ids or valid_email(email) is None:
            continue
        target = file_rows.get(email)
        if target is not None:
            if "parent" not in target.roles:
                target.roles = _canonical({*target.roles, "parent"})
            parent_ids[email] = target.user_id  # type: ignore[assignment]
        elif email in by_email:
            member = by_email[email]
            parent_ids[email] = member.id
            if "parent" not in member.roles:
                extra.append(
                    RowPlan(-(len(extra) + 1), "update", email, member.name, _canonical({*member.roles, "parent"}),
                            user_id=member.id, existing=member)
                )
        else:
            parent_ids[email] = uuid7()
            extra.append(
                RowPlan(-(len(extra) + 1), "new", email, email.split("@", 1)[0][:200], ["parent"],
                        user_id=parent_ids[email])
            )
            plan.warnings.append(
                _("The parent %(email)s is not a member yet and will be invited.") % {"email": email}
            )

    memberships: list[tuple[str, uuid.UUID, str]] = []
    links: list[tuple[uuid.UUID, uuid.UUID]] = []
    for plan in [*plans, *extra]:
        if plan.action == "skip":
            continue
        uid = plan.user_id
        assert uid is not None
        member = plan.existing
        role = _membership_role(plan.roles)
        listed = row_groups.get(plan.line, [])
        if listed and role is None:
            plan.warnings.append(_("Only learners, teachers and managers join teams or classes: the groups of this "
                                   "row are left out."))
        if role is None or (member is not None and member.status == "deactivated"):
            listed = []
        added_groups = [
            key for key in listed
            if member is None or key in to_create or (group_ids[key], member.id) not in current
        ]
        parent_id = parent_ids.get(plan.parent_email or "")
        new_link = parent_id is not None and (member is None or (parent_id, member.id) not in linked)
        if member is not None:
            changes: dict[str, Any] = {}
            if plan.name != member.name and plan.line > 0:
                changes["name"] = {"from": member.name, "to": plan.name}
            if plan.email != member.email and plan.line > 0:
                changes["email"] = {"from": member.email, "to": plan.email}
            if plan.roles != list(member.roles):
                changes["roles"] = {"from": list(member.roles), "to": plan.roles}
            if plan.external_id and plan.external_id != member.external_id:
                changes["external_id"] = {"from": member.external_id, "to": plan.external_id}
            if added_groups:
                changes["groups"] = {"add": [to_create.get(k) or _display(k, plan.groups) for k in added_groups]}
            if new_link:
                changes["parent"] = {"add": plan.parent_email}
            plan.changes = changes
            plan.action = "update" if changes else "unchanged"
            active = member.status in ("invited", "active")
            had, has = "student" in member.roles, "student" in plan.roles
            plan.gains_seat = active and has and not had
            plan.loses_seat = had and not has and member.seat_assigned_at is not None
        else:
            plan.gains_seat = "student" in plan.roles
        if plan.errors:
            plan.action = "error"
            plan.gains_seat = plan.loses_seat = False
            continue
        if role is not None:
            memberships.extend((key, uid, role) for key in added_groups)
        if new_link and parent_id is not None:
            links.append((parent_id, uid))

    warnings = [
        _('The %(kind)s "%(group)s" does not exist yet: it will be created.')
        % {"kind": group_kind_label(kind), "group": name}
        for name in list(to_create.values())[:GROUPS_LISTED]
    ]
    result = Plan(
        rows=[*plans, *extra], usage=usage, group_kind=kind, groups_to_create=to_create, group_ids=group_ids,
        memberships=memberships, links=links, warnings=warnings,
    )
    result.summary = summarize(result)
    return result


def _display(key: str, names: Sequence[str]) -> str:
    return next((n for n in names if n.lower() == key), key)


def summarize(plan: Plan) -> dict[str, Any]:
    counts = dict.fromkeys(("new", "update", "unchanged", "error", "skip"), 0)
    parents_new = parents_updated = 0
    for row in plan.rows:
        if row.derived:
            parents_new += row.action == "new"
            parents_updated += row.action == "update"
        else:
            counts[row.action] += 1
    blocking = plan.blocking()
    return {
        "total": sum(counts.values()),
        "new": counts["new"],
        "updated": counts["update"],
        "unchanged": counts["unchanged"],
        "errors": counts["error"],
        "skipped": counts["skip"],
        "parents_new": parents_new,
        "parents_updated": parents_updated,
        "seats_gained": plan.seats_gained,
        "seats_released": plan.seats_released,
        "seats_needed": max(0, plan.seats_wanted),
        "seats_used": plan.usage.used,
        "seats_purchased": plan.usage.purchased,
        "seats_available": plan.usage.available,
        "missing_seats": plan.missing_seats,
        "license_status": plan.usage.status,
        "group_kind": plan.group_kind,
        "groups_to_create": list(plan.groups_to_create.values())[:GROUPS_LISTED],
        "groups_to_create_count": len(plan.groups_to_create),
        "warnings": plan.warnings,
        "blocking": blocking,
        "can_apply": not blocking,
    }


# --- storing the plan ----------------------------------------------------------------------------------------------

def _row_values(import_id: uuid.UUID, row: RowPlan, *, with_user: bool) -> dict[str, Any]:
    return {
        "import_id": import_id, "line": row.line, "data": row.data(), "action": row.action,
        "errors": row.errors, "warnings": row.warnings,
        "user_id": row.user_id if with_user and row.action != "error" else None,
    }


async def store_rows(
    session: AsyncSession, import_id: uuid.UUID, rows: Sequence[RowPlan], *, with_user: bool = False
) -> None:
    """Write rows of a plan (replacing rows already stored under the same lines: a task run twice)."""
    for start in range(0, len(rows), CHUNK):
        await bulk.insert(
            session, "roster_import_rows",
            [_row_values(import_id, r, with_user=with_user) for r in rows[start : start + CHUNK]],
            on_conflict="ON CONFLICT (import_id, line) DO UPDATE SET data = excluded.data, action = excluded.action,"
            " errors = excluded.errors, warnings = excluded.warnings, user_id = excluded.user_id",
        )


async def clear_rows(session: AsyncSession, import_id: uuid.UUID) -> None:
    await session.execute(delete(RosterImportRow).where(RosterImportRow.import_id == import_id))


# --- lifecycle -----------------------------------------------------------------------------------------------------


def clean_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:FILENAME_MAX] or "roster.csv"


async def create_import(
    session: AsyncSession, *, data: bytes, filename: str | None, actor: Actor, keep_unreadable: bool = False
) -> RosterImport:
    """Store the upload and recognize its format; validate it (in this transaction when it is small, else a task is
    deferred), or leave it waiting for a column mapping.

    Raises :class:`TooLargeError`, and :class:`RosterFileError` for a file that cannot be read as a table (nothing
    is stored then), unless ``keep_unreadable``: then it is stored as a ``failed`` import saying why (the API
    answers every readable-or-not upload with the import it made)."""
    if len(data) > MAX_BYTES:
        raise TooLargeError()
    name = clean_filename(filename)
    try:
        table = read_table(data, name)
    except RosterFileError as exc:
        if not keep_unreadable:
            raise
        imp = RosterImport(
            created_by_id=actor.id, created_by_email=actor.email or "", filename=name, file_data=data,
            headers=[], mapping={}, status="failed", failure=exc.message[:1000], total_rows=0, processed_rows=0,
            summary={},
        )
        session.add(imp)
        await session.flush()
        await record(session, actor, "roster.import.uploaded", target_type="roster_import", target_id=imp.id,
                     filename=name, rows=0, format=None, failure=exc.message)
        return imp
    detected = detect_format(table.headers)
    imp = RosterImport(
        created_by_id=actor.id,
        created_by_email=actor.email or "",
        filename=name,
        file_data=data,
        format=detected.code if detected else None,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=list(table.headers),
        mapping=dict(detected.mapping) if detected else guess_mapping(table.headers),
        status="validating" if detected else "needs_mapping",
        total_rows=len(table.rows),
        processed_rows=0,
        summary={},
    )
    session.add(imp)
    await session.flush()
    await record(
        session, actor, "roster.import.uploaded", target_type="roster_import", target_id=imp.id,
        filename=name, rows=imp.total_rows, format=imp.format,
    )
    if detected:
        await start_validation(session, imp, table)
    return imp


async def set_mapping(session: AsyncSession, imp: RosterImport, mapping: dict[str, Any]) -> list[str]:
    """Use the admin's column mapping and validate again; returns the problems with it (nothing changes then)."""
    if imp.status not in ("needs_mapping", "ready", "failed") or not imp.headers:
        raise ImportStateError(_("The columns of this import cannot be changed any more."))
    cleaned: dict[str, Any] = {}
    for name in FIELD_NAMES:
        columns = columns_of(mapping.get(name))
        if columns:
            cleaned[name] = columns if name in ("roles", "groups") else columns[0]
    problems = check_mapping(cleaned, imp.headers)
    if problems:
        return problems
    imp.mapping = cleaned
    await start_validation(session, imp)
    return []


async def start_validation(session: AsyncSession, imp: RosterImport, table: Table | None = None) -> None:
    """Validate now (small files) or defer :func:`tasks.validate_import` (the status stays ``validating``)."""
    imp.status, imp.processed_rows, imp.summary, imp.failure = "validating", 0, {}, None
    if imp.total_rows <= INLINE_MAX_ROWS:
        await validate_now(session, imp, table)
        return
    from tajiconnect.domains.roster.tasks import validate_import
    from tajiconnect.tasks.outbox import defer

    await session.flush()
    await defer(session, validate_import, import_id=str(imp.id))


async def validate_now(session: AsyncSession, imp: RosterImport, table: Table | None = None) -> Plan | None:
    """Plan the whole import in ``session``'s transaction and store the plan (the preview)."""
    try:
        plan = await build_plan(session, imp, table)
    except MappingError as exc:
        imp.status, imp.failure = "needs_mapping", exc.message
        await clear_rows(session, imp.id)
        return None
    except RosterFileError as exc:  # (the same file was readable at upload: a newer reader refuses it)
        imp.status, imp.failure = "failed", exc.message
        return None
    await clear_rows(session, imp.id)
    await store_rows(session, imp.id, plan.rows)
    imp.summary, imp.status, imp.processed_rows, imp.failure = plan.summary, "ready", imp.total_rows, None
    await session.flush()
    return plan


async def quick_check(session: AsyncSession, imp: RosterImport) -> None:
    """Before deferring an apply: refuse at once what the stored preview already refuses, with the seats counted
    now (the task checks everything again under the license lock)."""
    summary = imp.summary or {}
    if summary.get("errors"):
        raise ImportRefusedError(error_rows_message(int(summary["errors"])))
    wanted = int(summary.get("seats_gained", 0)) - int(summary.get("seats_released", 0))
    usage = await seats.usage(session)
    if int(summary.get("seats_gained", 0)) > 0 and usage.status in CLOSED_STATUSES:
        raise ImportRefusedError(_("The organization's license is not active, so no seat can be given."))
    if wanted > 0:
        missing = seats.missing_seats(purchased=usage.purchased, used=usage.used, wanted=wanted)
        if missing:
            raise ImportRefusedError(seat_message(missing, usage), missing_seats=missing)


# --- reports -------------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _report_cell(value: str) -> str:
    """A cell of a report meant to be opened in a spreadsheet: text that a spreadsheet would run as a formula is
    kept as text (OWASP's CSV injection advice)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


async def error_report(session: AsyncSession, imp: RosterImport) -> bytes:
    """CSV (UTF-8 with a byte-order mark, for Excel): line, email, errors; one row per line with errors."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "email", "errors"])
    result = await session.execute(
        select(RosterImportRow.line, RosterImportRow.data["email"].astext, RosterImportRow.errors)
        .where(RosterImportRow.import_id == imp.id, RosterImportRow.line > 0, RosterImportRow.action == "error")
        .order_by(RosterImportRow.line)
    )
    for line, email, errors in result.all():
        writer.writerow([line, _report_cell(email or ""), _report_cell(" | ".join(errors or []))])
    return out.getvalue().encode("utf-8-sig")


async def export_roster(session: AsyncSession) -> bytes:
    """Every member as a row of the import template (same columns, re-importable: importing it changes nothing).

    ``groups`` lists the member's current groups; ``parent_email`` the first parent linked to a learner."""
    groups = (
        select(func.string_agg(Group.name, aggregate_order_by(sa.literal("; "), func.lower(Group.name))))
        .select_from(GroupMembership)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(GroupMembership.user_id == User.id, GroupMembership.ended_at.is_(None))
        .scalar_subquery()
    )
    parent = User.__table__.alias("parent")
    parent_email = (
        select(parent.c.email)
        .select_from(ParentLink.__table__.join(parent, parent.c.id == ParentLink.parent_id))
        .where(ParentLink.learner_id == User.id)
        .order_by(ParentLink.created_at, parent.c.email)
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        select(User.email, User.name, User.roles, groups, parent_email, User.external_id).order_by(User.email)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    position = {h: i for i, h in enumerate(TEMPLATE_HEADERS)}
    for email, name, roles, group_names, parent_mail, external_id in result.all():
        row = [""] * len(TEMPLATE_HEADERS)
        row[position["email"]] = email
        row[position["name"]] = name
        row[position["roles"]] = "; ".join(roles or [])
        row[position["groups"]] = group_names or ""
        row[position["parent_email"]] = parent_mail or ""
        row[position["external_id"]] = external_id or ""
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")


def label_of(imp: RosterImport) -> str:
    return format_label(imp.format)
