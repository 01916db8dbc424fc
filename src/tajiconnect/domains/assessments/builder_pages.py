"""The assessment panel of the course builder, ``/teach/assessments/...``: a quiz's or assignment's settings form
(saved with a revision check) and a quiz's slots (add a fixed question from the course's banks, add a random draw,
move up/down, remove). The lesson editor (``templates/courses/_lesson_editor.html``) includes
``assessments/_builder_panel.html``, which loads the panel from here with HTMX (a link opens it without).

Dates are entered in the teacher's time zone (``users.time_zone``) and stored in UTC. A panel of a course the
caller may not edit is a 404.
"""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import or_, select

from tajiconnect.db.ids import parse_uuid
from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import Permission, requires_permission
from tajiconnect.domains.assessments import service
from tajiconnect.domains.assessments.models import (
    ATTEMPT_GRADES,
    LATE_ANSWER_POLICIES,
    LATE_POLICIES,
    REVIEW_DETAILS,
    REVIEW_WHENS,
    Assessment,
)
from tajiconnect.domains.assessments.service import AssessmentError, Staffed
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.grading.models import GradebookCategory, Rubric
from tajiconnect.domains.groups.models import Group
from tajiconnect.domains.progress import rules
from tajiconnect.domains.questions.models import Question, QuestionBank
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form, see_other

PANEL = "assessment-panel"
QUESTION_CHOICES = 50
SEARCH_MAX = 100
SHARED = ("passing_percent", "available_from", "available_until", "weight", "gradebook_category_id", "rubric_id")
QUIZ = ("late_answer_policy", "attempts_allowed", "attempt_grade", "review_when", "review_detail")
ASSIGNMENT = ("due_at", "late_policy", "late_penalty_percent", "max_files", "max_points")
MOMENTS = ("available_from", "available_until", "due_at")


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def to_local(moment: datetime.datetime | None, zone: str | None) -> str:
    """A stored moment as a ``datetime-local`` input's value in the teacher's zone."""
    return moment.astimezone(rules.zone_of(zone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def from_local(value: str, zone: str | None) -> datetime.datetime | str | None:
    """A ``datetime-local`` value typed in the teacher's zone, as an aware moment (the text when it is not one)."""
    if not value.strip():
        return None
    try:
        naive = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=rules.zone_of(zone))


def settings_changes(a: Assessment, form: Form, zone: str | None) -> dict[str, Any]:
    """The settings form's fields for the assessment's kind (boxes left unticked mean "no")."""
    names = SHARED + (QUIZ if a.kind == "quiz" else ASSIGNMENT)
    changes: dict[str, Any] = {name: form.get(name) for name in names if name in form.data}
    for name in MOMENTS:
        if name in changes:
            changes[name] = from_local(changes[name], zone)
    changes["counts_in_gradebook"] = form.get("counts_in_gradebook") == "on"
    if a.kind == "quiz":
        minutes = form.get("time_limit_minutes").strip()
        if minutes:
            try:
                changes["time_limit_seconds"] = int(minutes) * 60
            except ValueError:
                changes["time_limit_seconds"] = minutes
        else:
            changes["time_limit_seconds"] = None
        changes["shuffle_questions"] = form.get("shuffle_questions") == "on"
        changes["shuffle_options"] = form.get("shuffle_options") == "on"
    else:
        changes["submission_types"] = form.getlist("submission_types")
        changes["group_submission"] = form.get("group_submission") == "on"
        changes["group_ids"] = form.getlist("group_ids")
    return changes


class AssessmentBuilderPages(Controller):
    path = "/teach/assessments"
    guards = [requires_permission(Permission.AUTHOR_COURSES)]
    include_in_schema = False

    async def _staffed(self, request: Request, db_session: Any, assessment_id: str) -> Staffed:
        try:
            return await service.get_staffed(db_session, request.scope["user"], assessment_id)
        except AssessmentError as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _panel(self, request: Request, db_session: Any, staffed: Staffed, *, status: int = 200,
                     q: str = "", **extra: Any) -> Template:
        user = request.scope["user"]
        a = staffed.assessment
        course_id = a.course_id
        rubrics = (await db_session.execute(
            select(Rubric.id, Rubric.title).where(Rubric.course_id == course_id).order_by(Rubric.title))).all()
        categories = (await db_session.execute(
            select(GradebookCategory.id, GradebookCategory.name).where(GradebookCategory.course_id == course_id)
            .order_by(GradebookCategory.position, GradebookCategory.name))).all()
        banks = (await db_session.execute(
            select(QuestionBank.id, QuestionBank.title).where(QuestionBank.course_id == course_id)
            .order_by(QuestionBank.title))).all()
        context: dict[str, Any] = {
            "staffed": staffed, "assessment": a, "lesson": staffed.lesson, "course": staffed.course,
            "rubrics": rubrics, "categories": categories, "banks": banks, "errors": {}, "message": None,
            "local": lambda m: to_local(m, user.time_zone), "q": q,
            "attempt_grades": ATTEMPT_GRADES, "review_whens": REVIEW_WHENS, "review_details": REVIEW_DETAILS,
            "late_answer_policies": LATE_ANSWER_POLICIES, "late_policies": LATE_POLICIES,
            **extra,
        }
        if a.kind == "quiz":
            context["slots"] = await service.slot_views(db_session, a.id)
            search = select(Question.id, Question.name, Question.text, Question.kind, QuestionBank.title).join(
                QuestionBank, QuestionBank.id == Question.bank_id).where(
                QuestionBank.course_id == course_id, Question.archived_at.is_(None))
            if q:
                like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                search = search.where(or_(Question.name.ilike(like, escape="\\"),
                                          Question.text.ilike(like, escape="\\")))
            context["questions"] = (await db_session.execute(
                search.order_by(QuestionBank.title, Question.position).limit(QUESTION_CHOICES))).all()
        else:
            context["groups"] = (await db_session.execute(
                select(Group.id, Group.name).where(Group.archived_at.is_(None)).order_by(Group.name)
                .limit(service.GROUPS_MAX))).all()
        fragment = request.headers.get("hx-target") in (PANEL, "assessment-slots")
        template = "assessments/_builder_panel_body.html" if fragment else "assessments/builder.html"
        return Template(template, context=context, status_code=status)

    @get("/lesson/{lesson_id:str}", name="teach.assessments.for_lesson")
    async def for_lesson(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> Template:
        lid = parse_uuid(lesson_id)
        assessment = await service.for_lesson(db_session, lid) if lid else None
        if assessment is None:
            raise NotFoundException(detail=_("No such assessment here."))
        return await self._panel(request, db_session, await self._staffed(request, db_session, str(assessment.id)))

    @get("/{assessment_id:str}", name="teach.assessments.panel")
    async def panel(self, request: Request, db_session: DbSession, assessment_id: FromPath[str],
                    q: FromQuery[str | None] = None) -> Template:
        staffed = await self._staffed(request, db_session, assessment_id)
        return await self._panel(request, db_session, staffed, q=(q or "").strip()[:SEARCH_MAX])

    @post("/{assessment_id:str}/settings", name="teach.assessments.settings")
    async def save_settings(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
    ) -> Template | Redirect:
        staffed = await self._staffed(request, db_session, assessment_id)
        form = await Form.read(request)
        try:
            revision = int(form.get("revision")) if form.get("revision") else None
        except ValueError:
            revision = None
        changes = settings_changes(staffed.assessment, form, request.scope["user"].time_zone)
        try:
            staffed = await service.update_settings(db_session, acting(request), assessment_id, changes,
                                                    revision=revision)
        except AssessmentError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=str(exc)) from exc
            await db_session.rollback()
            current = await self._staffed(request, db_session, assessment_id)
            status = 409 if exc.status == 409 else 422
            return await self._panel(request, db_session, current, status=status, form=form.data,
                                     errors={exc.field or "form": str(exc)})
        if not is_htmx(request):
            return see_other(f"/teach/assessments/{staffed.assessment.id}")
        return await self._panel(request, db_session, staffed, message=_("Settings saved"))

    async def _slot_action(self, request: Request, db_session: Any, assessment_id: str, action: Any,
                           ) -> Template | Redirect:
        staffed = await self._staffed(request, db_session, assessment_id)
        try:
            await action()
        except AssessmentError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=str(exc)) from exc
            await db_session.rollback()
            current = await self._staffed(request, db_session, assessment_id)
            return await self._panel(request, db_session, current, status=409 if exc.status == 409 else 422,
                                     slot_errors={exc.field or "form": str(exc)})
        if not is_htmx(request):
            return see_other(f"/teach/assessments/{staffed.assessment.id}")
        current = await self._staffed(request, db_session, assessment_id)
        return await self._panel(request, db_session, current)

    @post("/{assessment_id:str}/slots", name="teach.assessments.slots.add")
    async def add_slot(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str]
    ) -> Template | Redirect:
        form = await Form.read(request)
        fields: dict[str, Any] = {"points": form.get("points") or None}
        if form.get("source") == "draw":
            fields.update(bank_id=form.get("bank_id"), category=form.get("category"), tags=form.get("tags"),
                          draw_count=form.get("draw_count") or 1)
        else:
            fields["question_id"] = form.get("question_id")

        async def add() -> None:
            await service.add_slot(db_session, acting(request), assessment_id, **fields)

        return await self._slot_action(request, db_session, assessment_id, add)

    @post("/{assessment_id:str}/slots/{slot_id:str}/{action:str}", name="teach.assessments.slots.change")
    async def change_slot(
        self, request: Request, db_session: DbSession, assessment_id: FromPath[str], slot_id: FromPath[str],
        action: FromPath[str],
    ) -> Template | Redirect:
        if action not in ("up", "down", "remove"):
            raise NotFoundException()
        staffed = await self._staffed(request, db_session, assessment_id)
        views = await service.slots_of(db_session, staffed.assessment.id)
        if not any(str(s.id) == slot_id for s in views):
            raise NotFoundException(detail=_("No such question slot here."))

        async def change() -> None:
            if action == "remove":
                await service.remove_slot(db_session, acting(request), slot_id)
            else:
                await service.move_slot(db_session, acting(request), slot_id, -1 if action == "up" else 1)

        return await self._slot_action(request, db_session, assessment_id, change)
