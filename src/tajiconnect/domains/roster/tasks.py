"""Background work of large imports: validation, apply, and the invitations afterwards (in batches).

Progress (``processed_rows``) is committed in small transactions of its own, so the page's progress bar moves
while the work goes on. Every task is safe to run twice (docs/jobs.md):

* ``validate_import`` only works on an import still ``validating`` and writes its rows with upserts;
* ``apply_import`` takes the license lock first, *then* reads the import's status: a second run waits for the
  first one's commit and then finds the import ``applied``;
* ``send_import_invitations`` keeps a cursor in the import's summary under the import's row lock: a batch that
  was already sent is not sent again, and each batch defers the next one through the outbox.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from saq import Queue
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tajiconnect.db.session import session_scope
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.notices import send_link_email
from tajiconnect.domains.accounts.tokens import issue_link
from tajiconnect.domains.audit.service import Actor, record
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.notifications import events
from tajiconnect.domains.roster.files import RosterFileError
from tajiconnect.domains.roster.formats import MappingError
from tajiconnect.domains.roster.models import RosterImport, RosterImportRow
from tajiconnect.domains.roster.service import (
    CHUNK,
    ImportRefusedError,
    build_plan,
    clear_rows,
    get_import,
    store_rows,
)
from tajiconnect.i18n import _
from tajiconnect.settings import Settings
from tajiconnect.tasks.base import TaskPolicy, tenant_task
from tajiconnect.tasks.outbox import defer, dispatch_committed

log = structlog.get_logger(__name__)

#: Invitations issued (links + emails deferred) per job.
INVITE_BATCH = 200
#: An apply of 20,000 rows takes seconds; the default 5 minutes leave room for a very busy database.
LONG = TaskPolicy(timeout=900)


def _key(import_id: str | uuid.UUID) -> uuid.UUID:
    return import_id if isinstance(import_id, uuid.UUID) else uuid.UUID(str(import_id))


async def _set_progress(engine: AsyncEngine, key: uuid.UUID, status: str, done: int) -> None:
    async with session_scope(engine) as session:
        await session.execute(
            update(RosterImport)
            .where(RosterImport.id == key, RosterImport.status == status)
            .values(processed_rows=done)
        )


async def _fail(engine: AsyncEngine, key: uuid.UUID, status: str, message: str) -> None:
    async with session_scope(engine) as session:
        await session.execute(
            update(RosterImport)
            .where(RosterImport.id == key, RosterImport.status == status)
            .values(status="failed", failure=message[:1000])
        )


async def _fail_if_last_attempt(ctx: dict[str, Any], key: uuid.UUID, status: str) -> None:
    job = ctx.get("job")
    if job is None or not job.retryable:
        log.warning("roster import task gave up", import_id=str(key), status=status)
        await _fail(ctx["engine"], key, status, _("The import could not be completed. Nothing was changed."))


# --- validation ----------------------------------------------------------------------------------------------------


async def run_validation(engine: AsyncEngine, import_id: str | uuid.UUID) -> dict[str, Any]:
    """Plan the import (one read transaction), then store the rows chunk by chunk with progress, then the summary."""
    key = _key(import_id)
    async with session_scope(engine) as session:
        imp = await get_import(session, key)
        if imp is None or imp.status != "validating":
            return {"skipped": imp.status if imp else "gone"}
        total = imp.total_rows
        try:
            plan = await build_plan(session, imp)
        except MappingError as exc:
            imp.status, imp.failure = "needs_mapping", exc.message
            return {"status": "needs_mapping"}
        except RosterFileError as exc:
            imp.status, imp.failure = "failed", exc.message
            return {"status": "failed"}
    async with session_scope(engine) as session:
        await clear_rows(session, key)
    for start in range(0, len(plan.rows), CHUNK):
        async with session_scope(engine) as session:
            await store_rows(session, key, plan.rows[start : start + CHUNK])
            await session.execute(
                update(RosterImport)
                .where(RosterImport.id == key, RosterImport.status == "validating")
                .values(processed_rows=min(total, start + CHUNK))
            )
    async with session_scope(engine) as session:
        await session.execute(
            update(RosterImport)
            .where(RosterImport.id == key, RosterImport.status == "validating")
            .values(status="ready", summary=plan.summary, processed_rows=total, failure=None)
        )
    return {"status": "ready", "rows": total}


@tenant_task(policy=LONG)
async def validate_import(ctx: dict[str, Any], *, import_id: str) -> dict[str, Any]:
    try:
        return await run_validation(ctx["engine"], import_id)
    except Exception:
        await _fail_if_last_attempt(ctx, _key(import_id), "validating")
        raise


# --- apply ---------------------------------------------------------------------------------------------------------


async def save_refusal(
    engine: AsyncEngine, import_id: uuid.UUID, refusal: ImportRefusedError, *, status: str, actor: Actor
) -> None:
    """After a refused apply (rolled back): back to ``ready`` with the refused plan as the new preview and the
    reason in ``failure``; the refusal is audited."""
    async with session_scope(engine) as session:
        imp = await get_import(session, import_id, lock=True)
        if imp is None or imp.status != status:
            return
        if refusal.plan is not None:
            await clear_rows(session, imp.id)
            await store_rows(session, imp.id, refusal.plan.rows)
            imp.summary = refusal.plan.summary
        imp.status, imp.failure, imp.processed_rows = "ready", str(refusal)[:1000], imp.total_rows
        await record(
            session, actor, "roster.import.refused", target_type="roster_import", target_id=imp.id,
            filename=imp.filename, reason=str(refusal), missing_seats=refusal.missing_seats,
        )


async def run_apply(engine: AsyncEngine, import_id: str | uuid.UUID, queue: Queue | None) -> dict[str, Any]:
    """Apply an import whose status is ``applying``, in one transaction; progress goes out on the side."""
    from tajiconnect.domains.roster.apply import apply_now

    key = _key(import_id)

    async def progress(done: int) -> None:
        await _set_progress(engine, key, "applying", done)

    refused: ImportRefusedError | None = None
    actor = Actor(email="system")
    async with AsyncSession(engine, expire_on_commit=False) as session:
        transaction = await session.begin()
        try:
            # The license lock first: a second run of this job waits here, then sees the first one's outcome.
            await seats.license_of_tenant(session, lock=True)
            imp = await get_import(session, key)
            if imp is None or imp.status != "applying":
                await transaction.rollback()
                return {"skipped": imp.status if imp else "gone"}
            actor = Actor(email=imp.applied_by_email or imp.created_by_email)
            done = await apply_now(session, imp, actor, progress=progress)
        except ImportRefusedError as exc:
            await transaction.rollback()
            refused = exc
        except BaseException:
            await transaction.rollback()
            raise
        else:
            await transaction.commit()
            await dispatch_committed(session, queue)
    if refused is not None:
        await save_refusal(engine, key, refused, status="applying", actor=actor)
        return {"status": "refused", "reason": str(refused), "missing_seats": refused.missing_seats}
    return {"status": "applied", **done}


@tenant_task(policy=LONG)
async def apply_import(ctx: dict[str, Any], *, import_id: str) -> dict[str, Any]:
    try:
        return await run_apply(ctx["engine"], import_id, ctx.get("queue"))
    except Exception:
        await _fail_if_last_attempt(ctx, _key(import_id), "applying")
        raise


# --- invitations ---------------------------------------------------------------------------------------------------


async def run_invitations(
    engine: AsyncEngine, settings: Settings, queue: Queue | None, import_id: str | uuid.UUID, batch: int
) -> dict[str, Any]:
    """Invite the next :data:`INVITE_BATCH` members this import added (still invited), once each."""
    key = _key(import_id)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        async with session.begin():
            imp = await get_import(session, key, lock=True)
            if imp is None or imp.status != "applied":
                return {"skipped": "not applied"}
            state = dict((imp.summary or {}).get("invitations") or {"batch": 0, "cursor": None, "sent": 0})
            if state.get("done") or state.get("batch") != batch:
                return {"skipped": "batch already sent"}
            stmt = (
                select(User)
                .join(RosterImportRow, RosterImportRow.user_id == User.id)
                .where(
                    RosterImportRow.import_id == key, RosterImportRow.action == "new", User.status == "invited"
                )
                .order_by(User.id)
                .limit(INVITE_BATCH)
            )
            if state.get("cursor"):
                stmt = stmt.where(User.id > uuid.UUID(state["cursor"]))
            users = list((await session.scalars(stmt)).all())
            inviter = imp.applied_by_email or imp.created_by_email
            for user in users:
                token = await issue_link(session, user, "invite")
                await send_link_email(session, settings, user, "invite", token, "/auth/invitation", inviter=inviter)
                await events.invited(session, user)
            finished = len(users) < INVITE_BATCH
            state = {
                "batch": batch + 1,
                "cursor": str(users[-1].id) if users else state.get("cursor"),
                "sent": int(state.get("sent", 0)) + len(users),
                "done": finished,
            }
            imp.summary = {**(imp.summary or {}), "invitations": state}
            if users:
                await record(
                    session, Actor(email=inviter), "roster.import.invitations_sent", target_type="roster_import",
                    target_id=imp.id, count=len(users), batch=batch,
                )
            if not finished:
                await defer(session, send_import_invitations, import_id=str(key), batch=batch + 1)
        await dispatch_committed(session, queue)
    return {"sent": len(users), "batch": batch, "done": finished}


@tenant_task
async def send_import_invitations(ctx: dict[str, Any], *, import_id: str, batch: int) -> dict[str, Any]:
    return await run_invitations(ctx["engine"], ctx["settings"], ctx.get("queue"), import_id, batch)
