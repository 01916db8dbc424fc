"""Seat pages for admins (``/admin/seats``): the license and its usage, learners with or without a seat, and the
three seat changes (assign, reclaim, reassign), each with an optional reason, and the seat history.

A refused change re-renders its page with the reason (409: no seat free, naming how many are missing; or the
learner's state does not allow it) and nothing of it is written: the services check before they write.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.admin import target
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.errors import AccountError
from tajiconnect.domains.accounts.models import User
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.accounts.service import get_user
from tajiconnect.domains.licensing import seats
from tajiconnect.domains.licensing.seats import LearnerQuery, SeatError
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.htmx import wants_fragment
from tajiconnect.web.paging import PageParam, page_info

HISTORY_PER_PAGE = 50
SEAT_FILTERS = {"holding": True, "without": False}
NOTICES = ("seat_assigned", "seat_reclaimed", "seat_reassigned")


def _text(value: str | None, limit: int = 100) -> str:
    return (value or "").strip()[:limit]


async def _summary(db_session: AsyncSession) -> dict[str, Any]:
    lic = await seats.license_of_tenant(db_session)
    return {"license": lic, "usage": await seats.usage(db_session)}


class SeatPages(Controller):
    path = "/admin/seats"
    guards = [requires_permission(Permission.MANAGE_SEATS)]
    include_in_schema = False

    @get("/", name="admin.seats")
    async def index(
        self,
        request: HTMXRequest,
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        seat: FromQuery[str | None] = None,
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        query = LearnerQuery(q=_text(q) or None, holding=SEAT_FILTERS.get(seat or ""), page=page)
        learners, total = await seats.learners(db_session, query)
        context = {
            "learners": learners,
            "filters": {"q": query.q or "", "seat": seat if seat in SEAT_FILTERS else ""},
            "paging": page_info(total, page, query.per_page),
            "seat_notice": notice if notice in NOTICES else None,
        }
        if wants_fragment(request, "seats-results"):  # an HTMX filter or page change swaps only the results
            return Template("admin/seats/_learners.html", context=context)
        return Template("admin/seats/index.html", context={**context, **await _summary(db_session)})

    @get("/history", name="admin.seats.history")
    async def history(self, request: HTMXRequest, db_session: DbSession, page: PageParam = 1) -> Template:
        rows, total = await seats.events(
            db_session, limit=HISTORY_PER_PAGE, offset=(page - 1) * HISTORY_PER_PAGE
        )
        context = {"events": rows, "paging": page_info(total, page, HISTORY_PER_PAGE)}
        if wants_fragment(request, "history-results"):
            return Template("admin/seats/_history.html", context=context)
        return Template("admin/seats/history.html", context=context)

    # --- assign / reclaim: a confirmation page with an optional reason, then the change ------------------------

    async def _action_page(
        self, db_session: AsyncSession, action: str, learner: User, *, form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None, status: int = 200,
    ) -> Template:
        return Template(
            "admin/seats/action.html",
            context={"action": action, "learner": learner, "form": form or {}, "errors": errors or {},
                     **await _summary(db_session)},
            status_code=status,
        )

    @get("/{user_id:str}/assign", name="admin.seats.assign.confirm")
    async def assign_page(self, db_session: DbSession, user_id: FromPath[str]) -> Template:
        return await self._action_page(db_session, "assign", await target(db_session, user_id))

    @get("/{user_id:str}/reclaim", name="admin.seats.reclaim.confirm")
    async def reclaim_page(self, db_session: DbSession, user_id: FromPath[str]) -> Template:
        return await self._action_page(db_session, "reclaim", await target(db_session, user_id))

    async def _change(
        self, request: Request, db_session: AsyncSession, action: str, user_id: str
    ) -> Template | Redirect:
        learner = await target(db_session, user_id)
        form = await Form.read(request)
        change = seats.give if action == "assign" else seats.reclaim
        try:
            await change(db_session, learner, actor=actor_of(request), note=form.get("reason"))
        except AccountError as exc:
            return await self._refused(db_session, action, learner, form, exc)
        return see_other("/admin/seats", notice="seat_assigned" if action == "assign" else "seat_reclaimed")

    async def _refused(
        self, db_session: AsyncSession, action: str, learner: User, form: Form, exc: AccountError,
    ) -> Template:
        """The page again with the reason: 409 when the seats or the learner's state refuse, 422 for a bad reason
        text. Nothing was written (the services refuse before they write)."""
        state = isinstance(exc, (SeatError, seats.SeatStateError))
        errors = {"form": str(exc)} if state else {exc.field or "form": str(exc)}
        values = {"reason": form.get("reason"), "to": form.get("to")}
        if action == "reassign":
            return await self._reassign_page(db_session, learner, form=values, errors=errors,
                                             status=409 if state else 422)
        return await self._action_page(db_session, action, learner, form=values, errors=errors,
                                       status=409 if state else 422)

    @post("/{user_id:str}/assign", name="admin.seats.assign")
    async def assign(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        return await self._change(request, db_session, "assign", user_id)

    @post("/{user_id:str}/reclaim", name="admin.seats.reclaim")
    async def reclaim(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        return await self._change(request, db_session, "reclaim", user_id)

    # --- reassign: choose who gets the seat (learners without one, searchable), then the change in one step -----

    async def _reassign_page(
        self, db_session: AsyncSession, learner: User, *, q: str = "", page: int = 1,
        form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200,
        fragment: bool = False,
    ) -> Template:
        query = LearnerQuery(q=q or None, assignable=True, page=page)
        candidates, total = await seats.learners(db_session, query)
        context = {
            "learner": learner, "candidates": candidates, "filters": {"q": q},
            "paging": page_info(total, page, query.per_page), "form": form or {}, "errors": errors or {},
        }
        if fragment:
            return Template("admin/seats/_candidates.html", context=context)
        return Template("admin/seats/reassign.html", context={**context, **await _summary(db_session)},
                        status_code=status)

    @get("/{user_id:str}/reassign", name="admin.seats.reassign.confirm")
    async def reassign_page(
        self, request: HTMXRequest, db_session: DbSession, user_id: FromPath[str], q: FromQuery[str | None] = None,
        page: PageParam = 1,
    ) -> Template:
        learner = await target(db_session, user_id)
        return await self._reassign_page(db_session, learner, q=_text(q), page=page,
                                         fragment=wants_fragment(request, "candidates"))

    @post("/{user_id:str}/reassign", name="admin.seats.reassign")
    async def reassign(self, request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
        learner = await target(db_session, user_id)
        form = await Form.read(request)
        # The chosen learner must be a member here: any other id (another organization's too) is not one.
        chosen = await get_user(db_session, form.get("to")) if form.get("to") else None
        if chosen is None:
            return await self._reassign_page(
                db_session, learner, form={"reason": form.get("reason")}, status=422,
                errors={"to": _("Choose the learner who receives the seat.")},
            )
        try:
            await seats.reassign(db_session, learner, chosen, actor=actor_of(request), note=form.get("reason"))
        except AccountError as exc:
            return await self._refused(db_session, "reassign", learner, form, exc)
        return see_other("/admin/seats", notice="seat_reassigned")

