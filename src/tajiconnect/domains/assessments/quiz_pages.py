"""The learner's quiz pages, ``/learn/quizzes/{lesson_id}``: the intro (time limit, attempts left, window, past
attempts), start or resume, the attempt (every question on one page, each answer autosaved by ``static/quiz.js``,
a countdown from the server's deadline, submit with confirmation) and the review the quiz's policy allows.

The lesson page (``templates/assessments/_quiz_lesson.html``) loads the intro fragment into itself. Every rule is
the attempts service's (:mod:`.attempts`): what the browser shows (the countdown) is a convenience, the server
enforces the deadline. A quiz or attempt the caller may not open is a 404.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup, escape

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.assessments import attempts
from tajiconnect.domains.assessments.attempts import DeadlinePassed, Taking
from tajiconnect.domains.assessments.models import Attempt
from tajiconnect.domains.assessments.service import AssessmentError, NotFound
from tajiconnect.domains.audit.service import Acting
from tajiconnect.domains.progress import rules
from tajiconnect.domains.questions.grading import ResponseInvalid
from tajiconnect.domains.questions.models import Question
from tajiconnect.i18n import gettext as _
from tajiconnect.web.forms import Form, see_other

PANEL = "quiz-panel"


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def local(moment: datetime.datetime | None, zone: str | None) -> str:
    """A moment as the learner reads it: their time zone, minutes."""
    if moment is None:
        return ""
    return moment.astimezone(rules.zone_of(zone)).strftime("%Y-%m-%d %H:%M")


def duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": max(1, minutes)} if minutes else _("%(seconds)d s") % {
        "seconds": seconds}


def form_response(question: Question, form: Form) -> dict[str, Any] | None:
    """The learner's answer from a question's form, as the response shape of its kind (None: nothing chosen)."""
    kind, data = question.kind, question.data or {}
    if kind == "single":
        return {"option": form.get("option")} if form.get("option") else None
    if kind == "multiple":
        return {"options": form.getlist("options")}
    if kind == "true_false":
        value = form.get("value")
        return {"value": value == "true"} if value in ("true", "false") else None
    if kind in ("short", "essay", "code"):
        return {"text": form.get("text")}
    if kind == "numeric":
        return {"value": form.get("value")} if form.get("value").strip() else None
    if kind == "matching":
        pairs = {str(p.get("id")): form.get(f"pair-{p.get('id')}") for p in data.get("pairs") or []
                 if isinstance(p, dict) and form.get(f"pair-{p.get('id')}")}
        return {"pairs": pairs}
    if kind == "ordering":
        return {"order": form.getlist("order")}
    return None


def correct_answers(question: Question) -> list[Markup]:
    """The right answers for reviews that show them: sanitized HTML stays HTML, plain text is escaped."""
    data = question.data or {}
    kind = question.kind
    if kind in ("single", "multiple"):
        return [Markup(str(o.get("html", ""))) for o in data.get("options") or []  # noqa: S704 - sanitized HTML
                if isinstance(o, dict) and _positive(o.get("fraction"))]
    if kind == "true_false":
        return [escape(_("True") if data.get("answer") else _("False"))]
    if kind == "short":
        return [escape(str(a.get("text", ""))) for a in data.get("answers") or []
                if isinstance(a, dict) and _positive(a.get("fraction"))]
    if kind == "numeric":
        lines = []
        for a in data.get("answers") or []:
            if not isinstance(a, dict) or not _positive(a.get("fraction", "1")):
                continue
            if "min" in a or "max" in a:
                lines.append(escape(_("from %(min)s to %(max)s") % {"min": a.get("min", ""), "max": a.get("max", "")}))
            else:
                lines.append(escape(f"{a.get('value', '')} ± {a.get('tolerance', '0')}"))
        return lines
    if kind == "matching":
        return [Markup("{} → {}").format(Markup(str(p.get("prompt_html", ""))),  # noqa: S704 - sanitized HTML
                                         str(p.get("answer", "")))
                for p in data.get("pairs") or [] if isinstance(p, dict)]
    if kind == "ordering":
        return [Markup(str(i.get("html", ""))) for i in data.get("items") or []  # noqa: S704 - sanitized HTML
                if isinstance(i, dict)]
    return []


def given_answer(question: Question, response: Any) -> list[Markup]:
    """The learner's answer, as lines for the review (sanitized HTML stays HTML, text is escaped)."""
    if not isinstance(response, dict):
        return []
    data = question.data or {}
    kind = question.kind
    if kind in ("single", "multiple", "ordering"):
        source = data.get("items" if kind == "ordering" else "options") or []
        by_id = {str(o.get("id")): o for o in source if isinstance(o, dict)}
        chosen = [response.get("option")] if kind == "single" else response.get(
            "order" if kind == "ordering" else "options") or []
        return [Markup(str(by_id[c].get("html", ""))) for c in chosen  # noqa: S704 - sanitized HTML
                if isinstance(c, str) and c in by_id]
    if kind == "true_false" and isinstance(response.get("value"), bool):
        return [escape(_("True") if response["value"] else _("False"))]
    if kind == "matching" and isinstance(response.get("pairs"), dict):
        prompts = {str(p.get("id")): p.get("prompt_html", "") for p in data.get("pairs") or [] if isinstance(p, dict)}
        return [Markup("{} → {}").format(Markup(str(prompts.get(k, ""))), v)  # noqa: S704 - sanitized HTML
                for k, v in response["pairs"].items()]
    for key in ("text", "value"):
        if isinstance(response.get(key), str):
            return [escape(response[key])]
    return []


def _positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except ArithmeticError:
        return False


class QuizPages(Controller):
    path = "/learn/quizzes"
    guards = [requires_user]
    include_in_schema = False

    async def _taking(self, request: Request, db_session: Any, lesson_id: str) -> Taking:
        try:
            return await attempts.quiz_for_lesson(db_session, request.scope["user"], lesson_id)
        except NotFound as exc:
            raise NotFoundException(detail=str(exc)) from exc
        except AssessmentError as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _intro(self, request: Request, db_session: Any, taking: Taking, *, status: int = 200,
                     error: str | None = None) -> Template:
        user = request.scope["user"]
        a = taking.assessment
        now = attempts.now_utc()
        mine = await attempts.attempts_of(db_session, a.id, user.id)
        current = next((t for t in mine if t.status == "in_progress"), None)
        if current is not None and attempts.expired(current, now) and a.late_answer_policy == "refuse":
            await attempts.get_attempt(db_session, acting(request), current.id)  # touching it submits it
            mine = await attempts.attempts_of(db_session, a.id, user.id)
            current = None
        grade = await attempts.grade_of(db_session, a.id, user.id)
        context = {
            "taking": taking, "assessment": a, "lesson": taking.view.lesson, "course": taking.view.course,
            "attempts": mine, "current": current, "left": attempts.attempts_left(a, len(mine)),
            "window": attempts.window_state(a, now), "grade": grade,
            "review": {t.id: attempts.review_open(a, t, grade, now) for t in mine},
            "local": lambda m: local(m, user.time_zone), "duration": duration(a.time_limit_seconds),
            "error": error,
        }
        fragment = request.headers.get("hx-target") == PANEL
        return Template("assessments/_quiz_intro.html" if fragment else "assessments/quiz_intro.html",
                        context=context, status_code=status)

    @get("/{lesson_id:str}", name="learn.quiz")
    async def intro(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> Template:
        return await self._intro(request, db_session, await self._taking(request, db_session, lesson_id))

    @post("/{lesson_id:str}/start", name="learn.quiz.start")
    async def start(self, request: Request, db_session: DbSession, lesson_id: FromPath[str]) -> Template | Redirect:
        taking = await self._taking(request, db_session, lesson_id)
        try:
            attempt, _created = await attempts.start(db_session, acting(request), taking)
        except AssessmentError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=str(exc)) from exc
            return await self._intro(request, db_session, taking, status=409, error=str(exc))
        return see_other(f"/learn/quizzes/{taking.view.lesson.id}/attempts/{attempt.id}")

    async def _attempt(self, request: Request, db_session: Any, lesson_id: str, attempt_id: str,
                       lock: bool = False) -> tuple[Attempt, Taking]:
        try:
            attempt, taking = await attempts.get_attempt(db_session, acting(request), attempt_id, lock=lock)
        except AssessmentError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        if taking is None or str(taking.view.lesson.id) != lesson_id:
            raise NotFoundException(detail=_("No such attempt here."))
        return attempt, taking

    @get("/{lesson_id:str}/attempts/{attempt_id:str}", name="learn.quiz.attempt")
    async def attempt(
        self, request: Request, db_session: DbSession, lesson_id: FromPath[str], attempt_id: FromPath[str]
    ) -> Template:
        user = request.scope["user"]
        attempt, taking = await self._attempt(request, db_session, lesson_id, attempt_id)
        a = taking.assessment
        now = attempts.now_utc()
        results = await attempts.results(db_session, attempt)
        grade = await attempts.grade_of(db_session, a.id, user.id)
        seconds_left = None
        if attempt.deadline_at is not None:
            seconds_left = max(0, int((attempt.deadline_at - now).total_seconds()))
        context = {
            "taking": taking, "assessment": a, "lesson": taking.view.lesson, "course": taking.view.course,
            "attempt": attempt, "results": results, "seconds_left": seconds_left, "grade": grade,
            "local": lambda m: local(m, user.time_zone), "correct_answers": correct_answers,
            "given_answer": given_answer,
            "review_open": attempts.review_open(a, attempt, grade, now),
            "base": f"/learn/quizzes/{taking.view.lesson.id}/attempts/{attempt.id}",
        }
        template = "assessments/quiz_take.html" if attempt.status == "in_progress" else "assessments/quiz_review.html"
        return Template(template, context=context)

    @post("/{lesson_id:str}/attempts/{attempt_id:str}/answers/{question_id:str}", name="learn.quiz.answer")
    async def answer(
        self, request: Request, db_session: DbSession, lesson_id: FromPath[str], attempt_id: FromPath[str],
        question_id: FromPath[str],
    ) -> Template | Redirect:
        attempt, _taking = await self._attempt(request, db_session, lesson_id, attempt_id)
        try:
            entry = attempts.layout_entry(attempt, question_id)
        except AssessmentError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        question = await db_session.get(Question, uuid.UUID(entry["question_id"]))
        if question is None:
            raise NotFoundException(detail=_("No such question in this attempt."))
        response = form_response(question, await Form.read(request))
        back = f"/learn/quizzes/{lesson_id}/attempts/{attempt_id}"
        status, message, ok = 200, "", True
        if response is not None:
            try:
                saved = await attempts.save_answer(db_session, acting(request), attempt_id, question_id, response)
                message = _("Saved (late)") if saved.late else _("Saved")
            except DeadlinePassed as exc:
                await db_session.commit()  # the attempt was submitted: keep that, refuse the answer
                status, message, ok = 409, str(exc), False
            except (AssessmentError, ResponseInvalid) as exc:
                if getattr(exc, "status", 400) == 404:
                    raise NotFoundException(detail=str(exc)) from exc
                status = 409 if getattr(exc, "status", 400) == 409 else 422
                message, ok = str(exc), False
        if not is_htmx(request) and request.headers.get("x-quiz-autosave") != "1":
            return see_other(f"{back}#q-{question_id}") if ok else Template(
                "assessments/_quiz_save_status.html", status_code=status, context={"ok": ok, "message": message})
        return Template("assessments/_quiz_save_status.html", status_code=status,
                        context={"ok": ok, "message": message})

    @post("/{lesson_id:str}/attempts/{attempt_id:str}/submit", name="learn.quiz.submit")
    async def submit(
        self, request: Request, db_session: DbSession, lesson_id: FromPath[str], attempt_id: FromPath[str]
    ) -> Redirect:
        await self._attempt(request, db_session, lesson_id, attempt_id)
        try:
            await attempts.submit(db_session, acting(request), attempt_id)
        except AssessmentError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return see_other(f"/learn/quizzes/{lesson_id}/attempts/{attempt_id}")
