"""Applying an import: everything in ONE transaction, with bulk statements, or nothing.

:func:`apply_now` runs inside the caller's transaction (the request's for a small file, the apply task's for a
large one):

1. take the tenant's license row ``FOR UPDATE`` (the lock every seat change queues on), so two imports, or an
   import and an invitation, racing for the last seats are serialised;
2. plan the file again against the organization as it is now (:func:`service.build_plan`): a row that turned into
   an error since the preview, or seats that ran out, refuse the whole import (:class:`ImportRefusedError`);
3. ``seats.claim`` the seats the import adds (net of those it releases): it counts the holders under that lock;
4. write with a handful of executemany/multi-row statements: member updates, new members (invited; learners with
   their seat), seat history (reason ``imported``), missing groups, current memberships, parent links (``ON
   CONFLICT DO NOTHING`` where a concurrent writer could have added the same), the plan as applied, the audit
   entry, and the invitations task through the outbox (it runs once this transaction commits, and only then).

Missing groups are created through the groups service (one call per distinct name); memberships and parent links
are written here in bulk, from rows the plan already checked (roles, statuses), in the import's own transaction.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.groups import service as groups
from tajiconnect.domains.groups.service import GroupError
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.seats import LicenseClosedError, SeatLimitError
from tajiconnect.domains.roster import bulk, service
from tajiconnect.domains.roster.formats import MappingError
from tajiconnect.domains.roster.models import RosterImport
from tajiconnect.domains.roster.service import (
    CHUNK,
    ImportRefusedError,
    ImportStateError,
    Plan,
    Progress,
    build_plan,
    clear_rows,
    error_rows_message,
    quick_check,
    store_rows,
)
from tajiconnect.i18n import _
from tajiconnect.tenancy.context import require_tenant

_users = cast(Table, User.__table__)


def _id() -> uuid.UUID:
    return uuid7()


async def apply_now(
    session: AsyncSession, imp: RosterImport, actor: Actor, *, progress: Progress | None = None
) -> dict[str, int]:
    """Apply ``imp`` in ``session``'s transaction (see the module docstring); returns what was done.

    The caller commits. On :class:`ImportRefusedError` (carrying the refused plan) it must roll back."""
    await seats.license_of_tenant(session, lock=True)
    try:
        plan = await build_plan(session, imp)
    except MappingError as exc:
        raise ImportRefusedError(exc.message) from exc
    if plan.error_rows:
        raise ImportRefusedError(error_rows_message(plan.error_rows), plan=plan)
    if plan.license_closed:
        raise ImportRefusedError(
            _("The organization's license is not active, so no seat can be given."), plan=plan
        )
    if plan.seats_wanted > 0:
        try:
            await seats.claim(session, plan.seats_wanted)
        except SeatLimitError as exc:
            raise ImportRefusedError(str(exc), missing_seats=exc.missing, plan=plan) from exc
        except LicenseClosedError as exc:
            raise ImportRefusedError(str(exc), plan=plan) from exc
    done = await write_plan(session, imp, plan, actor_email=actor.email, progress=progress)
    if progress is not None:
        await progress(imp.total_rows)
    # Only now is the import's own row changed (a background apply reports progress on it from other
    # transactions until here: taking its row lock earlier would make those wait for this one).
    now = datetime.datetime.now(datetime.UTC)
    imp.status, imp.applied_at, imp.applied_by_email = "applied", now, actor.email
    imp.processed_rows, imp.failure = imp.total_rows, None
    imp.summary = {**plan.summary, "applied": done, "can_apply": False, "blocking": []}
    details: dict[str, Any] = dict(done)
    await record(
        session, actor, "roster.import.applied", target_type="roster_import", target_id=imp.id,
        filename=imp.filename, **details,
    )
    if done["invited"]:
        from tajiconnect.domains.roster.tasks import send_import_invitations
        from tajiconnect.tasks.outbox import defer

        await defer(session, send_import_invitations, import_id=str(imp.id), batch=0)
    await session.flush()
    return done


async def write_plan(
    session: AsyncSession, imp: RosterImport, plan: Plan, *, actor_email: str | None, progress: Progress | None
) -> dict[str, int]:
    now = datetime.datetime.now(datetime.UTC)
    stamp = now.isoformat()  # as the bulk statements send it (once, not once per row)
    tenant = require_tenant()
    note = f"import {imp.filename}"[:500]
    handled = 0

    async def step(count: int) -> None:
        nonlocal handled
        handled += count
        if progress is not None and count:
            await progress(min(handled, imp.total_rows))

    # Members whose data changes (also those who only get the parent role).
    updates = [r for r in plan.rows if r.action == "update" and r.existing is not None]
    changed = []
    for row in updates:
        member = row.existing
        if member is None or not {"name", "email", "roles", "external_id"} & set(row.changes):
            continue
        changed.append({
            "id": member.id, "email": row.email, "name": row.name, "roles": row.roles,
            "external_id": row.external_id or member.external_id,
            "seat_assigned_at": None if row.loses_seat else (stamp if row.gains_seat else member.seat_assigned_at),
            "updated_at": stamp,
        })
    for start in range(0, len(changed), CHUNK):
        await bulk.update(session, "users", changed[start : start + CHUNK])
    await step(len(updates))

    # New members: invited, learners holding their seat from now on.
    new = [r for r in plan.rows if r.action == "new"]
    time_zone = getattr(_users.c.time_zone.default, "arg", None)
    for start in range(0, len(new), CHUNK):
        chunk = new[start : start + CHUNK]
        await bulk.insert(session, "users", [
            {
                "id": r.user_id, "email": r.email, "name": r.name, "roles": r.roles,
                "status": "invited", "locale": tenant.locale, "time_zone": time_zone, "has_avatar": False,
                "external_id": r.external_id, "seat_assigned_at": stamp if r.gains_seat else None,
                "created_at": stamp, "updated_at": stamp,
            }
            for r in chunk
        ])
        await step(len(chunk))

    # Seat history: who got or lost a seat through this import.
    events = [
        {
            "id": _id(), "user_id": r.user_id, "user_email": r.email,
            "change": "assigned" if r.gains_seat else "released", "reason": "imported", "actor_email": actor_email,
            "note": note, "created_at": stamp, "updated_at": stamp,
        }
        for r in plan.rows
        if r.gains_seat or r.loses_seat
    ]
    for start in range(0, len(events), CHUNK * 5):
        await bulk.insert(session, "seat_events", events[start : start + CHUNK * 5])

    # Missing groups: the groups service creates each (or joins one created at the same moment).
    group_ids = dict(plan.group_ids)
    created = 0
    for key, name in plan.groups_to_create.items():
        try:
            group, new_group = await groups.find_or_create_by_name(session, name, plan.group_kind)
        except GroupError as exc:
            raise ImportRefusedError(str(exc), plan=plan) from exc
        group_ids[key] = group.id
        created += new_group

    memberships = [
        {"id": _id(), "group_id": group_ids[key], "user_id": uid, "role": role, "added_by_email": actor_email,
         "created_at": stamp, "updated_at": stamp}
        for key, uid, role in plan.memberships
        if key in group_ids
    ]
    for start in range(0, len(memberships), CHUNK * 5):
        await bulk.insert(session, "group_memberships", memberships[start : start + CHUNK * 5],
                          on_conflict="ON CONFLICT DO NOTHING")
    if memberships:
        # What the groups are assigned reaches their new members: one set-based statement per kind, not per row.
        from tajiconnect.domains.enrollments.service import sync_group_assignments

        await sync_group_assignments(session, group_ids=list({cast(uuid.UUID, m["group_id"]) for m in memberships}))

    links = [
        {"id": _id(), "parent_id": parent_id, "learner_id": learner_id, "source": "import",
         "created_by_email": actor_email, "created_at": stamp, "updated_at": stamp}
        for parent_id, learner_id in plan.links
    ]
    for start in range(0, len(links), CHUNK * 5):
        await bulk.insert(
            session, "parent_links", links[start : start + CHUNK * 5], on_conflict="ON CONFLICT DO NOTHING"
        )

    # The plan as applied (with each row's member), replacing the preview.
    await clear_rows(session, imp.id)
    await store_rows(session, imp.id, plan.rows, with_user=True)

    file_rows = [r for r in plan.rows if not r.derived]
    result = {
        "created": sum(1 for r in file_rows if r.action == "new"),
        "updated": sum(1 for r in file_rows if r.action == "update"),
        "unchanged": sum(1 for r in file_rows if r.action == "unchanged"),
        "skipped": sum(1 for r in file_rows if r.action == "skip"),
        "parents_invited": sum(1 for r in plan.rows if r.derived and r.action == "new"),
        "parents_updated": sum(1 for r in plan.rows if r.derived and r.action == "update"),
        "invited": len(new),
        "groups_created": created,
        "memberships_added": len(memberships),
        "parent_links_added": len(links),
        "seats_assigned": plan.seats_gained,
        "seats_released": plan.seats_released,
    }
    from tajiconnect.domains.notifications import events as notifications

    await notifications.import_finished(session, imp, result)
    return result

async def confirm(session: AsyncSession, imp: RosterImport, actor: Actor) -> RosterImport:
    """The admin confirms: a small import is applied in ``session``'s transaction; a large one is checked against
    its preview and the seats counted now, then handed to :func:`tasks.apply_import` (status ``applying``).

    Raises :class:`ImportStateError` (not ready, already applied) and :class:`ImportRefusedError`."""
    await session.refresh(imp, with_for_update=True)  # one confirmation at a time
    if imp.status == "applied":
        raise ImportStateError(_("This import was already applied."))
    if imp.status != "ready":
        raise ImportStateError(_("This import cannot be applied now: it is not ready."))
    if imp.total_rows <= service.INLINE_MAX_ROWS:  # read at call time (tests lower it)
        await apply_now(session, imp, actor)
        return imp
    await quick_check(session, imp)
    from tajiconnect.domains.roster.tasks import apply_import
    from tajiconnect.tasks.outbox import defer

    imp.status, imp.processed_rows, imp.applied_by_email, imp.failure = "applying", 0, actor.email, None
    await session.flush()
    await defer(session, apply_import, import_id=str(imp.id))
    return imp
