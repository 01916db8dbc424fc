"""The request's transaction: committed *before* the answer is made, so no failed commit is reported as success.

Handlers declare ``db_session: DbSession``. :func:`provide_db_session` opens the session lazily, once per
request; :func:`commit_before_answer` (the app's ``after_request`` hook) commits it when the handler's answer is a
success or a redirect. Both run inside Litestar's handler call, so a commit that fails raises there and the
exception handlers answer with an error (409, 503 or 500), never with the handler's 2xx. Any other answer, and
a handler that raises, leave the transaction to be rolled back when the session closes.

After a successful commit, outgoing tasks written to the outbox in that transaction are handed to the queue
(:mod:`tajiconnect.tasks.outbox`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.tasks.outbox import dispatch_committed
from tajiconnect.web.idempotency import claim, remember

#: One holder per request, created by :class:`RequestTransactionMiddleware`. It is a mutable dict, so the
#: dependency (which may be resolved in a child task) and the ``after_request`` hook see the same object.
_request: ContextVar[dict[str, Any] | None] = ContextVar("taji_request_transaction", default=None)


class RequestTransactionMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = _request.set({"scope": scope})
        try:
            await next_app(scope, receive, send)
        finally:
            _request.reset(token)


async def provide_db_session(state: State, request: Request) -> AsyncGenerator[AsyncSession, None]:
    """The request's session (dependency ``db_session``); closing it rolls back whatever was not committed.

    An API write carrying an ``Idempotency-Key`` claims its key here, first thing in the transaction
    (:mod:`tajiconnect.web.idempotency`).
    """
    session = AsyncSession(state.engine, expire_on_commit=False)
    holder = _request.get()
    if holder is not None:
        holder["session"] = session
    try:
        if holder is not None and request.url.path.startswith("/api/"):
            holder["idempotency"] = await claim(request, session)
        yield session
    finally:
        if holder is not None:
            holder.pop("session", None)
        await session.close()


async def commit_before_answer(response: Any) -> Any:
    """``after_request``: commit on 2xx/3xx, roll back on anything else; a failed commit raises (no success)."""
    holder = _request.get()
    session: AsyncSession | None = holder.get("session") if holder else None
    if holder is None or session is None:
        return response
    status = getattr(response, "status_code", None) or holder["scope"]["route_handler"].status_code
    if status >= 400:
        # Nothing here: the template is rendered after this hook, from objects a rollback would expire; closing
        # the session once the answer is built (provide_db_session) rolls the transaction back.
        return response
    if holder.get("idempotency"):
        user_id, key = holder["idempotency"]
        await remember(session, user_id, key, status, getattr(response, "content", None))
    await session.commit()
    await dispatch_committed(session, getattr(holder["scope"]["app"].state, "queue", None))
    return response
