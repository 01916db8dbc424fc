"""Question bank pages for a course's staff: ``/teach/courses/{course_id}/banks`` (the course's banks, a new one)
and ``/teach/banks/{bank_id}`` (its questions, filtered and paginated; the question editor, one form per kind with
repeated rows for options and answers; import with the list of refused lines; export links).

Anyone else, another organization included, gets a 404. Forms re-render with their field errors (422).
"""

from __future__ import annotations

import html as html_lib
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tajiconnect.db.session import DbSession
from tajiconnect.domains.accounts.auth import actor_of
from tajiconnect.domains.accounts.policies import requires_user
from tajiconnect.domains.questions import formats, service
from tajiconnect.domains.questions.kinds import QuestionError, sanitize
from tajiconnect.domains.questions.models import QUESTION_KINDS, TEXT_FORMATS, Question, QuestionBank
from tajiconnect.domains.questions.service import Acting
from tajiconnect.i18n import _
from tajiconnect.web.forms import Form, see_other
from tajiconnect.web.paging import PageParam, page_info

PER_PAGE = 25
BLANK_ROWS = 2
UPLOAD_BODY_MAX = formats.MAX_BYTES + 64 * 1024
_TAG = re.compile(r"<[A-Za-z/!]")
_FIELD = re.compile(r"^data\.(\w+)\[(\d+)\](?:\.(\w+))?$")


def acting(request: Request) -> Acting:
    return Acting(request.scope["user"], actor_of(request))


def kind_labels() -> dict[str, str]:
    return {
        "single": _("Single choice"), "multiple": _("Multiple choice"), "true_false": _("True or false"),
        "short": _("Short answer"), "numeric": _("Numeric"), "matching": _("Matching"), "ordering": _("Ordering"),
        "essay": _("Essay"), "code": _("Code"),
    }


def format_labels() -> dict[str, str]:
    return {"markdown": _("Markdown"), "html": "HTML", "plain": _("Plain text")}


def notices() -> dict[str, str]:
    return {
        "bank_created": _("The question bank was created."),
        "saved": _("The question was saved."),
        "deleted": _("The question was deleted."),
        "archived": _("The question was archived: attempts answered it, so it is kept for their records."),
        "restored": _("The question was restored."),
        "bank_saved": _("The bank was saved."),
        "bank_deleted": _("The question bank was deleted."),
    }


def editable(html: str) -> str:
    """What the editor shows for a piece of sanitized HTML: its text when it has no tags, else the HTML."""
    return html if _TAG.search(html or "") else html_lib.unescape(html or "")


def from_editor(value: str) -> str:
    """What the editor's text-or-HTML field holds, as sanitized HTML (text is escaped, HTML cleaned)."""
    value = value.strip()
    return sanitize(value) if _TAG.search(value) else html_lib.escape(value, quote=False)


def field_label(field: str | None) -> str:
    """A field name of an error (``data.options[1].fraction``) as the editor's words ("Row 2: fraction")."""
    if not field:
        return ""
    match = _FIELD.match(field)
    if match:
        return _("Row %(n)s") % {"n": int(match.group(2)) + 1} + (f" ({match.group(3)})" if match.group(3) else "")
    return field.removeprefix("data.")


def _percent(value: str, default: str) -> str:
    raw = (value or "").strip().rstrip("%") or default
    try:
        return str(Decimal(raw.replace(",", ".")) / 100)
    except InvalidOperation:
        return raw  # validate() names the field


def _rows(form: Form, *names: str) -> list[dict[str, str]]:
    """The repeated rows of the editor: ``names`` are the row's fields (``opt_html[]``...), aligned by position."""
    columns = {name: form.getlist(name) for name in names}
    count = max((len(v) for v in columns.values()), default=0)
    return [{name: (columns[name][i] if i < len(columns[name]) else "") for name in names} for i in range(count)]


def data_from_form(kind: str, form: Form) -> dict[str, Any]:
    """The ``data`` the editor's form describes for ``kind`` (blank rows are left out; validate() checks)."""
    if kind in ("single", "multiple"):
        return {"shuffle": form.get("shuffle") == "on", "options": [
            {"id": r["opt_id"] or None, "html": from_editor(r["opt_html"]),
             "fraction": _percent(r["opt_fraction"], "0"), "feedback_html": from_editor(r["opt_feedback"])}
            for r in _rows(form, "opt_id", "opt_html", "opt_fraction", "opt_feedback") if r["opt_html"].strip()
        ]}
    if kind == "true_false":
        chosen = form.get("tf_answer")
        return {"answer": True if chosen == "true" else False if chosen == "false" else None,
                "feedback_true_html": from_editor(form.get("fb_true")),
                "feedback_false_html": from_editor(form.get("fb_false"))}
    if kind == "short":
        return {"answers": [
            {"text": r["ans_text"], "match": r["ans_match"] or "ci", "fraction": _percent(r["ans_fraction"], "100"),
             "feedback_html": from_editor(r["ans_feedback"])}
            for r in _rows(form, "ans_text", "ans_match", "ans_fraction", "ans_feedback") if r["ans_text"].strip()
        ]}
    if kind == "numeric":
        answers = []
        for r in _rows(form, "num_value", "num_tolerance", "num_min", "num_max", "num_fraction", "num_feedback"):
            if r["num_value"].strip():
                answer: dict[str, Any] = {"value": r["num_value"], "tolerance": r["num_tolerance"] or "0"}
            elif r["num_min"].strip() or r["num_max"].strip():
                answer = {"min": r["num_min"], "max": r["num_max"]}
            else:
                continue
            answer.update(fraction=_percent(r["num_fraction"], "100"), feedback_html=from_editor(r["num_feedback"]))
            answers.append(answer)
        return {"answers": answers}
    if kind == "matching":
        return {"shuffle": form.get("shuffle") == "on", "pairs": [
            {"id": r["pair_id"] or None, "prompt_html": from_editor(r["pair_prompt"]), "answer": r["pair_answer"]}
            for r in _rows(form, "pair_id", "pair_prompt", "pair_answer")
            if r["pair_prompt"].strip() or r["pair_answer"].strip()
        ], "distractors": [line.strip() for line in form.get("distractors").split("\n") if line.strip()]}
    if kind == "ordering":
        return {"items": [{"id": r["item_id"] or None, "html": from_editor(r["item_html"])}
                          for r in _rows(form, "item_id", "item_html") if r["item_html"].strip()]}
    if kind == "essay":
        def words(name: str) -> int | str | None:
            value = form.get(name).strip()
            return int(value) if value.isdigit() and len(value) < 8 else (value or None)
        return {"min_words": words("min_words"), "max_words": words("max_words"), "template": form.get("template")}
    if kind == "code":
        return {"language": form.get("language"), "template": form.get("template")}
    return {}


def fields_from_form(kind: str, form: Form) -> dict[str, Any]:
    return {
        "kind": kind, "name": form.get("name"), "text": form.get("text"),
        "text_format": form.get("text_format") or "markdown", "data": data_from_form(kind, form),
        "feedback": from_editor(form.get("feedback")), "points": form.get("points") or "1",
        "category": form.get("category"), "tags": form.get("tags"), "difficulty": form.get("difficulty") or None,
    }


def editor_values(question: Question | None, kind: str) -> dict[str, Any]:
    """The editor's values for a stored question (or a new one of ``kind``)."""
    if question is None:
        return {"kind": kind, "name": "", "text": "", "text_format": "markdown", "feedback": "", "points": "1",
                "category": "", "tags": "", "difficulty": "", "data": {}}
    return {"kind": question.kind, "name": question.name, "text": question.text, "text_format": question.text_format,
            "feedback": editable(question.feedback_html), "points": str(question.points),
            "category": question.category, "tags": ", ".join(question.tags),
            "difficulty": str(question.difficulty or ""), "data": question.data}


def _hundred(fraction: str) -> str:
    from tajiconnect.domains.questions.kinds import decimal_text

    try:
        return decimal_text(Decimal(fraction) * 100)
    except (InvalidOperation, TypeError):
        return str(fraction)


class CourseBankPages(Controller):
    path = "/teach/courses/{course_id:str}/banks"
    guards = [requires_user]
    include_in_schema = False

    async def _page(self, request: Request, db_session: Any, course_id: str, *, page: int = 1, status: int = 200,
                    errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                    notice: str | None = None) -> Template:
        try:
            course = await service.staff_course(db_session, request.scope["user"], course_id)
        except QuestionError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        rows, total = await service.list_banks(db_session, request.scope["user"], course_id=course.id, page=page,
                                               per_page=PER_PAGE)
        return Template("questions/banks.html", status_code=status, context={
            "course": course, "rows": rows, "paging": page_info(total, page, PER_PAGE), "errors": errors or {},
            "form": form or {}, "notice": notices().get(notice or ""),
        })

    @get("/", name="teach.banks")
    async def index(self, request: Request, db_session: DbSession, course_id: FromPath[str], page: PageParam = 1,
                    notice: FromQuery[str | None] = None) -> Template:
        return await self._page(request, db_session, course_id, page=page, notice=notice)

    @post("/", name="teach.banks.create")
    async def create(self, request: Request, db_session: DbSession, course_id: FromPath[str]) -> Template | Redirect:
        form = await Form.read(request)
        try:
            bank = await service.create_bank(db_session, acting(request), course_id, title=form.get("title"),
                                             description=form.get("description"))
        except QuestionError as exc:
            if exc.status == 404:
                raise NotFoundException(detail=str(exc)) from exc
            return await self._page(request, db_session, course_id, status=422,
                                    errors={exc.field or "title": str(exc)}, form=form.data)
        return see_other(f"/teach/banks/{bank.id}", notice="bank_created")


class BankPages(Controller):
    path = "/teach/banks/{bank_id:str}"
    guards = [requires_user]
    include_in_schema = False

    async def _bank(self, request: Request, db_session: Any, bank_id: str) -> QuestionBank:
        try:
            return await service.get_bank(db_session, request.scope["user"], bank_id)
        except QuestionError as exc:
            raise NotFoundException(detail=str(exc)) from exc

    async def _question(self, request: Request, db_session: Any, bank: QuestionBank, question_id: str) -> Question:
        try:
            question = await service.get_question(db_session, request.scope["user"], question_id)
        except QuestionError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        if question.bank_id != bank.id:
            raise NotFoundException()
        return question

    async def _index(self, request: Request, db_session: Any, bank: QuestionBank, *, filters: dict[str, Any],
                     page: int = 1, status: int = 200, **context: Any) -> Template:
        rows, total = await service.list_questions(db_session, bank, page=page, per_page=PER_PAGE, **filters)
        paging = page_info(total, page, PER_PAGE)
        query = urlencode({k: ("1" if v is True else v) for k, v in filters.items() if v not in (None, "", False)})
        template = "questions/_questions.html" if request.headers.get("hx-target") == "question-list" else (
            "questions/bank.html")
        return Template(template, status_code=status, context={
            "bank": bank, "questions": rows, "paging": paging, "filters": filters, "query": query,
            "categories": await service.categories(db_session, bank), "kind_labels": kind_labels(),
            "kinds": QUESTION_KINDS, "import_formats": formats.FORMATS, "errors": {}, "form": {},
            "max_mib": formats.MAX_BYTES // 2**20, "max_questions": formats.MAX_QUESTIONS, **context,
        })

    @get("/", name="teach.bank")
    async def index(
        self,
        request: Request,
        db_session: DbSession,
        bank_id: FromPath[str],
        category: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        difficulty: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        archived: FromQuery[str | None] = None,
        page: PageParam = 1,
        notice: FromQuery[str | None] = None,
    ) -> Template:
        bank = await self._bank(request, db_session, bank_id)
        filters = {
            "category": (category or "")[:200], "tag": (tag or "")[:40],
            "difficulty": int(difficulty) if difficulty in ("1", "2", "3", "4", "5") else None,
            "kind": kind if kind in QUESTION_KINDS else None, "q": (q or "")[:100], "archived": archived == "1",
        }
        return await self._index(request, db_session, bank, filters=filters, page=page,
                                 notice=notices().get(notice or ""))

    @post("/", name="teach.bank.save")
    async def save_bank(self, request: Request, db_session: DbSession, bank_id: FromPath[str]) -> Template | Redirect:
        bank = await self._bank(request, db_session, bank_id)
        form = await Form.read(request)
        try:
            await service.update_bank(db_session, acting(request), bank.id,
                                      {"title": form.get("title"), "description": form.get("description")})
        except QuestionError as exc:
            await db_session.refresh(bank)
            return await self._index(request, db_session, bank, filters={}, status=422,
                                     bank_errors={exc.field or "title": str(exc)})
        return see_other(f"/teach/banks/{bank.id}", notice="bank_saved")

    @post("/delete", name="teach.bank.delete")
    async def delete_bank(self, request: Request, db_session: DbSession, bank_id: FromPath[str]) -> Template | Redirect:
        bank = await self._bank(request, db_session, bank_id)
        course_id = bank.course_id
        try:
            await service.delete_bank(db_session, acting(request), bank.id)
        except QuestionError as exc:
            return await self._index(request, db_session, bank, filters={}, status=409, problem=str(exc))
        return see_other(f"/teach/courses/{course_id}/banks", notice="bank_deleted")

    @post("/import", name="teach.bank.import", request_max_body_size=UPLOAD_BODY_MAX)
    async def import_file(self, request: Request, db_session: DbSession, bank_id: FromPath[str]) -> Template:
        bank = await self._bank(request, db_session, bank_id)
        form = await Form.read(request)
        upload = form.data.get("file")
        chosen = form.get("format") or None
        mode = form.get("mode") or "partial"
        values = {"format": chosen or "", "mode": mode}
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._index(request, db_session, bank, filters={}, status=422,
                                     import_errors={"file": _("Choose a file to import.")}, import_form=values)
        content = await upload.read(formats.MAX_BYTES + 1)
        try:
            outcome = await service.import_questions(db_session, acting(request), bank.id, content,
                                                     filename=upload.filename, format=chosen, mode=mode)
        except QuestionError as exc:
            return await self._index(request, db_session, bank, filters={}, status=422,
                                     import_errors={exc.field or "file": str(exc)}, import_form=values)
        status = 422 if (outcome.errors and not outcome.imported) else 200
        return await self._index(request, db_session, bank, filters={}, status=status, outcome=outcome,
                                 import_form=values)

    @get("/export", name="teach.bank.export")
    async def export(self, request: Request, db_session: DbSession, bank_id: FromPath[str],
                     format: FromQuery[str] = "gift") -> Response[bytes]:
        bank = await self._bank(request, db_session, bank_id)
        try:
            result = await service.export_bank(db_session, request.scope["user"], bank.id, format)
        except QuestionError as exc:
            raise NotFoundException(detail=str(exc)) from exc
        return Response(result.content.encode(), media_type=result.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'})

    # --- the editor -------------------------------------------------------------------------------------------

    def _editor(self, bank: QuestionBank, question: Question | None, values: dict[str, Any], *,
                errors: dict[str, str] | None = None, status: int = 200) -> Template:
        data = values.get("data") or {}
        return Template("questions/editor.html", status_code=status, context={
            "bank": bank, "question": question, "v": values, "data": data, "errors": errors or {},
            "kind_labels": kind_labels(), "format_labels": format_labels(), "formats": TEXT_FORMATS,
            "editable": editable, "hundred": _hundred, "blank_rows": BLANK_ROWS, "field_label": field_label,
        })

    @get("/questions/new", name="teach.bank.question.new")
    async def new_question(self, request: Request, db_session: DbSession, bank_id: FromPath[str],
                           kind: FromQuery[str] = "single") -> Template:
        bank = await self._bank(request, db_session, bank_id)
        if kind not in QUESTION_KINDS:
            raise NotFoundException()
        return self._editor(bank, None, editor_values(None, kind))

    @post("/questions/new", name="teach.bank.question.create")
    async def create_question(self, request: Request, db_session: DbSession,
                              bank_id: FromPath[str]) -> Template | Redirect:
        bank = await self._bank(request, db_session, bank_id)
        form = await Form.read(request)
        kind = form.get("kind")
        if kind not in QUESTION_KINDS:
            raise NotFoundException()
        fields = fields_from_form(kind, form)
        try:
            await service.create_question(db_session, acting(request), bank.id, fields)
        except QuestionError as exc:
            return self._editor(bank, None, {**form.data, "kind": kind, "data": fields["data"]},
                                errors={exc.field or "form": str(exc)}, status=422)
        return see_other(f"/teach/banks/{bank.id}", notice="saved")

    @get("/questions/{question_id:str}", name="teach.bank.question")
    async def edit_question(self, request: Request, db_session: DbSession, bank_id: FromPath[str],
                            question_id: FromPath[str]) -> Template:
        bank = await self._bank(request, db_session, bank_id)
        question = await self._question(request, db_session, bank, question_id)
        return self._editor(bank, question, editor_values(question, question.kind))

    @post("/questions/{question_id:str}", name="teach.bank.question.save")
    async def save_question(self, request: Request, db_session: DbSession, bank_id: FromPath[str],
                            question_id: FromPath[str]) -> Template | Redirect:
        bank = await self._bank(request, db_session, bank_id)
        question = await self._question(request, db_session, bank, question_id)
        form = await Form.read(request)
        fields = fields_from_form(question.kind, form)
        revision = int(form.get("revision")) if form.get("revision").isdigit() else None
        try:
            await service.update_question(db_session, acting(request), question.id, fields, revision=revision)
        except QuestionError as exc:
            await db_session.refresh(question)
            return self._editor(bank, question, {**form.data, "kind": question.kind, "data": fields["data"]},
                                errors={exc.field or "form": str(exc)}, status=409 if exc.status == 409 else 422)
        return see_other(f"/teach/banks/{bank.id}", notice="saved")

    @post("/questions/{question_id:str}/{action:str}", name="teach.bank.question.action")
    async def question_action(self, request: Request, db_session: DbSession, bank_id: FromPath[str],
                              question_id: FromPath[str], action: FromPath[str]) -> Redirect:
        bank = await self._bank(request, db_session, bank_id)
        question = await self._question(request, db_session, bank, question_id)
        if action == "delete":
            result = await service.delete_question(db_session, acting(request), question.id)
            return see_other(f"/teach/banks/{bank.id}", notice=result)
        if action == "restore":
            await service.restore_question(db_session, acting(request), question.id)
            return see_other(f"/teach/banks/{bank.id}", notice="restored")
        raise NotFoundException()
