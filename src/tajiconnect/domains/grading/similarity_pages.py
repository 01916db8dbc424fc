"""``/teach/assessments/{assessment_id}/similarity``: an assignment's pairs of submissions that share long
passages, side by side (escaped), and the "Check now" button that compares them again (inline, up to
``similarity.MAX_SUBMISSIONS`` submissions). The course's staff only (anyone else: 404)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading import similarity
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 20


class SimilarityPages(Controller):
    path = "/teach/assessments/{assessment_id:str}/similarity"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    async def _context(self, request: Request, db_session: Any, assessment_id: str, page: int) -> dict[str, Any]:
        try:
            assessment, course, title, rows, total = await similarity.matches(
                db_session, request.scope["user"], assessment_id, page=page, per_page=PER_PAGE)
        except similarity.SimilarityNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return {"assessment": assessment, "course": course, "title": title, "rows": rows,
                "paging": page_info(total, page, PER_PAGE), "threshold": similarity.DEFAULT_THRESHOLD,
                "limit": similarity.MAX_SUBMISSIONS, "error": None}

    @get("/", name="teach.assessment.similarity")
    async def similarity_page(self, request: Request, db_session: DbSession, assessment_id: FromPath[str],
                              page: PageParam = 1, notice: FromQuery[str | None] = None) -> Template:
        context = await self._context(request, db_session, assessment_id, page)
        return Template("grading/similarity.html", context={**context, "notice": notice})

    @post("/check", name="teach.assessment.similarity.check")
    async def check(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
                    ) -> Template | Redirect:
        form = await Form.read(request)
        try:
            threshold = float(form.get("threshold") or similarity.DEFAULT_THRESHOLD)
        except ValueError:
            threshold = -1
        try:
            await similarity.run_check(db_session, Acting(request.scope["user"], actor_of(request)), assessment_id,
                                       threshold if threshold == threshold else -1)  # NaN is refused too
        except similarity.SimilarityNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        except similarity.SimilarityError as exc:
            context = await self._context(request, db_session, assessment_id, 1)
            context.update(error=str(exc), threshold=form.get("threshold"))
            return Template("grading/similarity.html", context=context, status_code=422)
        return see_other(f"/teach/assessments/{assessment_id}/similarity", notice="checked")
