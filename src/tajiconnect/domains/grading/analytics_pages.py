"""``/teach/assessments/{assessment_id}/analytics``: a quiz's score distribution, facility and discrimination of
each question, the most missed questions and the average time, for the course's staff (anyone else: 404)."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.grading import analytics


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class AnalyticsPages(Controller):
    path = "/teach/assessments/{assessment_id:str}/analytics"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    @get("/", name="teach.assessment.analytics")
    async def analytics_page(self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
                             ) -> Template:
        try:
            found = await analytics.quiz_analytics(db_session, request.scope["user"], assessment_id)
        except analytics.AnalyticsNotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        biggest = max((b.count for b in found.analysis.distribution), default=0)
        return Template("grading/analytics.html", context={
            "found": found, "a": found.analysis, "biggest": max(1, biggest), "duration": duration,
        })
